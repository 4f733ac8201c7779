//! Which metric sources exist and what they measure, for the `catalog` RPC.
//!
//! Bounded three ways: a source may have at most `--max-metrics-per-source`
//! names (a sample adding more is refused at publish, not stored), a source
//! unseen for `--catalog-forget-after` is forgotten, and an answer holds at
//! most what fits the asking client's queue, with `truncated` and the next
//! offset when more remain.
//!
//! It also keeps what the staleness watch ([`crate::staleness`]) needs: when
//! each source was last heard from and how often it usually speaks.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use telltale_protocol::payload::{now_ms, Catalog, CatalogRequest, CatalogSource};
use telltale_protocol::{ErrorCode, ReplyError, METRICS_PREFIX};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::broker::SharedSource;

/// Gaps between samples kept per source to estimate its interval.
const GAPS_KEPT: usize = 5;

struct Seen {
    metrics: BTreeSet<String>,
    /// When the hub last received a sample, unix ms by the hub's clock: a
    /// source's own `ts` may be skewed, and one bogus future `ts` would
    /// otherwise pin it forever.
    last_seen: i64,
    /// When the hub last received a sample, by its own clock.
    received: Instant,
    /// The last few gaps between samples, oldest first.
    gaps: VecDeque<Duration>,
    /// The staleness watch wants to hear at once when a sample arrives.
    watched: bool,
}

impl Seen {
    /// The median of the last gaps: one late sample (or a burst) does not
    /// move it, a real change of pace does after a few samples.
    fn interval(&self) -> Option<Duration> {
        let mut gaps: Vec<Duration> = self.gaps.iter().copied().collect();
        gaps.sort_unstable();
        gaps.get(gaps.len().saturating_sub(1) / 2).copied()
    }
}

/// When a source was last heard from and how often it usually speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// When the hub last received a sample from it.
    pub received: Instant,
    /// Its observed interval between samples; `None` after one sample.
    pub interval: Option<Duration>,
}

/// Sources seen on `metrics:<source>` channels.
#[derive(Default)]
pub struct SourceCatalog {
    sources: Mutex<BTreeMap<String, Seen>>,
    /// Woken when a watched source publishes again.
    heard: Notify,
}

/// Only the keys are needed, so values are not decoded.
#[derive(Deserialize)]
struct SampleKeys {
    /// Required, so only samples are recorded; the hub keeps its own time.
    #[allow(dead_code)]
    ts: i64,
    values: BTreeMap<String, serde::de::IgnoredAny>,
}

/// Bytes a source takes in an answer besides its metric names.
const SOURCE_OVERHEAD: usize = 96;

impl SourceCatalog {
    /// Records a publication on a metrics channel; other channels and
    /// payloads that are not samples are let through unrecorded. A sample
    /// that would give its source more than `max_metrics` names is refused
    /// with 106 and nothing of it is kept.
    ///
    /// Returns what the shared catalog must learn: the source's metric
    /// names when this sample added some, else `Unchanged`.
    pub fn record(
        &self,
        channel: &str,
        data: &str,
        max_metrics: usize,
    ) -> Result<Recorded, ReplyError> {
        let Some(source) = channel.strip_prefix(METRICS_PREFIX) else {
            return Ok(Recorded::NotASample);
        };
        let Ok(sample) = serde_json::from_str::<SampleKeys>(data) else {
            return Ok(Recorded::NotASample);
        };
        let mut sources = self.sources.lock();
        let known = sources.get(source).map(|s| &s.metrics);
        let new = sample
            .values
            .keys()
            .filter(|name| known.is_none_or(|k| !k.contains(*name)))
            .count();
        let total = known.map_or(0, BTreeSet::len) + new;
        if total > max_metrics {
            let message = format!(
                "limit exceeded: source {source:?} would have {total} metric names, at most {max_metrics} are kept (--max-metrics-per-source)"
            );
            return Err(ReplyError::with_message(ErrorCode::LimitExceeded, message));
        }
        let now = Instant::now();
        let mut first = false;
        let seen = sources.entry(source.to_owned()).or_insert_with(|| {
            first = true;
            Seen {
                metrics: BTreeSet::new(),
                last_seen: 0,
                received: now,
                gaps: VecDeque::new(),
                watched: false,
            }
        });
        if !first {
            if seen.gaps.len() == GAPS_KEPT {
                seen.gaps.pop_front();
            }
            seen.gaps.push_back(now.duration_since(seen.received));
        }
        // Never the same twice: the staleness watch tells samples apart by
        // it (two samples within a millisecond, or a clock set back).
        seen.last_seen = now_ms().max(seen.last_seen + 1);
        seen.received = now;
        if std::mem::take(&mut seen.watched) {
            self.heard.notify_one();
        }
        if new == 0 {
            return Ok(Recorded::Unchanged);
        }
        seen.metrics.extend(sample.values.into_keys());
        Ok(Recorded::NewNames(seen.metrics.clone()))
    }

