//! The in-process broker: one [`Stream`] per channel, fan-out to this node.
//!
//! A channel only gets a stream when something is published on it: reading
//! the history of, or subscribing to, a channel nobody published on costs
//! nothing. Such a channel reports offset 0 in the broker's *current epoch*,
//! the epoch the stream will get if it is created. [`MemoryBroker::sweep`]
//! frees expired history and forgets idle streams; whenever it forgets one it
//! moves to a new current epoch first, so a recreated stream never reuses an
//! epoch a client may still hold (its old offsets mean nothing there).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;
use parking_lot::Mutex;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::{Alarm, Publication};

use super::{
    Broker, BrokerError, Effects, HistoryPage, HistoryQuery, PublicationHandler, Published,
    Recovery, SharedSource, SweepReport,
};
use crate::alarms::AlarmSet;
use crate::catalog::SourceCatalog;
use crate::history::{new_epoch, HistoryLimits, Stream};

/// Keeps history in memory and delivers to the local node.
pub struct MemoryBroker {
    streams: DashMap<String, Arc<Mutex<Stream>>>,
    limits: HistoryLimits,
    handler: Arc<dyn PublicationHandler>,
    epoch: Mutex<String>,
    alarms: AlarmSet,
    /// The node's own catalog: with one node, what it saw is all there is.
    catalog: Arc<SourceCatalog>,
}

impl MemoryBroker {
    /// A broker that delivers every publication to `handler`, and answers
    /// for sources from `catalog`.
    pub fn new(
        limits: HistoryLimits,
        handler: Arc<dyn PublicationHandler>,
        catalog: Arc<SourceCatalog>,
    ) -> Self {
        Self {
            streams: DashMap::new(),
            limits,
            handler,
            epoch: Mutex::new(new_epoch()),
            alarms: AlarmSet::default(),
            catalog,
        }
    }

    fn existing(&self, channel: &str) -> Option<Arc<Mutex<Stream>>> {
        self.streams.get(channel).map(|s| s.clone())
    }

    fn created(&self, channel: &str) -> Arc<Mutex<Stream>> {
        if let Some(stream) = self.existing(channel) {
            return stream;
        }
        self.streams
            .entry(channel.to_owned())
            .or_insert_with(|| Arc::new(Mutex::new(Stream::with_epoch(self.epoch.lock().clone()))))
            .clone()
    }

    /// Where a channel without a stream stands.
    fn empty_position(&self) -> StreamPosition {
        StreamPosition {
            offset: 0,
            epoch: self.epoch.lock().clone(),
        }
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        skip_history: bool,
        effects: Effects<'_>,
    ) -> Result<Published, BrokerError> {
        let stream = self.created(channel);
        let mut stream = stream.lock();
        let publication = stream.append(publication, skip_history, self.limits);
        if let Some(alarm) = effects.alarm {
            self.alarms.apply(alarm.clone());
        }
        // Delivered under the stream lock so that concurrent publishers on
        // one channel reach subscribers in offset order. Delivery only
        // enqueues (never blocks on a socket), so the lock is held briefly.
        self.handler.handle_publication(channel, publication);
        Ok(Published {
            position: stream.position(),
            // The only node evaluates every sample.
            source_moved: false,
        })
    }

