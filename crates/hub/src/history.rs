//! One channel's stream: bounded history with offsets and an epoch.
//!
//! Offsets start at 1 and rise by one per publication. The epoch names this
//! run of the stream: it changes whenever history is lost (a restart), so a
//! client holding an old epoch knows its offsets mean nothing here.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use telltale_protocol::command::StreamPosition;
use telltale_protocol::Publication;
use tokio::time::Instant;

/// Size and age bounds of a stream's history.
#[derive(Debug, Clone, Copy)]
pub struct HistoryLimits {
    /// Most publications kept.
    pub size: usize,
    /// Oldest publication kept.
    pub ttl: Duration,
    /// How long a stream with no publication (and no subscriber) keeps its
    /// position before it may be forgotten.
    pub meta_ttl: Duration,
}

/// A channel's publications, newest last.
#[derive(Debug)]
pub struct Stream {
    epoch: String,
    top: u64,
    entries: VecDeque<Entry>,
    /// Last publication, or last time a sweep saw a subscriber.
    last_active: Instant,
}

#[derive(Debug)]
struct Entry {
    added: Instant,
    publication: Arc<Publication>,
}

impl Stream {
    /// An empty stream with a fresh epoch.
    pub fn new() -> Self {
        Self::with_epoch(new_epoch())
    }

    /// An empty stream in `epoch`.
    pub fn with_epoch(epoch: String) -> Self {
        Self {
            epoch,
            top: 0,
            entries: VecDeque::new(),
            last_active: Instant::now(),
        }
    }

    /// Marks the stream as in use (a subscriber is there).
    pub fn touch(&mut self) {
        self.last_active = Instant::now();
    }

    /// Whether the stream may be forgotten: its history is empty and it has
    /// been neither published to nor watched for `limits.meta_ttl`.
    pub fn is_idle(&self, limits: HistoryLimits) -> bool {
        self.entries.is_empty() && self.last_active.elapsed() >= limits.meta_ttl
    }

    /// Publications held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no publication is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The current epoch and top offset.
    pub fn position(&self) -> StreamPosition {
        StreamPosition {
            offset: self.top,
            epoch: self.epoch.clone(),
        }
    }

    /// Gives `publication` the next offset and keeps it (unless
    /// `skip_history`), trimming what the limits no longer allow.
    pub fn append(
        &mut self,
        mut publication: Publication,
        skip_history: bool,
        limits: HistoryLimits,
    ) -> Arc<Publication> {
        self.top += 1;
        self.last_active = Instant::now();
        publication.offset = self.top;
        let publication = Arc::new(publication);
        if !skip_history {
            self.entries.push_back(Entry {
                added: Instant::now(),
                publication: publication.clone(),
            });
        }
        self.trim(limits);
        publication
    }

    /// Drops entries beyond the size bound or older than the TTL.
    pub fn trim(&mut self, limits: HistoryLimits) {
        while self.entries.len() > limits.size {
            self.entries.pop_front();
        }
        let emptied = self.entries.is_empty();
        let now = Instant::now();
        while let Some(front) = self.entries.front() {
            if now.duration_since(front.added) < limits.ttl {
                break;
            }
            self.entries.pop_front();
        }
        if self.entries.is_empty() && !emptied {
            // Give the memory back, not just the entries.
            self.entries = VecDeque::new();
        }
    }

    /// Every publication after `since`, if history still holds all of them
    /// (offsets `since.offset + 1 ..= top`) in the same epoch; `None` when
    /// some are gone and the client must resync.
    pub fn since(&self, since: &StreamPosition) -> Option<Vec<Arc<Publication>>> {
        let same_epoch = since.epoch.is_empty() || since.epoch == self.epoch;
        if !same_epoch || since.offset > self.top {
            return None;
        }
        if since.offset == self.top {
            return Some(Vec::new());
        }
        let first = self.entries.front()?.publication.offset;
        if first > since.offset + 1 {
            return None;
        }
        Some(
            self.entries
                .iter()
                .filter(|e| e.publication.offset > since.offset)
                .map(|e| e.publication.clone())
                .collect(),
        )
    }

