//! The settings view's commands: thin glue over [`SettingsStore`], which
//! the app manages as `Arc<SettingsStore>`.
//!
//! Both run off the main thread: the first keyring use may take a few
//! seconds (see `settings::secrets`).

use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};

use crate::settings::{Settings, SettingsError, SettingsStore};

/// Event emitted after the settings changed, with the new [`Settings`]
/// (tokens stripped).
pub const SETTINGS_CHANGED: &str = "settings-changed";

/// What the settings view shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// The settings, without token values.
    pub settings: Settings,
    /// Why the settings file was not used at start, if it was not.
    pub problem: Option<String>,
    /// Where a pasted token goes: `keyring` or `file`.
    pub token_store: &'static str,
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

/// Applies saved settings. For now it only tells the windows and the shell
/// (event [`SETTINGS_CHANGED`]); the shell reconnects servers and updates
/// notifications from [`SettingsStore::current`] when it gets it.
pub fn on_change<R: Runtime>(app: &AppHandle<R>, settings: &Settings) {
    if let Err(e) = app.emit(SETTINGS_CHANGED, settings) {
        tracing::warn!(error = %e, "cannot announce the new settings");
    }
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
