//! Where to connect: a remote hub (`--server`, `TELLTALE_SERVER`) or, by
//! default, a hub embedded in the app.

use clap::Parser;
use telltale_client::Endpoint;

/// Telltale desktop: realtime graphs and native alarm notifications.
///
/// With no server it runs a hub in-process with this machine's own metrics.
#[derive(Debug, Parser)]
#[command(name = "telltale", version)]
struct Args {
    /// Hub to connect to, e.g. ws://hub.example:8000/connection/websocket
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
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The remote hub, or `None` for the embedded one.
    pub server: Option<Endpoint>,
    /// Token for the remote hub.
    pub token: Option<String>,
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
        Ok(Self { server, token })
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
}
