//! The event queue between the connection task and the application.
//!
//! One ordered queue, so a `Gap` is never overtaken by the publications that
//! follow it. The connection task never waits for the application:
//!
//! - metric publications (`metrics:*`) are bounded: when `capacity` of them
//!   are waiting, the oldest one of the same channel (else the oldest one) is
//!   dropped to make room, and the next read returns [`Event::Lagged`] with
//!   the count;
//! - everything else (alarms, other channels, states, gaps) is never
//!   dropped. These are rare, so the queue holds them without a bound.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::Event;

struct Inner {
    queue: VecDeque<Event>,
    /// Droppable events currently queued.
    droppable: usize,
    capacity: usize,
    /// Dropped since the last `Lagged` was handed out.
    dropped_unreported: u64,
    dropped_total: u64,
    /// The sender is gone: no more events after the queue drains.
    closed: bool,
    /// The receiver is gone: events are discarded.
    abandoned: bool,
}

struct Shared {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Creates a queue that holds at most `capacity` droppable events.
pub(crate) fn channel(capacity: usize) -> (EventSender, Events) {
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            queue: VecDeque::new(),
            droppable: 0,
            capacity: capacity.max(1),
            dropped_unreported: 0,
            dropped_total: 0,
            closed: false,
            abandoned: false,
        }),
        notify: Notify::new(),
    });
    (
        EventSender {
            shared: shared.clone(),
        },
        Events { shared },
    )
}

fn droppable(event: &Event) -> Option<&str> {
    match event {
        Event::Publication(p) if p.is_droppable() => Some(&p.channel),
        _ => None,
    }
}

/// The connection task's end of the queue; closes it when dropped.
pub(crate) struct EventSender {
    shared: Arc<Shared>,
}

impl EventSender {
    /// Queues `event`; never waits.
    pub(crate) fn send(&self, event: Event) {
        let mut inner = self.shared.lock();
        if inner.abandoned {
            return;
        }
        if let Some(channel) = droppable(&event) {
            if inner.droppable >= inner.capacity {
                let victim = inner
                    .queue
                    .iter()
                    .position(|e| droppable(e) == Some(channel))
                    .or_else(|| inner.queue.iter().position(|e| droppable(e).is_some()));
                if let Some(victim) = victim {
                    inner.queue.remove(victim);
                    inner.droppable -= 1;
                }
                inner.dropped_unreported += 1;
                inner.dropped_total += 1;
            }
            inner.droppable += 1;
        }
        inner.queue.push_back(event);
        drop(inner);
        self.shared.notify.notify_one();
    }
}

impl Drop for EventSender {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_one();
    }
}

/// The application's end of the event stream (see [`Event`]).
///
/// Read it promptly: metric publications are dropped (and counted in
/// [`Event::Lagged`]) when too many wait; nothing else is.
pub struct Events {
    shared: Arc<Shared>,
}

impl Events {
    /// The next event; `None` once the client has stopped (all [`crate::Client`]
    /// handles dropped, or `close()` called) and every event was read.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            match self.poll_next() {
                Ok(event) => return event,
                Err(()) => self.shared.notify.notified().await,
            }
        }
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.poll_next().ok().flatten()
    }

    /// `Ok(Some)`: an event; `Ok(None)`: closed and drained; `Err`: empty.
    fn poll_next(&mut self) -> Result<Option<Event>, ()> {
        let mut inner = self.shared.lock();
        if inner.dropped_unreported > 0 {
            let dropped = std::mem::take(&mut inner.dropped_unreported);
            return Ok(Some(Event::Lagged { dropped }));
        }
        match inner.queue.pop_front() {
            Some(event) => {
                if droppable(&event).is_some() {
                    inner.droppable -= 1;
                }
                Ok(Some(event))
            }
            None if inner.closed => Ok(None),
            None => Err(()),
        }
    }

    /// Metric publications dropped since the client started.
    pub fn dropped_total(&self) -> u64 {
        self.shared.lock().dropped_total
    }

    /// Events waiting to be read.
    pub fn len(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let mut inner = self.shared.lock();
        inner.abandoned = true;
        inner.queue.clear();
        inner.droppable = 0;
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("waiting", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{Payload, Publication};

    fn publication(channel: &str, offset: u64) -> Event {
        let data = serde_json::value::RawValue::from_string(format!("{{\"n\":{offset}}}")).unwrap();
        Event::Publication(Publication {
            channel: channel.into(),
            offset,
            data,
            payload: Payload::Raw,
        })
    }

    fn offsets(events: &mut Events, channel: &str) -> (Vec<u64>, u64) {
        let (mut seen, mut lagged) = (Vec::new(), 0);
        while let Some(event) = events.try_recv() {
            match event {
                Event::Publication(p) if p.channel == channel => seen.push(p.offset),
                Event::Lagged { dropped } => lagged += dropped,
                _ => {}
            }
        }
        (seen, lagged)
    }

    #[test]
    fn slow_consumer_loses_old_metrics_never_alarms() {
        let (tx, mut rx) = channel(4);
        for n in 1..=100 {
            tx.send(publication("metrics:h", n));
            if n % 10 == 0 {
                tx.send(publication("alarms", n / 10));
            }
        }
        let mut alarms = Vec::new();
        let mut metrics = Vec::new();
        let mut lagged = 0;
        let mut first_is_lagged = None;
        while let Some(event) = rx.try_recv() {
            first_is_lagged.get_or_insert(matches!(event, Event::Lagged { .. }));
            match event {
                Event::Publication(p) if p.channel == "alarms" => alarms.push(p.offset),
                Event::Publication(p) => metrics.push(p.offset),
                Event::Lagged { dropped } => lagged += dropped,
                _ => {}
            }
        }
        assert_eq!(alarms, (1..=10).collect::<Vec<_>>());
        assert_eq!(metrics, [97, 98, 99, 100], "the newest samples are kept");
        assert_eq!(lagged, 96);
        assert_eq!(first_is_lagged, Some(true), "the loss is reported first");
        assert_eq!(rx.dropped_total(), 96);
    }

    #[test]
    fn drops_the_busiest_channel_first() {
        let (tx, mut rx) = channel(3);
        tx.send(publication("metrics:quiet", 1));
        for n in 1..=5 {
            tx.send(publication("metrics:busy", n));
        }
        let (quiet, _) = offsets(&mut rx, "metrics:quiet");
        assert_eq!(quiet, [1], "a quiet source keeps its sample");
    }

    #[test]
    fn fast_consumer_loses_nothing() {
        let (tx, mut rx) = channel(2);
        let mut seen = Vec::new();
        for n in 1..=50 {
            tx.send(publication("metrics:h", n));
            let (batch, lagged) = offsets(&mut rx, "metrics:h");
            assert_eq!(lagged, 0);
            seen.extend(batch);
        }
        assert_eq!(seen, (1..=50).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn recv_waits_then_ends_after_sender_drops() {
        let (tx, mut rx) = channel(8);
        let reader = tokio::spawn(async move {
            let mut n = 0;
            while let Some(event) = rx.recv().await {
                assert!(matches!(event, Event::Publication(_)));
                n += 1;
            }
            n
        });
        for n in 1..=3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tx.send(publication("alarms", n));
        }
        drop(tx);
        let n = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("recv did not end")
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn abandoned_queue_discards() {
        let (tx, rx) = channel(1);
        drop(rx);
        for n in 0..1000 {
            tx.send(publication("alarms", n));
        }
        assert!(tx.shared.lock().queue.is_empty());
    }
}
