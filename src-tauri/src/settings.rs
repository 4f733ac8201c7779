//! Where to connect: a remote hub (`--server`, `TELLTALE_SERVER`) or, by
//! default, a hub embedded in the app.
//!
//! For a `wss://` hub with a private CA or a self-signed certificate,
//! `--ca-file` (`TELLTALE_CA_FILE`) names a PEM file to trust besides the
//! system's certificate authorities; it is read when the client starts.

use std::path::PathBuf;

use clap::Parser;
use telltale_client::Endpoint;

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

    /// Connection token (JWT) for the hub.
    #[arg(
        long,
        env = "TELLTALE_TOKEN",
        value_name = "JWT",
        hide_env_values = true
    )]
    token: Option<String>,

    /// File holding the hub's connection token, read again at every
    /// connect and before the token expires (a token an agent keeps fresh).
    #[arg(
        long,
        env = "TELLTALE_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with_all = ["token", "token_command"]
    )]
    token_file: Option<PathBuf>,

    /// Shell command that prints the hub's connection token, run whenever a
    /// new one is needed (first connect, expired token, before expiry).
    #[arg(
        long,
        env = "TELLTALE_TOKEN_COMMAND",
        value_name = "CMD",
        conflicts_with = "token"
    )]
    token_command: Option<String>,

    /// For a wss:// hub: PEM file of certificates to trust besides the
    /// system's (the hub's private CA, or its self-signed certificate).
    #[arg(long, env = "TELLTALE_CA_FILE", value_name = "FILE")]
    ca_file: Option<PathBuf>,
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The remote hub, or `None` for the embedded one.
    pub server: Option<Endpoint>,
    /// Token for the remote hub.
    pub token: Option<String>,
    /// File the token is read from (instead of `token`).
    pub token_file: Option<PathBuf>,
    /// Command that prints the token (instead of `token`).
    pub token_command: Option<String>,
    /// Extra certificates to trust for a `wss://` hub.
    pub ca_file: Option<PathBuf>,
}

impl Settings {
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
        let token = args.token.filter(|t| !t.is_empty());
        let token_file = args.token_file.filter(|p| !p.as_os_str().is_empty());
        let token_command = args.token_command.filter(|c| !c.trim().is_empty());
        let ca_file = args.ca_file.filter(|p| !p.as_os_str().is_empty());
        Ok(Self {
            server,
            token,
            token_file,
            token_command,
            ca_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_server_means_embedded() {
        let settings = Settings::parse_from(["telltale"]).unwrap();
        assert_eq!(settings.server, None);
    }

    #[test]
    fn malformed_server_url_shows_the_expected_form() {
        let err = Settings::parse_from(["telltale", "--server", "localhost:8000"]).unwrap_err();
        assert!(err.contains("--server"), "{err}");
        assert!(err.contains("ws://HOST:PORT/connection/websocket"), "{err}");
        let ok = Settings::parse_from([
            "telltale",
            "--server",
            "ws://127.0.0.1:8000/connection/websocket",
        ]);
        assert_eq!(ok.unwrap().server.unwrap().port(), 8000);
    }

    #[test]
    fn one_kind_of_token() {
        let file = Settings::parse_from(["telltale", "--token-file", "/run/telltale/jwt"]).unwrap();
        assert_eq!(file.token_file, Some(PathBuf::from("/run/telltale/jwt")));
        let command =
            Settings::parse_from(["telltale", "--token-command", "pass telltale"]).unwrap();
        assert_eq!(command.token_command.as_deref(), Some("pass telltale"));
        for args in [
            ["--token", "t", "--token-file", "/f"],
            ["--token", "t", "--token-command", "c"],
            ["--token-file", "/f", "--token-command", "c"],
        ] {
            let err = Settings::parse_from(["telltale"].into_iter().chain(args)).unwrap_err();
            assert!(err.contains("cannot be used with"), "{args:?}: {err}");
        }
    }

    #[test]
    fn wss_server_with_a_ca_file() {
        let settings = Settings::parse_from([
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
            settings.ca_file,
            Some(PathBuf::from("/etc/telltale/hub-ca.pem"))
        );
    }
}
