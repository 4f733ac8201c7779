//! What the agent has to send, in order, kept while the hub is unreachable.
//!
//! A blip must not leave a hole in graphs or alarm history: everything is
//! queued in publish order and sent oldest first once the hub answers. The
//! queue is bounded by age: samples older than the buffer window (default
//! 10 minutes) are dropped oldest first, and a count bound keeps a very
//! short interval from filling memory. Alarm transitions are never dropped:
//! losing a "resolved" would leave an alarm firing for ever.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// What one queued publication is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A metric sample: may be dropped when the buffer is full.
    Sample,
    /// An alarm transition: never dropped.
    Transition,
}

/// One publication waiting to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The channel, e.g. `metrics:web-1` or `alarms`.
    pub channel: String,
    /// The JSON data.
    pub data: String,
    /// Sample or transition.
    pub kind: Kind,
    /// When it was queued.
    pub queued: Instant,
    /// Its place in the queue: increasing, never reused.
    pub seq: u64,
}

/// The bounded, ordered queue of publications.
#[derive(Debug)]
pub struct Outbox {
    items: VecDeque<Item>,
    window: Duration,
    max_samples: usize,
    samples: usize,
    dropped: u64,
    next_seq: u64,
}

impl Outbox {
    /// A queue keeping samples for `window` and at most `max_samples` of
    /// them.
    pub fn new(window: Duration, max_samples: usize) -> Self {
        Self {
            items: VecDeque::new(),
            window,
            max_samples: max_samples.max(1),
            samples: 0,
            dropped: 0,
            next_seq: 0,
        }
    }

    /// Queues a publication, then drops the samples past the bounds.
    pub fn push(&mut self, channel: impl Into<String>, data: String, kind: Kind) {
        self.items.push_back(Item {
            channel: channel.into(),
            data,
            kind,
            queued: Instant::now(),
            seq: self.next_seq,
        });
        self.next_seq += 1;
        if kind == Kind::Sample {
            self.samples += 1;
        }
        self.trim();
    }

    /// The oldest `n` items, to send; they stay queued until
    /// [`Outbox::sent_through`] says they went out (more may be queued, and
    /// old samples dropped, meanwhile).
    pub fn peek(&mut self, n: usize) -> Vec<Item> {
        self.trim();
        self.items.iter().take(n).cloned().collect()
    }

    /// Removes the items up to and including `seq` after they were sent.
    pub fn sent_through(&mut self, seq: u64) {
        while self.items.front().is_some_and(|item| item.seq <= seq) {
            if self
                .items
                .pop_front()
                .is_some_and(|i| i.kind == Kind::Sample)
            {
                self.samples -= 1;
            }
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Samples dropped since the start because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Drops the oldest samples older than the window or beyond the count,
    /// keeping every transition and the order of the rest.
    fn trim(&mut self) {
        let now = Instant::now();
        let too_old = |item: &Item| now.duration_since(item.queued) > self.window;
        let mut excess = self.samples.saturating_sub(self.max_samples);
        let before = self.items.len();
        self.items.retain(|item| {
            if item.kind == Kind::Transition {
                return true;
            }
            if excess > 0 || too_old(item) {
                excess = excess.saturating_sub(1);
                return false;
            }
            true
        });
        let removed = before - self.items.len();
        self.samples -= removed;
        self.dropped += removed as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(items: &[Item]) -> Vec<String> {
        items.iter().map(|i| i.data.clone()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn keeps_order_and_drops_only_old_samples() {
        let mut outbox = Outbox::new(Duration::from_secs(10), 1000);
        outbox.push("metrics:h", "s1".into(), Kind::Sample);
        outbox.push("alarms", "t1".into(), Kind::Transition);
        tokio::time::advance(Duration::from_secs(6)).await;
        outbox.push("metrics:h", "s2".into(), Kind::Sample);
        tokio::time::advance(Duration::from_secs(6)).await;
        outbox.push("metrics:h", "s3".into(), Kind::Sample);
        // s1 is 12 s old: dropped; t1 is as old but a transition: kept.
        assert_eq!(data(&outbox.peek(10)), ["t1", "s2", "s3"]);
        assert_eq!(outbox.dropped(), 1);
        let sent = outbox.peek(2);
        outbox.push("metrics:h", "s4".into(), Kind::Sample);
        outbox.sent_through(sent[1].seq);
        assert_eq!(data(&outbox.peek(10)), ["s3", "s4"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_count_bound_drops_the_oldest_samples_first() {
        let mut outbox = Outbox::new(Duration::from_secs(600), 2);
        for n in 1..=3 {
            outbox.push("metrics:h", format!("s{n}"), Kind::Sample);
            outbox.push("alarms", format!("t{n}"), Kind::Transition);
        }
        assert_eq!(data(&outbox.peek(10)), ["t1", "s2", "t2", "s3", "t3"]);
        assert_eq!((outbox.len(), outbox.dropped()), (5, 1));
    }
}
