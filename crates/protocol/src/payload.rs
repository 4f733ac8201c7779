//! Telltale's own payloads: what travels inside publications and RPCs.
//!
//! | channel | data |
//! |---|---|
//! | `metrics:<source>` | [`MetricSample`] |
//! | `alarms` | [`Alarm`] |

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// RPC method: the active alarm set, `{}` → [`ActiveAlarms`].
pub const RPC_ALARMS_ACTIVE: &str = "alarms.active";
/// RPC method: acknowledge an alarm, [`AlarmId`] → [`AlarmReply`].
pub const RPC_ALARMS_ACK: &str = "alarms.ack";
/// RPC method: silence an alarm, [`SilenceRequest`] → [`AlarmReply`].
pub const RPC_ALARMS_SILENCE: &str = "alarms.silence";
/// RPC method: known sources and metrics, `{}` → [`Catalog`].
pub const RPC_CATALOG: &str = "catalog";

/// The current time in unix milliseconds, the unit of every `ts` here.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// One sample of a source's metrics, published on `metrics:<source>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MetricSample {
    /// Sample time, unix milliseconds.
    pub ts: i64,
    /// Metric name → value, e.g. `cpu.total` → 12.5.
    pub values: BTreeMap<String, f64>,
}

/// How bad an alarm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention.
    Warning,
    /// Needs attention now.
    Critical,
}

/// Where an alarm is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum AlarmState {
    /// The condition holds.
    Firing,
    /// The condition holds and someone has acknowledged it.
    Acknowledged,
    /// The condition no longer holds.
    Resolved,
}

/// An alarm, published on `alarms` at every transition.
// `ts(optional)`: serde leaves these out when `None`, so TypeScript gets
// `field?: T` rather than `field: T | null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Alarm {
    /// Stable id, `<source>/<rule>`; repeated firings share it.
    pub id: String,
    /// The source that raised it.
    pub source: String,
    /// How bad it is.
    pub severity: Severity,
    /// Current state.
    pub state: AlarmState,
    /// Short title (a notification's summary).
    pub title: String,
    /// Longer description.
    #[serde(default)]
    pub message: String,
    /// Time of this transition, unix milliseconds.
    pub ts: i64,
    /// The value that crossed the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub value: Option<f64>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Who acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub by: Option<String>,
    /// Silenced until this time, unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub silenced_until: Option<i64>,
    /// What the acknowledger wrote (see [`AlarmId::comment`]); kept while
    /// the episode lasts, gone when the alarm fires again after resolving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub comment: Option<String>,
    /// Where to read more or act, by name: `generator` (the rule's graph),
    /// `alertmanager`, `silence`, `runbook`, `dashboard`, ... → URL. Alarms
    /// from Alertmanager or Grafana carry theirs; the desktop shows them as
    /// buttons that open the browser.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
}

/// Result of `alarms.active`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlarms {
    /// Active alarms (firing or acknowledged).
    pub alarms: Vec<Alarm>,
}

/// Argument of `alarms.ack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmId {
    /// The alarm's id.
    pub id: String,
    /// Who acknowledges, as the caller names itself. Used only on anonymous
    /// connections: an authenticated connection's user always wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// A note for the others ("restarting the db"), at most
    /// [`MAX_ACK_COMMENT_CHARS`] characters; stored on the alarm as
    /// [`Alarm::comment`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Longest `alarms.ack` comment, in characters: a note, not a report.
pub const MAX_ACK_COMMENT_CHARS: usize = 500;

/// Argument of `alarms.silence`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceRequest {
    /// The alarm's id.
    pub id: String,
    /// Silence until this time, unix milliseconds.
    pub until: i64,
}

/// Result of `alarms.ack` and `alarms.silence`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmReply {
    /// The alarm after the change.
    pub alarm: Alarm,
}

/// Result of `catalog`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Catalog {
    /// Known metric sources, sorted by name.
    pub sources: Vec<CatalogSource>,
    /// More sources follow: ask again with `{"offset": next_offset}`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Where the next page starts, when `truncated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub next_offset: Option<usize>,
}

/// Data of a `catalog` call: which page (all optional).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CatalogRequest {
    /// Sources to skip, in name order.
    pub offset: usize,
    /// Most sources to return (the hub caps it so the answer fits).
    pub limit: Option<usize>,
}

/// One metric source in the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CatalogSource {
    /// Source name, e.g. a hostname.
    pub source: String,
    /// Channel its samples are published on.
    pub channel: String,
    /// Metric names seen from it, sorted.
    pub metrics: Vec<String>,
    /// When the hub last received a sample from it, unix milliseconds by
    /// the hub's clock (not the sample's `ts`, which the source's clock
    /// wrote). 0 from a hub too old to say.
    #[serde(default)]
    pub last_seen: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_json_matches_design() {
        let alarm: Alarm = serde_json::from_str(
            r#"{"id":"h/cpu","source":"h","severity":"critical","state":"firing","title":"CPU","ts":1,"value":93.1}"#,
        )
        .unwrap();
        assert_eq!(alarm.severity, Severity::Critical);
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
        assert!(serde_json::from_str::<Alarm>(r#"{"id":"x","severity":"loud"}"#).is_err());
    }
}
