//! The background sweep: what clients made the hub hold is given back even
//! when nobody touches it again. Expired history is freed, channels idle for
//! the history meta TTL forget their stream, and sources with no
//! sample for `--catalog-forget-after` leave the catalog (a
//! [silent](crate::staleness) one has its alarm resolved).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::node::Node;

/// Sweeps `node` every `interval` until `shutdown`.
pub async fn run(node: Node, interval: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                let report = node.sweep();
                node.forget_idle_sources().await;
                if report.forgotten > 0 {
                    tracing::debug!(forgotten = report.forgotten, streams = report.streams, "swept idle channels");
                }
            }
        }
    }
}

/// How often to sweep: often enough that expired history does not linger
/// much past its TTL, rarely enough to cost nothing.
pub fn interval(history_ttl: Duration) -> Duration {
    (history_ttl / 4).clamp(Duration::from_secs(1), Duration::from_secs(30))
}
