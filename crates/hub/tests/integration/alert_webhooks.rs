//! `/api/alertmanager` and `/api/grafana` over a real hub: alerts arrive at
//! subscribers of `alarms` once per transition.

use serde_json::{json, Value};
use telltale_hub::grafana_signature::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};

use crate::support::{token, Client, Hub, API_KEY, SECRET};

const PUBLISH_KEY: &str = "am-publish-key";
const GRAFANA_SECRET: &str = "grafana-hmac-secret";

fn alert(status: &str, fingerprint: &str, severity: Option<&str>) -> Value {
    let mut labels = json!({"alertname": "HighLoad", "instance": "web-1:9100", "job": "node"});
    if let Some(severity) = severity {
        labels["severity"] = json!(severity);
    }
    json!({
        "status": status,
        "labels": labels,
        "annotations": {"summary": "load above 4", "runbook_url": "https://runbooks.example/load"},
        "startsAt": "2026-12-01T00:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint
    })
}

fn payload(alerts: Vec<Value>) -> Value {
    json!({
        "version": "4", "receiver": "telltale", "status": "firing",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093", "groupKey": "{}", "truncatedAlerts": 0,
        "alerts": alerts
    })
}

/// `POST /api/<path>` with `headers` and a raw body: status and text.
async fn post(hub: &Hub, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/api/{path}", hub.addr))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Posts `body` to Alertmanager's endpoint with a bearer key; the summary.
async fn alertmanager(hub: &Hub, query: &str, body: &Value) -> Value {
    let bearer = format!("Bearer {PUBLISH_KEY}");
    let (status, text) = post(
        hub,
        &format!("alertmanager{query}"),
        &[("Authorization", &bearer)],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn summary(accepted: u64, firing: u64, resolved: u64, unchanged: u64) -> Value {
    json!({"accepted": accepted, "firing": firing, "resolved": resolved, "unchanged": unchanged})
}

async fn hub() -> Hub {
    Hub::with(|c| {
        c.publish_keys = vec![PUBLISH_KEY.into()];
        c.alert_severity = [("page".to_owned(), telltale_protocol::Severity::Critical)].into();
        c.anonymous_ack = true;
    })
    .await
}

#[tokio::test]
async fn alertmanager_alerts_fire_once_and_resolve() {
    let hub = hub().await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;

    let firing = payload(vec![alert("firing", "f1", Some("page"))]);
    let reply = alertmanager(&hub, "?receiver=am1", &firing).await;
    assert_eq!(reply, summary(1, 1, 0, 0));
    let (channel, _, alarm) = watcher.next_publication().await;
    assert_eq!(channel, "alarms");
    assert_eq!(alarm["id"], "am1/f1");
    assert_eq!(alarm["state"], "firing");
    assert_eq!(alarm["severity"], "critical");
    assert_eq!(alarm["source"], "web-1:9100");
    assert_eq!(alarm["title"], "HighLoad on web-1:9100");
    assert_eq!(alarm["message"], "load above 4");
    assert_eq!(alarm["labels"]["job"], "node");
    assert_eq!(alarm["links"]["runbook"], "https://runbooks.example/load");
    assert_eq!(alarm["links"]["alertmanager"], "http://alertmanager:9093");

    // A repeat (group_interval, or a retry) publishes nothing: the next
    // publication the watcher gets is the resolution.
    let reply = alertmanager(&hub, "?receiver=am1", &firing).await;
    assert_eq!(reply, summary(1, 0, 0, 1));
    // Another receiver with the same fingerprint is another alarm.
    let reply = alertmanager(&hub, "?receiver=am2", &firing).await;
    assert_eq!(reply, summary(1, 1, 0, 0));
    let (_, _, other) = watcher.next_publication().await;
    assert_eq!(
        (&other["id"], &other["state"]),
        (&json!("am2/f1"), &json!("firing"))
    );

    let resolved = payload(vec![alert("resolved", "f1", Some("page"))]);
    let reply = alertmanager(&hub, "?receiver=am1", &resolved).await;
    assert_eq!(reply, summary(1, 0, 1, 0));
    let (_, _, alarm) = watcher.next_publication().await;
    assert_eq!(
        (&alarm["id"], &alarm["state"]),
        (&json!("am1/f1"), &json!("resolved"))
    );
    // Resolved again (Alertmanager's retry): not active any more, ignored.
    let reply = alertmanager(&hub, "?receiver=am1", &resolved).await;
    assert_eq!(reply, summary(1, 0, 0, 1));

    let active = watcher
        .call("rpc", json!({"method": "alarms.active"}))
        .await;
    let ids: Vec<&str> = active["rpc"]["data"]["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["am2/f1"]);
    hub.stop().await;
}

#[tokio::test]
async fn a_repeat_keeps_the_acknowledgement_and_unknown_severity_is_warning() {
    let hub = hub().await;
    let ann = token(json!({"sub": "ann", "telltale": {"caps": ["ack"]}}), SECRET);
    let (mut acker, _) = Client::connect(&hub, &ann).await;
    acker.subscribe("alarms").await;

    let firing = payload(vec![alert("firing", "f2", Some("sev-9000"))]);
    assert_eq!(alertmanager(&hub, "", &firing).await, summary(1, 1, 0, 0));
    let (_, _, alarm) = acker.next_publication().await;
    assert_eq!(alarm["id"], "alertmanager/f2", "default receiver name");
    assert_eq!(
        alarm["severity"], "warning",
        "unknown severity is not dropped"
    );

    let reply = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "alertmanager/f2"}}),
        )
        .await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["state"], "acknowledged",
        "{reply}"
    );
    let (_, _, acked) = acker.next_publication().await;
    assert_eq!(acked["state"], "acknowledged");

    assert_eq!(alertmanager(&hub, "", &firing).await, summary(1, 0, 0, 1));
    let active = acker.call("rpc", json!({"method": "alarms.active"})).await;
    let alarm = &active["rpc"]["data"]["alarms"][0];
    assert_eq!(
        (&alarm["state"], &alarm["by"]),
        (&json!("acknowledged"), &json!("ann"))
    );

    let no_severity = payload(vec![alert("firing", "f3", None)]);
    alertmanager(&hub, "", &no_severity).await;
    let (_, _, alarm) = acker.next_publication().await;
    assert_eq!(
        (&alarm["id"], &alarm["severity"]),
        (&json!("alertmanager/f3"), &json!("warning"))
    );
    hub.stop().await;
}

