//! The in-process broker: one [`Stream`] per channel, fan-out to this node.

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use parking_lot::Mutex;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::Publication;

use super::{Broker, BrokerError, HistoryPage, HistoryQuery, PublicationHandler, Recovery};
use crate::history::{HistoryLimits, Stream};

/// Keeps history in memory and delivers to the local node.
pub struct MemoryBroker {
    streams: DashMap<String, Arc<Mutex<Stream>>>,
    limits: HistoryLimits,
    handler: Arc<dyn PublicationHandler>,
}

impl MemoryBroker {
    /// A broker that delivers every publication to `handler`.
    pub fn new(limits: HistoryLimits, handler: Arc<dyn PublicationHandler>) -> Self {
        Self {
            streams: DashMap::new(),
            limits,
            handler,
        }
    }

    fn stream(&self, channel: &str) -> Arc<Mutex<Stream>> {
        if let Some(stream) = self.streams.get(channel) {
            return stream.clone();
        }
        self.streams.entry(channel.to_owned()).or_default().clone()
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        skip_history: bool,
    ) -> Result<StreamPosition, BrokerError> {
        let stream = self.stream(channel);
        let mut stream = stream.lock();
        let publication = stream.append(publication, skip_history, self.limits);
        // Delivered under the stream lock so that concurrent publishers on
        // one channel reach subscribers in offset order. Delivery only
        // enqueues (never blocks on a socket), so the lock is held briefly.
        self.handler.handle_publication(channel, publication);
        Ok(stream.position())
    }

    async fn history(
        &self,
        channel: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, BrokerError> {
        let stream = self.stream(channel);
        let mut stream = stream.lock();
        stream.trim(self.limits);
        let position = stream.position();
        let since = match &query.since {
            Some(since) if !since.epoch.is_empty() && since.epoch != position.epoch => {
                return Err(BrokerError::UnrecoverablePosition)
            }
            Some(since) => Some(since.offset),
            None => None,
        };
        Ok(HistoryPage {
            publications: stream.read(query.limit, since, query.reverse),
            position,
        })
    }

    async fn recover(
        &self,
        channel: &str,
        since: &StreamPosition,
    ) -> Result<Recovery, BrokerError> {
        let stream = self.stream(channel);
        let mut stream = stream.lock();
        stream.trim(self.limits);
        Ok(Recovery {
            publications: stream.since(since),
            position: stream.position(),
        })
    }
}
