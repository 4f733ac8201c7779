//! Error codes (replies) and disconnect codes (WebSocket close frames).
//!
//! The numbers and messages are Centrifugo's, so the SDKs react to them as
//! they would against Centrifugo: retry, resubscribe, or give up.

use serde::{Deserialize, Serialize};

/// Error codes carried in `{"error":{"code","message","temporary"}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum ErrorCode {
    /// 100: the server failed; temporary, clients retry.
    Internal,
    /// 101: missing or bad credentials.
    Unauthorized,
    /// 102: the channel does not exist or its name is not allowed.
    UnknownChannel,
    /// 103: the client may not do this.
    PermissionDenied,
    /// 104: unknown command or RPC method.
    MethodNotFound,
    /// 105: the client is already subscribed to this channel.
    AlreadySubscribed,
    /// 106: a limit was reached.
    LimitExceeded,
    /// 107: the request is malformed or a field is wrong.
    BadRequest,
    /// 108: the feature is not available on this server.
    NotAvailable,
    /// 109: the token has expired; clients fetch a new one and retry.
    TokenExpired,
    /// 110: expired.
    Expired,
    /// 111: too many requests; temporary.
    TooManyRequests,
    /// 112: the stream position asked for is gone (stale epoch).
    UnrecoverablePosition,
}

impl ErrorCode {
    const ALL: [ErrorCode; 13] = [
        Self::Internal,
        Self::Unauthorized,
        Self::UnknownChannel,
        Self::PermissionDenied,
        Self::MethodNotFound,
        Self::AlreadySubscribed,
        Self::LimitExceeded,
        Self::BadRequest,
        Self::NotAvailable,
        Self::TokenExpired,
        Self::Expired,
        Self::TooManyRequests,
        Self::UnrecoverablePosition,
    ];

    /// The numeric code on the wire.
    pub fn code(self) -> u32 {
        100 + Self::ALL.iter().position(|c| *c == self).unwrap_or(0) as u32
    }

    /// Centrifugo's message for this code.
    pub fn message(self) -> &'static str {
        match self {
            Self::Internal => "internal server error",
            Self::Unauthorized => "unauthorized",
            Self::UnknownChannel => "unknown channel",
            Self::PermissionDenied => "permission denied",
            Self::MethodNotFound => "method not found",
            Self::AlreadySubscribed => "already subscribed",
            Self::LimitExceeded => "limit exceeded",
            Self::BadRequest => "bad request",
            Self::NotAvailable => "not available",
            Self::TokenExpired => "token expired",
            Self::Expired => "expired",
            Self::TooManyRequests => "too many requests",
            Self::UnrecoverablePosition => "unrecoverable position",
        }
    }

    /// Whether clients should retry the request as it is.
    pub fn temporary(self) -> bool {
        matches!(self, Self::Internal | Self::TooManyRequests)
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.code()
    }
}

impl TryFrom<u32> for ErrorCode {
    type Error = String;

    fn try_from(code: u32) -> Result<Self, String> {
        code.checked_sub(100)
            .and_then(|i| Self::ALL.get(i as usize).copied())
            .ok_or_else(|| format!("unknown error code {code}"))
    }
}

/// A reason to close a connection: sent as a WebSocket close frame whose code
/// and reason tell the client whether to reconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    /// The close code (see the constants).
    pub code: u16,
    /// A short reason, at most 123 bytes so it fits a close frame.
    pub reason: &'static str,
}

