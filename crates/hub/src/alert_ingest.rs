//! `POST /api/alertmanager` and `POST /api/grafana`: webhooks in, alarm
//! transitions out, through [`Node::publish`] on `alarms` like every other
//! alarm (so they are in `alarms.active` and the history, and can be
//! acknowledged and silenced).
//!
//! Alertmanager re-sends firing alerts every `group_interval` and
//! `repeat_interval` and retries on errors, so ingestion is idempotent: an
//! alert whose alarm is already active (firing or acknowledged) publishes
//! nothing (no second notification, and the acknowledgement stays), and a
//! resolved alert whose alarm is not active is ignored. The answer counts
//! what happened: `{"accepted","firing","resolved","unchanged"}`.
//!
//! Auth: `/api/alertmanager` takes the `--api-key` or a `--publish-key`, as
//! `Authorization: Bearer KEY` (what Alertmanager's `http_config.authorization`
//! sends), `Authorization: apikey KEY`, `X-API-Key` or `?api_key=`.
//! `/api/grafana` takes the same keys when the hub has no
//! `--grafana-secret`; with one, the HMAC signature is required and is
//! enough (wrong or missing → 401 even with a key), so a contact point
//! whose secret is wrong is noticed at once instead of working by key.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use telltale_protocol::{Alarm, AlarmState, ALARMS_CHANNEL};

use crate::alert_webhook::{Payload, Sender, SeverityMap};
use crate::api::{closing, read_body};
use crate::api_access::Access;
use crate::auth::presented_api_key;
use crate::grafana_signature;
use crate::node::{Node, PublishOptions};

/// Longest `?receiver=` name.
const MAX_RECEIVER_LEN: usize = 64;

/// Serializes ingestion on a node, so that two deliveries of one alert
/// (a retry racing the original) cannot both see the alarm inactive and
/// both publish it firing.
#[derive(Default)]
pub struct IngestLock(tokio::sync::Mutex<()>);

/// What one webhook did, the 200 answer.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Alerts in the payload.
    pub accepted: usize,
    /// Firing transitions published.
    pub firing: usize,
    /// Resolved transitions published.
    pub resolved: usize,
    /// Alerts that changed nothing (a repeat, or resolved and not active).
    pub unchanged: usize,
    /// Alerts that could not be published, with why (e.g. larger than
    /// `--max-message-size`); re-sending would not help, so still 200.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// `POST /api/alertmanager`.
pub async fn alertmanager(
    State(node): State<Node>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(node, Sender::Alertmanager, query, headers, body).await
}

/// `POST /api/grafana`.
pub async fn grafana(
    State(node): State<Node>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(node, Sender::Grafana, query, headers, body).await
}

