//! Which metric sources exist and what they measure, for the `catalog` RPC.

use std::collections::{BTreeMap, BTreeSet};

use parking_lot::Mutex;
use serde::Deserialize;
use telltale_protocol::payload::{Catalog, CatalogSource};
use telltale_protocol::METRICS_PREFIX;

#[derive(Default)]
struct Seen {
    metrics: BTreeSet<String>,
    last_seen: i64,
}

/// Sources seen on `metrics:<source>` channels.
#[derive(Default)]
pub struct SourceCatalog {
    sources: Mutex<BTreeMap<String, Seen>>,
}

/// Only the keys are needed, so values are not decoded.
#[derive(Deserialize)]
struct SampleKeys {
    ts: i64,
    values: BTreeMap<String, serde::de::IgnoredAny>,
}

impl SourceCatalog {
    /// Records a publication on a metrics channel; other channels and
    /// payloads that are not samples are ignored.
    pub fn record(&self, channel: &str, data: &str) {
        let Some(source) = channel.strip_prefix(METRICS_PREFIX) else {
            return;
        };
        let Ok(sample) = serde_json::from_str::<SampleKeys>(data) else {
            return;
        };
        let mut sources = self.sources.lock();
        let seen = sources.entry(source.to_owned()).or_default();
        seen.last_seen = seen.last_seen.max(sample.ts);
        for name in sample.values.into_keys() {
            if !seen.metrics.contains(&name) {
                seen.metrics.insert(name);
            }
        }
    }

    /// Every known source, sorted by name.
    pub fn catalog(&self) -> Catalog {
        let sources = self.sources.lock();
        Catalog {
            sources: sources
                .iter()
                .map(|(source, seen)| CatalogSource {
                    source: source.clone(),
                    channel: format!("{METRICS_PREFIX}{source}"),
                    metrics: seen.metrics.iter().cloned().collect(),
                    last_seen: seen.last_seen,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_sources_and_metric_names() {
        let catalog = SourceCatalog::default();
        catalog.record(
            "metrics:web1",
            r#"{"ts":5,"values":{"cpu.total":1,"mem.used_bytes":2}}"#,
        );
        catalog.record("metrics:web1", r#"{"ts":6,"values":{"load.1":1}}"#);
        catalog.record("metrics:bad", r#"{"nope":1}"#);
        catalog.record("news", r#"{"ts":1,"values":{}}"#);
        let catalog = catalog.catalog();
        assert_eq!(catalog.sources.len(), 1);
        let web1 = &catalog.sources[0];
        assert_eq!(web1.channel, "metrics:web1");
        assert_eq!(web1.metrics, ["cpu.total", "load.1", "mem.used_bytes"]);
        assert_eq!(web1.last_seen, 6);
    }
}
