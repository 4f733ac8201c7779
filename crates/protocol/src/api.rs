//! Bodies of the HTTP server API (`POST /api/<method>`), Centrifugo style.
//!
//! Results come back as HTTP 200 with `{"result":...}` or
//! `{"error":{"code","message"}}`; `/api/batch` answers `{"replies":[...]}`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::command::StreamPosition;
use crate::reply::{HistoryResult, ReplyError};
use crate::{is_default, RawJson};

/// `POST /api/publish`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishRequest {
    /// Channel name.
    pub channel: String,
    /// Data as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
    /// Data as base64 (binary); not supported by this JSON-only hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b64data: Option<String>,
    /// Do not keep this publication in history.
    #[serde(skip_serializing_if = "is_default")]
    pub skip_history: bool,
    /// Tags attached to the publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, String>>,
    /// Accepted for compatibility; not deduplicated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// `POST /api/broadcast`: the same data to several channels.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BroadcastRequest {
    /// Channel names.
    pub channels: Vec<String>,
    /// Data as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<RawJson>,
    /// Data as base64; not supported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b64data: Option<String>,
    /// Do not keep these publications in history.
    #[serde(skip_serializing_if = "is_default")]
    pub skip_history: bool,
    /// Tags attached to each publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<HashMap<String, String>>,
    /// Accepted for compatibility; not deduplicated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// `POST /api/history`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryRequest {
    /// Channel name.
    pub channel: String,
    /// How many publications; 0 returns only the position.
    pub limit: i32,
    /// Read after this position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

/// `POST /api/channels`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelsRequest {
    /// Only channels whose name matches this pattern (`*` wildcards).
    pub pattern: String,
}

/// Result of a publish: the publication's position.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishResult {
    /// Offset of the publication.
    #[serde(skip_serializing_if = "is_default")]
    pub offset: u64,
    /// Epoch of the stream.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub epoch: String,
}

/// One result-or-error, as in `/api/broadcast` responses.
#[derive(Debug, Serialize, Deserialize)]
pub struct Outcome<T> {
    /// The result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// The error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
}

impl<T> From<Result<T, ReplyError>> for Outcome<T> {
    fn from(result: Result<T, ReplyError>) -> Self {
        match result {
            Ok(value) => Self {
                result: Some(value),
                error: None,
            },
            Err(error) => Self {
                result: None,
                error: Some(error),
            },
        }
    }
}

/// Result of `/api/broadcast`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BroadcastResult {
    /// One outcome per channel, in request order.
    pub responses: Vec<Outcome<PublishResult>>,
}

/// Result of `/api/channels`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ChannelsResult {
    /// Active channels (with subscribers) by name.
    pub channels: BTreeMap<String, ChannelInfo>,
}

/// One channel in `/api/channels`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Connections subscribed to it.
    pub num_clients: u32,
}

/// Result of `/api/info`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct InfoResult {
    /// The nodes of this hub (one per process).
    pub nodes: Vec<NodeInfo>,
}

/// One hub node in `/api/info`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Unique id of the node process.
    pub uid: String,
    /// Node name (hostname).
    pub name: String,
    /// Server version.
    pub version: String,
    /// Connected clients.
    pub num_clients: u32,
    /// Distinct users.
    pub num_users: u32,
    /// Channels with subscribers.
    pub num_channels: u32,
    /// Subscriptions.
    pub num_subs: u32,
    /// Seconds since start.
    pub uptime: u32,
}

/// `POST /api/batch`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchRequest {
    /// Commands to run.
    pub commands: Vec<BatchCommand>,
    /// Run them concurrently (they are run in order either way).
    pub parallel: bool,
}

/// One command of a batch: exactly one method key.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchCommand {
    /// A publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishRequest>,
    /// A broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastRequest>,
    /// A history read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryRequest>,
    /// A channels listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelsRequest>,
    /// Node info.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<crate::reply::Empty>,
}

/// One reply of a batch, keyed by method like the command.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchReply {
    /// The command failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReplyError>,
    /// Result of a publish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish: Option<PublishResult>,
    /// Result of a broadcast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastResult>,
    /// Result of a history read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryResult>,
    /// Result of a channels listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelsResult>,
    /// Result of info.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<InfoResult>,
}

/// Result of `/api/batch` (top level, no `result` wrapper).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BatchResult {
    /// One reply per command, in order.
    pub replies: Vec<BatchReply>,
}
