//! Sockets without a credential never take the slots of clients that
//! connected, and every slot comes back however a session ends.

use std::time::Duration;

use serde_json::json;

use super::{bystander, still_served};
use crate::support::{now_secs, token, Client, Hub, SECRET};

#[tokio::test]
async fn idle_upgrades_cannot_lock_out_a_client_with_a_token() {
    let hub = Hub::with(|c| {
        c.allow_anonymous = false;
        c.max_connections = 5;
        c.max_pending_connections = 10;
    })
    .await;
    // Twice the pending budget of upgraded sockets that never connect.
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(Client::open(&hub).await);
    }
    let jwt = token(json!({"sub": "ann", "exp": now_secs() + 600}), SECRET);
    for attempt in 0..10 {
        let (client, reply) = Client::connect(&hub, &jwt).await;
        assert!(
            reply["connect"]["client"].is_string(),
            "attempt {attempt}: {reply}"
        );
        client.close().await;
    }
    // The oldest idle sockets were pushed out with 3502.
    assert_eq!(idle[0].closed().await, Some(3502));
    hub.stop().await;
}

#[tokio::test]
async fn connected_clients_beyond_the_limit_get_3504_and_slots_come_back() {
    let hub = Hub::with(|c| c.max_connections = 3).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Client::anonymous(&hub).await);
    }
    let mut fourth = Client::open(&hub).await;
    fourth.command("connect", json!({})).await;
    assert_eq!(fourth.closed().await, Some(3504));
    for client in clients {
        client.close().await;
    }
    wait_until(|| hub.node.admission().connected() == 0).await;
    for _ in 0..3 {
        Client::anonymous(&hub).await;
    }
    hub.stop().await;
}

#[tokio::test]
async fn sessions_ended_by_extreme_expiry_claims_leave_no_slot_behind() {
    let hub = Hub::with(|c| {
        c.allow_anonymous = false;
        c.max_connections = 3;
    })
    .await;
    let mut other = Client::connect(&hub, &token(json!({"sub": "bo"}), SECRET))
        .await
        .0;
    other.subscribe("ch").await;
    for claim in ["exp", "expire_at", "exp"] {
        let jwt = token(json!({"sub": "eve", claim: u64::MAX}), SECRET);
        let (client, reply) = Client::connect(&hub, &jwt).await;
        assert_eq!(reply["connect"]["expires"], true, "{claim}: {reply}");
        assert_eq!(
            reply["connect"]["ttl"],
            u32::MAX,
            "{claim} saturates: {reply}"
        );
        client.close().await;
    }
    wait_until(|| hub.node.admission().connected() == 1).await;
    assert_eq!(
        hub.node.local().hub.num_connections(),
        1,
        "nobody left registered"
    );
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn many_sockets_over_the_limit_leave_exactly_the_limit_connected() {
    let hub = Hub::with(|c| c.max_connections = 20).await;
    let mut other = bystander(&hub).await;
    let mut refused = 0;
    let mut kept = Vec::new();
    for _ in 0..40 {
        let mut client = Client::open(&hub).await;
        let id = client.command("connect", json!({})).await;
        match client.next_event().await {
            crate::support::Event::Object(reply) if reply["id"] == id => kept.push(client),
            crate::support::Event::Closed(code) => {
                assert_eq!(code, Some(3504));
                refused += 1;
            }
            event => panic!("unexpected {event:?}"),
        }
    }
    assert_eq!(
        (kept.len(), refused),
        (19, 21),
        "the bystander holds one slot"
    );
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

/// Waits (bounded) until `done` holds.
pub async fn wait_until(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 5 s");
}
