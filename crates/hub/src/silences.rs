//! Acknowledgements out to Alertmanager: ack until resolved.
//!
//! Alertmanager has silences but no acknowledgement. An alarm that came from
//! the Alertmanager named `NAME` (its id is `NAME/<fingerprint>`, see
//! `alert_ingest`) and that someone acknowledges (or silences) in Telltale
//! gets a silence there, on stable labels (`alertname` and `instance` by
//! default: all labels would break the silence when one changes), created
//! by the acker, "acknowledged in Telltale". While the alarm stays
//! acknowledged the silence is extended before it ends; once the alarm
//! resolves it is expired. Alertmanager sends no resolved webhook for a
//! silenced alert, so the alerts of acknowledged alarms are polled, and one
//! that is gone resolves its alarm. An Alertmanager that does not answer
//! leaves the ack in Telltale, marks the alarm `telltale.silence = pending`
//! and is retried with backoff. Once set, the label holds the silence's id.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;
use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, AlarmState, ALARMS_CHANNEL};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::node::{Node, PublishOptions};

/// Longest pause between attempts at an Alertmanager that does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The label that says where the alarm's silence is.
pub const SILENCE_LABEL: &str = "telltale.silence";
/// What [`SILENCE_LABEL`] says while Alertmanager has not taken the silence.
pub const PENDING: &str = "pending";

/// One Alertmanager acknowledgements go out to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The receiver name: alarms `NAME/...` are its.
    pub name: String,
    /// Its base URL, e.g. `http://127.0.0.1:9093`.
    pub url: String,
}

impl Target {
    /// `NAME=URL`, as `--alertmanager` takes it.
    pub fn parse(spec: &str) -> Result<Target, String> {
        let (name, url) = spec.split_once('=').ok_or_else(|| {
            format!("--alertmanager {spec:?}: expected NAME=URL, e.g. am1=http://127.0.0.1:9093")
        })?;
        let url = url.trim().trim_end_matches('/');
        if name.trim().is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "--alertmanager {spec:?}: expected NAME=URL with an http:// URL, e.g. am1=http://127.0.0.1:9093"
            ));
        }
        Ok(Target {
            name: name.trim().to_owned(),
            url: url.to_owned(),
        })
    }
}

/// What is known of one alarm's silence.
#[derive(Debug)]
struct Tracked {
    target: usize,
    silence: Option<String>,
    ends_at: i64,
    retry_at: Instant,
    backoff: Duration,
}

/// Keeps the silences of acknowledged alarms in step; runs until `shutdown`.
pub async fn run(node: Node, targets: Vec<Target>, shutdown: CancellationToken) {
    let config = node.config();
    // Per target: its own labels, else the default ones.
    let labels = (targets.iter())
        .map(|t| {
            let own = config.alertmanager_silence_labels_for.get(&t.name);
            own.unwrap_or(&config.alertmanager_silence_labels).clone()
        })
        .collect();
    let tick = config.alertmanager_poll;
    let resolve_after = config.alertmanager_resolve_after;
    let ack_span = config.alertmanager_ack_span;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client without TLS builds");
    let mut sync = Sync {
        node,
        targets,
        labels,
        resolve_after,
        ack_span,
        http,
        tracked: HashMap::new(),
        missing_since: HashMap::new(),
    };
    let mut ticks = tokio::time::interval(tick);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {
                // A duty: with several nodes, the one holding the lease
                // does it; another starts afresh from the alarms' labels.
                if sync.node.holds_duties() {
                    sync.once().await;
                } else {
                    sync.tracked.clear();
                    sync.missing_since.clear();
                }
            }
        }
    }
}

struct Sync {
    node: Node,
    targets: Vec<Target>,
    /// The labels a silence matches on, per target.
    labels: Vec<Vec<String>>,
    /// How long an acknowledged alarm's alert must be missing from
    /// Alertmanager before the alarm resolves: a restarted Alertmanager
    /// lists nothing until Prometheus sends its alerts again.
    resolve_after: Duration,
    /// How long an acknowledgement's silence lasts; it is extended when a
    /// sixth of that is left.
    ack_span: Duration,
    http: reqwest::Client,
    tracked: HashMap<String, Tracked>,
    /// Since when each acknowledged alarm's alert is missing.
    missing_since: HashMap<String, Instant>,
}

