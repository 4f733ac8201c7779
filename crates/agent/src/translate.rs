//! Scraped series to Telltale metric values: counters become per-second
//! rates between two scrapes, gauges pass through, node_exporter's metrics
//! get the names the built-in collector uses ([`crate::host`]), and the
//! rest keeps a sanitised `prom.` name.
//!
//! | node_exporter | Telltale |
//! |---|---|
//! | `node_load1`, `node_load5`, `node_load15` | `load.1`, `load.5`, `load.15` |
//! | `node_cpu_seconds_total` (rate, per `cpu`, `mode`) | `cpu.total`, `cpu.core.<cpu>`: % busy, idle = `idle` + `iowait` |
//! | `node_memory_MemTotal_bytes`, `node_memory_MemAvailable_bytes` | `mem.total_bytes`, `mem.available_bytes`, `mem.used_bytes`, `mem.used_percent` |
//! | `node_memory_SwapTotal_bytes`, `node_memory_SwapFree_bytes` | `swap.used_bytes`, `swap.used_percent` |
//! | `node_network_receive_bytes_total`, `node_network_transmit_bytes_total` (rate, all devices but `lo`) | `net.rx_bytes_per_s`, `net.tx_bytes_per_s` |
//! | `node_filesystem_size_bytes`, `node_filesystem_avail_bytes` of `mountpoint="/"` | `disk.total_bytes`, `disk.used_bytes`, `disk.used_percent` |
//!
//! Any other selected series is `prom.<name>` followed by `.<label>=<value>`
//! for each label in name order, characters other than letters, digits,
//! `_`, `-`, `.`, `:`, `/` and `=` replaced by `_`.

use std::collections::{BTreeMap, HashMap};

use crate::exposition::{Kind, Series};
use crate::host::{percent, round};

/// Most `prom.*` values from one scrape: an exporter with thousands of
/// series selected by a broad glob must not flood the hub.
pub const MAX_OTHER: usize = 200;

/// The node_exporter metrics the table above turns into Telltale names;
/// they never also appear as `prom.*`.
const NODE_NAMES: [&str; 12] = [
    "node_load1",
    "node_load5",
    "node_load15",
    "node_cpu_seconds_total",
    "node_memory_MemTotal_bytes",
    "node_memory_MemAvailable_bytes",
    "node_memory_SwapTotal_bytes",
    "node_memory_SwapFree_bytes",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_filesystem_size_bytes",
    "node_filesystem_avail_bytes",
];

/// The selectors used when a `[[scrape]]` names no `metrics`: exactly what
/// the table maps.
pub fn default_metrics() -> Vec<String> {
    NODE_NAMES.iter().map(|s| s.to_string()).collect()
}

/// One counter's last reading.
#[derive(Debug, Clone, Copy)]
struct Reading {
    value: f64,
    at_secs: f64,
}

/// Turns successive scrapes of one exporter into values.
#[derive(Debug, Default)]
pub struct Translator {
    counters: HashMap<(String, BTreeMap<String, String>), Reading>,
    /// Whether the [`MAX_OTHER`] cap was logged already.
    capped: bool,
}

/// What one scrape gave.
#[derive(Debug, Default, PartialEq)]
pub struct Translated {
    /// Metric name → value.
    pub values: BTreeMap<String, f64>,
    /// `prom.*` series left out by the [`MAX_OTHER`] cap.
    pub left_out: usize,
}

/// A series after the rate step: gauges as read, counters as a rate.
struct Value<'a> {
    series: &'a Series,
    value: f64,
}

impl Translator {
    /// Translates one scrape, taken `at_secs` seconds after any fixed
    /// instant (the same for every call). A counter gives a value from its
    /// second scrape on; a counter that went down (the exporter restarted)
    /// gives none for that step rather than a negative rate.
    pub fn translate(&mut self, series: &[Series], at_secs: f64) -> Translated {
        let mut seen = HashMap::with_capacity(self.counters.len());
        let mut values = Vec::with_capacity(series.len());
        for s in series {
            match s.kind {
                Kind::Gauge => values.push(Value {
                    series: s,
                    value: s.value,
                }),
                Kind::Counter => {
                    let key = (s.name.clone(), s.labels.clone());
                    let now = Reading {
                        value: s.value,
                        at_secs,
                    };
                    if let Some(before) = self.counters.get(&key) {
                        let dt = at_secs - before.at_secs;
                        if dt > 0.0 && s.value >= before.value {
                            values.push(Value {
                                series: s,
                                value: (s.value - before.value) / dt,
                            });
                        }
                    }
                    seen.insert(key, now);
                }
            }
        }
        // Series that vanished are forgotten: the map stays as big as the
        // exporter's output.
        self.counters = seen;

        let mut out = Translated::default();
        node(&values, &mut out.values);
        let mut others = 0;
        for v in &values {
            if NODE_NAMES.contains(&v.series.name.as_str()) || !v.value.is_finite() {
                continue;
            }
            if others == MAX_OTHER {
                out.left_out += 1;
                continue;
            }
            others += 1;
            // Not rounded: an exporter's small values (seconds, ratios) matter.
            out.values.insert(other_name(v.series), v.value);
        }
        out.values.retain(|_, v| v.is_finite());
        if out.left_out > 0 && !self.capped {
            self.capped = true;
            tracing::warn!(
                "a scrape selected more than {MAX_OTHER} series without a Telltale name: the first {MAX_OTHER} are kept, {} left out (narrow `metrics`; logged once)",
                out.left_out
            );
        }
        out
    }
}

