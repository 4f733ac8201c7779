//! The host collector: this machine's CPU, memory, swap, network, disk and
//! load every interval on `metrics:<source>`, and threshold alarms on
//! `alarms`. It publishes through [`Node::publish`] like any producer.

use std::collections::BTreeMap;
use std::time::Duration;

use sysinfo::{Disks, Networks, System};
use telltale_protocol::payload::now_ms;
use telltale_protocol::{
    Alarm, AlarmState, MetricSample, Severity, ALARMS_CHANNEL, METRICS_PREFIX,
};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::node::{Node, PublishOptions};

/// A threshold rule: `metric` above `threshold` for at least `hold`.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Rule name; the alarm id is `<source>/<name>`.
    pub name: &'static str,
    /// Metric watched.
    pub metric: &'static str,
    /// Fires above this value.
    pub threshold: f64,
    /// How long the value must stay above before firing.
    pub hold: Duration,
    /// Severity of the alarm.
    pub severity: Severity,
    /// Alarm title.
    pub title: &'static str,
}

/// The default rules: CPU > 90% for 10 s, memory > 90%, disk > 90%.
pub const DEFAULT_RULES: [Rule; 3] = [
    Rule {
        name: "cpu.high",
        metric: "cpu.total",
        threshold: 90.0,
        hold: Duration::from_secs(10),
        severity: Severity::Warning,
        title: "CPU above 90%",
    },
    Rule {
        name: "memory.high",
        metric: "mem.used_percent",
        threshold: 90.0,
        hold: Duration::ZERO,
        severity: Severity::Warning,
        title: "Memory above 90%",
    },
    Rule {
        name: "disk.high",
        metric: "disk.used_percent",
        threshold: 90.0,
        hold: Duration::ZERO,
        severity: Severity::Critical,
        title: "Disk above 90%",
    },
];

/// Resolve only once the value is this far below the threshold, so a value
/// hovering at the threshold does not flap.
const HYSTERESIS: f64 = 5.0;

/// Where one rule stands.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleState {
    above_since: Option<Instant>,
    firing: bool,
}

impl RuleState {
    /// Feeds one value; returns the transition to publish, if any.
    pub fn observe(&mut self, rule: &Rule, value: f64, now: Instant) -> Option<AlarmState> {
        if value > rule.threshold {
            let since = *self.above_since.get_or_insert(now);
            if !self.firing && now.duration_since(since) >= rule.hold {
                self.firing = true;
                return Some(AlarmState::Firing);
            }
        } else {
            self.above_since = None;
            if self.firing && value < rule.threshold - HYSTERESIS {
                self.firing = false;
                return Some(AlarmState::Resolved);
            }
        }
        None
    }
}

/// Samples this machine every `interval` until `shutdown`.
pub async fn run(node: Node, source: String, interval: Duration, shutdown: CancellationToken) {
    let mut probe = Probe::new();
    let mut states = [RuleState::default(); DEFAULT_RULES.len()];
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
        for (rule, state) in DEFAULT_RULES.iter().zip(states.iter_mut()) {
            let Some(&value) = sample.values.get(rule.metric) else {
                continue;
            };
            if let Some(transition) = state.observe(rule, value, Instant::now()) {
                publish(
                    &node,
                    ALARMS_CHANNEL,
                    &alarm(&source, rule, transition, value),
                )
                .await;
            }
        }
    }
}

async fn publish(node: &Node, channel: &str, value: &impl serde::Serialize) {
    let data = serde_json::value::to_raw_value(value).expect("samples serialize");
    if let Err(e) = node.publish(channel, data, PublishOptions::default()).await {
        tracing::warn!(channel, error = %e, "collector could not publish");
    }
}

fn alarm(source: &str, rule: &Rule, state: AlarmState, value: f64) -> Alarm {
    let message = match state {
        AlarmState::Resolved => format!("{} is back to {value:.1}", rule.metric),
        _ => format!(
            "{} is {value:.1} (threshold {})",
            rule.metric, rule.threshold
        ),
    };
    Alarm {
        id: format!("{source}/{}", rule.name),
        source: source.to_owned(),
        severity: rule.severity,
        state,
        title: rule.title.to_owned(),
        message,
        ts: now_ms(),
        value: Some((value * 10.0).round() / 10.0),
        labels: BTreeMap::from([("metric".to_owned(), rule.metric.to_owned())]),
        by: None,
        silenced_until: None,
    }
}

/// Reads the machine's figures with sysinfo.
struct Probe {
    system: System,
    networks: Networks,
    disks: Disks,
    last_net: Instant,
}

