//! No disconnect loops: nothing a client is sent in one piece can be larger
//! than its queue, so nothing closes it as slow (3008) again on every
//! reconnect.

use serde_json::json;

use super::{bystander, still_served};
use crate::support::{Client, Hub};

#[tokio::test]
async fn a_publication_larger_than_the_message_size_is_refused_at_publish() {
    let hub = Hub::with(|c| {
        c.max_message_size = 4096;
        c.api_body_limit = Some(1 << 20);
    })
    .await;
    let mut others = Vec::new();
    for _ in 0..5 {
        others.push(bystander(&hub).await);
    }
    let big = "x".repeat(200_000);
    let reply = hub
        .api("publish", json!({"channel": "ch", "data": big}))
        .await;
    assert_eq!(reply["error"]["code"], 106, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-message-size"),
        "{reply}"
    );
    for other in &mut others {
        still_served(&hub, other).await;
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_recovery_larger_than_allowed_answers_not_recovered_instead_of_3008() {
    let hub = Hub::with(|c| {
        c.max_recovery = 50;
        c.client_command_burst = 1000;
    })
    .await;
    let mut client = Client::anonymous(&hub).await;
    let position = client.subscribe("ch").await;
    let epoch = position["epoch"].as_str().unwrap().to_owned();
    let commands: Vec<_> = (0..120)
        .map(|n| json!({"publish": {"channel": "ch", "data": {"n": n}}}))
        .collect();
    hub.api("batch", json!({"commands": commands})).await;
    let mut late = Client::anonymous(&hub).await;
    let far = late
        .call(
            "subscribe",
            json!({"channel": "ch", "recover": true, "offset": 0, "epoch": epoch}),
        )
        .await;
    let far = &far["subscribe"];
    assert_eq!(
        (far["was_recovering"].clone(), far["recovered"].clone()),
        (json!(true), json!(null))
    );
    assert_eq!(far["offset"], 120, "the current position, to resync from");
    let mut near = Client::anonymous(&hub).await;
    let reply = near
        .call(
            "subscribe",
            json!({"channel": "ch", "recover": true, "offset": 80, "epoch": epoch}),
        )
        .await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    assert_eq!(
        reply["subscribe"]["publications"].as_array().unwrap().len(),
        40
    );
    still_served(&hub, &mut client).await;
    hub.stop().await;
}

#[tokio::test]
async fn a_recovery_larger_than_the_client_queue_is_not_sent() {
    let hub = Hub::with(|c| {
        c.max_message_size = 4096;
        c.client_queue_bytes = 16 * 1024;
        c.api_body_limit = Some(1 << 20);
    })
    .await;
    let mut client = Client::anonymous(&hub).await;
    let epoch = client.subscribe("ch").await["epoch"]
        .as_str()
        .unwrap()
        .to_owned();
    let commands: Vec<_> = (0..20)
        .map(|n| json!({"publish": {"channel": "ch", "data": {"n": n, "pad": "p".repeat(3000)}}}))
        .collect();
    hub.api("batch", json!({"commands": commands})).await;
    for attempt in 0..3 {
        let top = hub.api("history", json!({"channel": "ch"})).await["result"]["offset"].clone();
        let mut again = Client::anonymous(&hub).await;
        let reply = again
            .call(
                "subscribe",
                json!({"channel": "ch", "recover": true, "offset": 0, "epoch": epoch}),
            )
            .await;
        assert_eq!(
            reply["subscribe"]["recovered"],
            json!(null),
            "attempt {attempt}: not recovered"
        );
        assert_eq!(reply["subscribe"]["offset"], top);
        still_served(&hub, &mut again).await;
    }
    hub.stop().await;
}

#[tokio::test]
async fn a_history_reply_larger_than_the_queue_is_error_106_and_the_client_stays() {
    let hub = Hub::with(|c| {
        c.max_message_size = 4096;
        c.client_queue_bytes = 16 * 1024;
        c.api_body_limit = Some(1 << 20);
    })
    .await;
    let commands: Vec<_> = (0..20)
        .map(|n| json!({"publish": {"channel": "ch", "data": {"n": n, "pad": "p".repeat(3000)}}}))
        .collect();
    hub.api("batch", json!({"commands": commands})).await;
    let mut client = bystander(&hub).await;
    let reply = client
        .call("history", json!({"channel": "ch", "limit": 20}))
        .await;
    assert_eq!(reply["error"]["code"], 106, "{reply}");
    let small = client
        .call("history", json!({"channel": "ch", "limit": 2}))
        .await;
    assert_eq!(
        small["history"]["publications"].as_array().unwrap().len(),
        2
    );
    still_served(&hub, &mut client).await;
    hub.stop().await;
}
