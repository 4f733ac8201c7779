//! The alarm history in the app (`telltale-history`): the file in the app
//! data dir, and the commands of the history view. Queries and exports run
//! on the blocking pool, never on the main thread.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tauri::{AppHandle, Manager, Runtime, State};
use telltale_history::export::iso_utc;
use telltale_history::{AlarmHistory, HistoryFilter, HistoryPage, DEFAULT_RETENTION};
use telltale_protocol::Alarm;

/// The history file's name in the app data dir.
pub const FILE_NAME: &str = "history.sqlite3";

/// The history as the app holds it (`app.manage(AppHistory)`): open, or
/// why it could not be opened. The app runs either way; the history view
/// then shows that reason, which says what to do (e.g. "move it aside").
#[derive(Debug, Clone)]
pub struct AppHistory(Result<Arc<AlarmHistory>, String>);

impl AppHistory {
    /// Opens `<app data dir>/history.sqlite3` (created if needed), keeping
    /// transitions for `retention` ([`DEFAULT_RETENTION`] when none).
    pub fn open<R: Runtime>(app: &AppHandle<R>, retention: Option<Duration>) -> AppHistory {
        let opened = app
            .path()
            .app_data_dir()
            .map_err(|e| format!("cannot find the app data directory: {e}"))
            .and_then(|dir| {
                let retention = retention.unwrap_or(DEFAULT_RETENTION);
                AlarmHistory::open(&dir.join(FILE_NAME), retention).map_err(|e| e.to_string())
            });
        if let Err(e) = &opened {
            tracing::error!("alarm history unavailable: {e}");
        }
        AppHistory(opened.map(Arc::new))
    }

    /// An already opened history (tests, or a custom location).
    pub fn from_history(history: Arc<AlarmHistory>) -> AppHistory {
        AppHistory(Ok(history))
    }

    /// The history, or why it is unavailable.
    pub fn get(&self) -> Result<&Arc<AlarmHistory>, String> {
        self.0
            .as_ref()
            .map_err(|e| format!("the alarm history is unavailable: {e}"))
    }

    /// Records an alarm transition (or an alarm of a resynced active set)
    /// received from a server; never waits; nothing when unavailable.
    pub fn record(&self, server_id: &str, server_name: &str, alarm: &Alarm) {
        if let Ok(history) = &self.0 {
            history.record(server_id, server_name, alarm);
        }
    }

    /// Writes what is queued (at exit).
    pub fn flush(&self) {
        if let Ok(history) = &self.0 {
            if let Err(e) = history.flush() {
                tracing::warn!("alarm history: {e}");
            }
        }
    }
}

/// The newest transitions the filter selects (at most its limit, 1000 by
/// default) and how many it selects in all.
#[tauri::command]
pub async fn history_query(
    history: State<'_, AppHistory>,
    filter: HistoryFilter,
) -> Result<HistoryPage, String> {
    let history = history.get()?.clone();
    tauri::async_runtime::spawn_blocking(move || history.query(&filter))
        .await
        .map_err(|e| format!("cannot load the alarm history: {e}"))?
        .map_err(|e| format!("cannot load the alarm history: {e}"))
}

/// Writes every transition the filter selects as CSV to
/// `telltale-alarms-<YYYYMMDD-HHMMSS>.csv` (UTC) in the user's download
/// dir (else home); returns the file's path.
#[tauri::command]
pub async fn history_export<R: Runtime>(
    app: AppHandle<R>,
    history: State<'_, AppHistory>,
    filter: HistoryFilter,
) -> Result<String, String> {
    let history = history.get()?.clone();
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| format!("cannot export: no download or home directory: {e}"))?;
    let path = tauri::async_runtime::spawn_blocking(move || {
        export_to_dir(&history, &filter, &dir, SystemTime::now())
    })
    .await
    .map_err(|e| format!("cannot export the alarm history: {e}"))??;
    Ok(path.display().to_string())
}

/// Writes the export into a new file in `dir` named after `now`; a file
/// left by a failed export is removed.
pub fn export_to_dir(
    history: &AlarmHistory,
    filter: &HistoryFilter,
    dir: &Path,
    now: SystemTime,
) -> Result<PathBuf, String> {
    let (path, file) = create_export_file(dir, now)?;
    let mut out = BufWriter::new(file);
    let written = history
        .export_csv(filter, &mut out)
        .map_err(|e| e.to_string())
        .and_then(|_| {
            out.flush()
                .map_err(|e| format!("cannot write the CSV export: {e}"))
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&path);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(path)
}

/// `telltale-alarms-20261130-230031.csv`, or with `-2`, `-3`… when that
/// name is taken (two exports in one second): never overwrites a file.
fn create_export_file(dir: &Path, now: SystemTime) -> Result<(PathBuf, File), String> {
    let stem = format!("telltale-alarms-{}", utc_stamp(now));
    for n in 1..=100 {
        let name = if n == 1 {
            format!("{stem}.csv")
        } else {
            format!("{stem}-{n}.csv")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot create {}: {e}: check that the directory is writable",
                    path.display()
                ))
            }
        }
    }
    Err(format!(
        "cannot export: too many {stem}*.csv files in {}",
        dir.display()
    ))
}

/// `20261130-230031`, UTC.
fn utc_stamp(now: SystemTime) -> String {
    let ms = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    // "2026-11-30T23:00:31.123Z" → "20261130230031".
    let digits: String = iso_utc(ms)
        .chars()
        .filter(char::is_ascii_digit)
        .take(14)
        .collect();
    format!("{}-{}", &digits[..8], &digits[8..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_protocol::{AlarmState, Severity};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("telltale-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_stamp_is_utc_date_dash_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_999);
        assert_eq!(utc_stamp(t), "20231114-221320");
    }

    #[test]
    fn exports_never_overwrite_and_hold_the_rows() {
        let dir = scratch("export");
        let history = AlarmHistory::open(&dir.join(FILE_NAME), DEFAULT_RETENTION).unwrap();
        let alarm = Alarm {
            id: "db/disk".into(),
            source: "db".into(),
            severity: Severity::Critical,
            state: AlarmState::Firing,
            title: "Disk full".into(),
            message: String::new(),
            ts: 1_700_000_000_000,
            value: None,
            labels: Default::default(),
            by: None,
            silenced_until: None,
            comment: None,
            links: Default::default(),
        };
        history.record("s1", "Prod", &alarm);
        history.flush().unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let filter = HistoryFilter::default();
        let first = export_to_dir(&history, &filter, &dir, now).unwrap();
        let second = export_to_dir(&history, &filter, &dir, now).unwrap();
        assert_eq!(first, dir.join("telltale-alarms-20231114-221320.csv"));
        assert_eq!(second, dir.join("telltale-alarms-20231114-221320-2.csv"));
        let text = std::fs::read_to_string(&second).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.lines().nth(1).unwrap().contains("Disk full"), "{text}");

        let missing = dir.join("no-such-dir");
        let error = export_to_dir(&history, &filter, &missing, now).unwrap_err();
        assert!(error.contains("cannot create"), "{error}");
        drop(history);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unavailable_history_says_why_and_records_nothing() {
        let reason = "h.sqlite3: the file is not a Telltale history database: move it aside";
        let unavailable = AppHistory(Err(reason.into()));
        let error = unavailable.get().unwrap_err();
        assert_eq!(error, format!("the alarm history is unavailable: {reason}"));
        unavailable.flush(); // no panic, nothing to write
    }
}