    /// Forgets sources that sent nothing for `age`; returns how many.
    pub fn forget_idle(&self, age: Duration) -> usize {
        let now = Instant::now();
        let mut sources = self.sources.lock();
        let before = sources.len();
        sources.retain(|_, seen| now.duration_since(seen.received) < age);
        before - sources.len()
    }

    /// Every source as the broker shares it, in name order.
    pub fn shared(&self) -> Vec<SharedSource> {
        (self.sources.lock().iter())
            .map(|(name, seen)| SharedSource {
                name: name.clone(),
                metrics: seen.metrics.iter().cloned().collect(),
                last_seen: seen.last_seen,
                activity: Activity {
                    received: seen.received,
                    interval: seen.interval(),
                },
            })
            .collect()
    }

    /// Asks to be woken ([`SourceCatalog::heard`]) by the next sample of
    /// `source`, so a silent source is declared back at once.
    pub fn watch(&self, source: &str) {
        if let Some(seen) = self.sources.lock().get_mut(source) {
            seen.watched = true;
        }
    }

    /// Resolves when a [watched](SourceCatalog::watch) source has published
    /// since the last call.
    pub async fn heard(&self) {
        self.heard.notified().await;
    }

    /// Number of known sources.
    pub fn len(&self) -> usize {
        self.sources.lock().len()
    }

    /// Whether no source is known.
    pub fn is_empty(&self) -> bool {
        self.sources.lock().is_empty()
    }
}

/// One page of the `sources` (in name order) that `visible` lets through,
/// at most `request.limit` of them and at most about `budget` bytes of JSON
/// (always at least one source). Offsets count visible sources only, so a
/// caller pages through what it may see without learning the rest.
pub fn page(
    sources: &[SharedSource],
    request: &CatalogRequest,
    budget: usize,
    visible: impl Fn(&str) -> bool,
) -> Catalog {
    let limit = request.limit.unwrap_or(usize::MAX);
    let mut page = Vec::new();
    let mut bytes = 0;
    let mut rest = sources
        .iter()
        .filter(|source| visible(&source.name))
        .skip(request.offset);
    for source in rest.by_ref() {
        let size = SOURCE_OVERHEAD
            + 2 * source.name.len()
            + source.metrics.iter().map(|m| m.len() + 3).sum::<usize>();
        if page.len() >= limit || (!page.is_empty() && bytes + size > budget) {
            let next = request.offset + page.len();
            return Catalog {
                sources: page,
                truncated: true,
                next_offset: Some(next),
            };
        }
        bytes += size;
        page.push(CatalogSource {
            source: source.name.clone(),
            channel: format!("{METRICS_PREFIX}{}", source.name),
            metrics: source.metrics.clone(),
            last_seen: source.last_seen,
        });
    }
    Catalog {
        sources: page,
        ..Catalog::default()
    }
}

