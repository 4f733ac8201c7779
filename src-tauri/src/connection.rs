//! The connection state as the UI shows it: connecting, live, reconnecting
//! in N s, or failed with the reason.

use serde::Serialize;
use telltale_client::State;
use ts_rs::TS;

/// Where a hub's connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionPhase {
    /// First attempt under way.
    Connecting,
    /// Connected and subscribed.
    Live,
    /// Lost or refused; trying again.
    Reconnecting,
    /// Given up (e.g. the token was refused); no more attempts.
    Failed,
    /// The server was switched off or removed: the UI drops its data.
    Off,
}

/// Payload of the `connection-state` event and of `connection_state`.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionState {
    /// Where the connection is.
    pub state: ConnectionPhase,
    /// Why the app is not live.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    /// With `reconnecting`: seconds until the next attempt, counted from
    /// when this state was emitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub retry_in_secs: Option<u64>,
    /// The hub's name, shown next to everything that comes from it (e.g.
    /// `Production`, `This computer`, or the URL given with `--server`).
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
            state: ConnectionPhase::Connecting,
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
            State::Connecting { attempt: 1 } => (ConnectionPhase::Connecting, None, None),
            State::Connecting { .. } => {
                let reason = self.last_reason.clone();
                (ConnectionPhase::Reconnecting, reason, None)
            }
            State::Connected { .. } => {
                self.last_reason = None;
                (ConnectionPhase::Live, None, None)
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
                let phase = if *reconnect {
                    ConnectionPhase::Reconnecting
                } else {
                    ConnectionPhase::Failed
                };
                (phase, Some(reason), None)
            }
            State::Reconnecting { delay, .. } => {
                let secs = delay.as_secs_f64().ceil() as u64;
                let reason = self.last_reason.clone();
                (ConnectionPhase::Reconnecting, reason, Some(secs))
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
        self.current.state = ConnectionPhase::Off;
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
        assert_eq!(state.state, ConnectionPhase::Reconnecting);
        assert_eq!(state.retry_in_secs, Some(3));
        assert_eq!(state.reason.as_deref(), Some("connection refused (code 1)"));
        let live = view.apply(&State::Connected {
            client: "c".into(),
            ping: None,
        });
        assert_eq!(
            (live.state, live.reason.clone()),
            (ConnectionPhase::Live, None)
        );
    }

    #[test]
    fn rejected_token_is_an_authentication_failure() {
        let mut view = ConnectionView::new("h".into(), "ws://h/c".into());
        let state = view.apply(&State::Disconnected {
            code: 3500,
            reason: "invalid token".into(),
            reconnect: false,
        });
        assert_eq!(state.state, ConnectionPhase::Failed);
        assert_eq!(state.reason.as_deref(), Some("invalid token (code 3500)"));
        let json = serde_json::to_value(state).unwrap();
        assert!(view.auth_failed());
        assert_eq!(json["state"], "failed");
        assert!(json.get("retryInSecs").is_none());
        assert_eq!(json["server"], "ws://h/c");
        assert_eq!(json["serverId"], "h");
    }

    #[test]
    fn phases_serialize_lowercase() {
        let phases = [
            (ConnectionPhase::Connecting, "connecting"),
            (ConnectionPhase::Live, "live"),
            (ConnectionPhase::Reconnecting, "reconnecting"),
            (ConnectionPhase::Failed, "failed"),
            (ConnectionPhase::Off, "off"),
        ];
        for (phase, name) in phases {
            assert_eq!(serde_json::to_value(phase).unwrap(), name);
        }
        let mut view = ConnectionView::new("h".into(), "ws://h/c".into());
        assert_eq!(serde_json::to_value(view.off()).unwrap()["state"], "off");
    }
}
