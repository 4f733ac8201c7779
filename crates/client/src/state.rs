//! Connection state, as told to the application, and the client's own
//! disconnect codes.
//!
//! A connection goes `Connecting → Connected → Disconnected → Reconnecting →
//! Connecting ...`. `Disconnected { reconnect: false }` is terminal: the
//! client makes no further attempt until [`crate::Client::reconnect`] is
//! called, and the code and reason say why.

use std::fmt;
use std::time::Duration;

/// Disconnect codes the client produces itself (below 1000, so they never
/// collide with WebSocket close codes or the server's codes).
///
/// Besides these, a `Disconnected` state carries the server's WebSocket
/// close code (e.g. 3011, 3500), the `code` of a `disconnect` push, or the
/// error code of a failed `connect` reply (100–112).
pub mod code {
    /// [`crate::Client::close`] was called (terminal).
    pub const CLOSE_CALLED: u16 = 0;
    /// The transport failed: dial error, handshake error, connect timeout,
    /// write timeout, or the socket closed without a close frame.
    pub const TRANSPORT_CLOSED: u16 = 1;
    /// No frame arrived within the server's ping interval plus the allowance
    /// (half-open connection, laptop sleep).
    pub const NO_PING: u16 = 2;
    /// The server sent something that is not the protocol.
    pub const BAD_PROTOCOL: u16 = 3;
    /// A publication arrived with an offset past the next expected one; the
    /// client reconnects and recovers the missing ones.
    pub const INSUFFICIENT_STATE: u16 = 4;
    /// [`crate::Client::reconnect`] was called.
    pub const RECONNECT_CALLED: u16 = 5;
    /// The token source failed to provide a token.
    pub const TOKEN_UNAVAILABLE: u16 = 6;
}

/// Where the connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Dialing, handshaking and waiting for the `connect` reply.
    Connecting {
        /// Attempts since the last stable connection (one that stayed up
        /// for [`crate::Options::stable_after`]), the last
        /// [`crate::Client::reconnect`] or the start: 1, 2, 3... A
        /// connection closed sooner counts as a failed attempt.
        attempt: u32,
    },
    /// The `connect` reply arrived.
    Connected {
        /// The id the server gave this connection.
        client: String,
        /// The server's ping interval; `None` when it sends no pings (the
        /// watchdog is then off).
        ping: Option<Duration>,
    },
    /// The connection ended.
    Disconnected {
        /// Why, as a code: see [`code`] and docs/protocol.md.
        code: u16,
        /// Why, in words.
        reason: String,
        /// `false`: terminal, no further attempt is made.
        reconnect: bool,
    },
    /// Waiting before the next attempt.
    Reconnecting {
        /// The attempt that comes after the wait (counted as in
        /// [`State::Connecting`]).
        attempt: u32,
        /// How long the wait is: jittered, with a ceiling that doubles with
        /// each attempt, so it grows while connections keep failing or
        /// closing before they are stable ([`crate::BackoffConfig`]).
        delay: Duration,
    },
}

impl State {
    /// Whether the client has given up (terminal code or `close()`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            State::Disconnected {
                reconnect: false,
                ..
            }
        )
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        matches!(self, State::Connected { .. })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            State::Connected { client, ping } => {
                write!(f, "connected (client {client}")?;
                match ping {
                    Some(ping) => write!(f, ", server ping every {}s)", ping.as_secs()),
                    None => write!(f, ", no server ping)"),
                }
            }
            State::Disconnected {
                code,
                reason,
                reconnect,
            } => {
                let how = if *reconnect {
                    "will reconnect"
                } else {
                    "terminal"
                };
                write!(f, "disconnected: code {code}, {reason} ({how})")
            }
            State::Reconnecting { attempt, delay } => write!(
                f,
                "reconnecting in {:.1}s (attempt {attempt})",
                delay.as_secs_f64()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_only_when_not_reconnecting() {
        let down = |reconnect| State::Disconnected {
            code: 3500,
            reason: "invalid token".into(),
            reconnect,
        };
        assert!(down(false).is_terminal());
        assert!(!down(true).is_terminal());
        assert_eq!(
            down(false).to_string(),
            "disconnected: code 3500, invalid token (terminal)"
        );
        let waiting = State::Reconnecting {
            attempt: 3,
            delay: Duration::from_millis(1250),
        };
        assert_eq!(waiting.to_string(), "reconnecting in 1.2s (attempt 3)");
    }
}
