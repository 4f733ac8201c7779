//! The broker: where publications get their offset, are kept in history, and
//! are handed to every node's subscribers.
//!
//! This is the one seam between a single hub and several: [`memory`] keeps
//! everything in this process; [`redis`] shares history and fan-out between
//! nodes behind the same trait, and the sessions never know which one runs.
//!
//! What every node must agree on lives here too, changed in the same step
//! as the publication that changes it: the active alarms (a publication on
//! `alarms`), the source catalog (a sample on `metrics:<source>`), and the
//! lease that says which node runs the cluster's duties.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::{Alarm, ErrorCode, Publication, ReplyError};

use crate::catalog::Activity;

pub mod memory;
pub mod redis;

/// Receives every publication, in offset order per channel, for delivery to
/// this node's subscribers.
pub trait PublicationHandler: Send + Sync {
    /// Called once per publication with its final offset.
    fn handle_publication(&self, channel: &str, publication: Arc<Publication>);

    /// Publications on `channel` may have been missed and cannot be
    /// delivered (the broker lost its stream, e.g. Redis restarted without
    /// persistence): its subscribers must resubscribe and recover.
    fn handle_gap(&self, channel: &str);

    /// Whether anyone on this node is subscribed to `channel`.
    fn wants(&self, channel: &str) -> bool;
}

/// What a publication changes besides its channel's stream, applied in the
/// same step so that every node sees the state and the publication agree.
#[derive(Debug, Default, Clone, Copy)]
pub struct Effects<'a> {
    /// A transition on `alarms`, for the active alarm set.
    pub alarm: Option<&'a Alarm>,
    /// A sample of this source, for the catalog.
    pub source: Option<SourceSample<'a>>,
}

/// A sample as the catalog records it.
#[derive(Debug, Clone, Copy)]
pub struct SourceSample<'a> {
    /// The source's name.
    pub name: &'a str,
    /// Its metric names, when this node saw new ones (`None`: unchanged).
    pub new_names: Option<&'a BTreeSet<String>>,
    /// The node that evaluates the alarm rules on this sample.
    pub evaluator: &'a str,
}

/// Where a publication went, and what the broker learnt on the way.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its offset, and the channel's epoch.
    pub position: StreamPosition,
    /// The sample's source was last evaluated by another node: this node's
    /// rule state for it is stale (see [`crate::rules::RuleEngine::adopt`]).
    pub source_moved: bool,
}

/// A source as every node knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedSource {
    /// The source's name.
    pub name: String,
    /// Its metric names.
    pub metrics: Vec<String>,
    /// When a node last received a sample, unix ms.
    pub last_seen: i64,
    /// The same, on this node's clock, with the observed interval.
    pub activity: Activity,
}

/// What to read from a channel's history.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// Most publications returned; 0 returns only the position.
    pub limit: usize,
    /// Read after this position; a stale epoch is an error.
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

/// Publications read from history, with the stream's current position.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// The publications asked for.
    pub publications: Vec<Arc<Publication>>,
    /// Current epoch and top offset.
    pub position: StreamPosition,
}

/// The outcome of trying to recover from a client's last position.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// Every missed publication in order, or `None` when some are gone.
    pub publications: Option<Vec<Arc<Publication>>>,
    /// Current epoch and top offset.
    pub position: StreamPosition,
}

/// How the message of error 108 starts when the broker cannot be reached
/// (the HTTP API answers 503 for it; see [`unreachable`]).
pub const UNAVAILABLE: &str = "not available: the broker cannot be reached";

/// Whether `error` says the broker could not be reached: worth a retry,
/// unlike the other 108s (a feature this hub does not have).
pub fn unreachable(error: &ReplyError) -> bool {
    error.code == ErrorCode::NotAvailable.code() && error.message.starts_with(UNAVAILABLE)
}

/// Why a broker call failed.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// `since` names an epoch the stream no longer has.
    #[error("unrecoverable position: the stream's epoch changed")]
    UnrecoverablePosition,
    /// The broker's backend failed (e.g. Redis unreachable).
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

impl From<BrokerError> for ReplyError {
    fn from(err: BrokerError) -> Self {
        match err {
            BrokerError::UnrecoverablePosition => ErrorCode::UnrecoverablePosition.into(),
            BrokerError::Unavailable(why) => {
                let mut error = ReplyError::with_message(
                    ErrorCode::NotAvailable,
                    format!("{UNAVAILABLE}: {why}; retry later"),
                );
                error.temporary = true;
                error
            }
        }
    }
}

/// What a [`Broker::sweep`] left and freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Streams still held.
    pub streams: usize,
    /// Publications still held in their history.
    pub publications: usize,
    /// Streams forgotten by this sweep.
    pub forgotten: usize,
}

/// Publication storage and fan-out across nodes.
#[async_trait]
pub trait Broker: Send + Sync {
    /// Assigns the next offset, keeps the publication in history (unless
    /// `skip_history`) and hands it to every node's handler, in offset order.
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        skip_history: bool,
        effects: Effects<'_>,
    ) -> Result<Published, BrokerError>;

    /// Makes sure this node receives `channel`'s publications from now on,
    /// before a subscriber's position is read.
    async fn listen(&self, channel: &str) -> Result<(), BrokerError>;

    /// Reads a channel's history.
    async fn history(&self, channel: &str, query: HistoryQuery)
        -> Result<HistoryPage, BrokerError>;

    /// Everything after `since`, if history still has all of it.
    async fn recover(&self, channel: &str, since: &StreamPosition)
        -> Result<Recovery, BrokerError>;

    /// Frees expired history and forgets streams idle for the history meta
    /// TTL; `in_use` says which channels have subscribers on this node.
    fn sweep(&self, in_use: &dyn Fn(&str) -> bool) -> SweepReport;

    /// The active alarms (firing or acknowledged), in no particular order.
    async fn active_alarms(&self) -> Result<Vec<Alarm>, BrokerError>;

    /// One active alarm.
    async fn alarm(&self, id: &str) -> Result<Option<Alarm>, BrokerError>;

    /// Claims the right to change alarm `id` now: `false` when a client
    /// changed it less than `interval` ago, on any node.
    async fn claim_alarm_change(&self, id: &str, interval: Duration) -> Result<bool, BrokerError>;

    /// Every known source, in name order.
    async fn sources(&self) -> Result<Vec<SharedSource>, BrokerError>;

    /// Forgets sources that sent nothing for `age`; returns how many.
    async fn forget_sources(&self, age: Duration) -> Result<usize, BrokerError>;

    /// Takes or renews the lease on the cluster's duties for `holder`, for
    /// `ttl`: `true` while `holder` holds it.
    async fn claim_duties(&self, holder: &str, ttl: Duration) -> Result<bool, BrokerError>;

    /// A mark of the shared state's life: it changes when the backend lost
    /// its data (Redis restarted without persistence), so that nodes drop
    /// what they derived from it (rule states, silent sources).
    async fn generation(&self) -> Result<String, BrokerError>;

    /// Gives the duties up at once (graceful shutdown), if `holder` has them.
    async fn release_duties(&self, holder: &str) -> Result<(), BrokerError>;

    /// Whether the backend answers (always for the memory broker).
    fn is_up(&self) -> bool {
        true
    }
}
