//! RPC and history: typed results, typed errors, never a hang.

use std::time::Duration;

use serde_json::json;
use telltale_client::{code, Error, HistoryQuery, StreamPosition};

use crate::proxy::Proxy;
use crate::support::*;

#[tokio::test]
async fn rpc_during_a_cut_fails_with_a_typed_error_within_its_timeout() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (client, _events) = subscribed_client(options(&proxy.ws_url())).await;
    assert!(client.active_alarms().await.is_ok());

    proxy.blackhole();
    // Shorter than the watchdog: the call's own timeout ends it.
    let short = client.with_call_timeout(Duration::from_millis(500));
    let outcome = tokio::time::timeout(WAIT, short.active_alarms())
        .await
        .expect("the call returned");
    assert!(
        matches!(
            outcome,
            Err(Error::Timeout(_)) | Err(Error::Disconnected { .. })
        ),
        "{outcome:?}"
    );
    // Longer than the watchdog: the dead connection ends it.
    let long = client.with_call_timeout(Duration::from_secs(15));
    let outcome = tokio::time::timeout(WAIT, long.history("alarms", HistoryQuery::default()))
        .await
        .expect("the call returned");
    match outcome {
        Err(Error::Disconnected { code: c, .. }) => assert_eq!(c, code::NO_PING),
        other => panic!("expected a disconnect error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_call_made_while_reconnecting_waits_for_the_connection() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (client, mut events) = subscribed_client(options(&proxy.ws_url())).await;
    proxy.reset();
    until(&mut events, disconnected).await;
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.active_alarms().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.resume();
    let outcome = tokio::time::timeout(WAIT, call)
        .await
        .expect("the call returned")
        .unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn rpc_history_and_alarm_calls_return_typed_results() {
    let hub = Hub::start().await;
    let (client, mut events) = subscribed_client(options(&hub.ws_url())).await;
    let epoch_offset = hub.alarm(1).await;
    hub.alarm(2).await;
    alarms_until(&mut events, 2).await;

    let active = client.active_alarms().await.unwrap();
    let mut ids: Vec<&str> = active.iter().map(|a| a.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["test/1", "test/2"]);

    let acked = client.ack_alarm("test/1").await.unwrap();
    assert_eq!(acked.state, telltale_client::AlarmState::Acknowledged);

    let history = client
        .history(
            "alarms",
            HistoryQuery {
                limit: 10,
                ..HistoryQuery::default()
            },
        )
        .await
        .unwrap();
    let offsets: Vec<u64> = history.publications.iter().map(|p| p.offset).collect();
    assert_eq!(&offsets[..2], [epoch_offset, epoch_offset + 1]);
    assert!(matches!(
        history.publications[0].payload,
        telltale_client::Payload::Alarm(_)
    ));
    let since = client
        .history(
            "alarms",
            HistoryQuery {
                limit: 10,
                since: Some(StreamPosition {
                    offset: 1,
                    epoch: history.epoch.clone(),
                }),
                reverse: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(since.publications.first().map(|p| p.offset), Some(2));

    let err = client.rpc("no.such.method", &json!({})).await.unwrap_err();
    assert_eq!(err.server_code(), Some(104), "{err:?}");
    let err = client.ack_alarm("no/such").await.unwrap_err();
    assert!(matches!(err, Error::Server(_)), "{err:?}");
    let err = client.publish("alarms", &json!({})).await.unwrap_err();
    assert_eq!(
        err.server_code(),
        Some(103),
        "client publish is off by default: {err:?}"
    );
    client.catalog().await.unwrap();
}

#[tokio::test]
async fn ack_with_a_comment_carries_it_and_an_overlong_one_is_refused() {
    let hub = Hub::start().await;
    let (client, mut events) = subscribed_client(options(&hub.ws_url())).await;
    hub.alarm(1).await;
    alarms_until(&mut events, 1).await;

    let overlong = "x".repeat(501);
    let err = client
        .ack_alarm_with("test/1", None, Some(&overlong))
        .await
        .unwrap_err();
    assert_eq!(err.server_code(), Some(107), "{err:?}");
    assert!(err.to_string().contains("comment too long"), "{err}");

    let acked = client
        .ack_alarm_with("test/1", Some("ann"), Some("restarting the db"))
        .await
        .unwrap();
    assert_eq!(acked.state, telltale_client::AlarmState::Acknowledged);
    assert_eq!(acked.comment.as_deref(), Some("restarting the db"));
}

#[tokio::test]
async fn catalog_follows_the_hubs_pages_to_every_source() {
    // A small queue makes the hub answer the catalog in many pages.
    let hub = Hub::with(|c| {
        c.client_queue_bytes = 16 * 1024;
        c.max_message_size = 4096;
    })
    .await;
    let commands: Vec<_> = (0..400)
        .map(|n| json!({"publish": {"channel": format!("metrics:h{n:03}"), "data": {"ts": 1, "values": {"cpu.total": 1, "mem.used_bytes": 2}}}}))
        .collect();
    for chunk in commands.chunks(20) {
        hub.api("batch", json!({"commands": chunk})).await;
    }
    let (client, _events) = subscribed_client(options(&hub.ws_url())).await;
    let catalog = client.catalog().await.unwrap();
    let names: Vec<_> = catalog.sources.iter().map(|s| s.source.clone()).collect();
    let expected: Vec<_> = (0..400).map(|n| format!("h{n:03}")).collect();
    assert_eq!(names, expected);
    assert!(!catalog.truncated);
}
