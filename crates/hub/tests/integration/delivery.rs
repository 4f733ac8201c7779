//! Connect, subscribe, publish, unsubscribe; batching; slow clients.

use serde_json::json;

use telltale_hub::permissions::Namespace;

use crate::support::{Client, Event, Hub, WAIT};

#[tokio::test]
async fn subscribe_publish_unsubscribe() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    let sub = client.subscribe("news").await;
    assert_eq!(sub["recoverable"], true);
    assert_eq!(sub["positioned"], true);
    assert!(sub["epoch"].as_str().is_some_and(|e| !e.is_empty()));

    let offset = hub.publish("news", json!({"text": "hello"})).await;
    assert_eq!(offset, 1);
    assert_eq!(
        client.next_publication().await,
        ("news".into(), 1, json!({"text": "hello"}))
    );

    let reply = client.call("unsubscribe", json!({"channel": "news"})).await;
    assert_eq!(reply["unsubscribe"], json!({}));
    hub.publish("news", json!({"text": "after"})).await;
    hub.publish("other", json!({})).await;
    // A later reply proves nothing from `news` was queued in between.
    let reply = client.call("history", json!({"channel": "news"})).await;
    assert_eq!(reply["history"]["offset"], 2);
    let channels = hub.api("channels", json!({})).await;
    assert_eq!(channels["result"]["channels"], json!({}));
    hub.stop().await;
}

#[tokio::test]
async fn batched_commands_in_one_frame_are_answered_in_order() {
    let hub = Hub::start().await;
    hub.publish("a", json!(1)).await;
    let mut client = Client::open(&hub).await;
    client
        .send_text("{\"connect\":{\"name\":\"js\"},\"id\":1}\n{\"subscribe\":{\"channel\":\"a\",\"flag\":1},\"id\":2}\n")
        .await;
    let Event::Object(connect) = client.next_event().await else {
        panic!("closed")
    };
    assert_eq!(connect["id"], 1);
    assert_eq!(connect["connect"]["pong"], true);
    assert_eq!(connect["connect"]["ping"], 25);
    let Event::Object(subscribe) = client.next_event().await else {
        panic!("closed")
    };
    assert_eq!(subscribe["id"], 2);
    assert_eq!(subscribe["subscribe"]["offset"], 1);
    hub.stop().await;
}

#[tokio::test]
async fn client_publish_needs_permission_and_carries_info() {
    let hub = Hub::with(|c| {
        c.namespaces.insert(
            "chat".into(),
            Namespace {
                publish: false,
                ..Namespace::open()
            },
        );
    })
    .await;
    let mut client = Client::anonymous(&hub).await;
    let reply = client
        .call("publish", json!({"channel": "chat", "data": {"m": 1}}))
        .await;
    assert_eq!(reply["error"]["code"], 103, "{reply}");
    hub.stop().await;

    // The test hub's "*" rule lets anyone publish.
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    client.subscribe("chat").await;
    let id = client
        .command("publish", json!({"channel": "chat", "data": {"m": 1}}))
        .await;
    let mut saw_reply = false;
    let mut saw_pub = false;
    while !(saw_reply && saw_pub) {
        let Event::Object(v) = client.next_event().await else {
            panic!("closed")
        };
        if v["id"].as_u64() == Some(id) {
            assert_eq!(v["publish"], json!({}));
            saw_reply = true;
        } else if v["push"]["pub"].is_object() {
            assert!(v["push"]["pub"]["info"]["client"].is_string(), "{v}");
            saw_pub = true;
        }
    }
    hub.stop().await;
}

#[tokio::test]
async fn slow_client_is_cut_with_3008_while_fast_one_gets_everything() {
    const TOTAL: u64 = 3072;
    const BATCH: u64 = 16;
    let hub = Hub::with(|c| c.client_queue_bytes = 256 * 1024).await;
    let mut fast = Client::anonymous(&hub).await;
    fast.subscribe("firehose").await;
    let mut slow = Client::open_tiny_buffer(&hub).await;
    slow.subscribe("firehose").await;

    let payload = "x".repeat(8 * 1024);
    let node = hub.node.clone();
    let mut received = 0;
    for batch in 0..TOTAL / BATCH {
        for n in 0..BATCH {
            let data =
                serde_json::value::to_raw_value(&json!({"n": batch * BATCH + n, "p": payload}))
                    .unwrap();
            node.publish("firehose", data, Default::default())
                .await
                .unwrap();
        }
        // Pace the publisher on the fast client only: the slow one never reads.
        while received < (batch + 1) * BATCH {
            let (_, offset, data) = fast.next_publication().await;
            received += 1;
            assert_eq!(offset, received, "fast client: every publication, in order");
            assert_eq!(data["n"], received - 1);
        }
    }
    assert_eq!(received, TOTAL);
    // The slow client finds its backlog, then the close with 3008.
    let code = tokio::time::timeout(WAIT * 2, slow.closed())
        .await
        .expect("close in time");
    assert_eq!(code, Some(3008));
    slow.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let metrics = hub.metrics().await;
        if metrics.contains("telltale_hub_slow_disconnects_total 1") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "slow disconnect not counted:\n{metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    hub.stop().await;
}
