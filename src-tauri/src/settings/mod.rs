//! What the user chose in the app, persisted in the app config dir: the
//! server list, chart window, theme, notification preferences, tray and
//! start-up behaviour.
//!
//! The same types cross IPC (`settings_get` / `settings_set`), so every
//! field has a default: a file written by an older version still loads.
//! They derive `TS`: ui/src/backend/generated.ts declares them (see
//! `ipc_types`).
//!
//! - [`store`]: load (a corrupt file is moved aside), update, save (0600).
//! - [`check`]: what `update` refuses, with a message per field.
//! - [`file`]: reading, atomic writing and moving aside `settings.json`.
//! - [`secrets`]: fixed tokens in the OS keyring, when one answers.
//! - [`access`]: the client options of a server entry.

pub mod access;
pub mod check;
pub mod file;
pub mod secrets;
pub mod store;

pub use access::{client_options, options_with, temporary_entry};
pub use store::{SettingsError, SettingsStore};

use serde::{Deserialize, Serialize};
use telltale_protocol::Severity;
use ts_rs::TS;

/// The chart windows the UI offers, seconds (1 min, 5 min, 15 min, 1 h).
pub const CHART_WINDOWS: [u32; 4] = [60, 300, 900, 3600];

/// Everything the settings view edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    /// Remote hubs, in the order the user listed them.
    pub servers: Vec<ServerEntry>,
    /// The hub embedded in the app, with this machine's metrics.
    pub embedded: bool,
    /// Chart window, seconds: one of [`CHART_WINDOWS`].
    pub chart_window_secs: u32,
    /// Colour scheme.
    pub theme: Theme,
    /// Which alarms notify, and how.
    pub notifications: NotifyPrefs,
    /// Closing the window hides it to the tray instead of quitting.
    pub close_to_tray: bool,
    /// Start when the user logs in.
    pub autostart: bool,
    /// Start hidden in the tray (with `autostart`, or always).
    pub start_hidden: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            embedded: true,
            chart_window_secs: 300,
            theme: Theme::Dark,
            notifications: NotifyPrefs::default(),
            close_to_tray: true,
            autostart: false,
            start_hidden: false,
        }
    }
}

/// One remote hub in the server list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServerEntry {
    /// Stable key (never shown; survives renames). Alarms, samples and
    /// connection states carry it.
    pub id: String,
    /// Name shown next to everything that comes from this hub.
    pub name: String,
    /// `ws://` or `wss://` URL of the hub's WebSocket endpoint.
    pub url: String,
    /// Where the connection token comes from.
    #[serde(default)]
    pub token: TokenSource,
    /// Connected when true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// For `wss://`: a PEM file of certificates to trust besides the
    /// system's (a private CA, or the hub's self-signed certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ca_file: Option<String>,
    /// Added by `--server` for this run only; never saved.
    #[serde(default, skip_serializing_if = "is_false")]
    #[ts(as = "Option<_>", optional)]
    pub temporary: bool,
}

fn yes() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Where a fixed token is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum TokenStore {
    /// The OS keyring (user `server:<id>`).
    Keyring,
    /// The settings file, which is 0600.
    File,
}

/// Where a server's token comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TokenSource {
    /// Anonymous.
    #[default]
    None,
    /// A token the user pasted. `value` is only set on its way in from the
    /// UI (to be stored) and in the file when no keyring answers; it is
    /// never sent back to the UI.
    #[serde(rename_all = "camelCase")]
    Fixed {
        /// The token, on its way to the keyring or in the 0600 file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        value: Option<String>,
        /// Where it is kept (filled in by the app; `None` for a `--token`
        /// given for this run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        stored: Option<TokenStore>,
    },
    /// A file read again at every (re)connect.
    File {
        /// Path of the token file.
        path: String,
    },
    /// A shell command whose output is the token, run again when the hub
    /// says the token expired.
    Command {
        /// The command line.
        command: String,
    },
}

/// Colour scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow the desktop.
    #[default]
    System,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// Which alarms notify, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default, rename_all = "camelCase")]
pub struct NotifyPrefs {
    /// Alarms below this severity never notify.
    pub min_severity: Severity,
    /// Sources that never notify, as `<server id>/<source>`.
    pub muted_sources: Vec<String>,
    /// Server ids that never notify.
    pub muted_servers: Vec<String>,
    /// Do not disturb until this time, unix ms (`None`: off).
    pub dnd_until: Option<i64>,
    /// Critical alarms notify even during do not disturb.
    pub critical_breaks_dnd: bool,
    /// Sound name (freedesktop sound theme, e.g. `dialog-warning`) per
    /// severity; empty for none.
    pub sounds: SeveritySounds,
    /// Notify again every this many minutes until acknowledged (`None`:
    /// once).
    pub repeat_mins: Option<u32>,
    /// An alarm that resolves and fires again within this many seconds
    /// does not notify twice.
    pub flap_hold_secs: u32,
    /// Personal snoozes: alarms hidden for this user only, until a time.
    pub snoozes: Vec<Snooze>,
}

impl Default for NotifyPrefs {
    fn default() -> Self {
        Self {
            min_severity: Severity::Info,
            muted_sources: Vec::new(),
            muted_servers: Vec::new(),
            dnd_until: None,
            critical_breaks_dnd: true,
            sounds: SeveritySounds::default(),
            repeat_mins: None,
            flap_hold_secs: 60,
            snoozes: Vec::new(),
        }
    }
}

/// Sound names per severity; empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SeveritySounds {
    /// For critical alarms.
    pub critical: String,
    /// For warnings.
    pub warning: String,
    /// For info alarms.
    pub info: String,
}

/// One personal snooze.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Snooze {
    /// Server id.
    pub server: String,
    /// Alarm id.
    pub id: String,
    /// Hidden until, unix ms.
    pub until: i64,
}
