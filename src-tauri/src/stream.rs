//! The batch the UI receives about once per display frame over a
//! `tauri::ipc::Channel`: samples column-major per source, alarm
//! transitions in order, diagnostics when they change. Samples and alarms
//! carry the id of the hub they came from: several hubs share one stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use telltale_protocol::{Alarm, MetricSample};
use tokio::sync::Notify;
use ts_rs::TS;

/// Samples kept per source while no window listens (15 min at 1 Hz).
const MAX_ROWS_WITHOUT_UI: usize = 900;

/// One message on the stream channel (see ui/src/backend/README.md): about
/// one per display frame, coalesced, with only what changed.
// Empty lists are not sent: `as = "Option<_>", optional` makes them
// `field?: T[]` in TypeScript (ts-rs allows `optional` only on an `Option`).
#[derive(Debug, Default, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StreamBatch {
    /// New samples per source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<_>", optional)]
    pub metrics: Vec<MetricBlock>,
    /// Complete active alarm sets of the hubs that resynced (first subscribe,
    /// or a gap recovery could not fill). Applied before `alarms`: that hub's
    /// active alarms missing from its set move to the recent list.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<_>", optional)]
    pub active_alarms: Vec<ActiveSet>,
    /// Alarm transitions in arrival order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[ts(as = "Option<_>", optional)]
    pub alarms: Vec<ServerAlarm>,
    /// Counters, when they changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub diagnostics: Option<Diagnostics>,
}

/// One hub's complete active alarm set.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ActiveSet {
    /// The hub's id.
    pub server: String,
    /// Its active alarms.
    pub alarms: Vec<Alarm>,
}

/// An alarm transition and the hub it came from.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ServerAlarm {
    /// The hub's id.
    pub server: String,
    /// The transition.
    #[serde(flatten)]
    pub alarm: Alarm,
}

/// Samples of one source; `values[j][i]` is `names[j]` at `ts[i]`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, TS)]
pub struct MetricBlock {
    /// The hub's id.
    pub server: String,
    /// Source name.
    pub source: String,
    /// Sample times, unix ms, ascending.
    pub ts: Vec<i64>,
    /// Metric names.
    pub names: Vec<String>,
    /// One column per name; `None` (null) where a sample lacked the name.
    pub values: Vec<Vec<Option<f64>>>,
}

impl MetricBlock {
    fn push(&mut self, sample: &MetricSample) {
        let row = self.ts.len();
        self.ts.push(sample.ts);
        for column in &mut self.values {
            column.push(None);
        }
        for (name, value) in &sample.values {
            let j = match self.names.iter().position(|n| n == name) {
                Some(j) => j,
                None => {
                    self.names.push(name.clone());
                    self.values.push(vec![None; row + 1]);
                    self.names.len() - 1
                }
            };
            self.values[j][row] = Some(*value);
        }
    }

    fn keep_last(&mut self, rows: usize) {
        let excess = self.ts.len().saturating_sub(rows);
        if excess > 0 {
            self.ts.drain(..excess);
            for column in &mut self.values {
                column.drain(..excess);
            }
        }
    }
}

/// Counters since the window connected its stream: a snapshot, not a delta.
#[derive(Debug, Default, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    /// Publications whose payload was not a Telltale payload, per channel.
    pub invalid: BTreeMap<String, u64>,
    /// The last such error, or the last client error.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_error: Option<String>,
    /// Metric publications dropped because the app fell behind.
    pub lagged: u64,
}

/// What has arrived since the last batch was sent.
#[derive(Debug, Default)]
pub struct Pending {
    blocks: Vec<MetricBlock>,
    /// (server, source) → index in `blocks`.
    by_source: HashMap<(String, String), usize>,
    active: Vec<ActiveSet>,
    alarms: Vec<ServerAlarm>,
    diagnostics: Diagnostics,
    diagnostics_changed: bool,
    /// Woken when something is added, so the sender sleeps while nothing
    /// arrives instead of waking every frame.
    ready: Arc<Notify>,
}

impl Pending {
    /// Notified (a permit is kept) whenever something is added.
    pub fn ready(&self) -> Arc<Notify> {
        self.ready.clone()
    }

    /// Adds one sample of `source` on hub `server`.
    pub fn sample(&mut self, server: &str, source: &str, sample: &MetricSample) {
        self.ready.notify_one();
        let key = (server.to_owned(), source.to_owned());
        let index = *self.by_source.entry(key).or_insert_with(|| {
            self.blocks.push(MetricBlock {
                server: server.to_owned(),
                source: source.to_owned(),
                ..MetricBlock::default()
            });
            self.blocks.len() - 1
        });
        self.blocks[index].push(sample);
    }

    /// Adds one alarm transition from hub `server`.
    pub fn alarm(&mut self, server: &str, alarm: Alarm) {
        self.ready.notify_one();
        let server = server.to_owned();
        self.alarms.push(ServerAlarm { server, alarm });
    }

