//! Telltale desktop's alarm history: every alarm transition the app
//! receives, from every server, kept in one SQLite file so it survives
//! restarts; filtered for the history view, exported as CSV, and pruned
//! by age in the background.
//!
//! Recording never waits on the disk: [`AlarmHistory::record`] only queues
//! the transition for one writer thread, which stores queued transitions in
//! batches (one transaction each) and prunes once at open and then hourly.
//! The same transition received twice (a recovery replay, the resync of the
//! active set) is stored once.
//!
//! # Layout
//!
//! - [`history`]: [`AlarmHistory`], the handle: open, record, query,
//!   export, prune.
//! - [`schema`]: the file's tables and indexes, its identity check and
//!   migrations (`PRAGMA user_version`).
//! - [`writer`]: the queue and the thread that writes it and prunes.
//! - [`transition`]: one alarm transition as stored, and its insert.
//! - [`filter`]: [`HistoryFilter`] and the SQL it becomes.
//! - [`row`]: [`HistoryRow`] and [`HistoryPage`], what a query returns.
//! - [`export`]: the CSV export.
//! - [`retention`]: how long transitions are kept, and pruning.
//! - [`error`]: [`HistoryError`], whose messages say what to do.
#![deny(missing_docs)]

pub mod error;
pub mod export;
pub mod filter;
pub mod history;
pub mod retention;
pub mod row;
pub mod schema;
pub mod transition;
pub mod writer;

pub use error::HistoryError;
pub use filter::HistoryFilter;
pub use history::{AlarmHistory, HistoryOptions, DEFAULT_RETENTION};
pub use row::{HistoryPage, HistoryRow};
pub use writer::WriterStats;
