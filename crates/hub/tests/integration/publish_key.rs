//! `--publish-key`: a key that may publish metrics and alarms and nothing
//! else, next to the admin `--api-key`.

use serde_json::{json, Value};

use crate::support::*;

const PUBLISH_KEY: &str = "test-publish-key";

async fn hub() -> Hub {
    Hub::with(|c| c.publish_keys = vec!["another-publish-key".into(), PUBLISH_KEY.into()]).await
}

/// `POST /api/<method>` with `key`: the status and the body as text.
async fn post(hub: &Hub, key: &str, method: &str, body: Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/{method}", hub.addr))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The `result` of a call that must succeed.
async fn ok(hub: &Hub, key: &str, method: &str, body: Value) -> Value {
    let (status, text) = post(hub, key, method, body).await;
    assert_eq!(status, 200, "{method}: {text}");
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply
}

fn sample() -> Value {
    json!({"ts": 1_700_000_000_000_i64, "values": {"cpu.total": 12.5}})
}

fn alarm() -> Value {
    json!({"id": "cpu-high", "source": "web-1", "severity": "warning", "state": "firing",
           "title": "CPU high", "message": "cpu.total above 90", "ts": 1})
}

#[tokio::test]
async fn a_publish_key_publishes_metrics_and_alarms_to_subscribers() {
    let hub = hub().await;
    let mut subscriber = Client::anonymous(&hub).await;
    subscriber.subscribe("metrics:web-1").await;
    subscriber.subscribe("alarms").await;

    let published = ok(
        &hub,
        PUBLISH_KEY,
        "publish",
        json!({"channel": "metrics:web-1", "data": sample()}),
    )
    .await;
    assert_eq!(published["result"]["offset"], 1, "{published}");
    let (channel, _, data) = subscriber.next_publication().await;
    assert_eq!((channel.as_str(), data), ("metrics:web-1", sample()));

    ok(
        &hub,
        PUBLISH_KEY,
        "publish",
        json!({"channel": "alarms", "data": alarm()}),
    )
    .await;
    let (channel, _, data) = subscriber.next_publication().await;
    assert_eq!((channel.as_str(), data), ("alarms", alarm()));

    let broadcast = ok(
        &hub,
        PUBLISH_KEY,
        "broadcast",
        json!({"channels": ["metrics:web-1", "alarms"], "data": alarm()}),
    )
    .await;
    assert_eq!(
        broadcast["result"]["responses"].as_array().map(Vec::len),
        Some(2),
        "{broadcast}"
    );
    let mut channels = vec![
        subscriber.next_publication().await.0,
        subscriber.next_publication().await.0,
    ];
    channels.sort();
    assert_eq!(channels, ["alarms", "metrics:web-1"]);

    let batch = ok(
        &hub,
        PUBLISH_KEY,
        "batch",
        json!({"commands": [
            {"publish": {"channel": "metrics:web-1", "data": sample()}},
            {"broadcast": {"channels": ["alarms"], "data": alarm()}},
        ]}),
    )
    .await;
    assert!(batch["replies"][0]["publish"].is_object(), "{batch}");
    assert!(batch["replies"][1]["broadcast"].is_object(), "{batch}");
    subscriber.close().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_publish_key_is_refused_403_outside_metrics_and_alarms() {
    let hub = hub().await;
    let forbidden = [
        ("disconnect", json!({"user": "alice"})),
        ("history", json!({"channel": "alarms", "limit": 10})),
        ("info", json!({})),
        ("channels", json!({})),
        ("presence", json!({"channel": "alarms"})),
        ("publish", json!({"channel": "news", "data": {"x": 1}})),
        ("publish", json!({"channel": "private:x", "data": {"x": 1}})),
        (
            "broadcast",
            json!({"channels": ["metrics:web-1", "news"], "data": {"x": 1}}),
        ),
        (
            "batch",
            json!({"commands": [
                {"publish": {"channel": "metrics:web-1", "data": sample()}},
                {"history": {"channel": "alarms", "limit": 10}},
            ]}),
        ),
    ];
    for (method, body) in &forbidden {
        let (status, text) = post(&hub, PUBLISH_KEY, method, body.clone()).await;
        assert_eq!(status, 403, "{method} {body}: {text}");
        assert!(
            text.starts_with("this key may only publish on metrics:* and alarms (--publish-key)")
                && text.contains("--api-key")
                && !text.contains('\n'),
            "{method}: {text}"
        );
    }
    let (_, history) = post(&hub, PUBLISH_KEY, "history", json!({"channel": "alarms"})).await;
    assert!(
        history.ends_with("use the --api-key for /api/history"),
        "{history}"
    );

    // Nothing of a refused request was published, not even the allowed part
    // of the broadcast or the batch.
    for channel in ["news", "private:x", "metrics:web-1"] {
        let history = hub
            .api("history", json!({"channel": channel, "limit": 10}))
            .await;
        assert_eq!(history["result"]["offset"], 0, "{channel}: {history}");
    }
    let metrics = hub.metrics().await;
    let line = format!(
        "telltale_hub_permission_denied_total{{action=\"api\"}} {}",
        forbidden.len() + 1
    );
    assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    hub.stop().await;
}

#[tokio::test]
async fn a_wrong_key_is_401_and_the_admin_key_still_does_everything() {
    let hub = hub().await;
    let (status, _) = post(
        &hub,
        "test-publish-ke",
        "publish",
        json!({"channel": "alarms", "data": alarm()}),
    )
    .await;
    assert_eq!(status, 401);

    let mut subscriber = Client::anonymous(&hub).await;
    subscriber.subscribe("news").await;
    ok(
        &hub,
        API_KEY,
        "publish",
        json!({"channel": "news", "data": {"x": 1}}),
    )
    .await;
    assert_eq!(subscriber.next_publication().await.0, "news");
    let history = ok(
        &hub,
        API_KEY,
        "history",
        json!({"channel": "news", "limit": 10}),
    )
    .await;
    assert_eq!(history["result"]["offset"], 1, "{history}");
    ok(&hub, API_KEY, "info", json!({})).await;
    ok(
        &hub,
        API_KEY,
        "batch",
        json!({"commands": [{"history": {"channel": "news"}}, {"info": {}}]}),
    )
    .await;
    ok(&hub, API_KEY, "disconnect", json!({"user": ""})).await;
    assert!(subscriber.closed().await.is_some());
    hub.stop().await;
}