    /// Replaces hub `server`'s active set (its transitions received before
    /// it are older).
    pub fn active(&mut self, server: &str, alarms: Vec<Alarm>) {
        self.ready.notify_one();
        self.alarms.retain(|a| a.server != server);
        self.active.retain(|set| set.server != server);
        let server = server.to_owned();
        self.active.push(ActiveSet { server, alarms });
    }

    /// Drops what is pending from hub `server` (switched off or removed).
    pub fn forget_server(&mut self, server: &str) {
        self.alarms.retain(|a| a.server != server);
        self.active.retain(|set| set.server != server);
        self.blocks.retain(|b| b.server != server);
        self.by_source = (self.blocks.iter().enumerate())
            .map(|(i, b)| ((b.server.clone(), b.source.clone()), i))
            .collect();
    }

    /// Counts a publication whose payload did not decode.
    pub fn invalid(&mut self, channel: &str, error: String) {
        self.ready.notify_one();
        *self
            .diagnostics
            .invalid
            .entry(channel.to_owned())
            .or_default() += 1;
        self.diagnostics.last_error = Some(format!("{channel}: {error}"));
        self.diagnostics_changed = true;
    }

    /// Records an error that did not end the connection.
    pub fn error(&mut self, error: String) {
        self.ready.notify_one();
        self.diagnostics.last_error = Some(error);
        self.diagnostics_changed = true;
    }

    /// Counts dropped metric publications.
    pub fn lagged(&mut self, dropped: u64) {
        self.ready.notify_one();
        self.diagnostics.lagged += dropped;
        self.diagnostics_changed = true;
    }

    /// Starts the counters over (a new window connected).
    pub fn reset_diagnostics(&mut self) {
        self.ready.notify_one();
        self.diagnostics = Diagnostics::default();
        self.diagnostics_changed = true;
    }

    /// Bounds what is kept while nobody is listening.
    pub fn trim_unsent(&mut self) {
        for block in &mut self.blocks {
            block.keep_last(MAX_ROWS_WITHOUT_UI);
        }
    }

    /// Everything pending as one batch, or `None` when nothing changed.
    pub fn take(&mut self) -> Option<StreamBatch> {
        let empty = self.blocks.is_empty() && self.active.is_empty() && self.alarms.is_empty();
        if empty && !self.diagnostics_changed {
            return None;
        }
        self.by_source.clear();
        let diagnostics =
            std::mem::take(&mut self.diagnostics_changed).then(|| self.diagnostics.clone());
        Some(StreamBatch {
            metrics: std::mem::take(&mut self.blocks),
            active_alarms: std::mem::take(&mut self.active),
            alarms: std::mem::take(&mut self.alarms),
            diagnostics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64, values: &[(&str, f64)]) -> MetricSample {
        MetricSample {
            ts,
            values: values.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn samples_are_column_major_with_gaps_as_null() {
        let mut pending = Pending::default();
        pending.sample("s", "h", &sample(1, &[("cpu.total", 10.0)]));
        pending.sample(
            "s",
            "h",
            &sample(2, &[("cpu.total", 20.0), ("load.1", 0.5)]),
        );
        pending.sample("s", "g", &sample(2, &[("cpu.total", 1.0)]));
        let batch = pending.take().unwrap();
        assert_eq!(batch.metrics.len(), 2);
        let h = &batch.metrics[0];
        assert_eq!(h.ts, [1, 2]);
        assert_eq!(h.names, ["cpu.total", "load.1"]);
        assert_eq!(
            h.values,
            [vec![Some(10.0), Some(20.0)], vec![None, Some(0.5)]]
        );
        let json = serde_json::to_value(&batch).unwrap();
        assert_eq!(json["metrics"][0]["values"][1][0], serde_json::Value::Null);
        assert_eq!(json["metrics"][0]["server"], "s");
        assert!(json.get("alarms").is_none() && json.get("diagnostics").is_none());
        assert!(pending.take().is_none(), "nothing new");
    }

    #[test]
    fn diagnostics_are_sent_when_they_change() {
        let mut pending = Pending::default();
        pending.invalid("metrics:h", "missing field `ts`".into());
        let json = serde_json::to_value(pending.take().unwrap()).unwrap();
        assert_eq!(json["diagnostics"]["invalid"]["metrics:h"], 1);
        assert_eq!(
            json["diagnostics"]["lastError"],
            "metrics:h: missing field `ts`"
        );
        assert!(pending.take().is_none());
    }

    #[test]
    fn unsent_samples_are_bounded() {
        let mut pending = Pending::default();
        for ts in 0..(MAX_ROWS_WITHOUT_UI as i64 + 10) {
            pending.sample("s", "h", &sample(ts, &[("x", 1.0)]));
        }
        pending.trim_unsent();
        let batch = pending.take().unwrap();
        assert_eq!(batch.metrics[0].ts.len(), MAX_ROWS_WITHOUT_UI);
        assert_eq!(batch.metrics[0].ts[0], 10);
    }
}