    /// Up to `limit` publications, oldest first (newest first if `reverse`),
    /// after `since` when given.
    pub fn read(&self, limit: usize, since: Option<u64>, reverse: bool) -> Vec<Arc<Publication>> {
        let after = |e: &&Entry| since.is_none_or(|s| e.publication.offset > s);
        let take = |it: &mut dyn Iterator<Item = &Entry>| {
            it.take(limit).map(|e| e.publication.clone()).collect()
        };
        if reverse {
            let before = |e: &&Entry| since.is_none_or(|s| e.publication.offset < s);
            take(&mut self.entries.iter().rev().filter(before))
        } else {
            take(&mut self.entries.iter().filter(after))
        }
    }
}

/// A fresh random epoch.
pub fn new_epoch() -> String {
    format!("{:08x}", rand::random::<u32>())
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    const LIMITS: HistoryLimits = HistoryLimits {
        size: 3,
        ttl: Duration::from_secs(60),
        meta_ttl: Duration::from_secs(600),
    };

    fn publication(n: u32) -> Publication {
        Publication {
            data: RawValue::from_string(n.to_string()).unwrap(),
            offset: 0,
            info: None,
            tags: None,
        }
    }

    fn offsets(pubs: &[Arc<Publication>]) -> Vec<u64> {
        pubs.iter().map(|p| p.offset).collect()
    }

    #[tokio::test]
    async fn offsets_rise_and_size_bound_trims() {
        let mut stream = Stream::new();
        for n in 0..5 {
            stream.append(publication(n), false, LIMITS);
        }
        assert_eq!(stream.position().offset, 5);
        assert_eq!(offsets(&stream.read(10, None, false)), [3, 4, 5]);
        assert_eq!(offsets(&stream.read(2, None, true)), [5, 4]);
        assert_eq!(offsets(&stream.read(10, Some(3), false)), [4, 5]);
    }

    #[tokio::test]
    async fn since_recovers_only_without_gaps() {
        let mut stream = Stream::new();
        for n in 0..5 {
            stream.append(publication(n), false, LIMITS);
        }
        let epoch = stream.position().epoch;
        let at = |offset| StreamPosition {
            offset,
            epoch: epoch.clone(),
        };
        assert_eq!(offsets(&stream.since(&at(2)).unwrap()), [3, 4, 5]);
        assert_eq!(offsets(&stream.since(&at(5)).unwrap()), Vec::<u64>::new());
        assert!(stream.since(&at(1)).is_none(), "offset 2 was trimmed");
        assert!(stream.since(&at(6)).is_none(), "offset from the future");
        let other = StreamPosition {
            offset: 4,
            epoch: "other".into(),
        };
        assert!(stream.since(&other).is_none(), "epoch changed");
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_expires_history_but_keeps_position() {
        let mut stream = Stream::new();
        stream.append(publication(1), false, LIMITS);
        tokio::time::advance(Duration::from_secs(61)).await;
        stream.trim(LIMITS);
        assert!(stream.read(10, None, false).is_empty());
        assert_eq!(stream.position().offset, 1);
        assert!(stream
            .since(&StreamPosition {
                offset: 0,
                epoch: String::new()
            })
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_only_when_empty_and_quiet_for_the_meta_ttl() {
        let mut stream = Stream::new();
        stream.append(publication(1), false, LIMITS);
        tokio::time::advance(Duration::from_secs(61)).await;
        stream.trim(LIMITS);
        assert!(stream.is_empty());
        assert!(!stream.is_idle(LIMITS), "published 61 s ago");
        tokio::time::advance(Duration::from_secs(540)).await;
        assert!(stream.is_idle(LIMITS));
        stream.touch();
        assert!(!stream.is_idle(LIMITS), "a subscriber keeps it");
    }
}
