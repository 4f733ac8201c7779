//! What a query returns: stored transitions and how many matched.

use std::collections::BTreeMap;

use rusqlite::types::Type;
use serde::{Deserialize, Serialize};
use telltale_protocol::{AlarmState, Severity};

use crate::transition::{parse_severity, parse_state};

/// One stored alarm transition. Every field is sent, `null` when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    /// When this app received it, unix ms.
    pub received_at: i64,
    /// The server's id in the app's settings.
    pub server_id: String,
    /// The server's name when it was received.
    pub server_name: String,
    /// The alarm's id, `<source>/<rule>`.
    pub alarm_id: String,
    /// The source that raised it.
    pub source: String,
    /// How bad it is.
    pub severity: Severity,
    /// The state it entered.
    pub state: AlarmState,
    /// Short title.
    pub title: String,
    /// Longer description.
    pub message: String,
    /// The value that crossed the threshold.
    pub value: Option<f64>,
    /// Free-form labels.
    pub labels: BTreeMap<String, String>,
    /// Who acknowledged it.
    pub by: Option<String>,
    /// What the acknowledger wrote.
    pub comment: Option<String>,
    /// Silenced until, unix ms.
    pub silenced_until: Option<i64>,
    /// Time of the transition (the hub's), unix ms.
    pub ts: i64,
}

/// A page of a query: the newest rows first, and how many matched in all
/// ("showing 1000 of 5321").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The matching rows, newest first, at most the filter's limit.
    pub rows: Vec<HistoryRow>,
    /// How many rows matched, limit aside.
    pub total: u64,
}

/// The columns [`HistoryRow::from_sql`] reads, in order.
pub const COLUMNS: &str = "received_at, server_id, server_name, alarm_id, source, severity, \
    state, title, message, value, labels, acked_by, comment, silenced_until, ts";

impl HistoryRow {
    /// Reads a row selected with [`COLUMNS`].
    pub fn from_sql(row: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryRow> {
        let severity: String = row.get(5)?;
        let state: String = row.get(6)?;
        let labels: String = row.get(10)?;
        Ok(HistoryRow {
            received_at: row.get(0)?,
            server_id: row.get(1)?,
            server_name: row.get(2)?,
            alarm_id: row.get(3)?,
            source: row.get(4)?,
            severity: parse_severity(&severity).ok_or_else(|| bad(5, "severity", &severity))?,
            state: parse_state(&state).ok_or_else(|| bad(6, "state", &state))?,
            title: row.get(7)?,
            message: row.get(8)?,
            value: row.get(9)?,
            labels: serde_json::from_str(&labels)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(10, Type::Text, e.into()))?,
            by: row.get(11)?,
            comment: row.get(12)?,
            silenced_until: row.get(13)?,
            ts: row.get(14)?,
        })
    }
}

fn bad(column: usize, what: &str, value: &str) -> rusqlite::Error {
    let message = format!("unknown {what} {value:?}");
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, message.into())
}
