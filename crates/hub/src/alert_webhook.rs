//! Alerts from Alertmanager and Grafana, turned into Telltale alarms.
//!
//! Both send the same webhook shape (Alertmanager's version 4; Grafana's
//! unified alerting adds `silenceURL`, `dashboardURL`, `panelURL` and
//! `values` to each alert). [`Payload::alarms`] maps every alert to an
//! [`Alarm`]; the HTTP side ([`crate::alert_ingest`]) decides which of them
//! are transitions worth publishing.
//!
//! | Alarm field | From the alert |
//! |---|---|
//! | `id` | `<receiver>/<fingerprint>` (`receiver` from `?receiver=`) |
//! | `source` | `labels.instance`, else `labels.job`, else the receiver |
//! | `state` | `status`: `firing` or `resolved` |
//! | `severity` | `labels.severity` through [`SeverityMap`]; unknown → warning |
//! | `title` | `alertname` + ` on ` + `instance` (when there is one) |
//! | `message` | `annotations.summary`, else `annotations.description` |
//! | `labels` | every label of the alert |
//! | `links` | `generator`, `alertmanager`/`grafana`, `silence`, `runbook`, `dashboard`, `panel` |

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, AlarmState, Severity};

/// Which tool sent the webhook: the links differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Prometheus Alertmanager (`webhook_configs`).
    Alertmanager,
    /// Grafana's webhook contact point (unified alerting).
    Grafana,
}

impl Sender {
    /// The receiver name used when the URL gives none.
    pub fn default_receiver(self) -> &'static str {
        match self {
            Sender::Alertmanager => "alertmanager",
            Sender::Grafana => "grafana",
        }
    }
}

/// A webhook body. Only `alerts` is required: the rest is context that
/// Alertmanager and Grafana always send but an alarm can do without.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The alerts of this notification, firing and resolved.
    pub alerts: Vec<Alert>,
    /// The sender's own URL (Alertmanager's or Grafana's).
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
}

/// One alert of a webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    /// Identifying labels (`alertname`, `instance`, `severity`, ...).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Descriptive annotations (`summary`, `description`, `runbook_url`).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The rule's graph in Prometheus or Grafana.
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// Stable hash of the labels, computed by the sender.
    #[serde(default)]
    pub fingerprint: String,
    /// Grafana: a link that opens a silence prefilled for this alert.
    #[serde(default, rename = "silenceURL")]
    pub silence_url: String,
    /// Grafana: the dashboard of the rule, if any.
    #[serde(default, rename = "dashboardURL")]
    pub dashboard_url: String,
    /// Grafana: the panel of the rule, if any.
    #[serde(default, rename = "panelURL")]
    pub panel_url: String,
    /// Grafana: the query values that fired (`{"B": 22.5}`); may be null.
    #[serde(default)]
    pub values: Option<BTreeMap<String, serde_json::Value>>,
}

/// `labels.severity` → Telltale severity. Keys are compared lowercased;
/// anything not in the map is `warning`, so no alert is ever dropped for a
/// severity the hub does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct SeverityMap(BTreeMap<String, Severity>);

