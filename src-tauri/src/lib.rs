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
//! - [`bridge`]: client events → state, coalesced [`stream`] batches and
//!   notifications.
//! - [`backfill`]: a source's recent history, before its live samples, when
//!   it is subscribed afresh or its channel had a gap.
//! - [`stream`]: the batch sent to the UI about once per display frame.
//! - [`commands`]: the `#[tauri::command]`s the UI calls.
//! - [`notifications`]: native alarm notifications (notify-rust), deduped.
//! - [`connection`]: connection state as the UI shows it.
//! - [`settings`]: the persisted settings (servers, tokens, theme,
//!   notifications); [`settings_commands`] the view's commands.
#![deny(missing_docs)]

pub mod backfill;
pub mod bridge;
pub mod commands;
pub mod connection;
pub mod embedded;
pub mod notifications;
pub mod args;
pub mod settings;
pub mod settings_commands;
pub mod stream;

use std::sync::Arc;

use tauri::{App, Builder, Runtime, WebviewWindowBuilder};

use crate::bridge::Shared;
use crate::args::LaunchArgs;

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
    let started = tauri::async_runtime::block_on(bridge::start(settings));
    let shared = match started {
        Ok(shared) => shared,
        Err(e) => {
            eprintln!("telltale: {e:#}");
            return 1;
        }
    };
    let app = run_app(Builder::default(), shared.clone()).build(tauri::generate_context!());
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
            commands::connection_state,
            commands::alarms_active,
            commands::alarms_ack,
            commands::alarms_silence,
            commands::catalog,
            settings_commands::settings_get,
            settings_commands::settings_set,
        ])
        .setup(move |app| {
            // TEMP wiring of the settings store (the lead replaces it).
            {
                use tauri::Manager;
                let dir = app.path().app_config_dir()?;
                app.manage(Arc::new(settings::SettingsStore::load(&dir)));
            }
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
        WebviewWindowBuilder::from_config(app.handle(), &config)?
            .on_document_title_changed(|window, title| {
                if let Err(e) = window.set_title(&title) {
                    tracing::debug!(error = %e, "cannot set the window title");
                }
            })
            .build()?;
    }
    Ok(())
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
