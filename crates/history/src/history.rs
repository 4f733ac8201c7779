//! [`AlarmHistory`]: the handle the app keeps for its whole life.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params_from_iter, Connection};
use telltale_protocol::Alarm;

use crate::error::HistoryError;
use crate::export::export;
use crate::filter::HistoryFilter;
use crate::retention::{cutoff, now_ms, prune_before};
use crate::row::{HistoryPage, HistoryRow, COLUMNS};
use crate::schema;
use crate::transition::Transition;
use crate::writer::{Writer, WriterStats};

/// How long transitions are kept unless configured otherwise: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Transitions queued at most before [`AlarmHistory::record`] drops them:
/// far more than an alarm storm queues while one batch is written.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

/// How a history is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Transitions older than this are pruned.
    pub retention: Duration,
    /// Transitions queued at most, waiting for the writer.
    pub queue_capacity: usize,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            retention: DEFAULT_RETENTION,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
        }
    }
}

/// The alarm history in one SQLite file. `Send + Sync`: share it in an
/// `Arc`. Dropping it writes what is queued and stops the writer.
pub struct AlarmHistory {
    path: PathBuf,
    retention: Duration,
    /// Queries, exports and explicit prunes; the writer has its own
    /// connection, so a long export never holds up recording.
    reader: Mutex<Connection>,
    writer: Writer,
}

impl AlarmHistory {
    /// Opens the history at `path`, creating it (and its directory) if
    /// needed; transitions older than `retention` are pruned now and hourly.
    pub fn open(path: &Path, retention: Duration) -> Result<AlarmHistory, HistoryError> {
        let options = HistoryOptions {
            retention,
            ..HistoryOptions::default()
        };
        AlarmHistory::open_with(path, options)
    }

    /// [`AlarmHistory::open`] with every option.
    pub fn open_with(path: &Path, options: HistoryOptions) -> Result<AlarmHistory, HistoryError> {
        let writer_conn = schema::open(path)?;
        let reader = schema::connect(path)?;
        let writer = Writer::start(
            writer_conn,
            options.queue_capacity.max(1),
            options.retention,
        )?;
        Ok(AlarmHistory {
            path: path.into(),
            retention: options.retention,
            reader: Mutex::new(reader),
            writer,
        })
    }

    /// The history file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long transitions are kept.
    pub fn retention(&self) -> Duration {
        self.retention
    }

    /// Queues `alarm`, received from server `server_id` (shown as
    /// `server_name`), for writing. Never waits: when the queue is full the
    /// transition is dropped and counted in [`AlarmHistory::stats`]. A
    /// transition already stored (same server, alarm, state and `ts`) is
    /// ignored, so replays and active-set resyncs may be recorded freely.
    pub fn record(&self, server_id: &str, server_name: &str, alarm: &Alarm) {
        self.writer.push(Transition {
            received_at: now_ms(),
            server_id: server_id.into(),
            server_name: server_name.into(),
            alarm: alarm.clone(),
        });
    }

    /// Waits until everything recorded before this call is written (for
    /// tests and shutdown: it may wait for room in the queue).
    pub fn flush(&self) -> Result<(), HistoryError> {
        self.writer.flush()
    }

    /// Transitions lost so far (queue full, or a failed write).
    pub fn stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// The newest transitions `filter` selects, at most its limit, and how
    /// many it selects in all.
    pub fn query(&self, filter: &HistoryFilter) -> Result<HistoryPage, HistoryError> {
        let conn = self.reader()?;
        let (clause, params) = filter.to_sql();
        let total: i64 = conn.query_row(
            &format!("SELECT count(*) FROM transitions {clause}"),
            params_from_iter(params.iter()),
            |r| r.get(0),
        )?;
        let sql = format!(
            "SELECT {COLUMNS} FROM transitions {clause} ORDER BY ts DESC, seq DESC LIMIT {}",
            filter.effective_limit()
        );
        let mut statement = conn.prepare(&sql)?;
        let rows = statement
            .query_map(params_from_iter(params.iter()), HistoryRow::from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HistoryPage {
            rows,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    /// Writes every transition `filter` selects (its limit aside) as CSV,
    /// oldest first, with a header line; returns how many rows.
    pub fn export_csv(
        &self,
        filter: &HistoryFilter,
        out: impl Write,
    ) -> Result<usize, HistoryError> {
        export(&*self.reader()?, filter, out)
    }

    /// Deletes the transitions older than the retention at `now_ms`; returns
    /// how many. The writer thread already does this hourly.
    pub fn prune(&self, now_ms: i64) -> Result<usize, HistoryError> {
        let conn = self.reader()?;
        Ok(prune_before(&conn, cutoff(now_ms, self.retention))?)
    }

    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Connection>, HistoryError> {
        // A panic mid-query leaves the connection usable: SQLite ends the
        // statement when it is dropped.
        Ok(self.reader.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl std::fmt::Debug for AlarmHistory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlarmHistory")
            .field("path", &self.path)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}
