//! Two hub processes on one Redis, node A killed with SIGKILL while alarms
//! are published through node B: the Rust client, given both URLs, moves
//! to B, recovers there what it missed, and has every alarm exactly once,
//! in order.
//!
//! Real processes, because only a process can be SIGKILLed: a crash leaves
//! no shutdown frame (3001), only a socket the kernel closes. Here rather
//! than in the client crate's tests because this package's tests are the
//! ones cargo builds the hub binary for (`CARGO_BIN_EXE_telltale-hub`).

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{json, Value};
use telltale_client::{Client, Event, Events, Options, Payload, State};
use tokio::sync::oneshot;

use crate::binary::HubProcess;
use crate::redis_server::RedisServer;
use crate::support::API_KEY;

/// Alarms published in all.
const ALARMS: u64 = 60;
/// Alarms published (and received through A) before A is killed and
/// before the paced loop starts: proof that B's publications reach A's
/// clients through Redis.
const BEFORE_LOOP: u64 = 5;
/// A is killed right after the paced loop published this alarm.
const KILL_AFTER: u64 = 20;
/// The loop's pace: about 20 alarms a second.
const PACE: Duration = Duration::from_millis(50);
/// Bound of the whole scenario's waits (it takes a few seconds).
const SCENARIO_WAIT: Duration = Duration::from_secs(30);
/// Time allowed after the last alarm for a duplicate to show up.
const DUPLICATE_ROOM: Duration = Duration::from_millis(300);

/// A hub process on `redis` with the test API key.
fn node(redis: &RedisServer) -> HubProcess {
    HubProcess::start(&["--redis", &redis.url(), "--api-key", API_KEY])
}

fn ws_url(hub: &HubProcess) -> String {
    format!("ws://{}/connection/websocket", hub.addr)
}

/// Alarm number `n`: an alarm of its own (id `failover/n`), so that every
/// publication is a transition of the active set.
fn alarm(n: u64) -> Value {
    json!({
        "id": format!("failover/{n}"),
        "source": "failover",
        "severity": "warning",
        "state": "firing",
        "title": format!("alarm {n}"),
        "message": format!("alarm {n} of {ALARMS}"),
        "ts": n,
    })
}

/// `POST /api/<method>` on the node at `addr`; the JSON reply.
async fn api(http: &reqwest::Client, addr: SocketAddr, method: &str, body: Value) -> Value {
    let response = tokio::time::timeout(
        SCENARIO_WAIT,
        http.post(format!("http://{addr}/api/{method}"))
            .header("X-API-Key", API_KEY)
            .json(&body)
            .send(),
    )
    .await
    .unwrap_or_else(|_| panic!("/api/{method} on {addr} answers in time"))
    .unwrap_or_else(|e| panic!("/api/{method} on {addr}: {e}"));
    assert_eq!(response.status(), 200, "/api/{method} on {addr}");
    response.json().await.unwrap()
}

async fn publish_alarm(http: &reqwest::Client, addr: SocketAddr, n: u64) {
    let body = json!({"channel": "alarms", "data": alarm(n)});
    let reply = api(http, addr, "publish", body).await;
    assert!(
        reply["result"]["offset"].is_u64(),
        "publish of alarm {n}: {reply}"
    );
}

/// How many of the node's own clients are on `alarms` (`/api/channels`
/// counts a node's local subscribers): where the client is connected.
async fn alarm_subscribers(http: &reqwest::Client, addr: SocketAddr) -> u64 {
    let reply = api(http, addr, "channels", json!({})).await;
    reply["result"]["channels"]["alarms"]["num_clients"]
        .as_u64()
        .unwrap_or(0)
}

/// The alarm number of an `alarms` publication (from its id).
fn alarm_number(event: &Event) -> Option<u64> {
    let Event::Publication(p) = event else {
        return None;
    };
    if p.channel != "alarms" {
        return None;
    }
    let Payload::Alarm(alarm) = &p.payload else {
        panic!("not an alarm on `alarms`: {}", p.data)
    };
    let n = alarm
        .id
        .strip_prefix("failover/")
        .and_then(|n| n.parse().ok());
    Some(n.unwrap_or_else(|| panic!("not one of this test's alarms: {}", p.data)))
}

/// Reads events, bounded by [`SCENARIO_WAIT`], until `done` holds for the
/// events read so far (`all`, which keeps them).
async fn read_until(events: &mut Events, all: &mut Vec<Event>, done: impl Fn(&[Event]) -> bool) {
    let wait = async {
        while !done(all) {
            all.push(events.recv().await.expect("event stream ended"));
        }
    };
    if tokio::time::timeout(SCENARIO_WAIT, wait).await.is_err() {
        panic!("timed out; events so far: {all:#?}");
    }
}

