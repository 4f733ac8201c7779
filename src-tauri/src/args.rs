//! What the command line adds for this run: hubs (`--server`, repeatable,
//! or `TELLTALE_SERVER`) shown as temporary entries next to the server list
//! of the settings, with one token source and CA file for them.
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
    /// Hub to connect to for this run, e.g.
    /// ws://hub.example:8000/connection/websocket (wss:// for TLS); repeat for
    /// several. Added to the server list of the settings, not saved.
    #[arg(long, env = "TELLTALE_SERVER", value_name = "URL")]
    server: Vec<String>,

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
    /// Hubs given for this run (temporary entries).
    pub servers: Vec<Endpoint>,
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
    ///
    /// `--help` and `--version` are answers, not errors: they are printed on
    /// stdout and the process exits 0 here, before GTK or a window is touched
    /// (so they work without a display, as after installing the package).
    pub fn from_env_and_args() -> Result<Self, String> {
        match Args::try_parse() {
            Ok(args) => Self::validate(args),
            Err(e) if !e.use_stderr() => e.exit(),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Reads `args` (and the environment).
    pub fn parse_from<I, T>(args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::validate(Args::try_parse_from(args).map_err(|e| e.to_string())?)
    }

    fn validate(args: Args) -> Result<Self, String> {
        let servers = (args.server.iter().map(|url| url.trim()))
            .filter(|url| !url.is_empty())
            .map(|url| Endpoint::parse(url).map_err(|e| format!("--server: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let instance = match args.instance.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(instance_name(name)?),
        };
        Ok(Self {
            servers,
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
        assert_eq!(settings.servers, []);
        let blank = LaunchArgs::parse_from(["telltale", "--server", " "]).unwrap();
        assert_eq!(blank.servers, []);
    }

    #[test]
    fn several_servers() {
        let settings = LaunchArgs::parse_from([
            "telltale",
            "--server",
            "ws://a:8000/connection/websocket",
            "--server",
            "wss://b/connection/websocket",
        ])
        .unwrap();
        let ports: Vec<u16> = settings.servers.iter().map(|s| s.port()).collect();
        assert_eq!(ports, [8000, 443]);
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
        assert_eq!(ok.unwrap().servers[0].port(), 8000);
    }

    #[test]
    fn one_kind_of_token() {
        let file =
            LaunchArgs::parse_from(["telltale", "--token-file", "/run/telltale/jwt"]).unwrap();
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
        let server = settings.servers[0].clone();
        assert_eq!((server.is_tls(), server.port()), (true, 443));
        assert_eq!(
            settings.access.ca_file,
            Some(PathBuf::from("/etc/telltale/hub-ca.pem"))
        );
    }
}