    async fn history(
        &self,
        channel: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, BrokerError> {
        let Some(stream) = self.existing(channel) else {
            let position = self.empty_position();
            if let Some(since) = &query.since {
                if !since.epoch.is_empty() && since.epoch != position.epoch {
                    return Err(BrokerError::UnrecoverablePosition);
                }
            }
            return Ok(HistoryPage {
                publications: Vec::new(),
                position,
            });
        };
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
        let Some(stream) = self.existing(channel) else {
            let position = self.empty_position();
            let same =
                since.offset == 0 && (since.epoch.is_empty() || since.epoch == position.epoch);
            return Ok(Recovery {
                publications: same.then(Vec::new),
                position,
            });
        };
        let mut stream = stream.lock();
        stream.trim(self.limits);
        Ok(Recovery {
            publications: stream.since(since),
            position: stream.position(),
        })
    }

    async fn listen(&self, _channel: &str) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn active_alarms(&self) -> Result<Vec<Alarm>, BrokerError> {
        Ok(self.alarms.active())
    }

    async fn alarm(&self, id: &str) -> Result<Option<Alarm>, BrokerError> {
        Ok(self.alarms.get(id))
    }

    async fn claim_alarm_change(&self, id: &str, interval: Duration) -> Result<bool, BrokerError> {
        Ok(self.alarms.claim_change(id, interval))
    }

    async fn sources(&self) -> Result<Vec<SharedSource>, BrokerError> {
        Ok(self.catalog.shared())
    }

    async fn forget_sources(&self, age: Duration) -> Result<usize, BrokerError> {
        Ok(self.catalog.forget_idle(age))
    }

    async fn claim_duties(&self, _holder: &str, _ttl: Duration) -> Result<bool, BrokerError> {
        // The only node: the duties are always its own.
        Ok(true)
    }

    async fn generation(&self) -> Result<String, BrokerError> {
        // Memory is lost only with the node itself.
        Ok(String::new())
    }

    async fn release_duties(&self, _holder: &str) -> Result<(), BrokerError> {
        Ok(())
    }

    fn sweep(&self, in_use: &dyn Fn(&str) -> bool) -> SweepReport {
        let mut idle = Vec::new();
        let mut report = SweepReport::default();
        for entry in self.streams.iter() {
            let mut stream = entry.value().lock();
            stream.trim(self.limits);
            if in_use(entry.key()) {
                stream.touch();
            }
            if stream.is_idle(self.limits) {
                idle.push(entry.key().clone());
            } else {
                report.streams += 1;
                report.publications += stream.len();
            }
        }
        if idle.is_empty() {
            return report;
        }
        // A new epoch first: a stream recreated after this point must not
        // reuse the epoch of the one forgotten.
        *self.epoch.lock() = new_epoch();
        for channel in idle {
            let removed = self.streams.remove_if(&channel, |_, stream| {
                let stream = stream.lock();
                stream.is_idle(self.limits)
            });
            match removed {
                Some(_) => report.forgotten += 1,
                None => report.streams += 1,
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Nobody;
    impl PublicationHandler for Nobody {
        fn handle_publication(&self, _: &str, _: Arc<Publication>) {}
        fn handle_gap(&self, _: &str) {}
        fn wants(&self, _: &str) -> bool {
            false
        }
    }

    fn broker() -> MemoryBroker {
        let limits = HistoryLimits {
            size: 10,
            ttl: Duration::from_secs(5),
            meta_ttl: Duration::from_secs(60),
        };
        MemoryBroker::new(limits, Arc::new(Nobody), Arc::default())
    }

    fn publication() -> Publication {
        Publication {
            data: serde_json::value::RawValue::from_string("1".into()).unwrap(),
            offset: 0,
            info: None,
            tags: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reading_an_unknown_channel_allocates_nothing() {
        let broker = broker();
        let page = broker
            .history("nobody", HistoryQuery::default())
            .await
            .unwrap();
        let since = page.position.clone();
        let recovery = broker.recover("nobody", &since).await.unwrap();
        assert_eq!(recovery.publications.map(|p| p.len()), Some(0));
        assert!(broker.streams.is_empty());
        // The stream, once created, continues from the position reported.
        broker
            .publish("nobody", publication(), false, Effects::default())
            .await
            .unwrap();
        let recovery = broker.recover("nobody", &since).await.unwrap();
        assert_eq!(recovery.publications.map(|p| p.len()), Some(1));
    }

    #[tokio::test(start_paused = true)]
    async fn sweep_frees_expired_history_then_forgets_idle_streams_with_a_new_epoch() {
        let broker = broker();
        let old = broker
            .publish("ch", publication(), false, Effects::default())
            .await
            .unwrap()
            .position;
        broker
            .publish("watched", publication(), false, Effects::default())
            .await
            .unwrap();
        let watched = |c: &str| c == "watched";
        assert_eq!(broker.sweep(&watched).publications, 2);
        tokio::time::advance(Duration::from_secs(6)).await;
        let report = broker.sweep(&watched);
        assert_eq!(
            (report.streams, report.publications, report.forgotten),
            (2, 0, 0)
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        let report = broker.sweep(&watched);
        assert_eq!((report.streams, report.forgotten), (1, 1), "watched stays");
        let now = broker.history("ch", HistoryQuery::default()).await.unwrap();
        assert_eq!(now.position.offset, 0);
        assert_ne!(
            now.position.epoch, old.epoch,
            "a forgotten stream's epoch is never reused"
        );
        let recovery = broker.recover("ch", &old).await.unwrap();
        assert!(recovery.publications.is_none());
    }
}