impl Disconnect {
    /// 3000: the connection was closed normally.
    pub const CONNECTION_CLOSED: Self = Self::new(3000, "connection closed");
    /// 3001: the server is shutting down; clients reconnect (to another node).
    pub const SHUTDOWN: Self = Self::new(3001, "shutdown");
    /// 3004: the server failed.
    pub const SERVER_ERROR: Self = Self::new(3004, "internal server error");
    /// 3005: the connection token expired and was not refreshed.
    pub const EXPIRED: Self = Self::new(3005, "connection expired");
    /// 3008: the client does not read fast enough; its queue overflowed.
    pub const SLOW: Self = Self::new(3008, "slow");
    /// 3009: writing to the client failed or timed out.
    pub const WRITE_ERROR: Self = Self::new(3009, "write error");
    /// 3010: the client's stream position is lost; reconnect and recover.
    pub const INSUFFICIENT_STATE: Self = Self::new(3010, "insufficient state");
    /// 3011: reconnect now.
    pub const FORCE_RECONNECT: Self = Self::new(3011, "force reconnect");
    /// 3012: the client did not answer a ping in time.
    pub const NO_PONG: Self = Self::new(3012, "no pong");
    /// 3013: the client sent too many commands too fast; reconnect later.
    pub const TOO_MANY_REQUESTS: Self = Self::new(3013, "too many requests");
    /// 3500: the token is malformed or its signature is wrong (terminal).
    pub const INVALID_TOKEN: Self = Self::new(3500, "invalid token");
    /// 3501: the client sent something the protocol does not allow (terminal).
    pub const BAD_REQUEST: Self = Self::new(3501, "bad request");
    /// 3502: no `connect` arrived in time (or the socket was pushed out of
    /// the server's budget for sockets that have not connected).
    pub const STALE: Self = Self::new(3502, "stale");
    /// 3503: the server disconnected the client for good (terminal).
    pub const FORCE_DISCONNECT: Self = Self::new(3503, "force disconnect");
    /// 3504: the server has reached its connection limit (terminal).
    pub const CONNECTION_LIMIT: Self = Self::new(3504, "connection limit");
    /// 3505: the client asked for too many channels (terminal).
    pub const CHANNEL_LIMIT: Self = Self::new(3505, "channel limit");

    /// A disconnect with any code and reason.
    pub const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }

    /// The standard disconnect for `code`, or a generic reason for codes
    /// without one.
    pub fn known(code: u16) -> Self {
        [
            Self::CONNECTION_CLOSED,
            Self::SHUTDOWN,
            Self::SERVER_ERROR,
            Self::EXPIRED,
            Self::SLOW,
            Self::WRITE_ERROR,
            Self::INSUFFICIENT_STATE,
            Self::FORCE_RECONNECT,
            Self::NO_PONG,
            Self::TOO_MANY_REQUESTS,
            Self::INVALID_TOKEN,
            Self::STALE,
            Self::BAD_REQUEST,
            Self::FORCE_DISCONNECT,
            Self::CONNECTION_LIMIT,
            Self::CHANNEL_LIMIT,
        ]
        .into_iter()
        .find(|d| d.code == code)
        .unwrap_or(Self::new(code, "disconnect"))
    }

    /// Whether a well-behaved client reconnects after this code.
    ///
    /// Codes below 3000 are transport level (1009, message too big, is the
    /// exception), 3000–3499 reconnect, 3500–3999 are terminal, 4000–4499
    /// reconnect and 4500–4999 are terminal.
    pub fn reconnect(code: u16) -> bool {
        match code {
            1009 => false,
            0..=2999 => true,
            3000..=3499 | 4000..=4499 => true,
            _ => false,
        }
    }
}

/// WebSocket close code for a message larger than the server accepts.
pub const CLOSE_MESSAGE_TOO_BIG: u16 = 1009;

/// WebSocket close code for a text frame that is not valid UTF-8.
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::try_from(code.code()), Ok(code));
        }
        assert_eq!(ErrorCode::UnrecoverablePosition.code(), 112);
        assert!(ErrorCode::try_from(99).is_err());
        assert!(ErrorCode::try_from(113).is_err());
    }

    #[test]
    fn reconnect_follows_code_ranges() {
        assert!(Disconnect::reconnect(Disconnect::SLOW.code));
        assert!(Disconnect::reconnect(1006));
        assert!(!Disconnect::reconnect(CLOSE_MESSAGE_TOO_BIG));
        assert!(!Disconnect::reconnect(Disconnect::INVALID_TOKEN.code));
        assert!(!Disconnect::reconnect(4500));
    }
}
