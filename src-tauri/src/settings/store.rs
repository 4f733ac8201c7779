//! The settings in force, loaded from and saved to the app config dir.
//!
//! A missing file means defaults. A file that cannot be used (unreadable,
//! not JSON, wrong types, an invalid server) is moved aside as
//! `settings.json.broken-<time>` and the app starts on defaults, with
//! [`SettingsStore::problem`] saying so for the window: it never stops the
//! app.
//!
//! Fixed tokens go to the OS keyring when one answers (user
//! `server:<id>`), else into the settings file, which is always 0600.
//! `--server` entries are kept in memory only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use serde::Serialize;
use ts_rs::TS;

use super::check::{check, FieldProblem};
use super::secrets::{token_user, Keyring, SecretStore};
use super::{file, ServerEntry, Settings, TokenSource, TokenStore};

/// Why `update` refused: one problem per field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct SettingsError {
    /// The fields that cannot be saved (none when saving itself failed).
    pub problems: Vec<FieldProblem>,
    /// The whole message, for a banner or a log.
    pub message: String,
}

impl SettingsError {
    fn fields(problems: Vec<FieldProblem>) -> Self {
        let message = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Self { problems, message }
    }

    fn save(path: &Path, error: &std::io::Error) -> Self {
        Self {
            problems: Vec::new(),
            message: format!(
                "Cannot save the settings to {}: {error}. Check that the folder is writable.",
                path.display()
            ),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SettingsError {}

/// The settings in force and where they live. Shared by the shell
/// (`Arc<SettingsStore>`); every method is safe to call from any thread,
/// and keyring calls are bounded in time (they may block a few seconds).
pub struct SettingsStore {
    path: PathBuf,
    current: Mutex<Settings>,
    problem: Mutex<Option<String>>,
    /// Serializes updates (keyring, then file, then memory).
    updating: Mutex<()>,
    /// Probed at first need, not at load: start-up never waits on D-Bus.
    secrets: OnceLock<Option<Arc<dyn SecretStore>>>,
}

impl SettingsStore {
    /// The settings of `dir/settings.json`; tokens go to the OS keyring
    /// when one answers.
    pub fn load(dir: &Path) -> SettingsStore {
        Self::open(dir, OnceLock::new())
    }

    /// Like [`SettingsStore::load`] with the given secret store (`None`:
    /// tokens in the file), for tests.
    pub fn load_with(dir: &Path, secrets: Option<Arc<dyn SecretStore>>) -> SettingsStore {
        Self::open(dir, OnceLock::from(secrets))
    }

    fn open(dir: &Path, secrets: OnceLock<Option<Arc<dyn SecretStore>>>) -> SettingsStore {
        let path = dir.join(file::FILE_NAME);
        let (settings, problem) =
            match file::read(&path).and_then(|s| usable(s.unwrap_or_default())) {
                Ok(settings) => (settings, None),
                Err(why) => (Settings::default(), Some(broken(&path, &why))),
            };
        if let Some(problem) = &problem {
            tracing::warn!("{problem}");
        }
        SettingsStore {
            path,
            current: Mutex::new(settings),
            problem: Mutex::new(problem),
            updating: Mutex::new(()),
            secrets,
        }
    }

    /// The settings file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the settings file was not used at start, for the window; `None`
    /// once settings were saved since.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().clone()
    }

    /// The settings in force, `--server` entries and file-kept tokens
    /// included: for the shell, never for the UI.
    pub fn current(&self) -> Settings {
        self.current.lock().clone()
    }

    /// The settings for the UI: no token values; `stored` says where each
    /// fixed token is.
    pub fn for_ui(&self) -> Settings {
        let mut settings = self.current();
        for entry in &mut settings.servers {
            if let TokenSource::Fixed { value, stored } = &mut entry.token {
                *value = None;
                if stored.is_none() && !entry.temporary {
                    *stored = Some(TokenStore::File);
                }
            }
        }
        settings
    }

    /// Where new fixed tokens go. May probe the keyring (a few seconds at
    /// most) the first time.
    pub fn token_store(&self) -> TokenStore {
        match self.secrets() {
            Some(_) => TokenStore::Keyring,
            None => TokenStore::File,
        }
    }

    /// Adds `entry` (from `--server`) for this run; it replaces an entry
    /// with the same id and is never saved.
    pub fn add_temporary(&self, mut entry: ServerEntry) {
        entry.temporary = true;
        let mut current = self.current.lock();
        current.servers.retain(|s| s.id != entry.id);
        current.servers.insert(0, entry);
    }

    /// Switches the embedded hub off for this run (not saved until the
    /// user saves the settings, which then keeps what the view showed).
    pub fn embedded_off_for_run(&self) {
        self.current.lock().embedded = false;
    }

    /// The fixed token of server `id`, from memory, the file or the
    /// keyring; the error says what to do.
    pub fn fixed_token(&self, id: &str) -> Result<String, String> {
        let entry = self.current().servers.into_iter().find(|s| s.id == id);
        let Some(TokenSource::Fixed { value, stored }) = entry.map(|e| e.token) else {
            return Err(format!("server {id:?} has no fixed token"));
        };
        if let Some(value) = value {
            return Ok(value);
        }
        let missing = "Enter the token again in Settings.";
        if stored != Some(TokenStore::Keyring) {
            return Err(format!(
                "its token is missing from the settings file. {missing}"
            ));
        }
        let Some(secrets) = self.secrets() else {
            return Err(format!(
                "its token is in the keyring, which does not answer. {missing}"
            ));
        };
        match secrets.get(&token_user(id)) {
            Ok(Some(token)) => Ok(token),
            Ok(None) => Err(format!("its token is not in the keyring. {missing}")),
            Err(why) => Err(format!("cannot read its token: {why}. {missing}")),
        }
    }

    /// [`SettingsStore::fixed_token`] of `entry`, `None` when there is none.
    pub fn token_for(&self, entry: &ServerEntry) -> Option<String> {
        self.fixed_token(&entry.id).ok()
    }

    /// Checks `new`, stores pasted tokens (keyring or file), saves, and
    /// returns the settings for the UI. A fixed token sent without a value
    /// keeps the one held; `--server` entries keep what the command line
    /// gave whatever the UI sends.
    pub fn update(&self, new: Settings) -> Result<Settings, SettingsError> {
        let _one_at_a_time = self.updating.lock();
        let old = self.current();
        let problems = check(&new, &old);
        if !problems.is_empty() {
            return Err(SettingsError::fields(problems));
        }
        let mut next = Settings {
            servers: Vec::new(),
            ..new.clone()
        };
        next.servers
            .extend(old.servers.iter().filter(|s| s.temporary).cloned());
        for mut entry in new.servers.into_iter().filter(|s| !s.temporary) {
            entry.name = entry.name.trim().to_owned();
            entry.url = entry.url.trim().to_owned();
            let previous = old
                .servers
                .iter()
                .find(|s| s.id == entry.id && !s.temporary);
            entry.token = self.settle_token(&entry, previous);
            next.servers.push(entry);
        }
        file::write(&self.path, &saved(&next)).map_err(|e| SettingsError::save(&self.path, &e))?;
        self.forget_dropped_tokens(&old, &next);
        *self.current.lock() = next;
        *self.problem.lock() = None;
        Ok(self.for_ui())
    }

    /// Where `entry`'s token ends up: a pasted fixed token in the keyring
    /// (or the file when no keyring answers), a blank one as before.
    fn settle_token(&self, entry: &ServerEntry, previous: Option<&ServerEntry>) -> TokenSource {
        let TokenSource::Fixed { value, .. } = &entry.token else {
            return entry.token.clone();
        };
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            // `check` made sure there is a previous fixed token.
            return previous.map(|p| p.token.clone()).unwrap_or_default();
        };
        if let Some(secrets) = self.secrets() {
            match secrets.set(&token_user(&entry.id), value) {
                Ok(()) => {
                    return TokenSource::Fixed {
                        value: None,
                        stored: Some(TokenStore::Keyring),
                    }
                }
                Err(why) => {
                    tracing::warn!(server = %entry.id, %why, "token kept in the settings file")
                }
            }
        }
        TokenSource::Fixed {
            value: Some(value.to_owned()),
            stored: Some(TokenStore::File),
        }
    }

    /// Deletes the keyring tokens no longer used: of removed servers, and
    /// of servers whose token is no longer a keyring one.
    fn forget_dropped_tokens(&self, old: &Settings, next: &Settings) {
        let Some(secrets) = self.secrets() else {
            return;
        };
        for before in old
            .servers
            .iter()
            .filter(|s| !s.temporary && in_keyring(&s.token))
        {
            let still = next
                .servers
                .iter()
                .any(|s| s.id == before.id && in_keyring(&s.token));
            if !still {
                if let Err(why) = secrets.delete(&token_user(&before.id)) {
                    tracing::warn!(server = %before.id, %why, "cannot delete the token from the keyring");
                }
            }
        }
    }

    fn secrets(&self) -> Option<&Arc<dyn SecretStore>> {
        self.secrets
            .get_or_init(|| Keyring::probe().map(|k| Arc::new(k) as Arc<dyn SecretStore>))
            .as_ref()
    }
}

fn in_keyring(token: &TokenSource) -> bool {
    matches!(
        token,
        TokenSource::Fixed {
            stored: Some(TokenStore::Keyring),
            ..
        }
    )
}

/// `settings` if it passes the checks a save would, else why not.
fn usable(settings: Settings) -> Result<Settings, String> {
    // Loaded tokens may be missing (the keyring may be gone); that is
    // reported when connecting, not a reason to drop the whole file.
    let problems: Vec<_> = check(&settings, &settings)
        .into_iter()
        .filter(|p| !p.field.ends_with(".token"))
        .collect();
    match problems.first() {
        None => Ok(settings),
        Some(p) => Err(format!("{}: {}", p.field, p.message)),
    }
}

/// What is written: no `--server` entries.
fn saved(settings: &Settings) -> Settings {
    Settings {
        servers: settings
            .servers
            .iter()
            .filter(|s| !s.temporary)
            .cloned()
            .collect(),
        ..settings.clone()
    }
}

/// Moves the unusable file at `path` aside; the message for the window.
fn broken(path: &Path, why: &str) -> String {
    let start = format!("Your settings file could not be read ({why}).");
    match file::move_aside(path) {
        Ok(backup) => format!(
            "{start} It was moved to {} and Telltale started with default settings.",
            backup.display()
        ),
        Err(e) => format!(
            "{start} It could not be moved aside ({e}); Telltale started with default settings, \
             and saving the settings will replace it."
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::settings::Theme;

    /// A keyring in memory: the seam between the store and D-Bus.
    #[derive(Default)]
    struct MemoryKeyring(Mutex<HashMap<String, String>>);

    impl SecretStore for MemoryKeyring {
        fn get(&self, user: &str) -> Result<Option<String>, String> {
            Ok(self.0.lock().get(user).cloned())
        }
        fn set(&self, user: &str, secret: &str) -> Result<(), String> {
            self.0.lock().insert(user.into(), secret.into());
            Ok(())
        }
        fn delete(&self, user: &str) -> Result<(), String> {
            self.0.lock().remove(user);
            Ok(())
        }
    }

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir =
                std::env::temp_dir().join(format!("telltale-store-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
        fn file(&self) -> PathBuf {
            self.0.join(file::FILE_NAME)
        }
        fn backups(&self) -> Vec<PathBuf> {
            fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains(".broken-"))
                .collect()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const URL: &str = "ws://127.0.0.1:8000/connection/websocket";

    fn server(id: &str, token: TokenSource) -> ServerEntry {
        ServerEntry {
            id: id.into(),
            name: format!("hub {id}"),
            url: URL.into(),
            token,
            enabled: true,
            ca_file: None,
            temporary: false,
        }
    }

    fn fixed(value: Option<&str>) -> TokenSource {
        TokenSource::Fixed {
            value: value.map(Into::into),
            stored: None,
        }
    }

    fn no_keyring(dir: &Dir) -> SettingsStore {
        SettingsStore::load_with(&dir.0, None)
    }

    #[test]
    fn a_missing_file_means_defaults_and_no_problem() {
        let dir = Dir::new("missing");
        let store = no_keyring(&dir);
        assert_eq!(store.current(), Settings::default());
        assert_eq!(store.problem(), None);
        assert!(!dir.file().exists(), "loading writes nothing");
    }

    #[test]
    fn saved_settings_load_back_equal() {
        let dir = Dir::new("roundtrip");
        let mut settings = Settings {
            servers: vec![
                server(
                    "a",
                    TokenSource::File {
                        path: "/run/t".into(),
                    },
                ),
                server(
                    "b",
                    TokenSource::Command {
                        command: "pass hub".into(),
                    },
                ),
                server("c", TokenSource::None),
            ],
            embedded: false,
            chart_window_secs: 3600,
            theme: Theme::Light,
            close_to_tray: false,
            autostart: true,
            start_hidden: true,
            ..Settings::default()
        };
        settings.servers[2].enabled = false;
        settings.servers[2].ca_file = Some("/etc/ca.pem".into());
        settings.notifications.muted_sources = vec!["a/db-1".into()];
        settings.notifications.dnd_until = Some(1_700_000_000_000);
        settings.notifications.repeat_mins = Some(10);
        settings.notifications.sounds.critical = "alarm-clock-elapsed".into();
        let saved = no_keyring(&dir).update(settings.clone()).unwrap();
        assert_eq!(saved, settings);
        let loaded = no_keyring(&dir);
        assert_eq!(loaded.problem(), None);
        assert_eq!(loaded.current(), settings);
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_defaults_used() {
        let dir = Dir::new("corrupt");
        let garbage = "{\n  \"servers\": [\n    {\"id\": \"a\" \"name\": 1}\n";
        fs::write(dir.file(), garbage).unwrap();
        let store = no_keyring(&dir);
        assert_eq!(store.current(), Settings::default());
        let backups = dir.backups();
        assert_eq!(backups.len(), 1);
        assert_eq!(fs::read_to_string(&backups[0]).unwrap(), garbage);
        assert!(!dir.file().exists());
        let problem = store.problem().unwrap();
        assert!(
            problem.starts_with("Your settings file could not be read ("),
            "{problem}"
        );
        assert!(problem.contains("line 3"), "{problem}");
        assert!(
            problem.contains(&backups[0].display().to_string()),
            "{problem}"
        );
        assert!(
            problem.ends_with("Telltale started with default settings."),
            "{problem}"
        );
        // Saving afterwards works and clears the message.
        store.update(Settings::default()).unwrap();
        assert_eq!(store.problem(), None);
        assert!(dir.file().exists());
    }

    #[test]
    fn wrong_types_or_an_invalid_url_also_count_as_corrupt() {
        for (name, text) in [
            ("types", r#"{"chartWindowSecs": "five"}"#),
            (
                "url",
                r#"{"servers": [{"id": "a", "name": "A", "url": "http://x"}]}"#,
            ),
        ] {
            let dir = Dir::new(name);
            fs::write(dir.file(), text).unwrap();
            let store = no_keyring(&dir);
            assert_eq!(store.current(), Settings::default(), "{name}");
            assert_eq!(dir.backups().len(), 1, "{name}");
            assert!(store.problem().is_some(), "{name}");
        }
    }

    #[test]
    fn invalid_changes_are_refused_and_nothing_is_written() {
        let dir = Dir::new("invalid");
        let store = no_keyring(&dir);
        let mut entry = server("a", TokenSource::None);
        entry.url = "localhost".into();
        let err = store
            .update(Settings {
                servers: vec![entry],
                ..Settings::default()
            })
            .unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].field, "servers.0.url");
        assert!(
            err.message.contains("ws://HOST:PORT/connection/websocket"),
            "{err}"
        );
        assert!(!dir.file().exists());
        assert_eq!(store.current(), Settings::default());
    }

    #[test]
    fn without_a_keyring_tokens_stay_in_the_0600_file_never_in_the_ui() {
        let dir = Dir::new("file-token");
        let store = no_keyring(&dir);
        assert_eq!(store.token_store(), TokenStore::File);
        let shown = store
            .update(Settings {
                servers: vec![server("a", fixed(Some(" tok-1 ")))],
                ..Settings::default()
            })
            .unwrap();
        assert_eq!(
            shown.servers[0].token,
            TokenSource::Fixed {
                value: None,
                stored: Some(TokenStore::File)
            }
        );
        let text = fs::read_to_string(dir.file()).unwrap();
        assert!(text.contains("tok-1"), "{text}");
        let mode = fs::metadata(dir.file()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A blank token from the UI keeps the one held, across a restart.
        store.update(shown).unwrap();
        let reloaded = no_keyring(&dir);
        assert_eq!(reloaded.fixed_token("a").unwrap(), "tok-1");
        assert!(!serde_json::to_string(&reloaded.for_ui())
            .unwrap()
            .contains("tok-1"));
    }

    #[test]
    fn with_a_keyring_tokens_go_there_and_leave_with_their_server() {
        let dir = Dir::new("keyring");
        let keyring = Arc::new(MemoryKeyring::default());
        let store = SettingsStore::load_with(&dir.0, Some(keyring.clone()));
        assert_eq!(store.token_store(), TokenStore::Keyring);
        let settings = Settings {
            servers: vec![
                server("a", fixed(Some("tok-a"))),
                server("b", fixed(Some("tok-b"))),
            ],
            ..Settings::default()
        };
        let mut shown = store.update(settings).unwrap();
        assert!(!fs::read_to_string(dir.file()).unwrap().contains("tok-"));
        assert_eq!(keyring.get("server:a").unwrap().as_deref(), Some("tok-a"));
        let reloaded = SettingsStore::load_with(&dir.0, Some(keyring.clone()));
        assert_eq!(reloaded.fixed_token("b").unwrap(), "tok-b");
        // `a` switches to a token file, `b` is removed: both keyring
        // entries go.
        shown.servers[0].token = TokenSource::File {
            path: "/run/t".into(),
        };
        shown.servers.pop();
        store.update(shown).unwrap();
        assert!(keyring.0.lock().is_empty(), "{:?}", keyring.0.lock());
    }

    #[test]
    fn temporary_entries_are_shown_but_never_written() {
        let dir = Dir::new("temporary");
        let store = no_keyring(&dir);
        let mut cli = server("cli", fixed(Some("from-the-command-line")));
        cli.temporary = true;
        store.add_temporary(cli.clone());
        assert_eq!(store.fixed_token("cli").unwrap(), "from-the-command-line");
        let mut shown = store.for_ui();
        assert_eq!(shown.servers[0].token, fixed(None));
        // The UI cannot edit it: what it sends for it is ignored.
        shown.servers[0].url = "ws://elsewhere:1/connection/websocket".into();
        shown.servers.push(server("a", TokenSource::None));
        let after = store.update(shown).unwrap();
        assert_eq!(after.servers.len(), 2);
        assert_eq!(store.current().servers[0], cli);
        let text = fs::read_to_string(dir.file()).unwrap();
        assert!(
            !text.contains("cli") && !text.contains("from-the-command-line"),
            "{text}"
        );
        assert_eq!(no_keyring(&dir).current().servers.len(), 1);
    }
}
