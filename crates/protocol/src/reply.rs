//! Replies and pushes: what the server sends.
//!
//! A reply answers a command and carries its `id`; a push (`{"push":...}`)
//! has no id. An object with neither is a ping (`{}`), so the server never
//! sends any other id-less object.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{is_default, ErrorCode, RawJson};

/// One reply or push envelope.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Reply {
    /// The id of the command answered; 0 for pushes and pings.
    #[serde(skip_serializing_if = "is_default")]
    pub id: u32,
    /// The command failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
    /// A push (no id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<Push>,
    /// Result of `connect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectResult>,
    /// Result of `subscribe`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<SubscribeResult>,
    /// Result of `unsubscribe`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<Empty>,
    /// Result of `publish`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<Empty>,
    /// Result of `history`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryResult>,
    /// Result of `rpc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc: Option<RpcResult>,
    /// Result of `presence`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<PresenceResult>,
    /// Result of `presence_stats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_stats: Option<PresenceStatsResult>,
    /// Result of `refresh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshResult>,
}

impl Reply {
    /// An error reply to command `id`.
    pub fn error(id: u32, error: ReplyError) -> Self {
        Self {
            id,
            error: Some(error),
            ..Self::default()
        }
    }

    /// Whether this envelope is a server ping: no id, no push, nothing else.
    pub fn is_ping(&self) -> bool {
        self.id == 0 && self.push.is_none() && self.error.is_none()
    }
}

/// An empty result object, `{}`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// The error body of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyError {
    /// Error code (see [`ErrorCode`]).
    pub code: u32,
    /// Human-readable message; always present (Python indexes it).
    pub message: String,
    /// Whether retrying the same request may succeed.
    #[serde(default, skip_serializing_if = "is_default")]
    pub temporary: bool,
}

impl ReplyError {
    /// An error with the code's standard message.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }

    /// An error with a specific message, e.g. naming the bad field.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.code(),
            message: message.into(),
            temporary: code.temporary(),
        }
    }
}

impl From<ErrorCode> for ReplyError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ReplyError {}

/// Who published: the connection's user and client id.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// User id from the token ("" when anonymous).
    #[serde(default)]
    pub user: String,
    /// Client (connection) id.
    #[serde(default)]
    pub client: String,
}

/// A publication in a channel's stream.
#[derive(Debug, Serialize, Deserialize)]
pub struct Publication {
    /// The published data (any JSON, kept raw).
    pub data: RawJson,
    /// Position in the stream; the first publication is 1.
    #[serde(default, skip_serializing_if = "is_default")]
    pub offset: u64,
    /// Publisher, for client publications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<ClientInfo>,
    /// Optional string tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, String>>,
}

impl Clone for Publication {
    fn clone(&self) -> Self {
        Self {
            data: self.data.clone(),
            offset: self.offset,
            info: self.info.clone(),
            tags: self.tags.clone(),
        }
    }
}

/// A push: a message the server sends without being asked.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Push {
    /// Channel the push is about ("" for connection-level pushes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// A new publication.
    #[serde(rename = "pub", skip_serializing_if = "Option::is_none")]
    pub publication: Option<Publication>,
    /// The server unsubscribed the client from `channel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<CodeReason>,
    /// The server is disconnecting the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect: Option<CodeReason>,
    /// An asynchronous message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<MessagePush>,
}

/// Body of `unsubscribe` and `disconnect` pushes; Python requires both keys.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeReason {
    /// Code.
    pub code: u32,
    /// Reason.
    pub reason: String,
}

/// Body of a `message` push.
#[derive(Debug, Serialize, Deserialize)]
pub struct MessagePush {
    /// Message data.
    pub data: RawJson,
}

/// Result of `connect`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectResult {
    /// The id the server gave this connection.
    pub client: String,
    /// Server version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Whether the connection expires (token `exp`).
    #[serde(skip_serializing_if = "is_default")]
    pub expires: bool,
    /// Seconds until the connection expires.
    #[serde(skip_serializing_if = "is_default")]
    pub ttl: u32,
    /// Server-side subscriptions and their results.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub subs: HashMap<String, SubscribeResult>,
    /// Server ping interval in seconds; 0 disables the client watchdog.
    #[serde(skip_serializing_if = "is_default")]
    pub ping: u32,
    /// Whether the server expects pongs.
    #[serde(skip_serializing_if = "is_default")]
    pub pong: bool,
}

/// Result of `subscribe` (and of server-side subscriptions in `connect`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeResult {
    /// Whether the subscription expires.
    #[serde(skip_serializing_if = "is_default")]
    pub expires: bool,
    /// Seconds until it expires.
    #[serde(skip_serializing_if = "is_default")]
    pub ttl: u32,
    /// The channel keeps history the client can recover from.
    #[serde(skip_serializing_if = "is_default")]
    pub recoverable: bool,
    /// Current epoch of the stream.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
    /// Recovered publications, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publications: Vec<Publication>,
    /// All missed publications were recovered.
    #[serde(skip_serializing_if = "is_default")]
    pub recovered: bool,
    /// The stream offset: the request offset when recovered, else the top.
    #[serde(skip_serializing_if = "is_default")]
    pub offset: u64,
    /// The subscription is positioned (offsets are meaningful).
    #[serde(skip_serializing_if = "is_default")]
    pub positioned: bool,
    /// The client asked to recover.
    #[serde(skip_serializing_if = "is_default")]
    pub was_recovering: bool,
}

/// Result of `history`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct HistoryResult {
    /// Publications asked for.
    #[serde(default)]
    pub publications: Vec<Publication>,
    /// Current epoch.
    #[serde(default)]
    pub epoch: String,
    /// Current top offset.
    #[serde(default)]
    pub offset: u64,
}

/// Result of `rpc`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcResult {
    /// Method result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
}

/// Result of `presence`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceResult {
    /// Connected clients by client id.
    pub presence: HashMap<String, ClientInfo>,
}

/// Result of `presence_stats`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceStatsResult {
    /// Number of connections subscribed.
    pub num_clients: u32,
    /// Number of distinct users subscribed.
    pub num_users: u32,
}

/// Result of `refresh`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshResult {
    /// The connection's client id.
    pub client: String,
    /// Server version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Whether the connection expires.
    #[serde(skip_serializing_if = "is_default")]
    pub expires: bool,
    /// Seconds until it expires.
    #[serde(skip_serializing_if = "is_default")]
    pub ttl: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publication_push_is_compact_and_omits_zero_values() {
        let push = Reply {
            push: Some(Push {
                channel: "news".into(),
                publication: Some(Publication {
                    data: serde_json::value::RawValue::from_string("{\"a\":1}".into()).unwrap(),
                    offset: 7,
                    info: None,
                    tags: None,
                }),
                ..Push::default()
            }),
            ..Reply::default()
        };
        assert_eq!(
            serde_json::to_string(&push).unwrap(),
            r#"{"push":{"channel":"news","pub":{"data":{"a":1},"offset":7}}}"#
        );
    }

    #[test]
    fn error_reply_always_carries_message() {
        let reply = Reply::error(4, ReplyError::new(ErrorCode::Internal));
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"id":4,"error":{"code":100,"message":"internal server error","temporary":true}}"#
        );
        assert!(Reply::default().is_ping());
    }
}
