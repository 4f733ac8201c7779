//! The connection state as the UI shows it: connecting, live, reconnecting
//! in N s, or failed with the reason.

use serde::Serialize;
use telltale_client::State;

/// Payload of the `connection-state` event and of `connection_state`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionState {
    /// `connecting`, `live`, `reconnecting`, `failed`, or `off` (the
    /// server was switched off or removed: the UI drops its data).
    pub state: &'static str,
    /// Why the app is not live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With `reconnecting`: seconds until the next attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_secs: Option<u64>,
    /// The hub's name, shown next to everything that comes from it.
    pub server: String,
    /// The hub's stable id, on every sample and alarm from it.
    pub server_id: String,
}

/// Close codes and reply errors that mean the token was refused.
fn is_auth_failure(code: u16) -> bool {
    matches!(code, 3500 | 101 | 109)
}

/// Tracks client states and says what the UI should show.
#[derive(Debug)]
pub struct ConnectionView {
    server: String,
    server_id: String,
    auth_failed: bool,
    last_reason: Option<String>,
    current: ConnectionState,
}

impl ConnectionView {
    /// Starts as `connecting` to the hub `server_id`, named `server`.
    pub fn new(server_id: String, server: String) -> Self {
        let current = ConnectionState {
            state: "connecting",
            reason: None,
            retry_in_secs: None,
            server: server.clone(),
            server_id: server_id.clone(),
        };
        Self {
            server,
            server_id,
            auth_failed: false,
            last_reason: None,
            current,
        }
    }

    /// Whether the last disconnect was the hub refusing the token.
    pub fn auth_failed(&self) -> bool {
        self.auth_failed
    }

    /// The state shown now.
    pub fn current(&self) -> &ConnectionState {
        &self.current
    }

    /// Applies a client state; returns the new view state.
    pub fn apply(&mut self, state: &State) -> &ConnectionState {
        let (phase, reason, retry) = match state {
            State::Connecting { attempt: 1 } => ("connecting", None, None),
            State::Connecting { .. } => ("reconnecting", self.last_reason.clone(), None),
            State::Connected { .. } => {
                self.last_reason = None;
                ("live", None, None)
            }
            State::Disconnected {
                code,
                reason,
                reconnect,
            } => {
                // The UI recognises "invalid token", "token expired" and
                // "unauthorized" and says "Authentication failed" itself.
                let reason = format!("{reason} (code {code})");
                self.auth_failed = is_auth_failure(*code);
                self.last_reason = Some(reason.clone());
                let phase = if *reconnect { "reconnecting" } else { "failed" };
                (phase, Some(reason), None)
            }
            State::Reconnecting { delay, .. } => {
                let secs = delay.as_secs_f64().ceil() as u64;
                ("reconnecting", self.last_reason.clone(), Some(secs))
            }
        };
        self.current = ConnectionState {
            state: phase,
            reason,
            retry_in_secs: retry,
            server: self.server.clone(),
            server_id: self.server_id.clone(),
        };
        &self.current
    }

    /// The state once the server is switched off or removed.
    pub fn off(&mut self) -> &ConnectionState {
        self.current.state = "off";
        self.current.reason = None;
        self.current.retry_in_secs = None;
        &self.current
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn reconnecting_carries_the_reason_and_countdown() {
        let mut view = ConnectionView::new("h".into(), "ws://h/c".into());
        view.apply(&State::Disconnected {
            code: 1,
            reason: "connection refused".into(),
            reconnect: true,
        });
        let state = view.apply(&State::Reconnecting {
            attempt: 2,
            delay: Duration::from_millis(2300),
        });
        assert_eq!(state.state, "reconnecting");
        assert_eq!(state.retry_in_secs, Some(3));
        assert_eq!(state.reason.as_deref(), Some("connection refused (code 1)"));
        let live = view.apply(&State::Connected {
            client: "c".into(),
            ping: None,
        });
        assert_eq!((live.state, live.reason.clone()), ("live", None));
    }

    #[test]
    fn rejected_token_is_an_authentication_failure() {
        let mut view = ConnectionView::new("h".into(), "ws://h/c".into());
        let state = view.apply(&State::Disconnected {
            code: 3500,
            reason: "invalid token".into(),
            reconnect: false,
        });
        assert_eq!(state.state, "failed");
        assert_eq!(state.reason.as_deref(), Some("invalid token (code 3500)"));
        let json = serde_json::to_value(state).unwrap();
        assert!(view.auth_failed());
        assert!(json.get("retryInSecs").is_none());
        assert_eq!(json["server"], "ws://h/c");
        assert_eq!(json["serverId"], "h");
    }
}
