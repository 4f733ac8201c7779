//! Rate limits per connection, and alarm history that floods of acks
//! cannot wash out.

use serde_json::{json, Value};

use super::{bystander, still_served};
use crate::support::{Client, Event, Hub};

fn frame(first_id: u64, count: u64, command: Value) -> String {
    (first_id..first_id + count)
        .map(|id| {
            let mut c = command.clone();
            c["id"] = json!(id);
            c.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the replies to ids `first..first+count`: (answered, refused 111).
async fn tally(client: &mut Client, first: u64, count: u64) -> (u64, u64) {
    let (mut ok, mut limited) = (0, 0);
    while ok + limited < count {
        match client.next_event().await {
            Event::Object(v) if v["id"].as_u64().is_some_and(|id| id >= first) => {
                if v["error"]["code"] == 111 {
                    assert_eq!(v["error"]["temporary"], true, "{v}");
                    limited += 1;
                } else {
                    ok += 1;
                }
            }
            Event::Object(_) => {}
            Event::Closed(code) => panic!("closed with {code:?}"),
        }
    }
    (ok, limited)
}

#[tokio::test]
async fn commands_past_the_burst_get_111_and_a_client_that_keeps_going_3013() {
    let hub = Hub::with(|c| {
        c.client_command_rate = 1;
        c.client_command_burst = 20;
    })
    .await;
    let mut other = bystander(&hub).await;
    let mut client = Client::anonymous(&hub).await;
    let stats = json!({"presence_stats": {"channel": "ch"}});
    client.send_text(frame(100, 25, stats.clone())).await;
    let (ok, limited) = tally(&mut client, 100, 25).await;
    // The connect took one token of the burst.
    assert_eq!((ok, limited), (19, 6));
    client.send_text(frame(200, 30, stats)).await;
    // The refusals queued before the close arrive before it.
    let mut refused = 0;
    let code = loop {
        match client.next_event().await {
            Event::Object(v) if v["error"]["code"] == 111 => refused += 1,
            Event::Object(_) => {}
            Event::Closed(code) => break code,
        }
    };
    assert_eq!(code, Some(3013));
    assert!(
        refused >= 10,
        "{refused} refusals (111) came before the close"
    );
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn acks_cost_double() {
    let hub = Hub::with(|c| {
        c.client_command_rate = 1;
        c.client_command_burst = 21;
    })
    .await;
    hub.publish("alarms", json!({"id": "h/cpu", "source": "h", "severity": "critical", "state": "firing", "title": "CPU", "ts": 1}))
        .await;
    let mut client = Client::anonymous(&hub).await;
    let ack = json!({"rpc": {"method": "alarms.ack", "data": {"id": "h/cpu"}}});
    client.send_text(frame(100, 12, ack)).await;
    assert_eq!(tally(&mut client, 100, 12).await, (10, 2));
    hub.stop().await;
}

#[tokio::test]
async fn an_ack_flood_does_not_push_alarms_out_of_history() {
    let hub = Hub::with(|c| {
        c.history_size = 50;
        c.client_command_burst = 1000;
    })
    .await;
    let firing = json!({"id": "h/disk", "source": "h", "severity": "critical", "state": "firing", "title": "Disk", "ts": 1});
    let offset = hub.publish("alarms", firing).await;
    let mut attackers = Vec::new();
    for _ in 0..4 {
        attackers.push(Client::anonymous(&hub).await);
    }
    // 400 acks naming 400 different people, from four connections at once.
    for (n, attacker) in attackers.iter_mut().enumerate() {
        let frame: Vec<String> = (0..100)
            .map(|i| {
                let by = format!("mallory-{n}-{i}");
                json!({"id": 10 + i, "rpc": {"method": "alarms.ack", "data": {"id": "h/disk", "by": by}}}).to_string()
            })
            .collect();
        attacker.send_text(frame.join("\n")).await;
    }
    for attacker in &mut attackers {
        let (_ok, _limited) = tally(attacker, 10, 100).await;
    }
    let history = hub
        .api("history", json!({"channel": "alarms", "limit": 100}))
        .await;
    let publications = history["result"]["publications"].as_array().unwrap();
    assert!(
        publications.len() <= 3,
        "acks spaced per alarm: {}",
        publications.len()
    );
    assert_eq!(
        publications[0]["offset"], offset,
        "the firing entry is kept"
    );
    hub.stop().await;
}