#[tokio::test]
async fn alertmanager_refuses_bad_keys_and_bad_bodies() {
    let hub = hub().await;
    let body = payload(vec![alert("firing", "f1", None)]).to_string();
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Basic dXNlcjpwYXNz")],
        vec![("X-API-Key", "wrong")],
    ] {
        let (status, text) = post(&hub, "alertmanager", &headers, body.as_bytes()).await;
        assert_eq!(status, 401, "{headers:?}: {text}");
        assert!(text.contains("Bearer"), "{text}");
    }
    let admin = format!("apikey {API_KEY}");
    let (status, text) = post(
        &hub,
        "alertmanager",
        &[("Authorization", &admin)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "the admin key too: {text}");
    let (status, _) = post(
        &hub,
        "alertmanager",
        &[("X-API-Key", PUBLISH_KEY)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);

    let bearer = format!("Bearer {PUBLISH_KEY}");
    let auth = [("Authorization", bearer.as_str())];
    let (status, text) = post(&hub, "alertmanager", &auth, b"{not json").await;
    assert_eq!(status, 400);
    assert!(
        text.contains("not an Alertmanager webhook payload"),
        "{text}"
    );
    let (status, text) = post(
        &hub,
        "alertmanager",
        &auth,
        br#"{"alerts":[{"status":"odd"}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("\"firing\" or \"resolved\""), "{text}");
    let (status, text) = post(&hub, "alertmanager?receiver=a/b", &auth, body.as_bytes()).await;
    assert_eq!(status, 400);
    assert!(text.contains("receiver"), "{text}");
    hub.stop().await;
}

fn grafana_payload(status: &str) -> Vec<u8> {
    let mut payload: Value =
        serde_json::from_str(include_str!("../fixtures/grafana-webhook.json")).unwrap();
    payload["alerts"][0]["status"] = json!(status);
    payload.to_string().into_bytes()
}

#[tokio::test]
async fn grafana_signatures_are_checked_when_a_secret_is_set() {
    let hub = Hub::with(|c| c.grafana_secret = Some(GRAFANA_SECRET.into())).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let body = grafana_payload("firing");

    let (status, text) = post(&hub, "grafana", &[("X-API-Key", API_KEY)], &body).await;
    assert_eq!(status, 401, "a key is no substitute for the signature");
    assert!(
        text.contains("missing X-Grafana-Alerting-Signature"),
        "{text}"
    );
    let wrong = sign("not-the-secret", None, &body);
    let (status, text) = post(&hub, "grafana", &[(SIGNATURE_HEADER, &wrong)], &body).await;
    assert_eq!(status, 401);
    assert!(
        text.contains("wrong X-Grafana-Alerting-Signature"),
        "{text}"
    );
    let stale = sign(GRAFANA_SECRET, Some("1764547200"), &body);
    let replayed = [
        (SIGNATURE_HEADER, stale.as_str()),
        (TIMESTAMP_HEADER, "1764547299"),
    ];
    assert_eq!(post(&hub, "grafana", &replayed, &body).await.0, 401);

    let good = sign(GRAFANA_SECRET, None, &body);
    let (status, text) = post(&hub, "grafana", &[(SIGNATURE_HEADER, &good)], &body).await;
    assert_eq!(status, 200, "{text}");
    let (_, _, alarm) = watcher.next_publication().await;
    assert_eq!(alarm["id"], "grafana/c6eadffa33fcdf37");
    assert_eq!(alarm["state"], "firing");
    assert_eq!(
        alarm["links"]["dashboard"],
        "http://grafana:3000/d/node?orgId=1"
    );

    let resolved = grafana_payload("resolved");
    let ts = "1764547300";
    let stamped = sign(GRAFANA_SECRET, Some(ts), &resolved);
    let headers = [(SIGNATURE_HEADER, stamped.as_str()), (TIMESTAMP_HEADER, ts)];
    let (status, text) = post(&hub, "grafana", &headers, &resolved).await;
    assert_eq!(
        (status, text.as_str()),
        (
            200,
            r#"{"accepted":1,"firing":0,"resolved":1,"unchanged":0}"#
        )
    );
    let (_, _, alarm) = watcher.next_publication().await;
    assert_eq!(alarm["state"], "resolved");
    hub.stop().await;
}

#[tokio::test]
async fn grafana_without_a_secret_takes_the_keys() {
    let hub = hub().await;
    let body = grafana_payload("firing");
    assert_eq!(post(&hub, "grafana", &[], &body).await.0, 401);
    let bearer = format!("Bearer {PUBLISH_KEY}");
    let (status, text) = post(
        &hub,
        "grafana?receiver=g1",
        &[("Authorization", &bearer)],
        &body,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(hub
        .node
        .alarm("g1/c6eadffa33fcdf37")
        .await
        .unwrap()
        .is_some());
    let (status, text) = post(&hub, "grafana", &[("Authorization", &bearer)], b"[]").await;
    assert_eq!(status, 400);
    assert!(text.contains("Grafana webhook contact point"), "{text}");
    hub.stop().await;
}
