//! The main window over a day of use: closing it hides it to the tray, a
//! second launch shows it again, it can start hidden (at login), and its
//! size and position are kept from one run to the next.
//!
//! - One instance: `tauri-plugin-single-instance`; a second `telltale`
//!   hands over to the first (which shows its window) and exits with 0.
//!   On Linux the key is a D-Bus name on the session bus, from the app
//!   identifier, or from `--instance`/`TELLTALE_INSTANCE` to run several
//!   (tests, two setups side by side).
//! - Start at login: `tauri-plugin-autostart` (XDG autostart entry,
//!   LaunchAgent, registry), launching `telltale --hidden`.
//! - Size, position and maximised state: `tauri-plugin-window-state`;
//!   whether the window shows stays ours (start hidden, close to tray).

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Builder, Manager, Runtime, Window, WindowEvent};
use tauri_plugin_autostart::AutoLaunchManager;
use tauri_plugin_window_state::StateFlags;

use crate::tray::Tray;

/// Label of the main window (tauri.conf.json).
pub const MAIN: &str = "main";
/// The flag start at login launches the app with: start in the tray.
pub const HIDDEN_ARG: &str = "--hidden";

/// What the settings decide about the window; managed as app state.
pub struct WindowPrefs {
    close_to_tray: AtomicBool,
    start_hidden: bool,
}

impl WindowPrefs {
    /// `close_to_tray`: closing the window hides it (when there is a tray);
    /// `start_hidden`: the window is not shown at start (idem).
    pub fn new(close_to_tray: bool, start_hidden: bool) -> Self {
        Self {
            close_to_tray: AtomicBool::new(close_to_tray),
            start_hidden,
        }
    }

    /// The setting changed while running.
    pub fn set_close_to_tray(&self, on: bool) {
        self.close_to_tray.store(on, Ordering::Relaxed);
    }
}

/// Adds the desktop plugins to `builder`, the single-instance one first
/// (a second instance must stop before anything else starts), and the
/// close-to-tray behaviour. Real runtime only: under a mock runtime the
/// single-instance plugin would find a running Telltale and exit.
pub fn with_desktop_plugins<R: Runtime>(
    builder: Builder<R>,
    prefs: WindowPrefs,
    instance: Option<&str>,
) -> Builder<R> {
    builder
        .plugin(single_instance(instance))
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED)
                .build(),
        )
        .plugin(autostart_plugin())
        .plugin(
            tauri::plugin::Builder::<R>::new("telltale-window")
                .on_window_ready(|window| {
                    if window.label() == MAIN {
                        let main = window.clone();
                        window.on_window_event(move |event| on_main_event(&main, event));
                    }
                })
                .build(),
        )
        .manage(prefs)
}

/// Start at login, launching `telltale --hidden`; see [`set_autostart`].
pub fn autostart_plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .arg(HIDDEN_ARG)
        .build()
}

fn single_instance<R: Runtime>(instance: Option<&str>) -> TauriPlugin<R> {
    let builder = tauri_plugin_single_instance::Builder::new().callback(|app, _args, _cwd| {
        tracing::info!("launched again: showing the window");
        show_main(app);
    });
    match instance {
        Some(name) => builder.dbus_id(instance_dbus_id(name)).build(),
        None => builder.build(),
    }
}

/// The D-Bus name (before the plugin's `.SingleInstance`) of the instance
/// `name`, already checked to be letters, digits, `-` and `_`.
pub fn instance_dbus_id(name: &str) -> String {
    // An element may not start with a digit: "i" first.
    format!("dev.telltale.desktop.i{name}")
}

fn on_main_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        if hides_to_tray(window.app_handle()) {
            api.prevent_close();
            if let Err(e) = window.hide() {
                tracing::warn!(error = %e, "cannot hide the window");
            }
        }
        // Otherwise it closes, and with the last window the app quits.
    }
}

/// Whether closing the window hides it: the setting is on and there is a
/// tray to bring it back from.
fn hides_to_tray<R: Runtime>(app: &AppHandle<R>) -> bool {
    let on = app
        .try_state::<WindowPrefs>()
        .is_some_and(|p| p.close_to_tray.load(Ordering::Relaxed));
    on && app.try_state::<Tray<R>>().is_some()
}

/// Whether the window starts hidden: asked for, and there is a tray.
pub fn starts_hidden<R: Runtime>(app: &AppHandle<R>) -> bool {
    let asked = app
        .try_state::<WindowPrefs>()
        .is_some_and(|p| p.start_hidden);
    asked && app.try_state::<Tray<R>>().is_some()
}

/// Shows, unminimises and focuses the main window.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    let shown = window
        .show()
        .and_then(|()| window.unminimize())
        .and_then(|()| window.set_focus());
    if let Err(e) = shown {
        tracing::warn!(error = %e, "cannot show the window");
    }
}

/// Turns start at login on or off (`telltale --hidden` at login); the
/// error is a message for the user.
pub fn set_autostart<R: Runtime>(app: &AppHandle<R>, enabled: bool) -> Result<(), String> {
    let launcher = app
        .try_state::<AutoLaunchManager>()
        .ok_or("start at login is not available in this build")?;
    let result = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    result.map_err(|e| {
        let what = if enabled { "turn on" } else { "turn off" };
        format!("cannot {what} start at login: {e}")
    })
}

/// Whether start at login is on, as the system has it.
pub fn autostart_enabled<R: Runtime>(app: &AppHandle<R>) -> bool {
    app.try_state::<AutoLaunchManager>()
        .and_then(|l| l.is_enabled().ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_make_valid_bus_names() {
        assert_eq!(instance_dbus_id("e2e-1"), "dev.telltale.desktop.ie2e-1");
        // A digit first would be an invalid D-Bus name element.
        assert_eq!(instance_dbus_id("2"), "dev.telltale.desktop.i2");
    }
}
