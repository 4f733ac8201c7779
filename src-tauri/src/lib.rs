//! Telltale desktop: the Tauri shell.
//!
//! A thin shell: connection logic lives in `telltale-client`, the embedded
//! hub in `telltale-hub`; this crate only translates client events into
//! what the window and the desktop need.
//!
//! # Layout
//!
//! - [`args`]: `--server`, the token (`--token`, `--token-file` or
//!   `--token-command`) and `--ca-file`, each with a `TELLTALE_*` variable,
//!   validated at start.
//! - [`embedded`]: with no server configured, a hub in-process on
//!   127.0.0.1 with this machine's collector.
//! - [`link`]: one hub in the server list: its client, connection state and
//!   backfill; every hub runs the same code.
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
pub mod settings;
pub mod stream;
pub mod tray;
pub mod window;

use std::sync::Arc;

use tauri::{App, Builder, Manager, Runtime, WebviewWindowBuilder};

use crate::args::LaunchArgs;
use crate::bridge::Shared;

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
    let settings = match LaunchArgs::from_env_and_args() {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("telltale: {message}");
            return 2;
        }
    };
    let instance = settings.instance.clone();
    // TODO(settings): close_to_tray and start_hidden from the saved settings.
    let prefs = window::WindowPrefs::new(true, settings.hidden);
    let started = tauri::async_runtime::block_on(bridge::start(settings));
    let shared = match started {
        Ok(shared) => shared,
        Err(e) => {
            eprintln!("telltale: {e:#}");
            return 1;
        }
    };
    // TODO(settings): a DND picked in the tray goes to NotifyPrefs::dnd_until.
    let tray = tray::plugin(|app, dnd_until| {
        if let Some(tray) = app.try_state::<tray::Tray<tauri::Wry>>() {
            tray.set_dnd(dnd_until, telltale_protocol::payload::now_ms());
        }
    });
    let desktop = window::with_desktop_plugins(Builder::default(), prefs, instance.as_deref());
    let app = run_app(desktop.plugin(tray), shared.clone()).build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(|_, _| {});
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
pub fn run_app<R: Runtime>(builder: Builder<R>, shared: Arc<Shared>) -> Builder<R> {
    builder
        .manage(shared.clone())
        .invoke_handler(tauri::generate_handler![
            commands::connect_stream,
            commands::connection_states,
            commands::alarms_active,
            commands::alarms_ack,
            commands::alarms_silence,
            commands::catalog,
        ])
        .setup(move |app| {
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
