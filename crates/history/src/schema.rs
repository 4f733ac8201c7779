//! The history file: its tables and indexes, the check that it is ours, and
//! the migrations between schema versions (`PRAGMA user_version`).

use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::HistoryError;

/// Marks the file as a Telltale history (`PRAGMA application_id`, "TTLH"),
/// so another SQLite file put in its place is refused, not altered.
const APPLICATION_ID: i64 = 0x5454_4C48;

/// Migration `i` moves the schema from version `i` to `i + 1`; the schema
/// version is the number of migrations applied.
const MIGRATIONS: &[&str] = &[
    // 1: the transitions. UNIQUE over the natural key of a transition makes
    // a replayed one (recovery after a reconnect, active-set resync) a no-op
    // with INSERT OR IGNORE; the hub stamps a new `ts` on every change, so
    // two different transitions of one alarm never share it with their state.
    "CREATE TABLE transitions (
        seq INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        server_id TEXT NOT NULL,
        server_name TEXT NOT NULL,
        alarm_id TEXT NOT NULL,
        source TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        value REAL,
        labels TEXT NOT NULL,
        acked_by TEXT,
        comment TEXT,
        silenced_until INTEGER,
        ts INTEGER NOT NULL,
        UNIQUE (server_id, alarm_id, ts, state)
    );
    CREATE INDEX transitions_ts ON transitions (ts);
    CREATE INDEX transitions_severity_ts ON transitions (severity, ts);
    CREATE INDEX transitions_source_ts ON transitions (source, ts);",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for the other connection's write to finish
/// (the writer thread and a query or prune share the file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQL function folding case like Rust's `to_lowercase` (SQLite's `lower`
/// and `LIKE` only fold ASCII), for the case-insensitive filters.
pub const FOLD_FUNCTION: &str = "telltale_fold";

/// Opens (creating it and its directory if needed) the history at `path`,
/// checks it is ours, brings its schema up to date and turns on WAL.
pub fn open(path: &Path) -> Result<Connection, HistoryError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| open_error(path, e))?;
    }
    let conn = connect(path)?;
    let version = check_identity(&conn, path)?;
    // WAL: queries read while the writer writes, and a crash loses at most
    // the last batch. NORMAL is durable enough with WAL for a history.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        .map_err(|e| classify(path, e))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&conn, version)?;
    Ok(conn)
}

/// Another connection to a history already [`open`]ed.
pub fn connect(path: &Path) -> Result<Connection, HistoryError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.create_scalar_function(
        FOLD_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| t.to_lowercase()))
        },
    )?;
    Ok(conn)
}

/// The file's schema version, after checking the file is a Telltale history
/// or a new, empty database.
fn check_identity(conn: &Connection, path: &Path) -> Result<i64, HistoryError> {
    let read = || -> rusqlite::Result<(i64, i64, i64)> {
        let app: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let objects: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok((app, version, objects))
    };
    let (app, version, objects) = read().map_err(|e| classify(path, e))?;
    let fresh = app == 0 && version == 0 && objects == 0;
    if app != APPLICATION_ID && !fresh {
        return Err(HistoryError::NotHistory { path: path.into() });
    }
    if version > SCHEMA_VERSION {
        return Err(HistoryError::TooNew {
            path: path.into(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Applies the migrations after `from`, each in its own transaction with
/// its version number, so an interrupted upgrade resumes where it stopped.
fn migrate(conn: &Connection, from: i64) -> Result<(), HistoryError> {
    for (index, script) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// A garbage file shows up as SQLITE_NOTADB on the first statement.
fn classify(path: &Path, e: rusqlite::Error) -> HistoryError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => HistoryError::NotHistory { path: path.into() },
        _ => open_error(path, e),
    }
}

fn open_error(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> HistoryError {
    HistoryError::Open {
        path: path.into(),
        source: Box::new(e),
    }
}
