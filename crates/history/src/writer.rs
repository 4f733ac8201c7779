//! The write queue and the one thread that empties it: transitions are
//! queued without waiting and stored in batches, one transaction each; the
//! same thread prunes at start and every [`PRUNE_INTERVAL`], sleeping on the
//! queue in between (no polling).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::error::HistoryError;
use crate::retention::{cutoff, now_ms, prune_before, PRUNE_INTERVAL};
use crate::transition::{insert, Transition};

/// Most transitions stored in one transaction.
const BATCH_MAX: usize = 500;

/// What the writer lost: shown in diagnostics, never an error for the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriterStats {
    /// Transitions not recorded because the queue was full.
    pub dropped: u64,
    /// Transitions lost because their batch could not be written.
    pub failed: u64,
}

enum Job {
    Record(Box<Transition>),
    Flush(mpsc::Sender<()>),
    Stop,
}

#[derive(Default)]
struct Counters {
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// The queue's sending end and the writer thread.
pub struct Writer {
    queue: SyncSender<Job>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread writing to `conn`, with a queue of `capacity`
    /// transitions, pruning what is older than `retention`.
    pub fn start(
        conn: Connection,
        capacity: usize,
        retention: Duration,
    ) -> Result<Writer, HistoryError> {
        let (queue, jobs) = mpsc::sync_channel(capacity);
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("telltale-history".into())
            .spawn(move || run(conn, jobs, &thread_counters, retention))
            .map_err(|e| HistoryError::Writer(format!("cannot start the thread: {e}")))?;
        Ok(Writer {
            queue,
            counters,
            thread: Some(thread),
        })
    }

    /// Queues `t` without waiting; counts it as dropped when the queue is full.
    pub fn push(&self, t: Transition) {
        match self.queue.try_send(Job::Record(Box::new(t))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let before = self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                if before == 0 {
                    tracing::warn!("alarm history queue full: transitions are being dropped");
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until everything queued before this call is written (waits for
    /// room in the queue too: for tests and shutdown, not the UI path).
    pub fn flush(&self) -> Result<(), HistoryError> {
        let stopped = || HistoryError::Writer("the writer thread has stopped".into());
        let (done, wait) = mpsc::channel();
        self.queue.send(Job::Flush(done)).map_err(|_| stopped())?;
        wait.recv().map_err(|_| stopped())
    }

    /// What was lost so far.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Writer {
    /// Writes what is queued, then stops the thread.
    fn drop(&mut self) {
        let _ = self.queue.send(Job::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>, counters: &Counters, retention: Duration) {
    prune(&conn, retention);
    let mut next_prune = Instant::now() + PRUNE_INTERVAL;
    let mut batch = Vec::with_capacity(BATCH_MAX);
    loop {
        let wait = next_prune.saturating_duration_since(Instant::now());
        let stop = match jobs.recv_timeout(wait) {
            Ok(first) => take_batch(first, &jobs, &mut batch, &mut conn, counters),
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if stop {
            return;
        }
        if Instant::now() >= next_prune {
            prune(&conn, retention);
            next_prune = Instant::now() + PRUNE_INTERVAL;
        }
    }
}

/// Handles `first` and whatever else is queued already, writing records in
/// batches; returns whether to stop.
fn take_batch(
    first: Job,
    jobs: &mpsc::Receiver<Job>,
    batch: &mut Vec<Transition>,
    conn: &mut Connection,
    counters: &Counters,
) -> bool {
    let mut next = Some(first);
    while let Some(job) = next.take() {
        match job {
            Job::Record(t) => {
                batch.push(*t);
                if batch.len() >= BATCH_MAX {
                    write(conn, batch, counters);
                }
            }
            Job::Flush(done) => {
                write(conn, batch, counters);
                let _ = done.send(());
            }
            Job::Stop => {
                write(conn, batch, counters);
                return true;
            }
        }
        next = jobs.try_recv().ok();
    }
    write(conn, batch, counters);
    false
}

/// Stores `batch` in one transaction and empties it.
fn write(conn: &mut Connection, batch: &mut Vec<Transition>, counters: &Counters) {
    if batch.is_empty() {
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for t in batch.iter() {
            insert(&tx, t)?;
        }
        tx.commit()
    })();
    if let Err(e) = result {
        counters
            .failed
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracing::warn!(error = %e, lost = batch.len(), "cannot write alarm history");
    }
    batch.clear();
}

fn prune(conn: &Connection, retention: Duration) {
    match prune_before(conn, cutoff(now_ms(), retention)) {
        Ok(0) => {}
        Ok(n) => tracing::debug!(deleted = n, "alarm history pruned"),
        Err(e) => tracing::warn!(error = %e, "cannot prune alarm history"),
    }
}
