//! The agent's tasks: sample this host every interval, run each check on
//! its own interval, queue what they find, and send it to the hub.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use telltale_protocol::payload::now_ms;
use telltale_protocol::{
    Alarm, AlarmState, MetricSample, Severity, ALARMS_CHANNEL, METRICS_PREFIX,
};
use tokio::sync::Notify;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::check::{self, CheckSpec, Outcome, Status, Tracker};
use crate::config::AgentConfig;
use crate::host::Probe;
use crate::outbox::{Kind, Outbox};
use crate::scrape::Scraper;
use crate::sender::{self, Hub};

/// Most samples kept while the hub is away, whatever the interval: 10
/// minutes at 10 samples a second.
const MAX_BUFFERED_SAMPLES: usize = 6_000;

/// Where the producers queue their publications.
#[derive(Clone)]
struct Queue {
    outbox: Arc<Mutex<Outbox>>,
    wake: Arc<Notify>,
}

impl Queue {
    fn push(&self, channel: &str, data: &impl serde::Serialize, kind: Kind) {
        let json = serde_json::to_string(data).expect("payloads serialize");
        self.outbox.lock().push(channel, json, kind);
        self.wake.notify_one();
    }
}

/// Runs the agent until `shutdown`, then sends what is queued (bounded).
pub async fn run(config: AgentConfig, shutdown: CancellationToken) {
    let queue = Queue {
        outbox: Arc::new(Mutex::new(Outbox::new(config.buffer, MAX_BUFFERED_SAMPLES))),
        wake: Arc::new(Notify::new()),
    };
    let key = config.key.clone().unwrap_or_default();
    let tasks = TaskTracker::new();
    tasks.spawn(sample_host(config.clone(), queue.clone(), shutdown.clone()));
    for spec in config.checks.clone() {
        tasks.spawn(run_check(
            spec,
            config.source.clone(),
            queue.clone(),
            shutdown.clone(),
        ));
    }
    for spec in config.scrapes.clone() {
        let source = spec.source.clone().unwrap_or_else(|| config.source.clone());
        match Scraper::new(spec) {
            Ok(scraper) => {
                let channel = format!("{METRICS_PREFIX}{source}");
                let queue = queue.clone();
                tasks.spawn(scraper.run(shutdown.clone(), move |sample| {
                    queue.push(&channel, &sample, Kind::Sample);
                    std::future::ready(())
                }));
            }
            // The configuration was validated: only a client that cannot
            // be built lands here.
            Err(e) => tracing::error!("scrape not started: {e}"),
        }
    }
    tasks.close();
    tracing::info!(
        source = %config.source,
        hub = %config.hub,
        checks = config.checks.len(),
        scrapes = config.scrapes.len(),
        "publishing on {METRICS_PREFIX}{}",
        config.source
    );
    sender::run(
        Hub::new(&config.hub, &key),
        queue.outbox,
        queue.wake,
        shutdown,
    )
    .await;
    tasks.wait().await;
}

async fn sample_host(config: AgentConfig, queue: Queue, shutdown: CancellationToken) {
    let channel = format!("{METRICS_PREFIX}{}", config.source);
    let mut probe = Probe::new();
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // CPU usage is a difference of two readings: the first sample comes one
    // interval after the probe's first reading.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let sample = MetricSample {
            ts: now_ms(),
            values: probe.sample(),
        };
        queue.push(&channel, &sample, Kind::Sample);
    }
}

async fn run_check(spec: CheckSpec, source: String, queue: Queue, shutdown: CancellationToken) {
    let channel = format!("{METRICS_PREFIX}{source}");
    let mut tracker = Tracker::default();
    let mut ticker = tokio::time::interval(spec.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            outcome = check::run(&spec) => outcome,
        };
        let values: BTreeMap<String, f64> = outcome.metrics(&spec.name).into_iter().collect();
        if !values.is_empty() {
            let sample = MetricSample {
                ts: now_ms(),
                values,
            };
            queue.push(&channel, &sample, Kind::Sample);
        }
        if let Some(status) = tracker.observe(outcome.status) {
            queue.push(
                ALARMS_CHANNEL,
                &alarm(&source, &spec.name, status, &outcome),
                Kind::Transition,
            );
        }
    }
}

/// The alarm for a check's new state: id `<source>/<check>`; OK resolves
/// it, UNKNOWN fires as a warning labelled `status: unknown`.
fn alarm(source: &str, check: &str, status: Status, outcome: &Outcome) -> Alarm {
    let (state, severity, word) = match status {
        Status::Ok => (AlarmState::Resolved, Severity::Info, "OK"),
        Status::Warning => (AlarmState::Firing, Severity::Warning, "WARNING"),
        Status::Critical => (AlarmState::Firing, Severity::Critical, "CRITICAL"),
        Status::Unknown => (AlarmState::Firing, Severity::Warning, "UNKNOWN"),
    };
    Alarm {
        id: format!("{source}/{check}"),
        source: source.to_owned(),
        severity,
        state,
        title: format!("{check} {word} on {source}"),
        message: outcome.message.clone(),
        ts: now_ms(),
        value: None,
        labels: BTreeMap::from([
            ("check".to_owned(), check.to_owned()),
            ("status".to_owned(), word.to_lowercase()),
        ]),
        by: None,
        silenced_until: None,
        comment: None,
        links: Default::default(),
    }
}
