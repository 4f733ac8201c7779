//! Recovery after a reconnect, and when it is impossible.

use serde_json::{json, Value};

use crate::support::{Client, Hub};

fn offsets(publications: &Value) -> Vec<u64> {
    publications
        .as_array()
        .map(|a| a.iter().map(|p| p["offset"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn missed_publications_are_recovered_in_order_exactly_once() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    let sub = client.subscribe("alarms-test").await;
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    for n in 1..=3 {
        hub.publish("alarms-test", json!({"n": n})).await;
        assert_eq!(client.next_publication().await.1, n);
    }
    client.close().await;

    for n in 4..=6 {
        hub.publish("alarms-test", json!({"n": n})).await;
    }
    let mut client = Client::anonymous(&hub).await;
    let reply = client
        .call(
            "subscribe",
            json!({"channel": "alarms-test", "recover": true, "offset": 3, "epoch": epoch}),
        )
        .await;
    let sub = &reply["subscribe"];
    assert_eq!(sub["recovered"], true, "{reply}");
    assert_eq!(sub["was_recovering"], true);
    assert_eq!(
        sub["offset"], 3,
        "offset is the request offset when recovered"
    );
    assert_eq!(offsets(&sub["publications"]), [4, 5, 6]);
    assert_eq!(sub["publications"][0]["data"], json!({"n": 4}));

    hub.publish("alarms-test", json!({"n": 7})).await;
    assert_eq!(
        client.next_publication().await.1,
        7,
        "live stream continues, no duplicates"
    );
    hub.stop().await;
}

#[tokio::test]
async fn recovery_fails_when_history_was_trimmed() {
    let hub = Hub::with(|c| c.history_size = 2).await;
    let mut client = Client::anonymous(&hub).await;
    let epoch = client.subscribe("ch").await["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    client.close().await;
    for n in 1..=5 {
        hub.publish("ch", json!(n)).await;
    }
    let mut client = Client::anonymous(&hub).await;
    let reply = client
        .call(
            "subscribe",
            json!({"channel": "ch", "recover": true, "offset": 0, "epoch": epoch}),
        )
        .await;
    let sub = &reply["subscribe"];
    assert!(sub.get("recovered").is_none(), "{reply}");
    assert_eq!(sub["was_recovering"], true);
    assert_eq!(sub["offset"], 5, "current top");
    assert!(sub.get("publications").is_none());
    hub.stop().await;
}

#[tokio::test]
async fn recovery_fails_across_a_restart_epoch_change() {
    let hub = Hub::start().await;
    hub.publish("ch", json!(1)).await;
    let old_epoch = hub.api("history", json!({"channel": "ch"})).await["result"]["epoch"].clone();
    hub.stop().await;

    let hub = Hub::start().await;
    hub.publish("ch", json!(1)).await;
    hub.publish("ch", json!(2)).await;
    let mut client = Client::anonymous(&hub).await;
    let reply = client
        .call(
            "subscribe",
            json!({"channel": "ch", "recover": true, "offset": 1, "epoch": old_epoch}),
        )
        .await;
    let sub = &reply["subscribe"];
    assert!(sub.get("recovered").is_none(), "{reply}");
    assert_ne!(sub["epoch"], old_epoch);
    assert_eq!(sub["offset"], 2);

    let reply = client
        .call(
            "subscribe",
            json!({"channel": "ch2", "recover": true, "offset": 9, "epoch": "gone", "flag": 2}),
        )
        .await;
    assert_eq!(
        reply["error"]["code"], 112,
        "reject-unrecovered flag gives 112: {reply}"
    );
    let history = hub
        .api(
            "history",
            json!({"channel": "ch", "limit": 10, "since": {"offset": 0, "epoch": "gone"}}),
        )
        .await;
    assert_eq!(history["error"]["code"], 112, "{history}");
    hub.stop().await;
}

#[tokio::test]
async fn history_api_reads_forwards_backwards_and_since() {
    let hub = Hub::start().await;
    for n in 1..=4 {
        hub.publish("h", json!({"n": n})).await;
    }
    let all = hub
        .api("history", json!({"channel": "h", "limit": 10}))
        .await;
    assert_eq!(offsets(&all["result"]["publications"]), [1, 2, 3, 4]);
    let epoch = all["result"]["epoch"].clone();
    let newest = hub
        .api(
            "history",
            json!({"channel": "h", "limit": 2, "reverse": true}),
        )
        .await;
    assert_eq!(offsets(&newest["result"]["publications"]), [4, 3]);
    let since = hub
        .api(
            "history",
            json!({"channel": "h", "limit": 10, "since": {"offset": 2, "epoch": epoch}}),
        )
        .await;
    assert_eq!(offsets(&since["result"]["publications"]), [3, 4]);
    let position = hub.api("history", json!({"channel": "h"})).await;
    assert_eq!(position["result"]["publications"], json!([]));
    assert_eq!(position["result"]["offset"], 4);
    hub.stop().await;
}
