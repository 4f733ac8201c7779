//! From a server entry to the client's options, through the same
//! [`HubAccess`] the command-line flags use: a fixed token, a token file
//! read again at every connect, or a token command run again when the hub
//! says the token expired (see `telltale_client::token`).

use std::path::PathBuf;

use telltale_client::{Endpoint, HubAccess, Options};

use super::{ServerEntry, SettingsStore, TokenSource};

/// Id of the first entry `--server` adds for one run; the next ones are
/// `launch-2`, `launch-3`, ...
pub const TEMPORARY_ID: &str = "launch";

/// The options to connect to `entry`; a fixed token is looked up in
/// `store` (keyring or file). The error is a message for the user naming
/// the server, e.g. a CA file that cannot be read.
pub fn client_options(entry: &ServerEntry, store: &SettingsStore) -> Result<Options, String> {
    options_with(entry, || store.fixed_token(&entry.id))
}

/// The options to connect to `entry`, whose fixed token (if it has one)
/// `fixed_token` gives.
pub fn options_with(
    entry: &ServerEntry,
    fixed_token: impl FnOnce() -> Result<String, String>,
) -> Result<Options, String> {
    let fail = |why: String| format!("{}: {why}", entry.name);
    let options = Options::new(entry.url.trim()).map_err(|e| fail(e.to_string()))?;
    let mut access = HubAccess {
        ca_file: entry
            .ca_file
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        ..HubAccess::default()
    };
    match &entry.token {
        TokenSource::None => {}
        TokenSource::Fixed { .. } => access.token = Some(fixed_token().map_err(fail)?),
        TokenSource::File { path } => access.token_file = Some(PathBuf::from(path.trim())),
        TokenSource::Command { command } => access.token_command = Some(command.clone()),
    }
    access.apply(options).map_err(|e| fail(e.to_string()))
}

/// The entry for the `index`th `--server` (from 0) and the token flags:
/// shown in the list for this run, never saved, named `host:port`. A
/// `--token` stays in memory only.
pub fn temporary_entry(server: &Endpoint, access: &HubAccess, index: usize) -> ServerEntry {
    let access = access.clone().non_empty();
    let token = if let Some(value) = access.token {
        TokenSource::Fixed {
            value: Some(value),
            stored: None,
        }
    } else if let Some(path) = access.token_file {
        TokenSource::File {
            path: path.display().to_string(),
        }
    } else if let Some(command) = access.token_command {
        TokenSource::Command { command }
    } else {
        TokenSource::None
    };
    let id = match index {
        0 => TEMPORARY_ID.to_owned(),
        _ => format!("{TEMPORARY_ID}-{}", index + 1),
    };
    ServerEntry {
        id,
        name: format!("{}:{}", server.host(), server.port()),
        url: server.as_str().into(),
        token,
        enabled: true,
        ca_file: access.ca_file.map(|p| p.display().to_string()),
        temporary: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_becomes_a_temporary_entry() {
        let server = Endpoint::parse("wss://hub.example/connection/websocket").unwrap();
        let access = HubAccess {
            token_command: Some("pass telltale".into()),
            ca_file: Some("/etc/ca.pem".into()),
            ..HubAccess::default()
        };
        let entry = temporary_entry(&server, &access, 0);
        assert!(entry.temporary && entry.enabled);
        assert_eq!(
            (entry.id.as_str(), entry.name.as_str()),
            ("launch", "hub.example:443")
        );
        assert_eq!(temporary_entry(&server, &access, 1).id, "launch-2");
        assert_eq!(
            entry.token,
            TokenSource::Command {
                command: "pass telltale".into()
            }
        );
        assert_eq!(entry.ca_file.as_deref(), Some("/etc/ca.pem"));
    }
}
