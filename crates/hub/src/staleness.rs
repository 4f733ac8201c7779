//! Silent sources: a source that has published and then stops raises
//! `<source>/silent` on `alarms`, so a dead host is never shown as healthy.
//!
//! A source is silent once nothing arrived from it for `stale_after`:
//! three times its observed interval (the median of its last gaps between
//! samples, see [`crate::catalog`]), and never less than
//! `--min-stale-after`, so a fast source is not declared dead for one
//! hiccup. A source seen only once has no interval yet and gets
//! `--min-stale-after`.
//!
//! The alarm resolves (same id) as soon as a sample from the source
//! arrives again. It also resolves, with the message `forgotten after
//! <--catalog-forget-after>`, when the catalog forgets the source: left
//! firing, it would be an alarm for a host nobody can ever bring back
//! (retired on purpose, renamed), that no sample will ever resolve.
//!
//! This watch is the only one to publish these transitions, one per change,
//! through [`Node::publish`] like any producer. It runs on tokio's clock,
//! woken at the next deadline (at least every [`MAX_CHECK_EVERY`]) and at
//! once when a silent source publishes again.

use std::collections::BTreeMap;
use std::time::Duration;

use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, AlarmState, Severity, ALARMS_CHANNEL};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::broker::SharedSource;
use crate::catalog::SourceCatalog;
use crate::node::{Node, PublishOptions};
use crate::Config;

/// The rule name: alarm ids are `<source>/silent`, labels `{"rule": "silent"}`.
pub const RULE: &str = "silent";

/// A source is silent after this many of its intervals without a sample.
pub const STALE_INTERVALS: u32 = 3;

/// Longest time between two checks, so new sources and sources forgotten
/// by the catalog are noticed even with no deadline near.
pub const MAX_CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long `source` may stay quiet before it is silent.
pub fn stale_after(interval: Option<Duration>, min_stale_after: Duration) -> Duration {
    interval.map_or(min_stale_after, |interval| {
        interval
            .saturating_mul(STALE_INTERVALS)
            .max(min_stale_after)
    })
}

/// A source's last sample, as a silent source remembers it.
#[derive(Debug, Clone, Copy)]
struct Heard {
    /// Which sample: its `last_seen`. A later sample changes it; the
    /// `received` instant does not say so reliably with Redis, where it is
    /// derived anew from Redis's clock at every read and moves by a
    /// millisecond or so between two reads of the same sample.
    last_seen: i64,
    /// When, for the message of the resolution.
    received: Instant,
}

/// Which sources are silent, between checks.
pub struct Watch {
    min_stale_after: Duration,
    forget_after: Duration,
    severity: Severity,
    /// Silent source → its last sample as it went silent.
    silent: BTreeMap<String, Heard>,
    /// When the next source would go silent, if none publishes.
    next_deadline: Option<Instant>,
}

impl Watch {
    /// A watch with `config`'s `min_stale_after`, `silent_severity` and
    /// `catalog_forget_after`.
    pub fn new(config: &Config) -> Self {
        Self {
            min_stale_after: config.min_stale_after,
            forget_after: config.catalog_forget_after,
            severity: config.silent_severity,
            silent: BTreeMap::new(),
            next_deadline: None,
        }
    }

    /// Number of silent sources.
    pub fn silent(&self) -> usize {
        self.silent.len()
    }

    /// Takes over from the node that ran this watch before (see
    /// [`crate::lease`]): the `<source>/silent` alarms it raised that are
    /// still active count as silent here, so they fire once, not again.
    pub fn adopt(&mut self, active: &[Alarm], sources: &[SharedSource], now: Instant) {
        let heard: BTreeMap<&str, Heard> = (sources.iter())
            .map(|s| (s.name.as_str(), heard(s)))
            .collect();
        for alarm in active {
            let silent = alarm.labels.get("rule").map(String::as_str) == Some(RULE)
                && alarm.id == format!("{}/{RULE}", alarm.source);
            if silent && alarm.state != AlarmState::Resolved {
                // A source gone from the catalog: heard of about when its
                // alarm fired, so it is forgotten about when it is due.
                let fired_ago =
                    Duration::from_millis(now_ms().saturating_sub(alarm.ts).max(0) as u64);
                let heard = heard.get(alarm.source.as_str()).copied();
                let heard = heard.unwrap_or(Heard {
                    last_seen: 0,
                    received: now.checked_sub(fired_ago).unwrap_or(now),
                });
                self.silent.insert(alarm.source.clone(), heard);
            }
        }
    }

