//! The settings view's commands: thin glue over [`SettingsStore`], which
//! the app manages as `Arc<SettingsStore>`.
//!
//! Both run off the main thread: the first keyring use may take a few
//! seconds (see `settings::secrets`).

use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use ts_rs::TS;

use crate::bridge::Shared;
use crate::error::{CommandError, ErrorCode};
use crate::servers;
use crate::settings::{Settings, SettingsError, SettingsStore, Snooze, TokenStore};
use crate::window::{self, WindowPrefs};
use telltale_protocol::payload::now_ms;

/// Event emitted after the settings changed, with the new [`Settings`]
/// (tokens stripped).
pub const SETTINGS_CHANGED: &str = "settings-changed";

/// What the settings view shows.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The settings, without token values.
    pub settings: Settings,
    /// Why the settings file was not used at start, if it was not.
    pub problem: Option<String>,
    /// Where a pasted token goes.
    pub token_store: TokenStore,
    /// The settings file.
    pub config_path: String,
}

fn view(store: &SettingsStore, settings: Settings) -> SettingsView {
    SettingsView {
        settings,
        problem: store.problem(),
        token_store: store.token_store(),
        config_path: store.path().display().to_string(),
    }
}

/// `invoke('settings_get')`: the settings as the view shows them.
#[tauri::command]
pub async fn settings_get(store: State<'_, Arc<SettingsStore>>) -> Result<SettingsView, String> {
    let store = Arc::clone(&store);
    tauri::async_runtime::spawn_blocking(move || view(&store, store.for_ui()))
        .await
        .map_err(|e| format!("cannot load the settings: {e}"))
}

/// `invoke('settings_set', { settings })`: checks, saves and applies.
/// Refused settings give a [`SettingsError`]: `{ problems: [{ field,
/// message }], message }`.
#[tauri::command]
pub async fn settings_set<R: Runtime>(
    app: AppHandle<R>,
    store: State<'_, Arc<SettingsStore>>,
    settings: Settings,
) -> Result<SettingsView, SettingsError> {
    let store = Arc::clone(&store);
    let saved = {
        let store = Arc::clone(&store);
        tauri::async_runtime::spawn_blocking(move || store.update(settings))
            .await
            .map_err(|e| SettingsError {
                problems: Vec::new(),
                message: format!("cannot save the settings: {e}"),
            })??
    };
    on_change(&app, &saved);
    Ok(view(&store, saved))
}

/// Applies saved settings: the hubs follow the server list, notifications
/// and the tray their preferences, the window its close behaviour, the
/// login item the start-at-login switch; then the window is told (event
/// [`SETTINGS_CHANGED`], tokens stripped) for the theme and chart window.
pub fn on_change<R: Runtime>(app: &AppHandle<R>, settings: &Settings) {
    if let (Some(shared), Some(store)) = (
        app.try_state::<Arc<Shared>>(),
        app.try_state::<Arc<SettingsStore>>(),
    ) {
        let (shared, store) = (Arc::clone(&shared), Arc::clone(&store));
        shared.set_notify_prefs(store.current().notifications);
        tauri::async_runtime::spawn(async move { servers::sync(&shared, &store).await });
    }
    if let Some(window) = app.try_state::<WindowPrefs>() {
        window.set_close_to_tray(settings.close_to_tray);
    }
    if settings.autostart != window::autostart_enabled(app) {
        if let Err(e) = window::set_autostart(app, settings.autostart) {
            tracing::warn!(error = %e, "cannot change start at login");
        }
    }
    if let Err(e) = app.emit(SETTINGS_CHANGED, settings) {
        tracing::warn!(error = %e, "cannot announce the new settings");
    }
}

/// `invoke('alarms_snooze', { server, id, until })`: hides alarm `id` of
/// hub `server` for this user until `until` (unix ms; `null` ends the
/// snooze). Local and personal, unlike an acknowledgement: saved with the
/// settings, no hub is told. Returns the snoozes still running.
#[tauri::command]
pub async fn alarms_snooze<R: Runtime>(
    app: AppHandle<R>,
    store: State<'_, Arc<SettingsStore>>,
    server: String,
    id: String,
    until: Option<i64>,
) -> Result<Vec<Snooze>, CommandError> {
    let store = Arc::clone(&store);
    let saved = tauri::async_runtime::spawn_blocking(move || {
        let mut settings = store.current();
        let snoozes = &mut settings.notifications.snoozes;
        let now = now_ms();
        snoozes.retain(|s| s.until > now && !(s.server == server && s.id == id));
        if let Some(until) = until.filter(|&t| t > now) {
            snoozes.push(Snooze { server, id, until });
        }
        store.update(settings)
    })
    .await
    .map_err(|e| CommandError::new(ErrorCode::Storage, format!("snooze not saved: {e}")))?
    .map_err(|e| {
        CommandError::new(
            ErrorCode::Storage,
            format!("snooze not saved: {}", e.message),
        )
    })?;
    on_change(&app, &saved);
    Ok(saved.notifications.snoozes)
}

/// `invoke('alarms_snoozes')`: this user's snoozes still running.
#[tauri::command]
pub fn alarms_snoozes(store: State<'_, Arc<SettingsStore>>) -> Vec<Snooze> {
    let now = now_ms();
    let mut snoozes = store.current().notifications.snoozes;
    snoozes.retain(|s| s.until > now);
    snoozes
}

/// Do not disturb picked in the tray menu: saved with the settings, and
/// applied like any other change.
pub fn set_dnd_from_tray<R: Runtime>(app: &AppHandle<R>, dnd_until: Option<i64>) {
    let Some(store) = app.try_state::<Arc<SettingsStore>>() else {
        return;
    };
    let store = Arc::clone(&store);
    let app = app.clone();
    // Off the main thread (the tray's callback runs there): saving writes a file.
    tauri::async_runtime::spawn_blocking(move || {
        let mut settings = store.current();
        settings.notifications.dnd_until = dnd_until;
        match store.update(settings) {
            Ok(saved) => on_change(&app, &saved),
            Err(e) => tracing::warn!(error = %e.message, "do not disturb not saved"),
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_view_and_errors_have_the_ui_field_names() {
        let dir = std::env::temp_dir().join(format!("telltale-view-{}", std::process::id()));
        let store = SettingsStore::load_with(&dir, None);
        let shown = serde_json::to_value(view(&store, store.for_ui())).unwrap();
        assert_eq!(shown["tokenStore"], "file");
        assert_eq!(shown["problem"], serde_json::Value::Null);
        assert_eq!(
            shown["configPath"],
            dir.join("settings.json").display().to_string()
        );
        assert_eq!(shown["settings"]["chartWindowSecs"], 300);
        let bad = Settings {
            chart_window_secs: 7,
            ..Settings::default()
        };
        let err = serde_json::to_value(store.update(bad).unwrap_err()).unwrap();
        assert_eq!(err["problems"][0]["field"], json!("chartWindowSecs"));
        assert!(err["message"]
            .as_str()
            .unwrap()
            .contains("60, 300, 900 or 3600"));
    }
}
