//! What can go wrong with the history file, said so the user knows what to do.

use std::path::PathBuf;

/// An error of the alarm history.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file exists but is not one this app wrote.
    #[error(
        "{}: the file is not a Telltale history database: move it aside (or delete it) and restart Telltale",
        path.display()
    )]
    NotHistory {
        /// The history file.
        path: PathBuf,
    },
    /// The file was written by a newer Telltale whose schema this one does not know.
    #[error(
        "{}: the history was written by a newer Telltale (schema {found}, this one reads up to {known}): upgrade Telltale, or move the file aside to start a new history",
        path.display()
    )]
    TooNew {
        /// The history file.
        path: PathBuf,
        /// The file's schema version.
        found: i64,
        /// The newest schema version this build knows.
        known: i64,
    },
    /// The file or its directory cannot be opened or created.
    #[error(
        "cannot open the alarm history {}: {source}: check that the directory exists and is writable",
        path.display()
    )]
    Open {
        /// The history file.
        path: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A statement failed on an open history.
    #[error("alarm history: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The CSV could not be written.
    #[error("cannot write the CSV export: {0}")]
    Csv(#[from] csv::Error),
    /// The writer thread could not be started or has stopped.
    #[error("alarm history writer: {0}")]
    Writer(String),
}