    /// Compares `sources` with what is silent as of `now` and returns the
    /// transitions to publish: resolutions first, then new firings. A
    /// source that goes silent is watched in `catalog`, so that its next
    /// sample through this node wakes the watch at once.
    pub fn check(
        &mut self,
        sources: &[SharedSource],
        catalog: &SourceCatalog,
        now: Instant,
    ) -> Vec<Alarm> {
        let activity: BTreeMap<&str, &SharedSource> =
            (sources.iter()).map(|s| (s.name.as_str(), s)).collect();
        let mut alarms = Vec::new();
        let severity = self.severity;
        let forget_after = self.forget_after;
        self.silent.retain(|source, heard| {
            let message = match activity.get(source.as_str()) {
                // Not in the catalog, yet not due to be forgotten: the
                // shared state was lost (Redis restarted empty). Still silent.
                None if now.saturating_duration_since(heard.received) < forget_after => {
                    return true
                }
                None => format!("forgotten after {}", human(forget_after)),
                Some(s) if s.last_seen != heard.last_seen => format!(
                    "sample received again after {}",
                    human(
                        s.activity
                            .received
                            .saturating_duration_since(heard.received)
                    )
                ),
                Some(_) => return true,
            };
            alarms.push(alarm(source, severity, AlarmState::Resolved, message));
            false
        });
        self.next_deadline = None;
        for (&source, s) in &activity {
            let a = s.activity;
            if self.silent.contains_key(source) {
                continue;
            }
            let stale_after = stale_after(a.interval, self.min_stale_after);
            let deadline = a.received + stale_after;
            if now < deadline {
                self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
                continue;
            }
            let expected = match a.interval {
                Some(interval) => format!("expected about every {}", human(interval)),
                None => "only one sample so far".to_owned(),
            };
            let message = format!(
                "no sample for {} ({expected})",
                human(now.duration_since(a.received))
            );
            alarms.push(alarm(source, severity, AlarmState::Firing, message));
            self.silent.insert(source.to_owned(), heard(s));
            // Woken by its next sample rather than at the next check.
            catalog.watch(source);
        }
        alarms
    }

    /// The firing alarm of every silent source again, for when the shared
    /// state lost them (Redis restarted empty): they are still true.
    pub fn raise_again(&self) -> Vec<Alarm> {
        (self.silent.keys())
            .map(|source| {
                let message = "still silent (raised again: the hub's shared state was lost)";
                alarm(
                    source,
                    self.severity,
                    AlarmState::Firing,
                    message.to_owned(),
                )
            })
            .collect()
    }

    /// When to check next after a check at `now`.
    pub fn next_check(&self, now: Instant) -> Instant {
        let latest = now + MAX_CHECK_EVERY.min(self.min_stale_after);
        self.next_deadline.map_or(latest, |d| d.min(latest))
    }
}

/// Watches the sources and publishes their silent alarms, while this node
/// holds the cluster's duties, until `shutdown`.
pub async fn run(node: Node, shutdown: CancellationToken) {
    let mut duties = node.duties();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            held = duties.wait_for(|held| *held) => if held.is_err() { return },
        }
        watch_while_held(&node, &shutdown).await;
        node.local().metrics.silent_sources.set(0);
    }
}

/// One term of holding the duties: takes over the silent alarms already
/// raised, then checks until the duties are lost or `shutdown`.
async fn watch_while_held(node: &Node, shutdown: &CancellationToken) {
    let mut watch = Watch::new(node.config());
    let local = node.local();
    let mut duties = node.duties();
    let mut losses = node.state_losses();
    if node.is_clustered() {
        let (active, sources) = match (node.active_alarms().await, node.sources().await) {
            (Ok(active), Ok(sources)) => (active, sources),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e.message, "cannot take over the silent sources; retrying");
                tokio::time::sleep(MAX_CHECK_EVERY).await;
                return;
            }
        };
        watch.adopt(&active, &sources, Instant::now());
    }
    while node.holds_duties() {
        let now = Instant::now();
        let sources = match node.sources().await {
            Ok(sources) => sources,
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot read the sources; silent check skipped");
                tokio::time::sleep(MAX_CHECK_EVERY).await;
                continue;
            }
        };
        let alarms = watch.check(&sources, &local.catalog, now);
        // Before publishing, so whoever sees the alarm sees the count too.
        local.metrics.silent_sources.set(watch.silent() as i64);
        publish(node, alarms).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep_until(watch.next_check(now)) => {}
            _ = local.catalog.heard() => {}
            _ = duties.changed() => {}
            _ = losses.changed() => publish(node, watch.raise_again()).await,
        }
    }
}

