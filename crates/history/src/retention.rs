//! How long transitions are kept, and the pruning of older ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

/// How often the writer thread prunes, besides once at open.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Now, unix ms.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The oldest transition time kept at `now_ms` with `retention`.
pub fn cutoff(now_ms: i64, retention: Duration) -> i64 {
    let retention = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(retention)
}

/// Deletes the transitions older (by their `ts`) than `cutoff`; returns how
/// many.
pub fn prune_before(conn: &Connection, cutoff: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM transitions WHERE ts < ?1", [cutoff])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_now_minus_the_retention_and_never_overflows() {
        assert_eq!(cutoff(10_000, Duration::from_secs(3)), 7_000);
        assert_eq!(cutoff(0, Duration::MAX), i64::MIN + 1);
    }
}
