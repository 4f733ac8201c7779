//! The host collector: this machine's CPU, memory, swap, network, disk and
//! load every interval on `metrics:<source>`, read by the same
//! [`Probe`] as `telltale-agent` uses, so the names and units are the same. It publishes through
//! [`Node::publish`] like any producer, so the alarm rules
//! ([`crate::rules`]) see its samples as they see everyone's.

use std::time::Duration;

use telltale_agent::host::Probe;
use telltale_protocol::payload::now_ms;
use telltale_protocol::{MetricSample, METRICS_PREFIX};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::node::{Node, PublishOptions};

/// Samples this machine every `interval` until `shutdown`.
pub async fn run(node: Node, source: String, interval: Duration, shutdown: CancellationToken) {
    let mut probe = Probe::new();
    let channel = format!("{METRICS_PREFIX}{source}");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // CPU usage is a difference between two readings: skip the immediate
    // first tick so the first sample covers a whole interval.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let values = probe.sample();
        let sample = MetricSample {
            ts: now_ms(),
            values,
        };
        publish(&node, &channel, &sample).await;
    }
}

async fn publish(node: &Node, channel: &str, value: &impl serde::Serialize) {
    let data = serde_json::value::to_raw_value(value).expect("samples serialize");
    if let Err(e) = node.publish(channel, data, PublishOptions::default()).await {
        tracing::warn!(channel, error = %e, "collector could not publish");
    }
}