async fn publish(node: &Node, alarms: Vec<Alarm>) {
    for alarm in alarms {
        let data = serde_json::value::to_raw_value(&alarm).expect("alarms serialize");
        if let Err(e) = node
            .publish(ALARMS_CHANNEL, data, PublishOptions::default())
            .await
        {
            tracing::warn!(id = alarm.id, error = %e, "could not publish a silent-source alarm");
        }
    }
}

fn heard(source: &SharedSource) -> Heard {
    Heard {
        last_seen: source.last_seen,
        received: source.activity.received,
    }
}

fn alarm(source: &str, severity: Severity, state: AlarmState, message: String) -> Alarm {
    Alarm {
        id: format!("{source}/{RULE}"),
        source: source.to_owned(),
        severity,
        state,
        title: format!("{source} is silent"),
        message,
        ts: now_ms(),
        value: None,
        labels: BTreeMap::from([("rule".to_owned(), RULE.to_owned())]),
        by: None,
        silenced_until: None,
        comment: None,
        links: Default::default(),
    }
}

/// `15s`, `2m 30s`; milliseconds only below a second.
fn human(duration: Duration) -> String {
    let rounded = if duration < Duration::from_secs(1) {
        Duration::from_millis(duration.as_millis() as u64)
    } else {
        Duration::from_secs(duration.as_secs_f64().round() as u64)
    };
    humantime::format_duration(rounded).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const SAMPLE: &str = r#"{"ts":1,"values":{"x":1}}"#;

    fn config(min_stale_after: Duration) -> Config {
        Config {
            min_stale_after,
            catalog_forget_after: Duration::from_secs(60),
            ..Config::default()
        }
    }

    fn sample(catalog: &SourceCatalog, source: &str) {
        catalog
            .record(&format!("metrics:{source}"), SAMPLE, 10)
            .unwrap();
    }

    /// `web-1` publishes every second `n` times, then stops.
    async fn every_second(catalog: &SourceCatalog, n: usize) {
        for i in 0..n {
            if i > 0 {
                advance(Duration::from_secs(1)).await;
            }
            sample(catalog, "web-1");
        }
    }

    fn states(alarms: &[Alarm]) -> Vec<(&str, AlarmState)> {
        alarms.iter().map(|a| (a.id.as_str(), a.state)).collect()
    }

    #[test]
    fn stale_after_is_three_intervals_but_at_least_the_minimum() {
        let s = Duration::from_secs;
        assert_eq!(stale_after(Some(s(10)), s(15)), s(30));
        assert_eq!(stale_after(Some(s(1)), s(15)), s(15));
        assert_eq!(stale_after(None, s(15)), s(15));
    }

    #[tokio::test(start_paused = true)]
    async fn silent_after_three_intervals_not_before_and_back_on_the_next_sample() {
        let catalog = SourceCatalog::default();
        let mut watch = Watch::new(&config(Duration::from_secs(2)));
        every_second(&catalog, 5).await;
        let last = Instant::now();
        assert!(watch
            .check(&catalog.shared(), &catalog, Instant::now())
            .is_empty());
        assert_eq!(watch.next_check(last), last + Duration::from_secs(1));
        advance(Duration::from_millis(2999)).await;
        assert!(
            watch
                .check(&catalog.shared(), &catalog, Instant::now())
                .is_empty(),
            "not before 3s"
        );
        assert_eq!(
            watch.next_check(Instant::now()),
            last + Duration::from_secs(3)
        );
        advance(Duration::from_millis(1)).await;
        let fired = watch.check(&catalog.shared(), &catalog, Instant::now());
        assert_eq!(states(&fired), [("web-1/silent", AlarmState::Firing)]);
        let alarm = &fired[0];
        assert_eq!(alarm.title, "web-1 is silent");
        assert_eq!(alarm.message, "no sample for 3s (expected about every 1s)");
        assert_eq!(alarm.severity, Severity::Critical);
        assert_eq!(alarm.labels["rule"], "silent");
        assert_eq!(watch.silent(), 1);
        advance(Duration::from_secs(10)).await;
        assert!(
            watch
                .check(&catalog.shared(), &catalog, Instant::now())
                .is_empty(),
            "fires once"
        );
        sample(&catalog, "web-1");
        let resolved = watch.check(&catalog.shared(), &catalog, Instant::now());
        assert_eq!(states(&resolved), [("web-1/silent", AlarmState::Resolved)]);
        assert_eq!(resolved[0].message, "sample received again after 13s");
        assert!(
            watch
                .check(&catalog.shared(), &catalog, Instant::now())
                .is_empty(),
            "resolves once"
        );
        assert_eq!(watch.silent(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_minimum_wins_over_a_fast_source() {
        let catalog = SourceCatalog::default();
        let mut watch = Watch::new(&config(Duration::from_secs(15)));
        every_second(&catalog, 5).await;
        advance(Duration::from_millis(14_999)).await;
        assert!(watch
            .check(&catalog.shared(), &catalog, Instant::now())
            .is_empty());
        advance(Duration::from_millis(1)).await;
        assert_eq!(
            watch
                .check(&catalog.shared(), &catalog, Instant::now())
                .len(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_seen_once_gets_the_minimum() {
        let catalog = SourceCatalog::default();
        let mut watch = Watch::new(&config(Duration::from_secs(15)));
        sample(&catalog, "once");
        advance(Duration::from_secs(15)).await;
        let fired = watch.check(&catalog.shared(), &catalog, Instant::now());
        assert_eq!(
            fired[0].message,
            "no sample for 15s (only one sample so far)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_forgotten_silent_source_is_resolved() {
        let catalog = SourceCatalog::default();
        let mut watch = Watch::new(&config(Duration::from_secs(2)));
        every_second(&catalog, 3).await;
        advance(Duration::from_secs(3)).await;
        assert_eq!(
            watch
                .check(&catalog.shared(), &catalog, Instant::now())
                .len(),
            1
        );
        advance(Duration::from_secs(60)).await;
        catalog.forget_idle(Duration::from_secs(60));
        let resolved = watch.check(&catalog.shared(), &catalog, Instant::now());
        assert_eq!(states(&resolved), [("web-1/silent", AlarmState::Resolved)]);
        assert_eq!(resolved[0].message, "forgotten after 1m");
        assert!(watch
            .check(&catalog.shared(), &catalog, Instant::now())
            .is_empty());
    }

    /// With Redis, `received` is derived from Redis's clock at each read and
    /// moves a little between two reads of the same sample: only another
    /// sample (another `last_seen`) resolves a silent source.
    #[tokio::test(start_paused = true)]
    async fn only_a_new_sample_resolves_not_a_moving_received_instant() {
        let catalog = SourceCatalog::default();
        let mut watch = Watch::new(&config(Duration::from_secs(2)));
        every_second(&catalog, 3).await;
        advance(Duration::from_secs(3)).await;
        let mut sources = catalog.shared();
        let fired = watch.check(&sources, &catalog, Instant::now());
        assert_eq!(states(&fired), [("web-1/silent", AlarmState::Firing)]);
        sources[0].activity.received += Duration::from_millis(1);
        assert!(
            watch.check(&sources, &catalog, Instant::now()).is_empty(),
            "the same sample, read again"
        );
        sources[0].last_seen += 1;
        let resolved = watch.check(&sources, &catalog, Instant::now());
        assert_eq!(states(&resolved), [("web-1/silent", AlarmState::Resolved)]);
    }

    /// The task: publishes through the node, once per transition, and the
    /// next sample resolves at once (no wait for a tick).
    #[tokio::test(start_paused = true)]
    async fn the_watch_publishes_on_alarms_once_per_transition() {
        let node = Node::new(config(Duration::from_secs(2)));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(node.clone(), shutdown.clone()));
        let publish = |node: Node| async move {
            let data = serde_json::value::RawValue::from_string(SAMPLE.into()).unwrap();
            node.publish("metrics:web-1", data, PublishOptions::default())
                .await
                .unwrap();
        };
        for _ in 0..5 {
            publish(node.clone()).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let alarm = |id| {
            let node = node.clone();
            async move { node.alarm(id).await.unwrap() }
        };
        assert!(alarm("web-1/silent").await.is_none(), "1s after the last");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let firing = alarm("web-1/silent").await.expect("silent alarm firing");
        assert_eq!(firing.state, AlarmState::Firing);
        assert_eq!(node.local().metrics.silent_sources.get(), 1);
        publish(node.clone()).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(alarm("web-1/silent").await.is_none(), "resolved at once");
        let history = node.history(ALARMS_CHANNEL, -1, None, false).await.unwrap();
        let states: Vec<_> = history
            .publications
            .iter()
            .map(|p| serde_json::from_str::<Alarm>(p.data.get()).unwrap().state)
            .collect();
        assert_eq!(states, [AlarmState::Firing, AlarmState::Resolved]);
        assert_eq!(node.local().metrics.silent_sources.get(), 0);
        shutdown.cancel();
        task.await.unwrap();
    }
}