impl SeverityMap {
    /// The defaults (`critical`/`error` → critical, `warning` → warning,
    /// `info`/`none` → info) with `extra` (the `[alert_severity]` table)
    /// added over them.
    pub fn new(extra: &BTreeMap<String, Severity>) -> Self {
        let mut map: BTreeMap<String, Severity> = [
            ("critical", Severity::Critical),
            ("error", Severity::Critical),
            ("warning", Severity::Warning),
            ("info", Severity::Info),
            ("none", Severity::Info),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        map.extend(extra.iter().map(|(k, v)| (k.to_lowercase(), *v)));
        Self(map)
    }

    /// The severity of an alert with `labels.severity` = `label`.
    pub fn severity(&self, label: Option<&str>) -> Severity {
        label
            .and_then(|l| self.0.get(&l.trim().to_lowercase()))
            .copied()
            .unwrap_or(Severity::Warning)
    }
}

/// Why a payload was refused: the 400 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPayload(pub String);

impl Payload {
    /// Decodes a webhook body; the error says what is wrong and what was
    /// expected.
    pub fn parse(body: &[u8], sender: Sender) -> Result<Self, BadPayload> {
        let what = match sender {
            Sender::Alertmanager => "an Alertmanager webhook payload (version 4)",
            Sender::Grafana => "a Grafana webhook contact point payload",
        };
        let payload: Payload = serde_json::from_slice(body).map_err(|e| {
            BadPayload(format!(
                "the body is not {what}: {e}; expected a JSON object with \"alerts\": \
                 [{{\"status\", \"labels\", \"annotations\", \"fingerprint\", ...}}]"
            ))
        })?;
        if let Some((i, alert)) = payload
            .alerts
            .iter()
            .enumerate()
            .find(|(_, a)| a.state().is_none())
        {
            return Err(BadPayload(format!(
                "alerts[{i}].status is {:?}: it must be \"firing\" or \"resolved\"",
                alert.status
            )));
        }
        Ok(payload)
    }

    /// One alarm per alert, in order, as received from `receiver`.
    pub fn alarms(&self, sender: Sender, receiver: &str, severities: &SeverityMap) -> Vec<Alarm> {
        self.alerts
            .iter()
            .map(|alert| alert.alarm(sender, receiver, &self.external_url, severities))
            .collect()
    }
}

impl Alert {
    fn state(&self) -> Option<AlarmState> {
        match self.status.as_str() {
            "firing" => Some(AlarmState::Firing),
            "resolved" => Some(AlarmState::Resolved),
            _ => None,
        }
    }

    fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The sender's fingerprint, or one computed from the labels (a
    /// hand-written payload may leave it out): the same labels always give
    /// the same id.
    fn fingerprint(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        let mut hash = Sha256::new();
        for (name, value) in &self.labels {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(value.as_bytes());
            hash.update([0]);
        }
        hex::encode(&hash.finalize()[..8])
    }

    /// This alert as an alarm received from `receiver`.
    pub fn alarm(
        &self,
        sender: Sender,
        receiver: &str,
        external_url: &str,
        severities: &SeverityMap,
    ) -> Alarm {
        let alertname = self.label("alertname").unwrap_or("alert");
        let instance = self.label("instance");
        let title = match instance {
            Some(instance) => format!("{alertname} on {instance}"),
            None => alertname.to_owned(),
        };
        let message = ["summary", "description"]
            .iter()
            .find_map(|k| self.annotations.get(*k).filter(|v| !v.is_empty()))
            .cloned()
            .unwrap_or_default();
        Alarm {
            id: format!("{receiver}/{}", self.fingerprint()),
            source: instance
                .or_else(|| self.label("job"))
                .unwrap_or(receiver)
                .to_owned(),
            severity: severities.severity(self.label("severity")),
            state: self.state().unwrap_or(AlarmState::Firing),
            title,
            message,
            ts: now_ms(),
            value: self.value(),
            labels: self.labels.clone(),
            by: None,
            silenced_until: None,
            comment: None,
            links: self.links(sender, external_url, instance),
        }
    }

    /// Grafana's query value, when the rule has exactly one number.
    fn value(&self) -> Option<f64> {
        let values = self.values.as_ref()?;
        let mut numbers = values.values().filter_map(serde_json::Value::as_f64);
        match (numbers.next(), numbers.next()) {
            (Some(value), None) => Some(value),
            _ => None,
        }
    }

