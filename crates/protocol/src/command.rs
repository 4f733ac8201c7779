//! Commands: what a client sends, `{"id":N,"<method>":{...}}`.
//!
//! An object with no method (`{}`) is a pong. Zero values may be left out by
//! clients (centrifuge-js omits a zero `offset` and an empty `epoch`), so
//! every field defaults.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{is_default, RawJson};

/// One command envelope as it appears on the wire.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Command {
    /// Request id, ≥ 1; replies carry it back. 0 (absent) for `send` and pongs.
    #[serde(skip_serializing_if = "is_default")]
    pub id: u32,
    /// `connect` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<ConnectRequest>,
    /// `subscribe` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<SubscribeRequest>,
    /// `unsubscribe` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<ChannelRequest>,
    /// `publish` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishRequest>,
    /// `history` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryRequest>,
    /// `rpc` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc: Option<RpcRequest>,
    /// `presence` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<ChannelRequest>,
    /// `presence_stats` command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_stats: Option<ChannelRequest>,
    /// `refresh` command (a new connection token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshRequest>,
    /// `send` command (asynchronous message, no reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<SendRequest>,
}

/// The method of a command, taken out of its envelope.
#[derive(Debug)]
pub enum Method {
    /// `connect`.
    Connect(ConnectRequest),
    /// `subscribe`.
    Subscribe(SubscribeRequest),
    /// `unsubscribe`.
    Unsubscribe(ChannelRequest),
    /// `publish`.
    Publish(PublishRequest),
    /// `history`.
    History(HistoryRequest),
    /// `rpc`.
    Rpc(RpcRequest),
    /// `presence`.
    Presence(ChannelRequest),
    /// `presence_stats`.
    PresenceStats(ChannelRequest),
    /// `refresh`.
    Refresh(RefreshRequest),
    /// `send`.
    Send(SendRequest),
    /// No method and no id: the answer to a server ping.
    Pong,
    /// An id but no method this server knows.
    Unknown,
}

impl Command {
    /// Takes the method out of the envelope.
    pub fn into_method(self) -> Method {
        let Command {
            id,
            connect,
            subscribe,
            unsubscribe,
            publish,
            history,
            rpc,
            presence,
            presence_stats,
            refresh,
            send,
        } = self;
        let methods = [
            connect.map(Method::Connect),
            subscribe.map(Method::Subscribe),
            unsubscribe.map(Method::Unsubscribe),
            publish.map(Method::Publish),
            history.map(Method::History),
            rpc.map(Method::Rpc),
            presence.map(Method::Presence),
            presence_stats.map(Method::PresenceStats),
            refresh.map(Method::Refresh),
            send.map(Method::Send),
        ];
        match (methods.into_iter().flatten().next(), id) {
            (Some(method), _) => method,
            (None, 0) => Method::Pong,
            (None, _) => Method::Unknown,
        }
    }
}

/// `connect`: authenticate and optionally subscribe server-side.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectRequest {
    /// Connection JWT; empty for anonymous.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Custom data for the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
    /// Server-side subscriptions to recover: channel → position.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub subs: HashMap<String, SubscribeRequest>,
    /// Client name, e.g. `js`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
}

/// `subscribe`: join a channel, optionally recovering from a position.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeRequest {
    /// Channel name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Subscription token (unused by Telltale; accepted for compatibility).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Recover missed publications from `offset`/`epoch`.
    #[serde(skip_serializing_if = "is_default")]
    pub recover: bool,
    /// Epoch of the stream the client last saw.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
    /// Offset of the last publication the client saw.
    #[serde(skip_serializing_if = "is_default")]
    pub offset: u64,
    /// The client wants a recoverable subscription.
    #[serde(skip_serializing_if = "is_default")]
    pub recoverable: bool,
    /// The client wants a positioned subscription.
    #[serde(skip_serializing_if = "is_default")]
    pub positioned: bool,
    /// The client wants join/leave pushes.
    #[serde(skip_serializing_if = "is_default")]
    pub join_leave: bool,
    /// Client capability flags (bit 2: reject unrecovered with error 112).
    #[serde(skip_serializing_if = "is_default")]
    pub flag: i64,
}

impl SubscribeRequest {
    /// Flag bit asking for error 112 instead of `recovered: false`.
    pub const FLAG_REJECT_UNRECOVERED: i64 = 2;
}

/// A command that names only a channel.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelRequest {
    /// Channel name.
    pub channel: String,
}

/// `publish` from a client.
#[derive(Debug, Serialize, Deserialize)]
pub struct PublishRequest {
    /// Channel name.
    #[serde(default)]
    pub channel: String,
    /// Publication data (any JSON).
    pub data: RawJson,
}

/// A stream position: offset within an epoch.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamPosition {
    /// Offset of a publication (the first one is 1).
    pub offset: u64,
    /// Epoch of the stream.
    pub epoch: String,
}

/// `history`: read a channel's stream.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryRequest {
    /// Channel name.
    pub channel: String,
    /// How many publications; 0 returns only the stream position.
    #[serde(skip_serializing_if = "is_default")]
    pub limit: i32,
    /// Read after this position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<StreamPosition>,
    /// Newest first.
    #[serde(skip_serializing_if = "is_default")]
    pub reverse: bool,
}

/// `rpc`: call a server method.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcRequest {
    /// Method name, e.g. `alarms.active`.
    pub method: String,
    /// Method arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
}

/// `refresh`: a new connection token.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshRequest {
    /// The new token.
    pub token: String,
}

/// `send`: an asynchronous message to the server.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SendRequest {
    /// Message data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Method {
        serde_json::from_str::<Command>(json).unwrap().into_method()
    }

    #[test]
    fn parses_js_subscribe_with_omitted_zero_fields() {
        let Method::Subscribe(sub) = parse(r#"{"subscribe":{"channel":"news","flag":1},"id":2}"#)
        else {
            panic!("not a subscribe")
        };
        assert_eq!(
            (sub.channel.as_str(), sub.offset, sub.recover),
            ("news", 0, false)
        );
    }

    #[test]
    fn empty_object_is_a_pong_and_unknown_method_is_unknown() {
        assert!(matches!(parse("{}"), Method::Pong));
        assert!(matches!(
            parse(r#"{"id":3,"frobnicate":{}}"#),
            Method::Unknown
        ));
    }
}
