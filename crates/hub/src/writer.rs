//! A client's outgoing side: a queue bounded in bytes, and the loop that
//! drains it into coalesced WebSocket writes.
//!
//! Fan-out only ever calls [`ClientQueue::push`], which never blocks: a
//! client that falls `limit` bytes behind is disconnected with 3008 "slow"
//! instead of slowing anyone else. The writer joins everything queued into
//! one frame (newline separated, as the protocol allows) and flushes once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{Sink, SinkExt};
use telltale_protocol::Disconnect;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Largest coalesced frame; more queued data goes into the next frame of the
/// same flush.
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The bounded outgoing queue of one connection.
pub struct ClientQueue {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: AtomicUsize,
    limit: usize,
    closing: CancellationToken,
    reason: OnceLock<Disconnect>,
}

/// The receiving end of a [`ClientQueue`], owned by the writer.
pub type QueueReceiver = mpsc::UnboundedReceiver<Bytes>;

impl ClientQueue {
    /// A queue that holds at most `limit` bytes.
    pub fn new(limit: usize) -> (Arc<Self>, QueueReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queue = Self {
            tx,
            queued: AtomicUsize::new(0),
            limit,
            closing: CancellationToken::new(),
            reason: OnceLock::new(),
        };
        (Arc::new(queue), rx)
    }

    /// Queues one JSON object (a reply, push or ping). Returns `false` when
    /// the connection is closing; overflowing the limit closes it as slow.
    pub fn push(&self, frame: Bytes) -> bool {
        if self.closing.is_cancelled() {
            return false;
        }
        let queued = self.queued.fetch_add(frame.len(), Ordering::Relaxed) + frame.len();
        if queued > self.limit {
            self.disconnect(Disconnect::SLOW);
            return false;
        }
        self.tx.send(frame).is_ok()
    }

    /// Closes the connection with `reason`; the first reason given wins.
    pub fn disconnect(&self, reason: Disconnect) {
        let _ = self.reason.set(reason);
        self.closing.cancel();
    }

    /// Why the connection is closing, once it is.
    pub fn reason(&self) -> Option<Disconnect> {
        self.reason.get().copied()
    }

    /// Resolves when the connection starts closing.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// Drains `rx` into `sink` until the queue closes, then sends the close
/// frame with the queue's reason.
pub async fn write_loop<S>(
    sink: &mut S,
    mut rx: QueueReceiver,
    queue: &ClientQueue,
    write_timeout: Duration,
    metrics: &Metrics,
) where
    S: Sink<Message> + Unpin,
{
    loop {
        let first = tokio::select! {
            biased;
            _ = queue.closing.cancelled() => break,
            first = rx.recv() => match first {
                Some(first) => first,
                None => break,
            },
        };
        let (frames, count, bytes) = coalesce(first, &mut rx);
        queue.queued.fetch_sub(bytes, Ordering::Relaxed);
        let write = async {
            for frame in frames {
                sink.feed(frame).await?;
            }
            sink.flush().await
        };
        match tokio::time::timeout(write_timeout, write).await {
            Ok(Ok(())) => metrics.record_out(count, bytes),
            _ => {
                queue.disconnect(Disconnect::WRITE_ERROR);
                return;
            }
        }
    }
    if let Some(reason) = queue.reason().filter(|r| *r != Disconnect::WRITE_ERROR) {
        // What was queued before the close goes out first (the 111 errors
        // that explain a 3013, a reply sent just before a shutdown), except
        // to a client closed for not reading it. The queue's bound bounds it.
        if reason != Disconnect::SLOW {
            if let Ok(first) = rx.try_recv() {
                let (frames, _, _) = coalesce(first, &mut rx);
                let flush = async {
                    for frame in frames {
                        sink.feed(frame).await?;
                    }
                    sink.flush().await
                };
                let _ = tokio::time::timeout(write_timeout, flush).await;
            }
        }
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::from(reason.code),
            reason: Utf8Bytes::from_static(reason.reason),
        }));
        let _ = tokio::time::timeout(write_timeout, sink.send(close)).await;
    }
}

/// Joins everything queued behind `first` into as few text frames as
/// possible. Returns the frames, the number of JSON objects and their bytes.
fn coalesce(first: Bytes, rx: &mut QueueReceiver) -> (Vec<Message>, usize, usize) {
    let mut frames = Vec::new();
    let mut count = 1;
    let mut bytes = first.len();
    let mut batch: Option<BytesMut> = None;
    let mut single = Some(first);
    while let Ok(next) = rx.try_recv() {
        count += 1;
        bytes += next.len();
        let buf = batch.get_or_insert_with(|| {
            let mut buf = BytesMut::with_capacity(MAX_BATCH_BYTES.min(64 * 1024));
            buf.extend_from_slice(&single.take().unwrap_or_default());
            buf
        });
        if buf.len() + next.len() + 1 > MAX_BATCH_BYTES && !buf.is_empty() {
            frames.push(text(std::mem::take(buf).freeze()));
        }
        if !buf.is_empty() {
            buf.extend_from_slice(b"\n");
        }
        buf.extend_from_slice(&next);
    }
    match (single, batch) {
        (Some(single), _) => frames.push(text(single)),
        (None, Some(buf)) if !buf.is_empty() => frames.push(text(buf.freeze())),
        _ => {}
    }
    (frames, count, bytes)
}

fn text(bytes: Bytes) -> Message {
    // Everything queued was produced by serde_json, so it is valid UTF-8;
    // a failure here is a bug, and sending nothing beats sending garbage.
    Message::Text(Utf8Bytes::try_from(bytes).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_closes_as_slow_and_refuses_more() {
        let (queue, _rx) = ClientQueue::new(10);
        assert!(queue.push(Bytes::from_static(b"12345")));
        assert!(!queue.push(Bytes::from_static(b"123456")));
        assert_eq!(queue.reason(), Some(Disconnect::SLOW));
        assert!(!queue.push(Bytes::from_static(b"1")));
    }

    #[test]
    fn coalesces_queued_objects_into_one_frame() {
        let (queue, mut rx) = ClientQueue::new(1000);
        for n in 1..=3 {
            queue.push(Bytes::from(format!("{{\"n\":{n}}}")));
        }
        let first = rx.try_recv().unwrap();
        let (frames, count, bytes) = coalesce(first, &mut rx);
        assert_eq!((frames.len(), count, bytes), (1, 3, 21));
        assert_eq!(
            frames[0].to_text().unwrap(),
            "{\"n\":1}\n{\"n\":2}\n{\"n\":3}"
        );
    }

    #[test]
    fn splits_batches_above_the_frame_bound() {
        let (queue, mut rx) = ClientQueue::new(usize::MAX);
        let big = Bytes::from(vec![b'x'; MAX_BATCH_BYTES / 2 + 1]);
        for _ in 0..3 {
            queue.push(big.clone());
        }
        let first = rx.try_recv().unwrap();
        let (frames, count, _) = coalesce(first, &mut rx);
        assert_eq!((frames.len(), count), (3, 3));
    }
}
