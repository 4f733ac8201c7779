//! Telltale desktop: the Tauri shell.
//!
//! A thin shell: connection logic lives in `telltale-client`, the embedded
//! hub in `telltale-hub`; this crate only translates client events into
//! what the window and the desktop need.
//!
//! # Layout
//!
//! - [`args`]: `--server` (repeatable: temporary entries of the server
//!   list), the token (`--token`, `--token-file` or `--token-command`),
//!   `--ca-file`, `--hidden`, `--instance`, each with a `TELLTALE_*`
//!   variable, validated at start.
//! - [`embedded`]: the hub in-process on 127.0.0.1 with this machine's
//!   collector: the "This computer" entry, on by default.
//! - [`link`]: one hub in the server list: its client, followed by the
//!   client crate, and its connection state; every hub runs the same code.
//! - [`bridge`]: every hub's events → coalesced [`stream`] batches tagged
//!   with the hub's id, and notifications.
//! - [`stream`]: the batch sent to the UI about once per display frame.
//! - [`commands`]: the `#[tauri::command]`s the UI calls; they fail with an
//!   [`error::CommandError`] that has a code.
//! - [`notifications`]: native alarm notifications (notify-rust), deduped.
//! - [`connection`]: connection state as the UI shows it.
//! - [`tray`]: the tray icon (worst severity, counts, do not disturb).
//! - [`window`]: close to tray, single instance, start at login, window
//!   size and position.
//! - [`ipc_types`]: the TypeScript of every type that crosses IPC, generated
//!   into ui/src/backend/generated.ts.
//! - [`settings`]: the persisted settings (servers, tokens, theme,
//!   notifications); [`settings_commands`] the view's commands and what a
//!   change does; [`servers`] makes the running hubs match the server list.
//! - [`history`]: the alarm history (SQLite) as app state, and its commands.
#![deny(missing_docs)]

pub mod args;
pub mod bridge;
pub mod commands;
pub mod connection;
pub mod embedded;
pub mod error;
pub mod history;
pub mod ipc_types;
pub mod link;
pub mod notifications;
pub mod servers;
pub mod settings;
pub mod settings_commands;
pub mod stream;
pub mod tray;
pub mod window;

use std::sync::Arc;

use tauri::{App, Builder, Manager, Runtime, WebviewWindowBuilder};

use crate::args::LaunchArgs;
use crate::bridge::Shared;
use crate::history::AppHistory;
use crate::settings::SettingsStore;

/// Starts the app; returns the process exit code.
pub fn run() -> i32 {
    prefer_software_compositing();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tao=warn,wry=warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let launch = match LaunchArgs::from_env_and_args() {
        Ok(launch) => launch,
        Err(message) => {
            eprintln!("telltale: {message}");
            return 2;
        }
    };
    let context = tauri::generate_context!();
    // Where Tauri's app_config_dir() is, known before the app exists: the
    // settings decide which plugins and hubs the app starts with.
    let Some(dir) = dirs::config_dir().map(|d| d.join(&context.config().identifier)) else {
        eprintln!("telltale: no configuration directory: set HOME (or XDG_CONFIG_HOME)");
        return 1;
    };
    let store = Arc::new(SettingsStore::load(&dir));
    if let Some(problem) = store.problem() {
        eprintln!("telltale: {problem}");
    }
    servers::first_start_with_servers(&store, &launch);
    for (i, endpoint) in launch.servers.iter().enumerate() {
        store.add_temporary(settings::temporary_entry(endpoint, &launch.access, i));
    }
    let settings = store.current();
    let start_hidden = launch.hidden || settings.start_hidden;
    let prefs = window::WindowPrefs::new(settings.close_to_tray, start_hidden);
    let shared = Shared::new(settings.notifications.clone());
    tauri::async_runtime::block_on(servers::sync(&shared, &store));
    let tray = tray::plugin(settings_commands::set_dnd_from_tray);
    let desktop =
        window::with_desktop_plugins(Builder::default(), prefs, launch.instance.as_deref());
    match run_app(desktop.plugin(tray), shared, store).build(context) {
        Ok(app) => {
            app.run(|app, event| {
                if let tauri::RunEvent::Exit = event {
                    // Transitions still queued for the history are written.
                    if let Some(history) = app.try_state::<AppHistory>() {
                        history.flush();
                    }
                }
            });
            0
        }
        Err(e) => {
            eprintln!("telltale: cannot open the window: {e}");
            1
        }
    }
}

/// Wires the shell into `builder`; generic over the runtime so tests can use
/// `tauri::test::mock_builder()`.
pub fn run_app<R: Runtime>(
    builder: Builder<R>,
    shared: Arc<Shared>,
    store: Arc<SettingsStore>,
) -> Builder<R> {
    builder
        .manage(shared.clone())
        .manage(store)
        // Opens an alarm's links in the browser; capabilities/default.json limits it to http(s).
        .plugin(tauri_plugin_opener::init())
        .invoke_handler(tauri::generate_handler![
            commands::connect_stream,
            commands::connection_states,
            commands::alarms_active,
            commands::alarms_ack,
            commands::alarms_silence,
            commands::catalog,
            settings_commands::settings_get,
            settings_commands::settings_set,
            settings_commands::alarms_snooze,
            settings_commands::alarms_snoozes,
            history::history_query,
            history::history_export,
        ])
        .setup(move |app| {
            let history = AppHistory::open(app.handle(), None);
            shared.set_history(history.clone());
            app.manage(history);
            bridge::spawn(app.handle().clone(), shared.clone());
            open_main_window(app)?;
            Ok(())
        })
}

/// Opens the window of tauri.conf.json (marked `"create": false` so it is
/// built here): the page's title, which carries the alarm counts
/// ("Telltale — 2 critical"), becomes the window's title in the task bar.
fn open_main_window<R: Runtime>(app: &App<R>) -> tauri::Result<()> {
    let config = app.config().app.windows.iter().find(|w| !w.create).cloned();
    if let Some(config) = config {
        let visible = config.visible && !window::starts_hidden(app.handle());
        WebviewWindowBuilder::from_config(app.handle(), &config)?
            .visible(visible)
            .on_document_title_changed(|window, title| {
                if let Err(e) = window.set_title(&title) {
                    tracing::debug!(error = %e, "cannot set the window title");
                }
            })
            .build()?;
    }
    Ok(())
}

/// Shows the main window, unminimised and focused.
pub fn show_main_window<R: Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// WebKitGTK composites the page through OpenGL when it can. Where that GL
/// is a software one (llvmpipe: no GPU, Xvfb, many VMs) every text change
/// next to a chart recomposites the whole window: measured, the source view
/// idled at ~10 % of a core that way and ~2.5 % without. The page is 2D
/// canvases and text, which WebKit paints well without compositing, so it is
/// off unless the user set `WEBKIT_DISABLE_COMPOSITING_MODE` themselves or
/// asks for it with `TELLTALE_GPU_COMPOSITING=1`.
fn prefer_software_compositing() {
    const WEBKIT: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    let wanted = std::env::var_os("TELLTALE_GPU_COMPOSITING").is_some_and(|v| v == "1");
    if !wanted && std::env::var_os(WEBKIT).is_none() {
        // Called first thing in `run`, before any thread is started.
        std::env::set_var(WEBKIT, "1");
    }
}
