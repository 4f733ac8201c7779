//! How a program reaches a hub: the token (fixed, file or command) and the
//! certificates to trust, as one set of flags shared by `telltale-tail` and
//! the desktop app.

use std::path::PathBuf;

use crate::{token_command, token_file, Error, Options};

/// `--token`, `--token-file`, `--token-command` and `--ca-file`, each with
/// a `TELLTALE_*` environment variable. Flatten it into a clap parser with
/// `#[command(flatten)]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct HubAccess {
    /// Connection token (JWT); anonymous when no token is given.
    #[arg(
        long,
        value_name = "JWT",
        env = "TELLTALE_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// File holding the connection token, read again at every connect and
    /// before the token expires (for a token an agent keeps fresh).
    #[arg(
        long,
        value_name = "FILE",
        env = "TELLTALE_TOKEN_FILE",
        conflicts_with_all = ["token", "token_command"]
    )]
    pub token_file: Option<PathBuf>,

    /// Shell command that prints a connection token, run whenever a new one
    /// is needed (first connect, expired token, before expiry); 10 s limit.
    #[arg(
        long,
        value_name = "CMD",
        env = "TELLTALE_TOKEN_COMMAND",
        conflicts_with = "token"
    )]
    pub token_command: Option<String>,

    /// For wss://: PEM file of certificates to trust besides the system's
    /// (the hub's private CA, or its self-signed certificate).
    #[arg(long, value_name = "FILE", env = "TELLTALE_CA_FILE")]
    pub ca_file: Option<PathBuf>,
}

impl HubAccess {
    /// The same settings with empty values (an empty environment variable)
    /// treated as absent.
    pub fn non_empty(self) -> Self {
        Self {
            token: self.token.filter(|t| !t.is_empty()),
            token_file: self.token_file.filter(|p| !p.as_os_str().is_empty()),
            token_command: self.token_command.filter(|c| !c.trim().is_empty()),
            ca_file: self.ca_file.filter(|p| !p.as_os_str().is_empty()),
        }
    }

    /// Adds the token source and the certificates to `options`. A CA file
    /// that cannot be used is an error now, not on every reconnect.
    pub fn apply(self, mut options: Options) -> Result<Options, Error> {
        let access = self.non_empty();
        if let Some(token) = access.token {
            options = options.token(token);
        }
        if let Some(path) = access.token_file {
            options = options.token_from(token_file(path));
        }
        if let Some(command) = access.token_command {
            options = options.token_from(token_command(command));
        }
        if let Some(path) = &access.ca_file {
            options = options.ca_file(path);
        }
        options.tls_config()?;
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Args {
        #[command(flatten)]
        access: HubAccess,
    }

    #[test]
    fn one_kind_of_token() {
        let parse = |args: &[&str]| {
            Args::try_parse_from(["t"].iter().chain(args))
                .map(|a| a.access)
                .map_err(|e| e.to_string())
        };
        let file = parse(&["--token-file", "/run/telltale/jwt"]).unwrap();
        assert_eq!(file.token_file, Some(PathBuf::from("/run/telltale/jwt")));
        for args in [
            ["--token", "t", "--token-file", "/f"],
            ["--token", "t", "--token-command", "c"],
            ["--token-file", "/f", "--token-command", "c"],
        ] {
            let err = parse(&args).unwrap_err();
            assert!(err.contains("cannot be used with"), "{args:?}: {err}");
        }
    }

    #[test]
    fn a_bad_ca_file_fails_when_applied() {
        let access = HubAccess {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..HubAccess::default()
        };
        let options = Options::new("wss://hub.example/connection/websocket").unwrap();
        let err = access.apply(options).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
