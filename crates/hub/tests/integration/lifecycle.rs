//! Heartbeat, limits and shutdown.

use std::time::Duration;

use serde_json::json;

use crate::support::{Client, Hub, WAIT};

#[tokio::test]
async fn graceful_shutdown_sends_3001_to_every_client() {
    let hub = Hub::start().await;
    let mut a = Client::anonymous(&hub).await;
    a.subscribe("ch").await;
    let mut b = Client::anonymous(&hub).await;
    let addr = hub.addr;
    hub.stop().await;
    assert_eq!(a.closed().await, Some(3001));
    assert_eq!(b.closed().await, Some(3001));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test]
async fn client_that_never_pongs_is_closed_with_3012_and_one_that_does_stays() {
    let hub = Hub::with(|c| {
        c.ping_interval = Duration::from_secs(1);
        c.pong_timeout = Duration::from_millis(500);
    })
    .await;
    let (mut silent, reply) = Client::connect(&hub, "").await;
    assert_eq!(reply["connect"]["ping"], 1);
    silent.auto_pong = false;
    let mut polite = Client::anonymous(&hub).await;
    polite.subscribe("ch").await;
    // Reading is what answers pings, so the polite client reads throughout.
    let polite = tokio::spawn(async move { polite.next_publication().await });
    assert_eq!(silent.closed().await, Some(3012));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let offset = hub.publish("ch", json!(1)).await;
    let (_, received, _) = tokio::time::timeout(WAIT, polite).await.unwrap().unwrap();
    assert_eq!(received, offset, "the polite client outlived several pings");
    hub.stop().await;
}

#[tokio::test]
async fn connect_must_arrive_within_the_connect_timeout() {
    let hub = Hub::with(|c| c.connect_timeout = Duration::from_millis(300)).await;
    let mut idle = Client::open(&hub).await;
    assert_eq!(idle.closed().await, Some(3502));
    hub.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_get_3504() {
    let hub = Hub::with(|c| c.max_connections = 2).await;
    let _a = Client::anonymous(&hub).await;
    let _b = Client::anonymous(&hub).await;
    // A socket takes a slot only when its connect succeeds.
    let mut c = Client::open(&hub).await;
    c.command("connect", json!({})).await;
    assert_eq!(c.closed().await, Some(3504));
    hub.stop().await;
}

#[tokio::test]
async fn health_and_metrics_endpoints() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    client.subscribe("ch").await;
    hub.publish("ch", json!(1)).await;
    client.next_publication().await;
    let base = format!("http://{}", hub.addr);
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "telltale_hub_connections 1",
        "telltale_hub_subscriptions 1",
        "telltale_hub_publications_total 1",
    ] {
        assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("telltale_hub_publish_duration_seconds_count 1"));
    let _ = tokio::time::timeout(WAIT, client.close()).await;
    hub.stop().await;
}

#[tokio::test]
async fn api_disconnect_closes_a_users_connections_with_the_given_code() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    let reply = hub
        .api(
            "disconnect",
            json!({"user": "", "disconnect": {"code": 3011, "reason": "x"}}),
        )
        .await;
    assert_eq!(reply["result"], json!({}), "{reply}");
    assert_eq!(client.closed().await, Some(3011));
    hub.stop().await;
}
