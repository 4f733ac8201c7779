//! One alarm transition as received, and how it is stored.

use rusqlite::{params, Connection};
use telltale_protocol::{Alarm, AlarmState, Severity};

/// An alarm transition with where and when it was received.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When this app received it, unix ms.
    pub received_at: i64,
    /// The server's id in the app's settings.
    pub server_id: String,
    /// The server's name as the user sees it.
    pub server_name: String,
    /// The alarm after the transition.
    pub alarm: Alarm,
}

/// Stores `t` unless the same transition is already stored; returns whether
/// it was new.
pub fn insert(conn: &Connection, t: &Transition) -> rusqlite::Result<bool> {
    let mut statement = conn.prepare_cached(
        "INSERT OR IGNORE INTO transitions (received_at, server_id, server_name, alarm_id,
            source, severity, state, title, message, value, labels, acked_by, comment,
            silenced_until, ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let a = &t.alarm;
    let labels = serde_json::to_string(&a.labels).unwrap_or_else(|_| "{}".into());
    let inserted = statement.execute(params![
        t.received_at,
        t.server_id,
        t.server_name,
        a.id,
        a.source,
        severity_name(a.severity),
        state_name(a.state),
        a.title,
        a.message,
        a.value,
        labels,
        a.by,
        a.comment,
        a.silenced_until,
        a.ts,
    ])?;
    Ok(inserted == 1)
}

/// The stored (and wire) name of a severity.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

/// The stored (and wire) name of a state.
pub fn state_name(s: AlarmState) -> &'static str {
    match s {
        AlarmState::Firing => "firing",
        AlarmState::Acknowledged => "acknowledged",
        AlarmState::Resolved => "resolved",
    }
}

/// The severity stored as `name`.
pub fn parse_severity(name: &str) -> Option<Severity> {
    [Severity::Info, Severity::Warning, Severity::Critical]
        .into_iter()
        .find(|s| severity_name(*s) == name)
}

/// The state stored as `name`.
pub fn parse_state(name: &str) -> Option<AlarmState> {
    [
        AlarmState::Firing,
        AlarmState::Acknowledged,
        AlarmState::Resolved,
    ]
    .into_iter()
    .find(|s| state_name(*s) == name)
}
