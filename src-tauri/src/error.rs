//! The error every command returns: a code the UI can act on and a message
//! for the user, so the UI never parses error text.

use serde::Serialize;
use ts_rs::TS;

/// What went wrong, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No server with that id is in the list (removed meanwhile).
    UnknownServer,
    /// The hub answered with an error (its code is in `hubCode`).
    Hub,
    /// The hub did not answer: not connected, timed out, connection lost.
    Unreachable,
    /// The request itself is not valid (e.g. bad settings).
    Invalid,
    /// A local file or the keyring failed.
    Storage,
}

/// A command's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{message}")]
pub struct CommandError {
    /// What went wrong.
    pub code: ErrorCode,
    /// For the user: what failed and what to do.
    pub message: String,
    /// The hub's error code, with [`ErrorCode::Hub`].
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hub_code: Option<u32>,
}

impl CommandError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hub_code: None,
        }
    }

    /// `server` is not in the list.
    pub fn unknown_server(server: &str) -> Self {
        Self::new(
            ErrorCode::UnknownServer,
            format!("no server {server:?} in the list (it was removed or switched off)"),
        )
    }

    /// A hub call failed while doing `what` (e.g. "cannot acknowledge x").
    pub fn hub(what: &str, error: &telltale_client::Error) -> Self {
        let code = match error.server_code() {
            Some(_) => ErrorCode::Hub,
            None => ErrorCode::Unreachable,
        };
        Self {
            code,
            message: format!("{what}: {error}"),
            hub_code: error.server_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_a_code() {
        let error = CommandError::hub(
            "cannot acknowledge h/cpu",
            &telltale_client::Error::Timeout(std::time::Duration::from_secs(5)),
        );
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["code"], "unreachable");
        assert!(json["message"].as_str().unwrap().contains("no reply"));
        assert!(json.get("hubCode").is_none());
        let json = serde_json::to_value(CommandError::unknown_server("x")).unwrap();
        assert_eq!(json["code"], "unknown_server");
    }
}
