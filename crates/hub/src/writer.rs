//! A client's outgoing side: a queue bounded in bytes, and the loop that
//! drains it into coalesced WebSocket writes.
//!
//! Fan-out only ever calls [`ClientQueue::push`], which never blocks: a
//! client that falls `limit` bytes behind is disconnected with 3008 "slow"
//! instead of slowing anyone else. The writer joins everything queued into
//! one frame (newline separated, as the protocol allows) and flushes once.
//!
//! With nothing to coalesce (one message in flight) every delivery costs a
//! wake-up and a write, so that path is kept lean: a push checks an atomic
//! flag (not the cancellation token, which takes a lock) and takes an
//! uncontended lock, only a writer that waits is woken (once, however many
//! pushes follow before it runs), the writer waits on the queue alone (a
//! close wakes it through the queue), and the write
//! deadline only arms a timer for a write that has to wait. Frames are
//! queued as [`Utf8Bytes`], text checked once where it was serialized, not
//! once per subscriber, and a lone object is written without a list or a
//! copy.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Poll, Waker};
use std::time::Duration;

use futures_util::{Sink, SinkExt};
use parking_lot::Mutex;
use telltale_protocol::Disconnect;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Largest coalesced frame; more queued data goes into the next frame of the
/// same flush.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// An object at least this large goes out as a frame of its own, not copied
/// into a joined one: copying it would cost more than the frame header it
/// saves (the socket's write buffer still joins the frames into few writes).
const OWN_FRAME_BYTES: usize = 8 * 1024;

/// The bounded outgoing queue of one connection.
pub struct ClientQueue {
    waiting: Mutex<Waiting>,
    queued: AtomicUsize,
    limit: usize,
    /// Set by the first [`ClientQueue::disconnect`]; what every push reads.
    closed: AtomicBool,
    /// Cancelled with `closed`, for those that wait for the close.
    closing: CancellationToken,
    reason: OnceLock<Disconnect>,
}

/// What is queued, and the writer's waker while it waits for more.
///
/// A plain deque behind a lock rather than a channel: a fan-out to a
/// thousand subscribers pushes a thousand times, and a push here is one
/// uncontended lock, with a wake-up only for a writer that is waiting. A
/// writer that has been woken and not yet run is not woken again, and it
/// takes everything queued by then in one swap.
#[derive(Default)]
struct Waiting {
    frames: VecDeque<Utf8Bytes>,
    writer: Option<Waker>,
}

/// The writer's end of a [`ClientQueue`]: waits for frames and takes them
/// all at once.
pub struct QueueReceiver {
    queue: Arc<ClientQueue>,
    /// Frames taken from the queue and not yet written; kept between takes
    /// so its buffer is reused (swapped with the queue's).
    taken: VecDeque<Utf8Bytes>,
}

/// Moves `queued` behind `taken` (swapping buffers when `taken` is empty,
/// so neither allocates); whether `taken` holds anything.
fn take_into(taken: &mut VecDeque<Utf8Bytes>, queued: &mut VecDeque<Utf8Bytes>) -> bool {
    if taken.is_empty() {
        std::mem::swap(taken, queued);
    } else {
        taken.append(queued);
    }
    !taken.is_empty()
}

impl ClientQueue {
    /// A queue that holds at most `limit` bytes.
    pub fn new(limit: usize) -> (Arc<Self>, QueueReceiver) {
        let queue = Arc::new(Self {
            waiting: Mutex::new(Waiting::default()),
            queued: AtomicUsize::new(0),
            limit,
            closed: AtomicBool::new(false),
            closing: CancellationToken::new(),
            reason: OnceLock::new(),
        });
        let rx = QueueReceiver {
            queue: queue.clone(),
            taken: VecDeque::new(),
        };
        (queue, rx)
    }