    fn links(
        &self,
        sender: Sender,
        external_url: &str,
        instance: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut links = BTreeMap::new();
        let mut put = |name: &str, url: &str| {
            if !url.is_empty() {
                links.insert(name.to_owned(), url.to_owned());
            }
        };
        put("generator", &self.generator_url);
        if let Some(runbook) = self.annotations.get("runbook_url") {
            put("runbook", runbook);
        }
        match sender {
            Sender::Alertmanager => {
                put("alertmanager", external_url);
                if !external_url.is_empty() {
                    put(
                        "silence",
                        &silence_link(external_url, self.label("alertname"), instance),
                    );
                }
            }
            Sender::Grafana => {
                put("grafana", external_url);
                put("silence", &self.silence_url);
                put("dashboard", &self.dashboard_url);
                put("panel", &self.panel_url);
            }
        }
        links
    }
}

/// Alertmanager's "new silence" page prefilled with matchers on
/// `alertname` and `instance` (the labels that identify the alert without
/// breaking when another label changes).
fn silence_link(external_url: &str, alertname: Option<&str>, instance: Option<&str>) -> String {
    let matchers: Vec<String> = [("alertname", alertname), ("instance", instance)]
        .into_iter()
        .filter_map(|(name, value)| {
            let value = value?.replace('\\', "\\\\").replace('"', "\\\"");
            Some(format!("{name}=\"{value}\""))
        })
        .collect();
    let filter = format!("{{{}}}", matchers.join(","));
    format!(
        "{}/#/silences/new?filter={}",
        external_url.trim_end_matches('/'),
        utf8_percent_encode(&filter, NON_ALPHANUMERIC)
    )
}

/// `template` with every `{label}` replaced by that label's value (an
/// absent label by nothing), spaces collapsed: the `alert_title` setting,
/// e.g. `"{alertname}: {instance} ({job})"`.
pub fn render_title(template: &str, labels: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = after[..close].trim();
                out.push_str(labels.get(name).map(String::as_str).unwrap_or_default());
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    let words: Vec<&str> = out.split_whitespace().collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Alertmanager 0.25 webhook, as its documentation describes it.
    const ALERTMANAGER: &str = include_str!("../tests/fixtures/alertmanager-webhook.json");
    /// A Grafana webhook contact point notification, as documented.
    const GRAFANA: &str = include_str!("../tests/fixtures/grafana-webhook.json");

    fn map() -> SeverityMap {
        SeverityMap::new(&BTreeMap::from([("page".to_owned(), Severity::Critical)]))
    }

    #[test]
    fn titles_follow_the_template() {
        let labels: BTreeMap<String, String> =
            [("alertname", "DiskFull"), ("instance", "db-1:9100")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(
            render_title("{alertname}: {instance} {job}", &labels),
            "DiskFull: db-1:9100"
        );
        assert_eq!(
            render_title("{ alertname } on {instance", &labels),
            "DiskFull on {instance"
        );
    }

    #[test]
    fn an_alertmanager_alert_becomes_an_alarm() {
        let payload = Payload::parse(ALERTMANAGER.as_bytes(), Sender::Alertmanager).unwrap();
        let alarms = payload.alarms(Sender::Alertmanager, "am1", &map());
        assert_eq!(alarms.len(), 2);
        let a = &alarms[0];
        assert_eq!(a.id, "am1/5f2d1e8b0a9c3b71");
        assert_eq!(a.source, "web-1:9100");
        assert_eq!(a.state, AlarmState::Firing);
        assert_eq!(a.severity, Severity::Critical, "page → critical");
        assert_eq!(a.title, "HighLoad on web-1:9100");
        assert_eq!(a.message, "Load is above 4 on web-1");
        assert_eq!(a.labels["job"], "node");
        assert_eq!(a.labels["severity"], "page");
        assert_eq!(
            a.links["generator"],
            "http://prometheus:9090/graph?g0.expr=node_load1+%3E+4"
        );
        assert_eq!(a.links["alertmanager"], "http://alertmanager:9093");
        assert_eq!(
            a.links["silence"],
            "http://alertmanager:9093/#/silences/new?filter=%7Balertname%3D%22HighLoad%22%2Cinstance%3D%22web%2D1%3A9100%22%7D"
        );
        assert_eq!(a.links["runbook"], "https://runbooks.example/high-load");
        let b = &alarms[1];
        assert_eq!(b.state, AlarmState::Resolved);
        assert_eq!(
            (b.source.as_str(), b.title.as_str()),
            ("backup", "BackupLate")
        );
        assert_eq!(b.message, "description only", "description when no summary");
        assert_eq!(b.severity, Severity::Warning, "unknown severity → warning");
        assert!(!b.links.contains_key("runbook"));
    }

    #[test]
    fn a_grafana_alert_becomes_an_alarm_with_its_links() {
        let payload = Payload::parse(GRAFANA.as_bytes(), Sender::Grafana).unwrap();
        let alarms = payload.alarms(Sender::Grafana, "grafana", &map());
        assert_eq!(alarms.len(), 1);
        let a = &alarms[0];
        assert_eq!(a.id, "grafana/c6eadffa33fcdf37");
        assert_eq!(a.source, "db-1");
        assert_eq!(a.title, "DiskFull on db-1");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.value, Some(97.5));
        assert_eq!(a.labels["grafana_folder"], "Ops");
        let links: Vec<&str> = a.links.keys().map(String::as_str).collect();
        assert_eq!(
            links,
            ["dashboard", "generator", "grafana", "panel", "silence"]
        );
        assert!(a.links["silence"].starts_with("http://grafana:3000/alerting/silence/new"));
    }

    #[test]
    fn severities_map_through_defaults_and_config() {
        let map = map();
        for (label, expected) in [
            (Some("critical"), Severity::Critical),
            (Some("ERROR"), Severity::Critical),
            (Some("warning"), Severity::Warning),
            (Some("info"), Severity::Info),
            (Some("none"), Severity::Info),
            (Some("page"), Severity::Critical),
            (Some("ticket"), Severity::Warning),
            (Some(""), Severity::Warning),
            (None, Severity::Warning),
        ] {
            assert_eq!(map.severity(label), expected, "{label:?}");
        }
        let override_default =
            SeverityMap::new(&BTreeMap::from([("Warning".to_owned(), Severity::Info)]));
        assert_eq!(override_default.severity(Some("warning")), Severity::Info);
    }

    #[test]
    fn a_missing_fingerprint_is_computed_from_the_labels() {
        let body = br#"{"alerts":[{"status":"firing","labels":{"alertname":"A"}},
                                   {"status":"firing","labels":{"alertname":"A"}},
                                   {"status":"firing","labels":{"alertname":"B"}}]}"#;
        let alarms = Payload::parse(body, Sender::Alertmanager).unwrap().alarms(
            Sender::Alertmanager,
            "r",
            &map(),
        );
        assert_eq!(alarms[0].id, alarms[1].id);
        assert_ne!(alarms[0].id, alarms[2].id);
        assert!(alarms[0].id.starts_with("r/"), "{}", alarms[0].id);
        assert_eq!(
            (alarms[0].source.as_str(), alarms[0].title.as_str()),
            ("r", "A")
        );
        assert!(alarms[0].links.is_empty(), "no URLs, no links");
    }

    #[test]
    fn malformed_payloads_say_what_is_wrong() {
        let err = |body: &str| {
            Payload::parse(body.as_bytes(), Sender::Alertmanager)
                .unwrap_err()
                .0
        };
        assert!(err("not json").contains("not an Alertmanager webhook payload"));
        assert!(err(r#"{"receiver":"x"}"#).contains("missing field `alerts`"));
        let bad = err(r#"{"alerts":[{"status":"firing"},{"status":"pending"}]}"#);
        assert!(bad.contains("alerts[1].status is \"pending\""), "{bad}");
        let grafana = Payload::parse(b"[]", Sender::Grafana).unwrap_err().0;
        assert!(
            grafana.contains("Grafana webhook contact point"),
            "{grafana}"
        );
    }
}