impl Sync {
    async fn once(&mut self) {
        let now = now_ms();
        let active = match self.node.active_alarms().await {
            Ok(active) => active,
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot read the active alarms; silences wait");
                return;
            }
        };
        self.missing_since
            .retain(|id, _| active.iter().any(|a| &a.id == id));
        self.expire_resolved(&active).await;
        for alarm in active {
            let Some(target) = self.target_of(&alarm.id) else {
                continue;
            };
            let acked = alarm.state == AlarmState::Acknowledged;
            let silenced = alarm.silenced_until.filter(|&t| t > now);
            if !acked && silenced.is_none() {
                continue;
            }
            self.keep_silence(&alarm, target, silenced, now).await;
            if acked {
                self.resolve_if_gone(&alarm, target).await;
            }
        }
    }

    fn target_of(&self, id: &str) -> Option<usize> {
        let (name, _) = id.split_once('/')?;
        self.targets.iter().position(|t| t.name == name)
    }

    /// Expires the silences of alarms no longer active.
    async fn expire_resolved(&mut self, active: &[Alarm]) {
        let gone: Vec<String> = (self.tracked.keys())
            .filter(|id| !active.iter().any(|a| &a.id == *id))
            .cloned()
            .collect();
        for id in gone {
            let Some(tracked) = self.tracked.remove(&id) else {
                continue;
            };
            if let Some(silence) = tracked.silence {
                let url = format!(
                    "{}/api/v2/silence/{silence}",
                    self.targets[tracked.target].url
                );
                if let Err(e) = self.http.delete(&url).send().await {
                    tracing::warn!(alarm = id, error = %e, "could not expire the Alertmanager silence");
                }
            }
        }
    }

    /// Creates the alarm's silence, extends it before it ends, or follows a
    /// new silence end; retries with backoff while Alertmanager fails.
    async fn keep_silence(
        &mut self,
        alarm: &Alarm,
        target: usize,
        silenced: Option<i64>,
        now: i64,
    ) {
        let span = self.ack_span.as_millis() as i64;
        let wanted_end = silenced.unwrap_or(now + span);
        let due = match self.tracked.get(&alarm.id) {
            None => true,
            Some(t) if Instant::now() < t.retry_at => false,
            Some(t) if t.silence.is_none() => true,
            Some(t) if silenced.is_some() => t.ends_at != wanted_end,
            Some(t) => t.ends_at - now < span / 6,
        };
        if !due {
            return;
        }
        let previous = self.tracked.get(&alarm.id).and_then(|t| t.silence.clone());
        match self
            .post_silence(alarm, target, previous.as_deref(), now, wanted_end)
            .await
        {
            Ok(id) => {
                let was_pending = self
                    .tracked
                    .get(&alarm.id)
                    .is_some_and(|t| t.silence.is_none());
                self.tracked.insert(
                    alarm.id.clone(),
                    Tracked {
                        target,
                        silence: Some(id.clone()),
                        ends_at: wanted_end,
                        retry_at: Instant::now(),
                        backoff: Duration::from_secs(1),
                    },
                );
                let shown = alarm.labels.get(SILENCE_LABEL).map(String::as_str);
                if was_pending || shown != Some(id.as_str()) {
                    self.mark(alarm, &id).await;
                }
            }
            Err(why) => {
                let entry = self.tracked.entry(alarm.id.clone()).or_insert(Tracked {
                    target,
                    silence: None,
                    ends_at: 0,
                    retry_at: Instant::now(),
                    backoff: Duration::from_secs(1),
                });
                entry.retry_at = Instant::now() + entry.backoff;
                entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
                let first = entry.silence.is_none()
                    && alarm.labels.get(SILENCE_LABEL).map(String::as_str) != Some(PENDING);
                tracing::warn!(alarm = alarm.id, error = %why, "Alertmanager silence not set; retrying");
                if first {
                    self.mark(alarm, PENDING).await;
                }
            }
        }
    }

    /// `POST /api/v2/silences` (with the silence's id to replace it).
    async fn post_silence(
        &self,
        alarm: &Alarm,
        target: usize,
        replaces: Option<&str>,
        now: i64,
        ends_at: i64,
    ) -> Result<String, String> {
        let labels = &self.labels[target];
        let matchers: Vec<_> = (labels.iter())
            .filter_map(|name| alarm.labels.get(name).map(|v| (name, v)))
            .map(|(name, value)| json!({"name": name, "value": value, "isRegex": false, "isEqual": true}))
            .collect();
        if matchers.is_empty() {
            return Err(format!("none of the labels {labels:?} is on the alarm"));
        }
        let mut body = json!({
            "matchers": matchers,
            "startsAt": rfc3339(now),
            "endsAt": rfc3339(ends_at),
            "createdBy": alarm.by.clone().unwrap_or_else(|| "telltale".into()),
            "comment": "acknowledged in Telltale",
        });
        if let Some(id) = replaces {
            body["id"] = json!(id);
        }
        let url = format!("{}/api/v2/silences", self.targets[target].url);
        let reply = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = reply.status();
        if !status.is_success() {
            let text = reply.text().await.unwrap_or_default();
            return Err(format!("{url}: {status}: {}", text.trim()));
        }
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "silenceID")]
            silence_id: String,
        }
        let created: Created = reply.json().await.map_err(|e| e.to_string())?;
        Ok(created.silence_id)
    }

    /// Resolves an acknowledged alarm whose alert Alertmanager no longer
    /// has (a silenced alert's resolution sends no webhook).
    async fn resolve_if_gone(&mut self, alarm: &Alarm, target: usize) {
        let Some((_, fingerprint)) = alarm.id.split_once('/') else {
            return;
        };
        let url = format!("{}/api/v2/alerts", self.targets[target].url);
        #[derive(Deserialize)]
        struct Alert {
            fingerprint: String,
        }
        let alerts: Vec<Alert> = match self.http.get(&url).send().await {
            Ok(reply) if reply.status().is_success() => match reply.json().await {
                Ok(alerts) => alerts,
                Err(_) => return,
            },
            _ => return,
        };
        if alerts.iter().any(|a| a.fingerprint == fingerprint) {
            self.missing_since.remove(&alarm.id);
            return;
        }
        let since = *self
            .missing_since
            .entry(alarm.id.clone())
            .or_insert_with(Instant::now);
        if since.elapsed() < self.resolve_after {
            return;
        }
        let mut resolved = alarm.clone();
        resolved.state = AlarmState::Resolved;
        resolved.ts = now_ms().max(alarm.ts + 1);
        crate::alert_ingest::ingest(&self.node, vec![resolved]).await;
    }

    /// Publishes the acknowledged alarm with where its silence is.
    async fn mark(&self, alarm: &Alarm, silence: &str) {
        let Ok(Some(mut current)) = self.node.alarm(&alarm.id).await else {
            return;
        };
        current.labels.insert(SILENCE_LABEL.into(), silence.into());
        current.ts = now_ms().max(current.ts + 1);
        let data = serde_json::value::to_raw_value(&current).expect("alarms serialize");
        if let Err(e) = self
            .node
            .publish(ALARMS_CHANNEL, data, PublishOptions::default())
            .await
        {
            tracing::warn!(alarm = alarm.id, error = %e.message, "could not publish the silence state");
        }
    }
}

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(at.max(SystemTime::UNIX_EPOCH)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_name_equals_url() {
        let t = Target::parse("am1=http://127.0.0.1:9093/").unwrap();
        assert_eq!(
            (t.name.as_str(), t.url.as_str()),
            ("am1", "http://127.0.0.1:9093")
        );
        for bad in ["am1", "=http://x", "am1=ftp://x", "am1="] {
            let err = Target::parse(bad).unwrap_err();
            assert!(err.contains("NAME=URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
