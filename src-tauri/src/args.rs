//! Where to connect: a remote hub (`--server`, `TELLTALE_SERVER`) or, by
//! default, a hub embedded in the app.
//!
//! For a `wss://` hub with a private CA or a self-signed certificate,
//! `--ca-file` (`TELLTALE_CA_FILE`) names a PEM file to trust besides the
//! system's certificate authorities; it is read when the client starts.

use clap::Parser;
use telltale_client::{Endpoint, HubAccess};

/// Telltale desktop: realtime graphs and native alarm notifications.
///
/// With no server it runs a hub in-process with this machine's own metrics.
#[derive(Debug, Parser)]
#[command(name = "telltale", version)]
struct Args {
    /// Hub to connect to, e.g. ws://hub.example:8000/connection/websocket
    /// (wss:// for TLS)
    #[arg(long, env = "TELLTALE_SERVER", value_name = "URL")]
    server: Option<String>,

    #[command(flatten)]
    access: HubAccess,

    /// Start hidden in the tray (start at login uses it)
    #[arg(long)]
    hidden: bool,

    /// Name of this instance: a second launch with the same name (or none)
    /// shows the running window instead of starting again (Linux)
    #[arg(long, env = "TELLTALE_INSTANCE", value_name = "NAME")]
    instance: Option<String>,
}

/// Validated command-line settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchArgs {
    /// The remote hub, or `None` for the embedded one.
    pub server: Option<Endpoint>,
    /// The token source and certificates for the remote hub.
    pub access: HubAccess,
    /// Start with the window hidden in the tray.
    pub hidden: bool,
    /// Single-instance key other than the default (letters, digits, `-`,
    /// `_`).
    pub instance: Option<String>,
}

impl LaunchArgs {
    /// Reads flags and environment; the error is a message for the user.
    pub fn from_env_and_args() -> Result<Self, String> {
        Self::parse_from(std::env::args_os())
    }

    /// Reads `args` (and the environment).
    pub fn parse_from<I, T>(args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = Args::try_parse_from(args).map_err(|e| e.to_string())?;
        let server = match args.server.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(Endpoint::parse(url).map_err(|e| format!("--server: {e}"))?),
        };
        let instance = match args.instance.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(instance_name(name)?),
        };
        Ok(Self {
            server,
            access: args.access.non_empty(),
            hidden: args.hidden,
            instance,
        })
    }
}

fn instance_name(name: &str) -> Result<String, String> {
    let valid = name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "--instance (TELLTALE_INSTANCE) {name:?}: use up to 64 letters, digits, '-' or '_'"
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn no_server_means_embedded() {
        let settings = LaunchArgs::parse_from(["telltale"]).unwrap();
        assert_eq!(settings.server, None);
    }

    #[test]
    fn malformed_server_url_shows_the_expected_form() {
        let err = LaunchArgs::parse_from(["telltale", "--server", "localhost:8000"]).unwrap_err();
        assert!(err.contains("--server"), "{err}");
        assert!(err.contains("ws://HOST:PORT/connection/websocket"), "{err}");
        let ok = LaunchArgs::parse_from([
            "telltale",
            "--server",
            "ws://127.0.0.1:8000/connection/websocket",
        ]);
        assert_eq!(ok.unwrap().server.unwrap().port(), 8000);
    }

    #[test]
    fn one_kind_of_token() {
        let file = LaunchArgs::parse_from(["telltale", "--token-file", "/run/telltale/jwt"]).unwrap();
        assert_eq!(
            file.access.token_file,
            Some(PathBuf::from("/run/telltale/jwt"))
        );
        let command =
            LaunchArgs::parse_from(["telltale", "--token-command", "pass telltale"]).unwrap();
        assert_eq!(
            command.access.token_command.as_deref(),
            Some("pass telltale")
        );
        for args in [
            ["--token", "t", "--token-file", "/f"],
            ["--token", "t", "--token-command", "c"],
            ["--token-file", "/f", "--token-command", "c"],
        ] {
            let err = LaunchArgs::parse_from(["telltale"].into_iter().chain(args)).unwrap_err();
            assert!(err.contains("cannot be used with"), "{args:?}: {err}");
        }
    }

    #[test]
    fn hidden_and_instance() {
        let plain = LaunchArgs::parse_from(["telltale"]).unwrap();
        assert!(!plain.hidden);
        let hidden =
            LaunchArgs::parse_from(["telltale", "--hidden", "--instance", "work-2"]).unwrap();
        assert!(hidden.hidden);
        assert_eq!(hidden.instance.as_deref(), Some("work-2"));
        let err = LaunchArgs::parse_from(["telltale", "--instance", "a.b"]).unwrap_err();
        assert!(err.contains("letters, digits"), "{err}");
    }

    #[test]
    fn wss_server_with_a_ca_file() {
        let settings = LaunchArgs::parse_from([
            "telltale",
            "--server",
            "wss://hub.example/connection/websocket",
            "--ca-file",
            "/etc/telltale/hub-ca.pem",
        ])
        .unwrap();
        let server = settings.server.unwrap();
        assert_eq!((server.is_tls(), server.port()), (true, 443));
        assert_eq!(
            settings.access.ca_file,
            Some(PathBuf::from("/etc/telltale/hub-ca.pem"))
        );
    }
}
