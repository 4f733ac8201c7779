//! The broker: where publications get their offset, are kept in history, and
//! are handed to every node's subscribers.
//!
//! This is the one seam between a single hub and several: [`memory`] keeps
//! everything in this process; a Redis broker (later) shares history and
//! fan-out between nodes behind the same trait, and the sessions never know
//! which one runs.

use std::sync::Arc;

use async_trait::async_trait;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::{ErrorCode, Publication, ReplyError};

pub mod memory;

/// Receives every publication, in offset order per channel, for delivery to
/// this node's subscribers.
pub trait PublicationHandler: Send + Sync {
    /// Called once per publication with its final offset.
    fn handle_publication(&self, channel: &str, publication: Arc<Publication>);
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
            BrokerError::Unavailable(_) => ErrorCode::Internal.into(),
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
    ) -> Result<StreamPosition, BrokerError>;

    /// Reads a channel's history.
    async fn history(&self, channel: &str, query: HistoryQuery)
        -> Result<HistoryPage, BrokerError>;

    /// Everything after `since`, if history still has all of it.
    async fn recover(&self, channel: &str, since: &StreamPosition)
        -> Result<Recovery, BrokerError>;

    /// Frees expired history and forgets streams idle for the history meta
    /// TTL; `in_use` says which channels have subscribers on this node.
    fn sweep(&self, in_use: &dyn Fn(&str) -> bool) -> SweepReport;
}
