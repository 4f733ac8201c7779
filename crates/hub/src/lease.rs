//! The duties lease: which node of a cluster runs the duties that must run
//! once, not once per node (silent-source detection, Alertmanager silences,
//! forgetting idle sources).
//!
//! The lease is a Redis key holding the node's id, set only if absent and
//! expiring after `--duty-lease` (`SET NX PX`, see the Redis broker). The
//! holder renews it every third of that; when a renewal fails or comes
//! late it stops its duties at once, before the lease can expire and
//! another node take them, so two nodes never run them together. A node
//! that dies stops renewing, and another takes over within the lease time;
//! a node shutting down gives the lease up at once. With the memory broker
//! the only node always holds the duties.
//!
//! The same task notices when Redis lost its data (restarted without
//! persistence): the alarms are gone, so each node's rule states start over
//! and the duty holder raises its silent sources again: what is still true
//! is raised again.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::node::Node;

/// Longest wait to give the lease up on shutdown.
const RELEASE_WITHIN: Duration = Duration::from_secs(1);

/// Compares the shared state's generation with the one last seen: when it
/// changed, Redis lost its data, and what this node derived from it goes.
async fn notice_lost_state(node: &Node, seen: &mut Option<String>) {
    let Ok(now) = node.broker().generation().await else {
        return;
    };
    if seen.as_ref().is_some_and(|seen| *seen != now) {
        tracing::warn!(
            "redis lost its data: alarm rules start over, silent sources are raised again"
        );
        node.forget_derived_state();
    }
    *seen = Some(now);
}

/// Takes and renews the lease for `node` until `shutdown`.
pub async fn run(node: Node, shutdown: CancellationToken) {
    if !node.is_clustered() {
        return;
    }
    let ttl = node.config().duty_lease;
    let every = ttl / 3;
    let mut generation = None;
    loop {
        notice_lost_state(&node, &mut generation).await;
        let claim = node.broker().claim_duties(node.uid(), ttl);
        let held = match tokio::time::timeout(every, claim).await {
            Ok(Ok(held)) => held,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot renew the duties lease");
                false
            }
            Err(_) => {
                tracing::warn!("renewing the duties lease took longer than {every:?}");
                false
            }
        };
        if held != node.holds_duties() {
            let uid = node.uid();
            match held {
                true => tracing::info!(node = uid, "this node now runs the cluster's duties"),
                false => {
                    tracing::info!(node = uid, "this node no longer runs the cluster's duties")
                }
            }
        }
        node.set_duties(held);
        node.local().metrics.duties_held.set(held as i64);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
    if node.holds_duties() {
        node.set_duties(false);
        let release = node.broker().release_duties(node.uid());
        if let Ok(Err(e)) = tokio::time::timeout(RELEASE_WITHIN, release).await {
            tracing::warn!(error = %e, "could not give the duties lease up; it expires by itself");
        }
    }
}