async fn handle(
    node: Node,
    sender: Sender,
    query: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let secret = match sender {
        Sender::Grafana => node.config().grafana_secret.clone(),
        Sender::Alertmanager => None,
    };
    // Without a signature to check, the key is checked before the body is
    // read, as for the rest of the API.
    if secret.is_none() && !key_accepted(&node, &headers, query.as_deref()) {
        node.local().metrics.refuse("api_key");
        return closing(unauthorized(&format!(
            "missing or wrong key: send Authorization: Bearer KEY (or X-API-Key) with the hub's \
             --api-key or a --publish-key{}",
            match sender {
                Sender::Grafana => ", or set --grafana-secret and sign",
                Sender::Alertmanager => "",
            }
        )));
    }
    let receiver = match receiver(query.as_deref(), sender) {
        Ok(receiver) => receiver,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let limit = node.config().api_body_limit();
    let body = match read_body(&headers, body, limit, node.config().body_read_timeout).await {
        Ok(body) => body,
        Err(refusal) => {
            node.local().metrics.refuse("api_body");
            return closing(refusal);
        }
    };
    if let Some(secret) = &secret {
        if let Err(bad) = grafana_signature::verify(secret, &headers, &body) {
            node.local().metrics.refuse("api_key");
            return unauthorized(&bad.0);
        }
    }
    let payload = match Payload::parse(&body, sender) {
        Ok(payload) => payload,
        Err(bad) => return (StatusCode::BAD_REQUEST, bad.0).into_response(),
    };
    let severities = SeverityMap::new(&node.config().alert_severity);
    let mut alarms = payload.alarms(sender, &receiver, &severities);
    if let Some(template) = &node.config().alert_title {
        for alarm in &mut alarms {
            alarm.title = crate::alert_webhook::render_title(template, &alarm.labels);
        }
    }
    let summary = ingest(&node, alarms).await;
    let label = match sender {
        Sender::Alertmanager => "alertmanager",
        Sender::Grafana => "grafana",
    };
    let counter = |outcome: &str| {
        node.local()
            .metrics
            .alerts_received
            .with_label_values(&[label, outcome])
    };
    counter("firing").inc_by(summary.firing as u64);
    counter("resolved").inc_by(summary.resolved as u64);
    counter("unchanged").inc_by(summary.unchanged as u64);
    counter("error").inc_by(summary.errors.len() as u64);
    tracing::debug!(?sender, receiver, ?summary, "alerts received");
    axum::Json(summary).into_response()
}

fn unauthorized(message: &str) -> Response {
    (StatusCode::UNAUTHORIZED, message.to_owned()).into_response()
}

/// Whether the request carries the admin key or a publish key (both may
/// publish on `alarms`), in any form the API takes or as a bearer token.
fn key_accepted(node: &Node, headers: &HeaderMap, query: Option<&str>) -> bool {
    let bearer = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim());
    let presented = presented_api_key(headers, query).or(bearer);
    Access::of(presented, node.config()).is_some()
}

/// The `?receiver=` name (default: the sender's), which prefixes alarm ids
/// so that two Alertmanagers never share one.
fn receiver(query: Option<&str>, sender: Sender) -> Result<String, String> {
    let given = query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "receiver")
            .map(|(_, v)| v.into_owned())
    });
    let Some(name) = given else {
        return Ok(sender.default_receiver().to_owned());
    };
    let valid = !name.is_empty()
        && name.len() <= MAX_RECEIVER_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    match valid {
        true => Ok(name),
        false => Err(format!(
            "receiver {name:?} must be 1 to {MAX_RECEIVER_LEN} letters, digits, '.', '_' or '-' \
             (it prefixes the alarm ids)"
        )),
    }
}

/// Publishes the alarms that are transitions; see the module doc.
pub async fn ingest(node: &Node, alarms: Vec<Alarm>) -> Summary {
    let _serial = node.local().ingest.0.lock().await;
    let mut summary = Summary {
        accepted: alarms.len(),
        ..Summary::default()
    };
    for alarm in alarms {
        let active = match node.alarm(&alarm.id).await {
            Ok(current) => current.is_some(),
            Err(e) => {
                summary.errors.push(format!("{}: {}", alarm.id, e.message));
                continue;
            }
        };
        let counter = match (alarm.state, active) {
            (AlarmState::Firing, false) => &mut summary.firing,
            (AlarmState::Resolved, true) => &mut summary.resolved,
            _ => {
                summary.unchanged += 1;
                continue;
            }
        };
        let data = serde_json::value::to_raw_value(&alarm).expect("alarms serialize");
        match node
            .publish(ALARMS_CHANNEL, data, PublishOptions::default())
            .await
        {
            Ok(_) => *counter += 1,
            Err(e) => {
                tracing::warn!(id = alarm.id, error = %e, "could not publish a received alert");
                summary.errors.push(format!("{}: {}", alarm.id, e.message));
            }
        }
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receiver_names_are_checked() {
        assert_eq!(
            receiver(None, Sender::Alertmanager).unwrap(),
            "alertmanager"
        );
        assert_eq!(receiver(Some("x=1"), Sender::Grafana).unwrap(), "grafana");
        assert_eq!(
            receiver(Some("a=1&receiver=am-eu.1"), Sender::Alertmanager).unwrap(),
            "am-eu.1"
        );
        for bad in ["receiver=", "receiver=a/b", "receiver=a%20b"] {
            assert!(receiver(Some(bad), Sender::Alertmanager).is_err(), "{bad}");
        }
    }
}