fn numbers(events: &[Event]) -> Vec<u64> {
    events.iter().filter_map(alarm_number).collect()
}

#[tokio::test]
async fn a_sigkilled_node_hands_its_client_to_the_other_with_every_alarm_once_in_order() {
    let redis = RedisServer::start();
    let mut a = node(&redis);
    let b = node(&redis);
    let outcome = AssertUnwindSafe(kill_a_while_publishing_through_b(&mut a, &b))
        .catch_unwind()
        .await;
    if let Err(panic) = outcome {
        eprintln!("node A's log:\n{}\nnode B's log:\n{}", a.log(), b.log());
        std::panic::resume_unwind(panic);
    }
}

/// The scenario; the caller shows both nodes' logs when it fails.
async fn kill_a_while_publishing_through_b(a: &mut HubProcess, b: &HubProcess) {
    let http = reqwest::Client::new();

    let options = Options::with_endpoints([ws_url(a), ws_url(b)])
        .unwrap()
        .backoff(Duration::from_millis(50), Duration::from_millis(500))
        .connect_timeout(Duration::from_secs(2));
    let (client, mut events) = Client::new(options);
    client.subscribe("alarms").unwrap();
    let mut all = Vec::new();
    read_until(&mut events, &mut all, |all| {
        all.iter()
            .any(|e| matches!(e, Event::Subscribed { channel, .. } if channel == "alarms"))
    })
    .await;
    assert_eq!(
        (
            alarm_subscribers(&http, a.addr).await,
            alarm_subscribers(&http, b.addr).await
        ),
        (1, 0),
        "the first URL, A, is dialed first"
    );

    // Through B, received on A: the nodes share Redis.
    for n in 1..=BEFORE_LOOP {
        publish_alarm(&http, b.addr, n).await;
    }
    read_until(&mut events, &mut all, |all| {
        numbers(all).len() as u64 >= BEFORE_LOOP
    })
    .await;

    // The paced loop through B; A dies in the middle of it.
    let (killed_after_tx, killed_after) = oneshot::channel();
    let publisher = {
        let (http, b) = (http.clone(), b.addr);
        tokio::spawn(async move {
            let mut killed_after_tx = Some(killed_after_tx);
            for n in BEFORE_LOOP + 1..=ALARMS {
                publish_alarm(&http, b, n).await;
                if n == KILL_AFTER {
                    if let Some(tx) = killed_after_tx.take() {
                        let _ = tx.send(());
                    }
                }
                tokio::time::sleep(PACE).await;
            }
        })
    };
    tokio::time::timeout(SCENARIO_WAIT, killed_after)
        .await
        .expect("the loop reaches the kill point in time")
        .unwrap();
    a.child.kill().expect("SIGKILL node A");
    let status = a.child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "A died of SIGKILL: {status:?}");
    // What was read so far came before the kill; events queued but not yet
    // read may still be from A.
    let read_before_kill = all.len();

    read_until(&mut events, &mut all, |all| {
        numbers(all).last() == Some(&ALARMS)
    })
    .await;
    tokio::time::timeout(SCENARIO_WAIT, publisher)
        .await
        .expect("the publisher finishes in time")
        .expect("every publish through B succeeded");
    tokio::time::sleep(DUPLICATE_ROOM).await;
    while let Some(event) = events.try_recv() {
        all.push(event);
    }

    let received = numbers(&all);
    assert_eq!(
        received,
        (1..=ALARMS).collect::<Vec<_>>(),
        "every alarm exactly once, in order"
    );
    let after_kill = &all[read_before_kill..];
    let resubscribed = after_kill.iter().position(|e| {
        matches!(
            e,
            Event::Subscribed { channel, .. } if channel == "alarms"
        )
    });
    let resubscribed =
        resubscribed.unwrap_or_else(|| panic!("subscribed again after the kill: {after_kill:#?}"));
    assert!(
        matches!(
            after_kill[resubscribed],
            Event::Subscribed {
                was_recovering: true,
                recovered: true,
                ..
            }
        ),
        "the subscription recovered on B: {:#?}",
        after_kill[resubscribed]
    );
    assert!(
        after_kill[..resubscribed].iter().any(|e| matches!(
            e,
            Event::State(State::Disconnected {
                reconnect: true,
                ..
            })
        )),
        "the kill is what moved the client: {after_kill:#?}"
    );
    assert!(
        !all.iter().any(|e| matches!(e, Event::Gap { .. })),
        "no gap: {all:#?}"
    );
    assert!(
        numbers(&after_kill[resubscribed..]).len() as u64 >= ALARMS - KILL_AFTER,
        "the alarms published after the kill arrived after the resubscription: {all:#?}"
    );
    assert_eq!(
        alarm_subscribers(&http, b.addr).await,
        1,
        "the client is on B now"
    );
    assert!(client.state().is_connected());
    client.close();
}
