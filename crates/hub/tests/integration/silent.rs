//! Silent sources: a source that stops publishing raises `<source>/silent`
//! on `alarms`, and its next sample resolves it. (A real `telltale-agent`
//! killed with SIGKILL is in the agent crate's tests.)

use std::time::Duration;

use serde_json::{json, Value};
use telltale_protocol::payload::now_ms;

use crate::support::{Client, Hub};

const SAMPLE_EVERY: Duration = Duration::from_millis(200);

fn sample() -> Value {
    json!({"ts": now_ms(), "values": {"cpu.total": 12.5}})
}

/// The next push on `alarms` about `id`, as `(state, message)`.
async fn next_alarm(client: &mut Client, id: &str) -> (String, String) {
    loop {
        let (channel, _, data) = client.next_publication().await;
        if channel == "alarms" && data["id"] == id {
            let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
            assert_eq!(data["title"], "web-1 is silent", "{data}");
            assert_eq!(data["labels"]["rule"], "silent", "{data}");
            return (text("state"), text("message"));
        }
    }
}

#[tokio::test]
async fn a_source_that_stops_is_silent_until_it_publishes_again() {
    let hub = Hub::with(|c| c.min_stale_after = Duration::from_secs(1)).await;
    let mut client = Client::anonymous(&hub).await;
    client.subscribe("alarms").await;
    let before = now_ms();
    for _ in 0..5 {
        hub.publish("metrics:web-1", sample()).await;
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let (state, message) = next_alarm(&mut client, "web-1/silent").await;
    assert_eq!(state, "firing");
    assert!(message.starts_with("no sample for "), "{message}");
    assert!(message.contains("expected about every"), "{message}");
    let metrics = hub.metrics().await;
    assert!(
        metrics.contains("telltale_hub_silent_sources 1"),
        "{metrics}"
    );

    let catalog = client.call("rpc", json!({"method": "catalog"})).await;
    let source = &catalog["rpc"]["data"]["sources"][0];
    assert_eq!(source["source"], "web-1", "{catalog}");
    let last_seen = source["last_seen"].as_i64().expect("last_seen");
    assert!(
        (before..=now_ms()).contains(&last_seen),
        "{last_seen} by the hub's clock"
    );

    hub.publish("metrics:web-1", sample()).await;
    let (state, message) = next_alarm(&mut client, "web-1/silent").await;
    assert_eq!(state, "resolved");
    assert!(message.starts_with("sample received again"), "{message}");
    hub.stop().await;
}
