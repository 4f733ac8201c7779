//! Several URLs for one hub: which one each dial goes to, that
//! subscriptions recover on the next node, and that the backoff still
//! grows over rounds of failing nodes.

use std::sync::Mutex;

use super::*;

/// The hosts of `a`, `b`, `c` as dialed so far, in order.
type Dialed = Arc<Mutex<Vec<String>>>;

const A: &str = "ws://a.test:8000/connection/websocket";
const B: &str = "ws://b.test:8000/connection/websocket";
const C: &str = "ws://c.test:8000/connection/websocket";

/// [`start`] with the three URLs, recording which one each dial goes to.
fn start_with_three(options: Options) -> (Client, Events, Dials, Dialed) {
    let (inner, dials) = dialer();
    let dialed = Dialed::default();
    let record = dialed.clone();
    let dialer: Dialer = Arc::new(move |endpoint| {
        record.lock().unwrap().push(endpoint.host().to_string());
        inner(endpoint)
    });
    let (client, events) = Client::with_dialer(options, dialer);
    (client, events, dials, dialed)
}

fn three_urls() -> Options {
    Options::with_endpoints([A, B, C])
        .unwrap()
        .backoff(Duration::from_millis(100), Duration::from_secs(5))
}

fn dialed_so_far(dialed: &Dialed) -> Vec<String> {
    dialed.lock().unwrap().clone()
}

#[tokio::test(start_paused = true)]
async fn a_dropped_node_is_followed_by_the_next_url_and_recovery_there() {
    let (client, mut events, mut dials, dialed) = start_with_three(three_urls());
    client.subscribe("alarms").unwrap();
    let mut peer = accept(&mut dials).await;
    let subs = peer.handshake(25).await;
    assert_eq!(dialed_so_far(&dialed), ["a.test"], "the first URL first");
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1"}}))
        .await;
    peer.publish("alarms", 1).await;
    peer.publish("alarms", 2).await;
    peer.close(3001, "shutdown").await;
    let (_, before) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { code: 3001, .. }))
    })
    .await;
    assert_eq!(offsets(&before), [1, 2]);

    // Node b: same channel, recovering from a's position.
    let mut peer = accept(&mut dials).await;
    let subs = peer.handshake(25).await;
    assert_eq!(dialed_so_far(&dialed), ["a.test", "b.test"]);
    let sub = &subs[0]["subscribe"];
    assert_eq!(
        (sub["channel"].clone(), sub["recover"].clone()),
        (json!("alarms"), json!(true))
    );
    assert_eq!(
        (sub["offset"].clone(), sub["epoch"].clone()),
        (json!(2), json!("e1"))
    );
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1", "offset": 3, "recovered": true, "was_recovering": true,
        "publications": [{"data": {"n": 3}, "offset": 3}]}}))
        .await;
    peer.publish("alarms", 4).await;
    drop(peer); // b's link drops without a close frame: on to c
    let (_, before) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    assert_eq!(offsets(&before), [3, 4], "recovered on b, then live");
    assert!(!before.iter().any(|e| matches!(e, Event::Gap { .. })));
    let _peer = connected_peer(&mut dials, &mut events).await;
    assert_eq!(dialed_so_far(&dialed), ["a.test", "b.test", "c.test"]);
}

#[tokio::test(start_paused = true)]
async fn rounds_of_failing_urls_keep_backing_off_and_wrap_around() {
    let options = three_urls();
    let config = options.backoff;
    let (client, mut events, mut dials, dialed) = start_with_three(options);
    let _a = connected_peer(&mut dials, &mut events).await;
    dials.refuse.store(true, Ordering::SeqCst);
    client.reconnect().unwrap();
    // Three rounds of refusals after the reconnect: b c a, b c a, b c a.
    let mut delays = Vec::new();
    while delays.len() < 9 {
        let (event, _) = until(&mut events, |e| {
            is_state(e, |s| matches!(s, State::Reconnecting { .. }))
        })
        .await;
        let Event::State(State::Reconnecting { attempt, delay }) = event else {
            unreachable!()
        };
        // `reconnect()` started the count over; no URL change does.
        assert_eq!(attempt as usize, delays.len() + 2);
        delays.push(delay);
    }
    for (n, delay) in delays.iter().enumerate() {
        assert!(
            *delay >= config.min && *delay <= config.ceiling(n as u32),
            "attempt {n}: {delay:?}"
        );
    }
    // The last round waits longer than the first could: ceilings 200, 400,
    // 800 ms then 1.6, 3.2, 5, 5, 5, 5 s. All three of the last round at
    // most 800 ms has a probability of under 1e-3.
    assert!(
        delays[6..].iter().max().unwrap() > &config.ceiling(2),
        "delays did not grow over rounds: {delays:?}"
    );
    let order = dialed_so_far(&dialed);
    let expected: Vec<&str> = ["a.test", "b.test", "c.test"]
        .into_iter()
        .cycle()
        .take(order.len())
        .collect();
    assert!(order.len() >= 10, "{order:?}");
    assert_eq!(order, expected);
}
