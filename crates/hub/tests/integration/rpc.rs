//! Alarm RPCs and the catalog.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{token, Client, Hub, SECRET, WAIT};

fn alarm(id: &str, severity: &str, state: &str, ts: i64) -> Value {
    json!({"id": id, "source": "web1", "severity": severity, "state": state, "title": id, "message": "m", "ts": ts})
}

#[tokio::test]
async fn alarms_active_reflects_published_transitions_even_after_history_expires() {
    let hub = Hub::with(|c| c.history_size = 1).await;
    hub.publish("alarms", alarm("web1/disk", "critical", "firing", 1))
        .await;
    hub.publish("alarms", alarm("web1/cpu", "warning", "firing", 2))
        .await;
    hub.publish("alarms", alarm("web1/cpu", "warning", "firing", 3))
        .await;
    hub.publish("alarms", alarm("web1/mem", "info", "firing", 4))
        .await;
    hub.publish("alarms", alarm("web1/mem", "info", "resolved", 5))
        .await;

    let mut late = Client::anonymous(&hub).await;
    let reply = late.call("rpc", json!({"method": "alarms.active"})).await;
    let alarms = reply["rpc"]["data"]["alarms"].as_array().unwrap().clone();
    let ids: Vec<_> = alarms
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["ts"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [("web1/disk", 1), ("web1/cpu", 3)],
        "critical first, deduplicated, resolved gone"
    );
    hub.stop().await;
}

#[tokio::test]
async fn ack_is_published_to_every_client_and_shows_in_active() {
    let hub = Hub::with(|c| c.anonymous_ack = true).await;
    hub.publish("alarms", alarm("web1/cpu", "warning", "firing", 1))
        .await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let ann = token(
        json!({"sub": "ann", "telltale": {"caps": ["ack", "silence"]}}),
        SECRET,
    );
    let (mut acker, _) = Client::connect(&hub, &ann).await;

    let reply = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "web1/cpu"}}),
        )
        .await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["state"], "acknowledged",
        "{reply}"
    );
    assert_eq!(reply["rpc"]["data"]["alarm"]["by"], "ann");

    let (channel, _, data) = watcher.next_publication().await;
    assert_eq!(channel, "alarms");
    assert_eq!(
        (data["id"].as_str(), data["state"].as_str()),
        (Some("web1/cpu"), Some("acknowledged"))
    );

    let active = watcher
        .call("rpc", json!({"method": "alarms.active"}))
        .await;
    assert_eq!(active["rpc"]["data"]["alarms"][0]["state"], "acknowledged");

    let missing = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "nope"}}),
        )
        .await;
    assert_eq!(missing["error"]["code"], 107);
    let bad = acker
        .call("rpc", json!({"method": "alarms.ack", "data": {"ident": 1}}))
        .await;
    assert_eq!(bad["error"]["code"], 107);
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("`id`"),
        "{bad}"
    );
    let unknown = acker.call("rpc", json!({"method": "alarms.nope"})).await;
    assert_eq!(unknown["error"]["code"], 104);

    hub.publish("alarms", alarm("web1/net", "info", "firing", 2))
        .await;
    let mut anonymous = Client::anonymous(&hub).await;
    let claimed = anonymous
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "web1/net", "by": "ops@desk"}}),
        )
        .await;
    assert_eq!(
        claimed["rpc"]["data"]["alarm"]["by"], "ops@desk (unverified)",
        "anonymous callers name themselves, unverified"
    );
    // One alarm is changed at most once per interval.
    tokio::time::sleep(telltale_hub::rpc::CHANGE_INTERVAL).await;
    let overridden = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "web1/net", "by": "mallory"}}),
        )
        .await;
    assert_eq!(
        overridden["rpc"]["data"]["alarm"]["by"], "ann",
        "a token's user wins"
    );

    let silence = acker
        .call(
            "rpc",
            json!({"method": "alarms.silence", "data": {"id": "web1/cpu", "until": 99}}),
        )
        .await;
    assert_eq!(
        silence["rpc"]["data"]["alarm"]["silenced_until"], 99,
        "{silence}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn ack_comment_is_published_kept_while_firing_and_bounded() {
    let hub = Hub::with(|c| c.anonymous_ack = true).await;
    hub.publish("alarms", alarm("web1/db", "critical", "firing", 1))
        .await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let mut acker = Client::anonymous(&hub).await;

    let overlong = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "web1/db", "comment": "x".repeat(501)}}),
        )
        .await;
    assert_eq!(overlong["error"]["code"], 107, "{overlong}");
    assert_eq!(
        overlong["error"]["message"],
        "alarms.ack: comment too long: 501 characters, at most 500"
    );

    let reply = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": "web1/db", "by": "ann", "comment": " restarting the db "}}),
        )
        .await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["comment"], "restarting the db",
        "{reply}"
    );
    let (_, _, data) = watcher.next_publication().await;
    assert_eq!(
        (data["state"].as_str(), data["comment"].as_str()),
        (Some("acknowledged"), Some("restarting the db")),
        "{data}"
    );

    // A repeated firing keeps it; after resolving, a new episode has none.
    hub.publish("alarms", alarm("web1/db", "critical", "firing", 2))
        .await;
    let active = watcher
        .call("rpc", json!({"method": "alarms.active"}))
        .await;
    assert_eq!(
        active["rpc"]["data"]["alarms"][0]["comment"],
        "restarting the db"
    );
    hub.publish("alarms", alarm("web1/db", "critical", "resolved", 3))
        .await;
    hub.publish("alarms", alarm("web1/db", "critical", "firing", 4))
        .await;
    let active = watcher
        .call("rpc", json!({"method": "alarms.active"}))
        .await;
    let again = &active["rpc"]["data"]["alarms"][0];
    assert_eq!(again["state"], "firing", "{active}");
    assert!(again.get("comment").is_none(), "{active}");
    hub.stop().await;
}

#[tokio::test]
async fn collector_publishes_host_metrics_and_fills_the_catalog() {
    let hub = Hub::with(|c| {
        c.collector = true;
        c.collector_interval = Duration::from_millis(200);
        c.node_name = "testhost".into();
    })
    .await;
    let mut client = Client::anonymous(&hub).await;
    client.subscribe("metrics:testhost").await;
    let (_, _, sample) = client.next_publication().await;
    assert!(sample["ts"].as_i64().unwrap() > 0);
    for name in [
        "cpu.total",
        "mem.used_percent",
        "disk.used_percent",
        "net.rx_bytes_per_s",
        "load.1",
    ] {
        assert!(
            sample["values"][name].is_number(),
            "missing {name} in {sample}"
        );
    }
    let catalog = tokio::time::timeout(WAIT, client.call("rpc", json!({"method": "catalog"})))
        .await
        .unwrap();
    let source = &catalog["rpc"]["data"]["sources"][0];
    assert_eq!(source["source"], "testhost");
    assert_eq!(source["channel"], "metrics:testhost");
    assert!(source["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "cpu.core.0"));
    hub.stop().await;
}
