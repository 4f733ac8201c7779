//! What clients make the hub hold is bounded and given back: streams,
//! history, catalog entries.

use std::time::Duration;

use serde_json::{json, Value};

use super::{bystander, still_served};
use crate::support::{Client, Hub};

/// The hub's `streams` gauge after a sweep.
async fn streams(hub: &Hub) -> (usize, usize) {
    let report = hub.node.sweep();
    (report.streams, report.publications)
}

#[tokio::test]
async fn reading_or_subscribing_to_unknown_channels_allocates_no_stream() {
    let hub = Hub::with(|c| c.client_command_burst = 10_000).await;
    let mut client = Client::anonymous(&hub).await;
    // Batched in frames, as an attacker would.
    for batch in 0..10 {
        let frame: Vec<String> = (0..200)
            .map(|n| {
                let id = 1_000_000 + batch * 1000 + n * 2 + 1;
                let channel = format!("junk:{batch}:{n}");
                format!(
                    "{}\n{}",
                    json!({"id": id, "history": {"channel": channel, "limit": 10}}),
                    json!({"id": id + 1, "subscribe": {"channel": channel}})
                )
            })
            .collect();
        client.send_text(frame.join("\n")).await;
        let last = 1_000_000 + batch * 1000 + 400;
        client.reply_to(last as u64).await;
        for n in 0..200 {
            let channel = format!("junk:{batch}:{n}");
            client
                .command("unsubscribe", json!({"channel": channel}))
                .await;
        }
    }
    let probe = client.call("history", json!({"channel": "probe"})).await;
    assert!(probe["history"].is_object(), "{probe}");
    assert_eq!(
        streams(&hub).await,
        (0, 0),
        "nothing was published, nothing is held"
    );
    assert!(hub.node.local().hub.channel_counts().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn expired_history_is_freed_and_idle_channels_forget_their_stream() {
    let hub = Hub::with(|c| {
        c.history_ttl = Duration::from_millis(300);
        c.history_meta_ttl = Duration::from_millis(900);
    })
    .await;
    let mut other = bystander(&hub).await;
    let mut epochs = Vec::new();
    for n in 0..50 {
        let reply = hub
            .api(
                "publish",
                json!({"channel": format!("burst:{n}"), "data": n}),
            )
            .await;
        epochs.push(reply["result"]["epoch"].as_str().unwrap().to_owned());
    }
    let (held, publications) = streams(&hub).await;
    assert_eq!((held, publications), (50, 50));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        streams(&hub).await,
        (50, 0),
        "history expired, positions kept"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    // `ch` has a subscriber (the bystander) but was never published on.
    assert_eq!(streams(&hub).await, (0, 0), "idle streams forgotten");
    let after = hub.api("history", json!({"channel": "burst:0"})).await;
    assert_eq!(after["result"]["offset"], 0, "{after}");
    assert_ne!(
        after["result"]["epoch"],
        Value::from(epochs[0].clone()),
        "new epoch"
    );
    let metrics = hub.metrics().await;
    assert!(metrics.contains("telltale_hub_streams 0"), "{metrics}");
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn the_sweeper_runs_by_itself() {
    let hub = Hub::with(|c| {
        c.history_ttl = Duration::from_millis(200);
        c.history_meta_ttl = Duration::from_millis(200);
    })
    .await;
    hub.publish("once", json!(1)).await;
    // The sweep runs every second at the shortest; within 3 s it must have
    // forgotten the stream without anyone asking.
    let mut forgotten = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let metrics = hub.metrics().await;
        if metrics.contains("telltale_hub_streams 0")
            && metrics.contains("telltale_hub_history_publications 0")
        {
            forgotten = true;
            break;
        }
    }
    assert!(forgotten, "the background sweep freed the stream");
    hub.stop().await;
}

#[tokio::test]
async fn catalog_answers_are_paged_and_metric_names_are_capped() {
    let hub = Hub::with(|c| {
        c.max_metrics_per_source = 20;
        c.client_queue_bytes = 64 * 1024;
        c.max_message_size = 16 * 1024;
    })
    .await;
    let commands: Vec<Value> = (0..2000)
        .map(|n| {
            let values: serde_json::Map<String, Value> =
                (0..10).map(|m| (format!("metric.{m}"), json!(m))).collect();
            json!({"publish": {"channel": format!("metrics:host-{n:04}"), "data": {"ts": 1, "values": values}}})
        })
        .collect();
    for chunk in commands.chunks(50) {
        hub.api("batch", json!({"commands": chunk})).await;
    }
    let mut client = Client::anonymous(&hub).await;
    let mut seen = 0;
    let mut offset = 0;
    for page in 0..2000 {
        let reply = client
            .call(
                "rpc",
                json!({"method": "catalog", "data": {"offset": offset}}),
            )
            .await;
        let data = &reply["rpc"]["data"];
        assert!(
            reply.to_string().len() <= 64 * 1024,
            "page {page} fits the client queue"
        );
        seen += data["sources"].as_array().unwrap().len();
        match data["next_offset"].as_u64() {
            Some(next) => {
                assert_eq!(data["truncated"], true);
                offset = next;
            }
            None => break,
        }
    }
    assert_eq!(seen, 2000, "every source, once, over the pages");
    let values: serde_json::Map<String, Value> =
        (0..11).map(|m| (format!("extra.{m}"), json!(m))).collect();
    let refused = hub
        .api(
            "publish",
            json!({"channel": "metrics:host-0000", "data": {"ts": 2, "values": values}}),
        )
        .await;
    assert_eq!(refused["error"]["code"], 106, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-metrics-per-source"),
        "{refused}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn sources_unseen_for_forget_after_leave_the_catalog() {
    let hub = Hub::with(|c| c.catalog_forget_after = Duration::from_millis(300)).await;
    hub.publish("metrics:gone", json!({"ts": 1, "values": {"x": 1}}))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    hub.publish("metrics:here", json!({"ts": 1, "values": {"x": 1}}))
        .await;
    hub.node.sweep();
    hub.node.forget_idle_sources().await;
    let mut client = Client::anonymous(&hub).await;
    let reply = client.call("rpc", json!({"method": "catalog"})).await;
    let names: Vec<_> = reply["rpc"]["data"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["here"]);
    hub.stop().await;
}