/// What [`SourceCatalog::record`] learnt from a publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Not a sample on a metrics channel.
    NotASample,
    /// A sample with names already known.
    Unchanged,
    /// A sample that added names: all of the source's names now.
    NewNames(BTreeSet<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    impl SourceCatalog {
        fn catalog(
            &self,
            request: &CatalogRequest,
            budget: usize,
            visible: impl Fn(&str) -> bool,
        ) -> Catalog {
            page(&self.shared(), request, budget, visible)
        }
    }

    const ALL: CatalogRequest = CatalogRequest {
        offset: 0,
        limit: None,
    };

    fn all(_: &str) -> bool {
        true
    }

    #[test]
    fn hidden_sources_are_filtered_before_paging() {
        let catalog = SourceCatalog::default();
        for source in ["a1", "b1", "a2", "b2", "a3"] {
            let channel = format!("metrics:{source}");
            catalog
                .record(&channel, r#"{"ts":1,"values":{"x":1}}"#, 10)
                .unwrap();
        }
        let only_a = |source: &str| source.starts_with('a');
        let names = |c: Catalog| c.sources.into_iter().map(|s| s.source).collect::<Vec<_>>();
        let first = catalog.catalog(
            &CatalogRequest {
                offset: 0,
                limit: Some(2),
            },
            usize::MAX,
            only_a,
        );
        assert_eq!(first.next_offset, Some(2));
        assert_eq!(names(first), ["a1", "a2"]);
        let second = catalog.catalog(
            &CatalogRequest {
                offset: 2,
                limit: Some(2),
            },
            usize::MAX,
            only_a,
        );
        assert!(!second.truncated);
        assert_eq!(names(second), ["a3"]);
    }

    #[test]
    fn records_sources_and_metric_names() {
        let catalog = SourceCatalog::default();
        let record = |channel, data| catalog.record(channel, data, 100).unwrap();
        record(
            "metrics:web1",
            r#"{"ts":5,"values":{"cpu.total":1,"mem.used_bytes":2}}"#,
        );
        let before = now_ms();
        record("metrics:web1", r#"{"ts":6,"values":{"load.1":1}}"#);
        record("metrics:bad", r#"{"nope":1}"#);
        record("news", r#"{"ts":1,"values":{}}"#);
        let catalog = catalog.catalog(&ALL, usize::MAX, all);
        assert_eq!(catalog.sources.len(), 1);
        assert!(!catalog.truncated);
        let web1 = &catalog.sources[0];
        assert_eq!(web1.channel, "metrics:web1");
        assert_eq!(web1.metrics, ["cpu.total", "load.1", "mem.used_bytes"]);
        // The hub's clock, not the source's `ts`.
        assert!(web1.last_seen >= before, "{}", web1.last_seen);
    }

    #[test]
    fn metric_names_beyond_the_cap_are_refused_not_stored() {
        let catalog = SourceCatalog::default();
        catalog
            .record("metrics:a", r#"{"ts":1,"values":{"x":1,"y":2}}"#, 3)
            .unwrap();
        let err = catalog
            .record("metrics:a", r#"{"ts":2,"values":{"p":1,"q":2}}"#, 3)
            .unwrap_err();
        assert_eq!(err.code, 106, "{err:?}");
        catalog
            .record("metrics:a", r#"{"ts":3,"values":{"x":1,"z":2}}"#, 3)
            .unwrap();
        let names = &catalog.catalog(&ALL, usize::MAX, all).sources[0].metrics;
        assert_eq!(names, &["x", "y", "z"]);
    }

    #[test]
    fn answers_are_paged_by_size_and_limit() {
        let catalog = SourceCatalog::default();
        for n in 0..50 {
            let channel = format!("metrics:s{n:02}");
            catalog
                .record(&channel, r#"{"ts":1,"values":{"cpu.total":1}}"#, 10)
                .unwrap();
        }
        let first = catalog.catalog(&ALL, 1000, all);
        assert!(first.truncated);
        let next = first.next_offset.unwrap();
        assert_eq!(next, first.sources.len());
        assert!(next > 1 && next < 50, "{next}");
        let second = catalog.catalog(
            &CatalogRequest {
                offset: next,
                limit: Some(5),
            },
            usize::MAX,
            all,
        );
        assert_eq!(second.sources[0].source, format!("s{next:02}"));
        assert_eq!(
            (second.sources.len(), second.next_offset),
            (5, Some(next + 5))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn interval_is_the_median_of_recent_gaps() {
        let catalog = SourceCatalog::default();
        let sample = r#"{"ts":1,"values":{"x":1}}"#;
        let interval = || catalog.shared()[0].activity.interval;
        catalog.record("metrics:a", sample, 10).unwrap();
        assert_eq!(interval(), None, "one sample says nothing of a pace");
        for gap in [1, 1, 1, 9, 1, 1] {
            tokio::time::advance(Duration::from_secs(gap)).await;
            catalog.record("metrics:a", sample, 10).unwrap();
            assert_eq!(
                interval(),
                Some(Duration::from_secs(1)),
                "after a gap of {gap}s"
            );
        }
        for _ in 0..3 {
            tokio::time::advance(Duration::from_secs(5)).await;
            catalog.record("metrics:a", sample, 10).unwrap();
        }
        assert_eq!(
            interval(),
            Some(Duration::from_secs(5)),
            "a new pace is learned"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_watched_source_wakes_the_watch_once() {
        let catalog = SourceCatalog::default();
        let sample = r#"{"ts":1,"values":{"x":1}}"#;
        catalog.record("metrics:a", sample, 10).unwrap();
        catalog.watch("a");
        catalog.record("metrics:a", sample, 10).unwrap();
        tokio::time::timeout(Duration::from_secs(1), catalog.heard())
            .await
            .expect("woken by the watched source");
        catalog.record("metrics:a", sample, 10).unwrap();
        let again = tokio::time::timeout(Duration::from_secs(1), catalog.heard()).await;
        assert!(again.is_err(), "no longer watched");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_sources_are_forgotten() {
        let catalog = SourceCatalog::default();
        let sample = r#"{"ts":1,"values":{"x":1}}"#;
        catalog.record("metrics:old", sample, 10).unwrap();
        tokio::time::advance(Duration::from_secs(50)).await;
        catalog.record("metrics:new", sample, 10).unwrap();
        tokio::time::advance(Duration::from_secs(20)).await;
        catalog.forget_idle(Duration::from_secs(60));
        let names: Vec<_> = catalog
            .catalog(&ALL, usize::MAX, all)
            .sources
            .into_iter()
            .map(|s| s.source)
            .collect();
        assert_eq!(names, ["new"]);
    }
}
