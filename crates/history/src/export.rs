//! The CSV export: every matching transition, oldest first, times both as
//! ISO-8601 UTC (for people and spreadsheets) and unix ms (for scripts).

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::{params_from_iter, Connection};

use crate::error::HistoryError;
use crate::filter::HistoryFilter;
use crate::row::{HistoryRow, COLUMNS};
use crate::transition::{severity_name, state_name};

/// The header line.
pub const HEADER: [&str; 17] = [
    "time",
    "ts_ms",
    "received",
    "received_ms",
    "server_id",
    "server_name",
    "alarm_id",
    "source",
    "severity",
    "state",
    "title",
    "message",
    "value",
    "labels",
    "by",
    "comment",
    "silenced_until_ms",
];

/// Writes the transitions `filter` selects (its limit aside) as CSV to `out`;
/// returns how many rows were written.
pub fn export(
    conn: &Connection,
    filter: &HistoryFilter,
    out: impl Write,
) -> Result<usize, HistoryError> {
    let (clause, params) = filter.to_sql();
    let sql = format!("SELECT {COLUMNS} FROM transitions {clause} ORDER BY ts, seq");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(params_from_iter(params), HistoryRow::from_sql)?;
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(HEADER)?;
    let mut written = 0;
    for row in rows {
        csv.write_record(record(&row?))?;
        written += 1;
    }
    csv.flush().map_err(csv::Error::from)?;
    Ok(written)
}

fn record(row: &HistoryRow) -> [String; 17] {
    let labels = if row.labels.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&row.labels).unwrap_or_default()
    };
    [
        iso_utc(row.ts),
        row.ts.to_string(),
        iso_utc(row.received_at),
        row.received_at.to_string(),
        row.server_id.clone(),
        row.server_name.clone(),
        row.alarm_id.clone(),
        row.source.clone(),
        severity_name(row.severity).into(),
        state_name(row.state).into(),
        row.title.clone(),
        row.message.clone(),
        row.value.map(|v| v.to_string()).unwrap_or_default(),
        labels,
        row.by.clone().unwrap_or_default(),
        row.comment.clone().unwrap_or_default(),
        row.silenced_until
            .map(|t| t.to_string())
            .unwrap_or_default(),
    ]
}

/// `2026-11-30T23:00:31.123Z`; empty before 1970 (a bogus time).
pub fn iso_utc(ms: i64) -> String {
    u64::try_from(ms).map_or_else(
        |_| String::new(),
        |ms| humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_utc_with_milliseconds() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(iso_utc(-1), "");
    }
}
