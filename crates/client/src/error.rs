//! The error every fallible client call returns.
//!
//! A call never hangs: it ends with a reply, [`Error::Timeout`],
//! [`Error::Disconnected`] (the connection dropped after the request went
//! out) or [`Error::Closed`] (the client is disconnected for good).

use std::time::Duration;

use telltale_protocol::ReplyError;

/// Why a call (RPC, history, publish) or building the client failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server URL cannot be used.
    #[error("invalid server URL {url:?}: {why}; expected ws://HOST:PORT/connection/websocket (or wss:// for TLS)")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// No reply arrived within the call's timeout (the request may be queued
    /// behind a reconnect, or lost in a half-open connection).
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection dropped after the request was sent; the server may or
    /// may not have executed it.
    #[error("connection lost before the reply (code {code}: {reason})")]
    Disconnected {
        /// Disconnect code (see [`crate::code`] and docs/protocol.md).
        code: u16,
        /// Why.
        reason: String,
    },
    /// The client is disconnected for good (terminal code or
    /// [`crate::Client::close`]); nothing was sent.
    #[error("client is disconnected (code {code}: {reason})")]
    Closed {
        /// Disconnect code of the terminal state.
        code: u16,
        /// Why.
        reason: String,
    },
    /// The server answered with an error reply.
    #[error("server error {}: {}", .0.code, .0.message)]
    Server(ReplyError),
    /// The reply could not be decoded into the expected type.
    #[error("unexpected reply: {0}")]
    Decode(String),
    /// The token source failed to provide a token (the client retries).
    #[error("no token: {0}")]
    Token(String),
    /// TLS cannot be set up (an unreadable `ca_file`, no trusted
    /// certificate authority) or the handshake failed; the text says what to
    /// do, e.g. `certificate for hub.example expired on ...; renew it on the
    /// hub`.
    #[error("{0}")]
    Tls(String),
    /// The request data could not be serialized.
    #[error("cannot encode request: {0}")]
    Encode(String),
}

impl Error {
    /// The server's error code, for [`Error::Server`].
    pub fn server_code(&self) -> Option<u32> {
        match self {
            Error::Server(e) => Some(e.code),
            _ => None,
        }
    }

    /// Whether the same call may succeed if retried later: a timeout, a lost
    /// connection, or a temporary server error.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Timeout(_) | Error::Disconnected { .. } => true,
            Error::Server(e) => e.temporary,
            _ => false,
        }
    }
}