/// node_exporter's metrics under the built-in collector's names.
fn node(values: &[Value], out: &mut BTreeMap<String, f64>) {
    fn find<'a, 'b>(values: &'a [Value<'b>], name: &'a str) -> impl Iterator<Item = &'a Value<'b>> {
        values.iter().filter(move |v| v.series.name == name)
    }
    let find = |name: &'static str| find(values, name);
    let one = |name: &'static str| find(name).next().map(|v| v.value);
    for (from, to) in [
        ("node_load1", "load.1"),
        ("node_load5", "load.5"),
        ("node_load15", "load.15"),
    ] {
        if let Some(v) = one(from) {
            out.insert(to.into(), v);
        }
    }

    // Per CPU: (idle rate, total rate).
    let mut cpus: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for v in find("node_cpu_seconds_total") {
        let (Some(cpu), Some(mode)) = (v.series.labels.get("cpu"), v.series.labels.get("mode"))
        else {
            continue;
        };
        let entry = cpus.entry(cpu.clone()).or_default();
        if mode == "idle" || mode == "iowait" {
            entry.0 += v.value;
        }
        entry.1 += v.value;
    }
    let (mut idle, mut total) = (0.0, 0.0);
    for (cpu, (i, t)) in &cpus {
        if *t > 0.0 {
            out.insert(format!("cpu.core.{cpu}"), busy(*i, *t));
            idle += i;
            total += t;
        }
    }
    if total > 0.0 {
        out.insert("cpu.total".into(), busy(idle, total));
    }

    let pair = |total: &'static str, free: &'static str| one(total).zip(one(free));
    if let Some((total, available)) = pair(
        "node_memory_MemTotal_bytes",
        "node_memory_MemAvailable_bytes",
    ) {
        out.insert("mem.total_bytes".into(), total);
        out.insert("mem.available_bytes".into(), available);
        out.insert("mem.used_bytes".into(), total - available);
        out.insert("mem.used_percent".into(), percent(total - available, total));
    }
    if let Some((total, free)) = pair("node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes") {
        out.insert("swap.used_bytes".into(), total - free);
        out.insert("swap.used_percent".into(), percent(total - free, total));
    }

    for (from, to) in [
        ("node_network_receive_bytes_total", "net.rx_bytes_per_s"),
        ("node_network_transmit_bytes_total", "net.tx_bytes_per_s"),
    ] {
        let mut rates = find(from)
            .filter(|v| v.series.labels.get("device").map(String::as_str) != Some("lo"))
            .peekable();
        if rates.peek().is_some() {
            out.insert(to.into(), round(rates.map(|v| v.value).sum()));
        }
    }

    let root = |name: &'static str| {
        find(name)
            .find(|v| v.series.labels.get("mountpoint").map(String::as_str) == Some("/"))
            .map(|v| v.value)
    };
    if let (Some(size), Some(avail)) = (
        root("node_filesystem_size_bytes"),
        root("node_filesystem_avail_bytes"),
    ) {
        out.insert("disk.total_bytes".into(), size);
        out.insert("disk.used_bytes".into(), size - avail);
        out.insert("disk.used_percent".into(), percent(size - avail, size));
    }
}

