//! The host collector: this machine's CPU, memory, swap, network, disk and
//! load every interval on `metrics:<source>`, read by the same
//! [`Probe`] as `telltale-agent` uses, so the names and units are the same. It publishes through
//! [`Node::publish`] like any producer, so the alarm rules
//! ([`crate::rules`]) see its samples as they see everyone's.
//!
//! With `[[scrape]]` tables it also reads Prometheus exporters, as
//! `telltale-agent` does (docs/exporters.md).

use std::time::Duration;

use telltale_agent::host::Probe;
use telltale_agent::scrape::{ScrapeSpec, Scraper};
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

/// Reads the exporter of `spec` every interval until the hub stops,
/// publishing on `metrics:<source>` (default: the hub's node name).
pub async fn scrape(node: Node, spec: ScrapeSpec) {
    let source = spec
        .source
        .clone()
        .unwrap_or_else(|| node.config().node_name.clone());
    let channel = format!("{METRICS_PREFIX}{source}");
    let scraper = match Scraper::new(spec) {
        Ok(scraper) => scraper,
        // The configuration was validated: only a client that cannot be
        // built lands here.
        Err(e) => return tracing::error!("scrape not started: {e}"),
    };
    let shutdown = node.shutdown_token().clone();
    scraper
        .run(shutdown, |sample| {
            let (node, channel) = (node.clone(), channel.clone());
            async move { publish(&node, &channel, &sample).await }
        })
        .await;
}

async fn publish(node: &Node, channel: &str, value: &impl serde::Serialize) {
    let data = serde_json::value::to_raw_value(value).expect("samples serialize");
    if let Err(e) = node.publish(channel, data, PublishOptions::default()).await {
        tracing::warn!(channel, error = %e, "collector could not publish");
    }
}