    /// Queues one JSON object (a reply, push or ping; a push's text is
    /// shared by every subscriber). Returns `false` when the connection is
    /// closing; overflowing the limit closes it as slow.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        if self.is_closing() {
            return false;
        }
        let queued = self.queued.fetch_add(frame.len(), Ordering::Relaxed) + frame.len();
        if queued > self.limit {
            self.disconnect(Disconnect::SLOW);
            return false;
        }
        let writer = {
            let mut waiting = self.waiting.lock();
            waiting.frames.push_back(frame);
            waiting.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        true
    }

    /// Closes the connection with `reason`; the first reason given wins.
    pub fn disconnect(&self, reason: Disconnect) {
        let _ = self.reason.set(reason);
        if !self.closed.swap(true, Ordering::AcqRel) {
            self.closing.cancel();
            // Taken under the lock the writer registers under: a writer
            // that did not see `closed` has registered by now.
            let writer = self.waiting.lock().writer.take();
            if let Some(writer) = writer {
                writer.wake();
            }
        }
    }

    /// Whether the connection is closing.
    pub fn is_closing(&self) -> bool {
        self.closed.load(Ordering::Acquire)
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

impl QueueReceiver {
    /// Waits until something is queued or the queue closes, and takes
    /// everything queued.
    async fn wait(&mut self) {
        std::future::poll_fn(|cx| {
            let mut waiting = self.queue.waiting.lock();
            if take_into(&mut self.taken, &mut waiting.frames) || self.queue.is_closing() {
                return Poll::Ready(());
            }
            match &waiting.writer {
                Some(writer) if writer.will_wake(cx.waker()) => {}
                _ => waiting.writer = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Takes everything queued now, behind what was taken before; whether
    /// anything is taken.
    fn take(&mut self) -> bool {
        take_into(&mut self.taken, &mut self.queue.waiting.lock().frames)
    }

    /// The next queued frame, without waiting (for tests of what is queued).
    #[cfg(test)]
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        if self.taken.is_empty() {
            self.take();
        }
        self.taken.pop_front()
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
    // What was taken when the close was seen stays in `rx` and goes out
    // with the rest.
    while !queue.is_closing() {
        rx.wait().await;
        if queue.is_closing() {
            break;
        }
        let batch = coalesce(&mut rx.taken);
        queue.queued.fetch_sub(batch.bytes, Ordering::Relaxed);
        if !write_within(sink, batch.frames, write_timeout).await {
            queue.disconnect(Disconnect::WRITE_ERROR);
            return;
        }
        if batch.count > 0 {
            metrics.record_out(batch.count, batch.bytes);
        }
    }
    if let Some(reason) = queue.reason().filter(|r| *r != Disconnect::WRITE_ERROR) {
        // What was queued before the close goes out first (the 111 errors
        // that explain a 3013, a reply sent just before a shutdown), except
        // to a client closed for not reading it. The queue's bound bounds it.
        if reason != Disconnect::SLOW && rx.take() {
            let batch = coalesce(&mut rx.taken);
            let _ = write_within(sink, batch.frames, write_timeout).await;
        }
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::from(reason.code),
            reason: Utf8Bytes::from_static(reason.reason),
        }));
        let _ = tokio::time::timeout(write_timeout, sink.send(close)).await;
    }
}

/// Writes `frames` and flushes; `false` when that failed or took longer
/// than `deadline`.
async fn write_within<S>(sink: &mut S, frames: Frames, deadline: Duration) -> bool
where
    S: Sink<Message> + Unpin,
{
    let mut write = pin!(async {
        match frames {
            Frames::None => {}
            Frames::One(text) => sink.feed(Message::Text(text)).await?,
            Frames::Many(texts) => {
                for text in texts {
                    sink.feed(Message::Text(text)).await?;
                }
            }
        }
        sink.flush().await
    });
    // Most writes complete at once (the socket takes them), and a timer per
    // write would be most of their cost: the deadline is only armed for a
    // write that has to wait for the socket. (Boxed: the timer is not part
    // of the writer's idle size.)
    let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(done) => done.is_ok(),
        Poll::Pending => {
            let waited = Box::pin(tokio::time::timeout(deadline, write));
            matches!(waited.await, Ok(Ok(())))
        }
    }
}

/// The text frames of one drain of the queue.
#[derive(Debug, PartialEq)]
enum Frames {
    /// Nothing was taken.
    None,
    /// Nothing to coalesce: the object as it was queued, shared with the
    /// other subscribers (no copy, no list: nothing allocated).
    One(Utf8Bytes),
    /// Objects joined by newlines, each frame at most [`MAX_BATCH_BYTES`]
    /// unless one object alone is larger.
    Many(Vec<Utf8Bytes>),
}

/// What one drain of the queue writes.
struct Batch {
    frames: Frames,
    /// JSON objects in `frames`.
    count: usize,
    /// Their bytes.
    bytes: usize,
}

/// Joins everything taken from the queue into as few text frames as
/// possible, emptying `taken` (and keeping its buffer).
fn coalesce(taken: &mut VecDeque<Utf8Bytes>) -> Batch {
    let count = taken.len();
    let bytes = taken.iter().map(|frame| frame.len()).sum();
    let frames = match count {
        0 => Frames::None,
        1 => Frames::One(taken.pop_front().expect("one frame taken")),
        _ => Frames::Many(join(taken.drain(..))),
    };
    Batch {
        frames,
        count,
        bytes,
    }
}

/// Objects joined by newlines, each frame at most [`MAX_BATCH_BYTES`];
/// objects of [`OWN_FRAME_BYTES`] or more are frames of their own, as queued
/// (in order).
fn join(objects: impl Iterator<Item = Utf8Bytes>) -> Vec<Utf8Bytes> {
    let mut full = Vec::new();
    let mut batch = String::new();
    for next in objects {
        if !batch.is_empty()
            && (next.len() >= OWN_FRAME_BYTES || batch.len() + next.len() + 1 > MAX_BATCH_BYTES)
        {
            full.push(std::mem::take(&mut batch).into());
        }
        if next.len() >= OWN_FRAME_BYTES {
            full.push(next);
            continue;
        }
        if batch.is_empty() {
            batch.reserve(MAX_BATCH_BYTES.min(64 * 1024).max(next.len()));
        } else {
            batch.push('\n');
        }
        batch.push_str(&next);
    }
    if !batch.is_empty() {
        full.push(batch.into());
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_closes_as_slow_and_refuses_more() {
        let (queue, _rx) = ClientQueue::new(10);
        assert!(queue.push(Utf8Bytes::from_static("12345")));
        assert!(!queue.push(Utf8Bytes::from_static("123456")));
        assert_eq!(queue.reason(), Some(Disconnect::SLOW));
        assert!(!queue.push(Utf8Bytes::from_static("1")));
    }

    /// Everything queued, as the writer takes it.
    fn drained(rx: &mut QueueReceiver) -> Batch {
        rx.take();
        coalesce(&mut rx.taken)
    }

    #[test]
    fn coalesces_queued_objects_into_one_frame() {
        let (queue, mut rx) = ClientQueue::new(1000);
        for n in 1..=3 {
            queue.push(format!("{{\"n\":{n}}}").into());
        }
        let batch = drained(&mut rx);
        assert_eq!((batch.count, batch.bytes), (3, 21));
        let joined = Utf8Bytes::from_static("{\"n\":1}\n{\"n\":2}\n{\"n\":3}");
        assert_eq!(batch.frames, Frames::Many(vec![joined]));
        assert!(rx.taken.is_empty(), "taken frames are consumed");
    }

    #[test]
    fn splits_batches_above_the_frame_bound() {
        let (queue, mut rx) = ClientQueue::new(usize::MAX);
        let objects: Vec<String> = (0..100)
            .map(|n| format!("{n:0>width$}", width = OWN_FRAME_BYTES / 2))
            .collect();
        for object in &objects {
            queue.push(object.clone().into());
        }
        let batch = drained(&mut rx);
        assert_eq!(batch.count, 100);
        let Frames::Many(frames) = batch.frames else {
            panic!("one frame for 100 objects of 4 KiB")
        };
        assert!(frames.len() > 1, "{} frames", frames.len());
        assert!(frames.iter().all(|f| f.len() <= MAX_BATCH_BYTES));
        let joined: Vec<&str> = frames.iter().flat_map(|f| f.split('\n')).collect();
        assert_eq!(joined, objects, "every object once, in order");
    }

    #[test]
    fn large_objects_are_frames_of_their_own_in_order() {
        let (queue, mut rx) = ClientQueue::new(usize::MAX);
        let large = Utf8Bytes::from("y".repeat(OWN_FRAME_BYTES));
        for frame in ["{1}", "{2}"].map(Utf8Bytes::from_static) {
            queue.push(frame);
        }
        queue.push(large.clone());
        queue.push(Utf8Bytes::from_static("{3}"));
        queue.push(large.clone());
        let batch = drained(&mut rx);
        assert_eq!(batch.count, 5);
        let expected = vec!["{1}\n{2}".into(), large.clone(), "{3}".into(), large];
        assert_eq!(batch.frames, Frames::Many(expected));
    }

    #[test]
    fn a_lone_object_is_written_as_queued_and_a_close_adds_nothing() {
        let (queue, mut rx) = ClientQueue::new(1000);
        queue.push(Utf8Bytes::from_static("{\"a\":1}"));
        queue.disconnect(Disconnect::SHUTDOWN);
        let batch = drained(&mut rx);
        assert_eq!((batch.count, batch.bytes), (1, 7));
        assert_eq!(batch.frames, Frames::One("{\"a\":1}".into()));
        // A close on an empty queue writes nothing.
        let (queue, mut rx) = ClientQueue::new(1000);
        queue.disconnect(Disconnect::SHUTDOWN);
        let batch = drained(&mut rx);
        assert_eq!(
            (batch.frames, batch.count, batch.bytes),
            (Frames::None, 0, 0)
        );
    }

    #[test]
    fn only_a_waiting_writer_is_woken_and_only_once() {
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let (queue, mut rx) = ClientQueue::new(1000);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        queue.push(Utf8Bytes::from_static("{}"));
        assert_eq!(count.0.load(Ordering::Relaxed), 0, "no writer waiting yet");
        let mut wait = Box::pin(rx.wait());
        assert!(wait.as_mut().poll(&mut cx).is_ready(), "something queued");
        drop(wait);
        assert_eq!(coalesce(&mut rx.taken).count, 1, "written");
        let mut wait = Box::pin(rx.wait());
        assert!(wait.as_mut().poll(&mut cx).is_pending(), "taken already");
        for _ in 0..3 {
            queue.push(Utf8Bytes::from_static("{}"));
        }
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "one wake for three pushes"
        );
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        drop(wait);
        assert_eq!(rx.taken.len(), 3);
    }

    /// Runs a writer into a `Vec` while `act` pushes and closes.
    async fn written(
        act: impl std::future::Future<Output = ()>,
        queue: &ClientQueue,
        rx: QueueReceiver,
    ) -> Vec<Message> {
        let metrics = Metrics::new();
        let mut sink: Vec<Message> = Vec::new();
        let deadline = Duration::from_secs(10);
        let both =
            async { tokio::join!(write_loop(&mut sink, rx, queue, deadline, &metrics), act) };
        // A writer the close failed to wake fails the test instead of hanging it.
        tokio::time::timeout(Duration::from_secs(30), both)
            .await
            .expect("the writer ends once the queue closes");
        sink
    }

    fn close(reason: Disconnect) -> Message {
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(reason.code),
            reason: Utf8Bytes::from_static(reason.reason),
        }))
    }

    #[tokio::test]
    async fn a_close_wakes_a_waiting_writer_after_what_was_queued() {
        for yield_between in [false, true] {
            let (queue, rx) = ClientQueue::new(1000);
            let act = async {
                // The writer is waiting on the empty queue by now.
                tokio::task::yield_now().await;
                queue.push(Utf8Bytes::from_static("{\"a\":1}"));
                if yield_between {
                    tokio::task::yield_now().await;
                }
                queue.disconnect(Disconnect::SHUTDOWN);
            };
            let sink = written(act, &queue, rx).await;
            assert_eq!(
                sink,
                [Message::text("{\"a\":1}"), close(Disconnect::SHUTDOWN)],
                "yield between push and close: {yield_between}"
            );
        }
    }

    #[tokio::test]
    async fn a_slow_client_gets_the_close_without_what_was_queued() {
        let (queue, rx) = ClientQueue::new(1000);
        let act = async {
            tokio::task::yield_now().await;
            queue.push(Utf8Bytes::from_static("{\"a\":1}"));
            queue.disconnect(Disconnect::SLOW);
        };
        let sink = written(act, &queue, rx).await;
        assert_eq!(sink, [close(Disconnect::SLOW)]);
    }

    /// A socket that never takes anything.
    struct Stuck;

    impl Sink<Message> for Stuck {
        type Error = std::io::Error;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn start_send(self: std::pin::Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), Self::Error>> {
            Poll::Pending
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_past_the_deadline_closes_the_connection() {
        let (queue, rx) = ClientQueue::new(1000);
        queue.push(Utf8Bytes::from_static("{\"a\":1}"));
        let metrics = Metrics::new();
        write_loop(&mut Stuck, rx, &queue, Duration::from_secs(5), &metrics).await;
        assert_eq!(queue.reason(), Some(Disconnect::WRITE_ERROR));
        assert!(!queue.push(Utf8Bytes::from_static("{}")));
    }
}