fn other_name(series: &Series) -> String {
    let mut name = format!("prom.{}", series.name);
    for (label, value) in &series.labels {
        name.push('.');
        name.push_str(label);
        name.push('=');
        name.push_str(value);
    }
    name.chars()
        .take(200)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn busy(idle: f64, total: f64) -> f64 {
    round((100.0 * (1.0 - idle / total)).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::parse;

    const FIXTURE: &str = include_str!("../tests/fixtures/node_exporter.txt");

    /// What the default `metrics` keep of `series`.
    fn selected(series: Vec<Series>) -> Vec<Series> {
        let selectors: Vec<_> = default_metrics()
            .iter()
            .map(|m| crate::selector::Selector::parse(m).unwrap())
            .collect();
        series
            .into_iter()
            .filter(|s| selectors.iter().any(|sel| sel.matches(&s.name, &s.labels)))
            .collect()
    }

    /// The fixture with every counter advanced as if `secs` seconds passed
    /// on a machine busy `busy` of the time, receiving 1000 bytes/s on eth0.
    fn later(secs: f64, busy: f64) -> Vec<Series> {
        let mut series = parse(FIXTURE).unwrap();
        for s in &mut series {
            if s.name == "node_cpu_seconds_total" {
                s.value += match s.labels["mode"].as_str() {
                    "idle" => secs * (1.0 - busy),
                    "user" => secs * busy,
                    _ => 0.0,
                };
            } else if s.name == "node_network_receive_bytes_total" && s.labels["device"] == "eth0" {
                s.value += 1000.0 * secs;
            }
        }
        series
    }

    #[test]
    fn node_exporter_gets_the_built_in_names() {
        let mut t = Translator::default();
        let first = t.translate(&selected(parse(FIXTURE).unwrap()), 0.0).values;
        assert_eq!(first["load.1"], 1.32);
        assert_eq!(first["load.15"], 1.51);
        assert!((0.0..=100.0).contains(&first["mem.used_percent"]));
        assert!(first["mem.total_bytes"] > first["mem.available_bytes"]);
        assert!((0.0..=100.0).contains(&first["disk.used_percent"]));
        assert!(
            !first.contains_key("cpu.total") && !first.contains_key("net.rx_bytes_per_s"),
            "rates need a second scrape: {first:?}"
        );
        assert!(
            first.keys().all(|k| !k.starts_with("prom.")),
            "the mapped inputs are not repeated as prom.*: {first:?}"
        );
        // Everything selected: the rest keeps prom.* names.
        let all = Translator::default().translate(&parse(FIXTURE).unwrap(), 0.0);
        assert_eq!(all.values["prom.node_memory_MemFree_bytes"], 18887032832.0);
        assert!(!all.values.contains_key("prom.node_load1"));

        let second = t.translate(&selected(later(2.0, 0.25)), 2.0).values;
        assert_eq!(second["cpu.total"], 25.0);
        assert_eq!(second["cpu.core.0"], 25.0);
        assert_eq!(second["cpu.core.1"], 25.0);
        assert_eq!(second["net.rx_bytes_per_s"], 1000.0);
        assert_eq!(second["net.tx_bytes_per_s"], 0.0);
    }

    #[test]
    fn counters_are_rates_and_a_reset_gives_nothing() {
        let counter = |value: f64| Series {
            name: "requests_total".into(),
            labels: BTreeMap::from([("code".into(), "200".into())]),
            value,
            kind: Kind::Counter,
        };
        let gauge = Series {
            name: "queue".into(),
            labels: BTreeMap::new(),
            value: 7.0,
            kind: Kind::Gauge,
        };
        let name = "prom.requests_total.code=200";
        let mut t = Translator::default();
        let v = t.translate(&[counter(100.0), gauge.clone()], 10.0).values;
        assert_eq!(v, BTreeMap::from([("prom.queue".into(), 7.0)]));
        let v = t.translate(&[counter(150.0)], 15.0).values;
        assert_eq!(v[name], 10.0);
        let v = t.translate(&[counter(20.0)], 20.0).values;
        assert!(!v.contains_key(name), "a reset is no negative rate: {v:?}");
        let v = t.translate(&[counter(70.0)], 25.0).values;
        assert_eq!(v[name], 10.0);
    }

    #[test]
    fn other_series_are_named_sanitised_and_capped() {
        let series: Vec<Series> = (0..MAX_OTHER + 5)
            .map(|n| Series {
                name: "node_hwmon_temp_celsius".into(),
                labels: BTreeMap::from([
                    ("chip".into(), format!("pci 0000:{n}")),
                    ("sensor".into(), "temp\"1".into()),
                ]),
                value: 40.0,
                kind: Kind::Gauge,
            })
            .collect();
        let out = Translator::default().translate(&series, 0.0);
        assert_eq!(out.left_out, 5);
        assert_eq!(out.values.len(), MAX_OTHER);
        assert!(out
            .values
            .contains_key("prom.node_hwmon_temp_celsius.chip=pci_0000:0.sensor=temp_1"));
    }
}