impl Probe {
    fn new() -> Self {
        let mut system = System::new();
        system.refresh_cpu_usage();
        Self {
            system,
            networks: Networks::new_with_refreshed_list(),
            disks: Disks::new_with_refreshed_list(),
            last_net: Instant::now(),
        }
    }

    fn sample(&mut self) -> BTreeMap<String, f64> {
        let mut values = BTreeMap::new();
        self.cpu(&mut values);
        self.memory(&mut values);
        self.network(&mut values);
        self.disk(&mut values);
        let load = System::load_average();
        values.insert("load.1".into(), load.one);
        values.insert("load.5".into(), load.five);
        values.insert("load.15".into(), load.fifteen);
        values
    }

    fn cpu(&mut self, values: &mut BTreeMap<String, f64>) {
        self.system.refresh_cpu_usage();
        values.insert(
            "cpu.total".into(),
            round(self.system.global_cpu_usage() as f64),
        );
        for (n, cpu) in self.system.cpus().iter().enumerate() {
            values.insert(format!("cpu.core.{n}"), round(cpu.cpu_usage() as f64));
        }
    }

    fn memory(&mut self, values: &mut BTreeMap<String, f64>) {
        self.system.refresh_memory();
        let (used, total) = (
            self.system.used_memory() as f64,
            self.system.total_memory() as f64,
        );
        values.insert("mem.used_bytes".into(), used);
        values.insert("mem.total_bytes".into(), total);
        values.insert("mem.used_percent".into(), percent(used, total));
        let (used, total) = (
            self.system.used_swap() as f64,
            self.system.total_swap() as f64,
        );
        values.insert("swap.used_bytes".into(), used);
        values.insert("swap.used_percent".into(), percent(used, total));
    }

    fn network(&mut self, values: &mut BTreeMap<String, f64>) {
        self.networks.refresh(true);
        let elapsed = self.last_net.elapsed().as_secs_f64().max(0.001);
        self.last_net = Instant::now();
        let real = || {
            self.networks
                .iter()
                .filter(|(name, _)| name.as_str() != "lo")
        };
        let rx: u64 = real().map(|(_, data)| data.received()).sum();
        let tx: u64 = real().map(|(_, data)| data.transmitted()).sum();
        values.insert("net.rx_bytes_per_s".into(), round(rx as f64 / elapsed));
        values.insert("net.tx_bytes_per_s".into(), round(tx as f64 / elapsed));
    }

    fn disk(&mut self, values: &mut BTreeMap<String, f64>) {
        self.disks.refresh(true);
        let disks = self.disks.list();
        let root = disks
            .iter()
            .find(|d| d.mount_point() == std::path::Path::new("/"));
        let Some(disk) = root.or_else(|| disks.first()) else {
            return;
        };
        let total = disk.total_space() as f64;
        let used = total - disk.available_space() as f64;
        values.insert("disk.used_bytes".into(), used);
        values.insert("disk.total_bytes".into(), total);
        values.insert("disk.used_percent".into(), percent(used, total));
    }
}

fn percent(used: f64, total: f64) -> f64 {
    if total <= 0.0 {
        0.0
    } else {
        round(used / total * 100.0)
    }
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_rule_fires_after_hold_and_resolves_with_hysteresis() {
        let rule = DEFAULT_RULES[0];
        let mut state = RuleState::default();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        assert_eq!(state.observe(&rule, 95.0, at(0)), None);
        assert_eq!(state.observe(&rule, 95.0, at(9)), None);
        assert_eq!(state.observe(&rule, 95.0, at(10)), Some(AlarmState::Firing));
        assert_eq!(state.observe(&rule, 95.0, at(11)), None, "fires once");
        assert_eq!(
            state.observe(&rule, 88.0, at(12)),
            None,
            "within hysteresis"
        );
        assert_eq!(
            state.observe(&rule, 80.0, at(13)),
            Some(AlarmState::Resolved)
        );
    }

    #[test]
    fn dip_below_threshold_restarts_the_hold() {
        let rule = DEFAULT_RULES[0];
        let mut state = RuleState::default();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        state.observe(&rule, 95.0, at(0));
        state.observe(&rule, 50.0, at(5));
        assert_eq!(state.observe(&rule, 95.0, at(10)), None);
        assert_eq!(state.observe(&rule, 95.0, at(20)), Some(AlarmState::Firing));
    }

    #[test]
    fn probe_reports_the_documented_metrics() {
        let mut probe = Probe::new();
        let values = probe.sample();
        for name in [
            "cpu.total",
            "cpu.core.0",
            "mem.used_percent",
            "net.rx_bytes_per_s",
            "load.1",
        ] {
            assert!(values.contains_key(name), "missing {name}: {values:?}");
        }
        let mem = values["mem.used_percent"];
        assert!((0.0..=100.0).contains(&mem), "{mem}");
    }
}
