//! The connection task against a scripted server over in-memory pipes, with
//! Tokio's clock paused: timings (watchdog, backoff, timeouts) are exact and
//! cost no real time. The tests against the real hub are in `tests/`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::DuplexStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::{BoxIo, Dialer};
use crate::{code, Client, Error, Event, Events, Options, State};

/// Hands each dial's server end to the test; refuses while `refuse` is set.
struct Dials {
    incoming: mpsc::UnboundedReceiver<DuplexStream>,
    count: Arc<AtomicUsize>,
    refuse: Arc<AtomicBool>,
}

fn dialer() -> (Dialer, Dials) {
    let (tx, incoming) = mpsc::unbounded_channel();
    let count = Arc::new(AtomicUsize::new(0));
    let refuse = Arc::new(AtomicBool::new(false));
    let (c, r) = (count.clone(), refuse.clone());
    let dialer: Dialer = Arc::new(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        let refused = r.load(Ordering::SeqCst);
        let (client, server) = tokio::io::duplex(1 << 16);
        let _ = tx.send(server);
        Box::pin(async move {
            if refused {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "refused",
                ));
            }
            Ok(Box::new(client) as BoxIo)
        })
    });
    (
        dialer,
        Dials {
            incoming,
            count,
            refuse,
        },
    )
}

/// The server side of one connection.
struct Peer {
    ws: WebSocketStream<DuplexStream>,
}

impl Dials {
    async fn accept(&mut self) -> Peer {
        let io = self.incoming.recv().await.expect("no dial");
        let ws = tokio_tungstenite::accept_async(io)
            .await
            .expect("handshake");
        Peer { ws }
    }
}

impl Peer {
    /// The commands of the next text frame.
    async fn recv(&mut self) -> Vec<Value> {
        loop {
            match self
                .ws
                .next()
                .await
                .expect("client went away")
                .expect("read")
            {
                Message::Text(text) => {
                    return text
                        .split('\n')
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| serde_json::from_str(l).expect("client sent bad JSON"))
                        .collect()
                }
                Message::Close(_) => panic!("client closed"),
                _ => continue,
            }
        }
    }

    async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("write");
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    /// Reads the connect frame and answers it; returns the subscribe
    /// commands that came with it.
    async fn handshake(&mut self, ping: u32) -> Vec<Value> {
        let mut commands = self.recv().await;
        let connect = commands.remove(0);
        assert!(
            connect.get("connect").is_some(),
            "first command is not connect: {connect}"
        );
        self.send(
            json!({"id": connect["id"], "connect": {"client": "c1", "ping": ping, "pong": true}}),
        )
        .await;
        commands
    }

    async fn publish(&mut self, channel: &str, offset: u64) {
        self.send(
            json!({"push": {"channel": channel, "pub": {"data": {"n": offset}, "offset": offset}}}),
        )
        .await;
    }
}

fn options() -> Options {
    Options::new("ws://hub.test:8000/connection/websocket")
        .unwrap()
        .backoff(Duration::from_millis(100), Duration::from_secs(5))
}

fn start(options: Options) -> (Client, Events, Dials) {
    let (dialer, dials) = dialer();
    let (client, events) = Client::with_dialer(options, dialer);
    (client, events, dials)
}

/// Waits (virtual time, bounded) for an event matching `want`, returning
/// it and every event before it.
async fn until(events: &mut Events, want: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
    let mut before = Vec::new();
    let wait = async {
        loop {
            let event = events.recv().await.expect("event stream ended");
            if want(&event) {
                return event;
            }
            before.push(event);
        }
    };
    let event = tokio::time::timeout(Duration::from_secs(600), wait)
        .await
        .expect("event did not come");
    (event, before)
}

fn offsets(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Publication(p) => Some(p.offset),
            _ => None,
        })
        .collect()
}

fn is_state(event: &Event, f: impl Fn(&State) -> bool) -> bool {
    matches!(event, Event::State(s) if f(s))
}

#[tokio::test(start_paused = true)]
async fn watchdog_declares_a_silent_connection_dead_after_ping_plus_allowance() {
    let (client, mut events, mut dials) = start(options().ping_allowance(Duration::from_secs(10)));
    let mut peer = dials.accept().await;
    peer.handshake(25).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
    let connected_at = Instant::now();
    // The server goes silent (half-open): no ping, no close.
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    let Event::State(State::Disconnected {
        code, reconnect, ..
    }) = event
    else {
        unreachable!()
    };
    assert_eq!((code, reconnect), (code::NO_PING, true));
    let waited = connected_at.elapsed();
    assert!(
        waited >= Duration::from_secs(35) && waited < Duration::from_secs(36),
        "declared dead after {waited:?}, expected 25 s + 10 s"
    );
    // And it reconnects.
    let _again = dials.accept().await;
    drop(client);
}

#[tokio::test(start_paused = true)]
async fn answers_pings_and_any_frame_feeds_the_watchdog() {
    let (_client, mut events, mut dials) = start(options().ping_allowance(Duration::from_secs(1)));
    let mut peer = dials.accept().await;
    peer.handshake(2).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        peer.send(json!({})).await;
        assert_eq!(
            peer.recv().await,
            vec![json!({})],
            "a ping is answered with {{}}"
        );
    }
    assert!(events
        .try_recv()
        .is_none_or(|e| !is_state(&e, |s| !s.is_connected())));
}

#[tokio::test(start_paused = true)]
async fn recovers_after_reconnect_and_delivers_each_offset_once() {
    let (client, mut events, mut dials) = start(options());
    client.subscribe("alarms").unwrap();
    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    assert_eq!(subs.len(), 1, "connect and subscribe share the first frame");
    assert_eq!(subs[0]["subscribe"]["channel"], "alarms");
    assert!(subs[0]["subscribe"].get("recover").is_none());
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1"}}))
        .await;
    for offset in 1..=3 {
        peer.publish("alarms", offset).await;
    }
    peer.close(3011, "force reconnect").await;
    let (_, before) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { code: 3011, .. }))
    })
    .await;
    assert_eq!(offsets(&before), [1, 2, 3]);

    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    let sub = &subs[0]["subscribe"];
    assert_eq!(
        (
            sub["recover"].clone(),
            sub["offset"].clone(),
            sub["epoch"].clone()
        ),
        (json!(true), json!(3), json!("e1"))
    );
    // Live pushes that overtake the reply, then an overlapping recovery.
    peer.publish("alarms", 6).await;
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1",
        "offset": 3, "was_recovering": true, "recovered": true,
        "publications": [{"data": {}, "offset": 3}, {"data": {}, "offset": 4}, {"data": {}, "offset": 5}]}}))
        .await;
    peer.publish("alarms", 5).await;
    peer.publish("alarms", 7).await;
    let (_, before) = until(
        &mut events,
        |e| matches!(e, Event::Publication(p) if p.offset == 7),
    )
    .await;
    assert!(before.iter().any(|e| matches!(
        e,
        Event::Subscribed {
            recovered: true,
            ..
        }
    )));
    assert_eq!(offsets(&before), [4, 5, 6]);
}

#[tokio::test(start_paused = true)]
async fn a_live_offset_jump_reconnects_and_recovers_from_the_last_good_offset() {
    let (client, mut events, mut dials) = start(options());
    client.subscribe("alarms").unwrap();
    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1", "offset": 10}}))
        .await;
    peer.publish("alarms", 11).await;
    peer.publish("alarms", 13).await;
    let (event, before) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    assert!(matches!(
        event,
        Event::State(State::Disconnected {
            code: code::INSUFFICIENT_STATE,
            reconnect: true,
            ..
        })
    ));
    assert_eq!(offsets(&before), [11]);
    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    assert_eq!(subs[0]["subscribe"]["offset"], 11);
}

#[tokio::test(start_paused = true)]
async fn failed_recovery_emits_a_gap() {
    let (client, mut events, mut dials) = start(options());
    client.subscribe("alarms").unwrap();
    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e1", "offset": 4}}))
        .await;
    peer.close(3001, "shutdown").await;
    let mut peer = dials.accept().await;
    let subs = peer.handshake(25).await;
    peer.send(json!({"id": subs[0]["id"], "subscribe": {"recoverable": true, "positioned": true, "epoch": "e2", "was_recovering": true}}))
        .await;
    let (event, _) = until(&mut events, |e| matches!(e, Event::Gap { .. })).await;
    let Event::Gap {
        channel,
        last_seen,
        now,
    } = event
    else {
        unreachable!()
    };
    assert_eq!(channel, "alarms");
    assert_eq!(
        last_seen.map(|p| (p.offset, p.epoch)),
        Some((4, "e1".to_string()))
    );
    assert_eq!((now.offset, now.epoch.as_str()), (0, "e2"));
}

#[tokio::test(start_paused = true)]
async fn terminal_close_code_stops_reconnecting_and_fails_calls() {
    let (client, mut events, mut dials) = start(options());
    let mut peer = dials.accept().await;
    peer.recv().await;
    peer.close(3500, "invalid token").await;
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    assert!(matches!(
        event,
        Event::State(State::Disconnected {
            code: 3500,
            reconnect: false,
            ..
        })
    ));
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        dials.count.load(Ordering::SeqCst),
        1,
        "no further attempt after a terminal code"
    );
    let err = client.active_alarms().await.unwrap_err();
    assert!(matches!(err, Error::Closed { code: 3500, .. }), "{err:?}");
    // An explicit reconnect leaves the terminal state.
    client.reconnect().unwrap();
    let mut peer = dials.accept().await;
    peer.handshake(25).await;
    client
        .wait_connected(Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn expired_token_is_terminal_without_a_source_and_refetched_with_one() {
    let (_client, mut events, mut dials) = start(options().token("old"));
    let mut peer = dials.accept().await;
    let connect = peer.recv().await.remove(0);
    assert_eq!(connect["connect"]["token"], "old");
    peer.send(json!({"id": connect["id"], "error": {"code": 109, "message": "token expired"}}))
        .await;
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    assert!(matches!(
        event,
        Event::State(State::Disconnected {
            code: 109,
            reconnect: false,
            ..
        })
    ));

    let fetched = Arc::new(AtomicUsize::new(0));
    let f = fetched.clone();
    let options = options().token("old").token_source(move || {
        let n = f.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok(format!("fresh-{n}")) }
    });
    let (_client, mut events, mut dials) = start(options);
    let mut peer = dials.accept().await;
    let connect = peer.recv().await.remove(0);
    assert_eq!(
        connect["connect"]["token"], "old",
        "a set token is used first"
    );
    peer.send(json!({"id": connect["id"], "error": {"code": 109, "message": "token expired"}}))
        .await;
    let mut peer = dials.accept().await;
    let connect = peer.recv().await.remove(0);
    assert_eq!(connect["connect"]["token"], "fresh-1");
    peer.send(json!({"id": connect["id"], "connect": {"client": "c2"}}))
        .await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
}

#[tokio::test(start_paused = true)]
async fn transport_failures_back_off_with_growing_bounded_delays() {
    let config = options().backoff;
    let (_client, mut events, dials) = start(options());
    dials.refuse.store(true, Ordering::SeqCst);
    let mut delays = Vec::new();
    while delays.len() < 8 {
        let (event, _) = until(&mut events, |e| {
            is_state(e, |s| matches!(s, State::Reconnecting { .. }))
        })
        .await;
        let Event::State(State::Reconnecting { attempt, delay }) = event else {
            unreachable!()
        };
        assert_eq!(attempt as usize, delays.len() + 2);
        delays.push(delay);
    }
    for (n, delay) in delays.iter().enumerate() {
        assert!(
            *delay >= config.min && *delay <= config.ceiling(n as u32),
            "attempt {n}: {delay:?}"
        );
    }
    assert!(
        delays[5..].iter().max() > delays[..1].iter().max(),
        "delays did not grow: {delays:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn calls_time_out_fail_on_disconnect_and_wait_for_a_connection() {
    let (client, mut events, mut dials) = start(options());
    // A call made while connecting waits for the connect reply.
    let early = tokio::spawn({
        let client = client.clone();
        async move { client.rpc("echo", &json!({"x": 1})).await }
    });
    let mut peer = dials.accept().await;
    peer.handshake(25).await;
    let call = peer.recv().await.remove(0);
    assert_eq!(call["rpc"]["method"], "echo");
    peer.send(json!({"id": call["id"], "rpc": {"data": {"ok": true}}}))
        .await;
    let data = early.await.unwrap().unwrap();
    assert_eq!(data.get(), r#"{"ok":true}"#);

    // No reply: a typed timeout, on time.
    let short = client.with_call_timeout(Duration::from_secs(3));
    let started = Instant::now();
    assert_eq!(
        short.rpc("echo", &json!({})).await.unwrap_err(),
        Error::Timeout(Duration::from_secs(3))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    peer.recv().await;

    // The connection drops with the call in flight: Disconnected at once.
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.rpc("echo", &json!({})).await }
    });
    peer.recv().await;
    peer.close(3011, "force reconnect").await;
    let err = pending.await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Disconnected { code: 3011, .. }),
        "{err:?}"
    );

    // Server errors are typed too.
    let mut peer = dials.accept().await;
    peer.handshake(25).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
    let failing = tokio::spawn({
        let client = client.clone();
        async move { client.rpc("nope", &json!({})).await }
    });
    let call = peer.recv().await.remove(0);
    peer.send(json!({"id": call["id"], "error": {"code": 104, "message": "method not found"}}))
        .await;
    assert_eq!(failing.await.unwrap().unwrap_err().server_code(), Some(104));

    // close(): calls fail with Closed, the stream ends.
    client.close();
    assert!(matches!(
        client.rpc("echo", &json!({})).await,
        Err(Error::Closed { .. })
    ));
    let (last, _) = until(&mut events, |e| e.is_terminal_state()).await;
    assert!(matches!(
        last,
        Event::State(State::Disconnected {
            code: code::CLOSE_CALLED,
            ..
        })
    ));
    assert!(tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .is_none());
}

impl Event {
    fn is_terminal_state(&self) -> bool {
        matches!(self, Event::State(s) if s.is_terminal())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_token_source_is_reported_and_retried_without_dialing() {
    let options = options().token_source(|| async { Err("vault sealed".to_string()) });
    let (_client, mut events, dials) = start(options);
    let (event, before) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Reconnecting { attempt: 3, .. }))
    })
    .await;
    assert!(matches!(event, Event::State(_)));
    assert!(before
        .iter()
        .any(|e| matches!(e, Event::Error(Error::Token(why)) if why == "vault sealed")));
    assert!(before.iter().any(|e| is_state(e, |s| matches!(
        s,
        State::Disconnected {
            code: code::TOKEN_UNAVAILABLE,
            reconnect: true,
            ..
        }
    ))));
    assert_eq!(
        dials.count.load(Ordering::SeqCst),
        0,
        "no dial without a token"
    );
}

/// `dials.accept()`, bounded (virtual time).
async fn accept(dials: &mut Dials) -> Peer {
    tokio::time::timeout(Duration::from_secs(600), dials.accept())
        .await
        .expect("the client did not dial again")
}

/// The `Disconnected` state of the session that just ended and the
/// `Reconnecting` state that must come right after it: (code, reason,
/// attempt, delay).
async fn ended_then_waiting(events: &mut Events) -> (u16, String, u32, Duration) {
    let (event, _) = until(events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    let Event::State(State::Disconnected {
        code,
        reason,
        reconnect,
    }) = event
    else {
        unreachable!()
    };
    assert!(reconnect, "code {code} ({reason}) should reconnect");
    let (event, _) = until(events, |e| matches!(e, Event::State(_))).await;
    let Event::State(State::Reconnecting { attempt, delay }) = event else {
        panic!("after Disconnected {code} came {event:?}, not Reconnecting")
    };
    (code, reason, attempt, delay)
}

/// Accepts the next dial and answers `connect`; returns once the client
/// reports `Connected`.
async fn connected_peer(dials: &mut Dials, events: &mut Events) -> Peer {
    let mut peer = accept(dials).await;
    peer.handshake(25).await;
    until(events, |e| is_state(e, State::is_connected)).await;
    peer
}

/// The review finding: a hub that answers `connect` and then closes at once
/// (3008 because the recovery reply does not fit its queue, 3013, a
/// `disconnect` push, a dropped socket) must not be re-dialed at the
/// minimum delay forever. Such a session is not stable, so the attempt
/// number and the delay ceiling keep growing.
#[tokio::test(start_paused = true)]
async fn closes_right_after_connect_back_off_with_growing_delays() {
    let options = options();
    let config = options.backoff;
    assert_eq!(options.stable_after, Duration::from_secs(10), "default");
    let (client, mut events, mut dials) = start(options);
    client.subscribe("alarms").unwrap();
    let mut peer = connected_peer(&mut dials, &mut events).await;
    let mut delays = Vec::new();
    for n in 0..8u32 {
        // Hang up at once, in one of the ways a hub does.
        let (want_code, want_reason) = match n % 4 {
            0 => {
                peer.close(3008, "slow").await;
                (3008, "slow")
            }
            1 => {
                peer.close(3013, "too many requests").await;
                (3013, "too many requests")
            }
            2 => {
                peer.send(json!({"push": {"disconnect": {"code": 3004, "reason": "internal server error"}}}))
                    .await;
                (3004, "internal server error")
            }
            _ => {
                drop(peer);
                (code::TRANSPORT_CLOSED, "")
            }
        };
        let (code, reason, attempt, delay) = ended_then_waiting(&mut events).await;
        assert_eq!(code, want_code, "session {n}: {reason}");
        assert!(reason.contains(want_reason), "session {n}: {reason}");
        // The first connect was attempt 1; none was stable, so the count
        // goes on and attempt `n + 2` is the backoff's `n`-th delay.
        assert_eq!(attempt, n + 2, "session {n}: the attempt count was reset");
        assert!(
            delay >= config.min && delay <= config.ceiling(n),
            "session {n}: {delay:?} outside [{:?}, {:?}]",
            config.min,
            config.ceiling(n)
        );
        // The client really waits that long before dialing again.
        let waiting_since = Instant::now();
        peer = connected_peer(&mut dials, &mut events).await;
        let waited = waiting_since.elapsed();
        assert!(
            waited >= delay && waited <= delay + Duration::from_millis(5),
            "session {n}: waited {waited:?}, announced {delay:?}"
        );
        delays.push(delay);
    }
    // Ceilings 200 ms, 400 ms ... 5 s. With full jitter one delay may be
    // short, but the last three all at most 200 ms has a probability of
    // about 1e-5; with a reset on every connect all would be.
    assert!(
        delays[5..].iter().max().unwrap() > &config.ceiling(0),
        "delays did not grow: {delays:?}"
    );
    assert_eq!(dials.count.load(Ordering::SeqCst), 9);
}

/// A session that lasted `stable_after` starts the backoff over; a shorter
/// one, even a long-ish one, does not.
#[tokio::test(start_paused = true)]
async fn a_close_after_a_stable_connection_starts_the_backoff_over() {
    let stable_after = Duration::from_secs(10);
    let options = options().stable_after(stable_after);
    let config = options.backoff;
    let (_client, mut events, mut dials) = start(options);

    // Three quick closes: attempts 2, 3, 4.
    for n in 0..3u32 {
        let mut peer = connected_peer(&mut dials, &mut events).await;
        peer.close(3008, "slow").await;
        let (code, _, attempt, delay) = ended_then_waiting(&mut events).await;
        assert_eq!((code, attempt), (3008, n + 2));
        assert!(delay <= config.ceiling(n), "{delay:?}");
    }

    // Up for just under `stable_after`: still counted as a failed attempt.
    let mut peer = connected_peer(&mut dials, &mut events).await;
    tokio::time::sleep(stable_after - Duration::from_secs(1)).await;
    peer.close(3008, "slow").await;
    let (_, _, attempt, delay) = ended_then_waiting(&mut events).await;
    assert_eq!(attempt, 5, "a 9 s connection is not stable");
    assert!(delay <= config.ceiling(3), "{delay:?}");

    // Up for `stable_after`: healthy, so the next close starts over at the
    // minimum delay and attempt 1.
    let mut peer = connected_peer(&mut dials, &mut events).await;
    tokio::time::sleep(stable_after).await;
    peer.close(3008, "slow").await;
    let (code, reason, attempt, delay) = ended_then_waiting(&mut events).await;
    assert_eq!((code, reason.as_str(), attempt), (3008, "slow", 1));
    assert!(
        delay >= config.min && delay <= config.ceiling(0),
        "not the minimum delay again: {delay:?}"
    );

    // And the count grows again from there.
    let mut peer = connected_peer(&mut dials, &mut events).await;
    peer.close(3013, "too many requests").await;
    let (code, _, attempt, delay) = ended_then_waiting(&mut events).await;
    assert_eq!((code, attempt), (3013, 2));
    assert!(delay <= config.ceiling(1), "{delay:?}");
}

/// `Client::reconnect` starts over at once, even after quick closes.
#[tokio::test(start_paused = true)]
async fn reconnect_called_starts_the_backoff_over() {
    let (client, mut events, mut dials) = start(options());
    for n in 0..3u32 {
        let mut peer = connected_peer(&mut dials, &mut events).await;
        peer.close(3008, "slow").await;
        let (_, _, attempt, _) = ended_then_waiting(&mut events).await;
        assert_eq!(attempt, n + 2);
    }
    client.reconnect().unwrap();
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Connecting { .. }))
    })
    .await;
    assert!(
        is_state(&event, |s| matches!(s, State::Connecting { attempt: 1 })),
        "{event:?}"
    );
    let mut peer = connected_peer(&mut dials, &mut events).await;
    peer.close(3008, "slow").await;
    let (_, _, attempt, delay) = ended_then_waiting(&mut events).await;
    assert_eq!(attempt, 2);
    assert!(delay <= options().backoff.ceiling(0), "{delay:?}");
}

/// A token source that hands out `fresh-1`, `fresh-2`, ... and counts.
fn counting_source(options: Options) -> (Options, Arc<AtomicUsize>) {
    let fetched = Arc::new(AtomicUsize::new(0));
    let f = fetched.clone();
    let options = options.token_source(move || {
        let n = f.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok(format!("fresh-{n}")) }
    });
    (options, fetched)
}

/// Answers `connect` with a connection that expires in `ttl` seconds and
/// no server ping (so that the client sends nothing on its own but
/// refreshes).
async fn expiring_handshake(peer: &mut Peer, ttl: u32) {
    let connect = peer.recv().await.remove(0);
    assert!(connect.get("connect").is_some(), "{connect}");
    peer.send(
        json!({"id": connect["id"], "connect": {"client": "c1", "expires": true, "ttl": ttl}}),
    )
    .await;
}

/// The next command, which must be a `refresh`; returns its id and token.
async fn refresh_command(peer: &mut Peer) -> (Value, String) {
    let command = tokio::time::timeout(Duration::from_secs(3600), peer.recv())
        .await
        .expect("no refresh came")
        .remove(0);
    let token = command["refresh"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("not a refresh: {command}"))
        .to_string();
    (command["id"].clone(), token)
}

#[tokio::test(start_paused = true)]
async fn refresh_goes_out_before_the_ttl_runs_out_and_rearms_from_its_reply() {
    let (options, fetched) = counting_source(options().token("t0"));
    let (_client, mut events, mut dials) = start(options);
    let mut peer = dials.accept().await;
    expiring_handshake(&mut peer, 60).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
    let connected_at = Instant::now();

    // 60 s left: a tenth (6 s) early.
    let (id, token) = refresh_command(&mut peer).await;
    assert_eq!(token, "fresh-1");
    assert_eq!(connected_at.elapsed(), Duration::from_secs(54));
    peer.send(json!({"id": id, "refresh": {"client": "c1", "expires": true, "ttl": 600}}))
        .await;
    let refreshed_at = Instant::now();

    // The reply's ttl counts, not the first one: 600 s, 30 s early (the cap).
    let (id, token) = refresh_command(&mut peer).await;
    assert_eq!(token, "fresh-2");
    assert_eq!(refreshed_at.elapsed(), Duration::from_secs(570));
    // A reply that no longer expires stops the refreshes.
    peer.send(json!({"id": id, "refresh": {"client": "c1"}}))
        .await;
    assert!(
        tokio::time::timeout(Duration::from_secs(3600), peer.recv())
            .await
            .is_err(),
        "nothing after a refresh that does not expire"
    );
    assert_eq!(fetched.load(Ordering::SeqCst), 2);
    assert!(
        events
            .try_recv()
            .is_none_or(|e| !matches!(e, Event::State(_))),
        "the connection stayed up"
    );
    assert_eq!(dials.count.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn error_109_to_refresh_asks_the_source_again_a_bounded_number_of_times() {
    let (options, fetched) = counting_source(options().token("t0"));
    let config = options.backoff;
    let (_client, mut events, mut dials) = start(options);
    let mut peer = dials.accept().await;
    expiring_handshake(&mut peer, 10).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;

    let (id, token) = refresh_command(&mut peer).await;
    assert_eq!(token, "fresh-1");
    peer.send(json!({"id": id, "error": {"code": 109, "message": "token expired"}}))
        .await;
    let refused_at = Instant::now();
    let (event, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(&event, Event::Error(Error::Token(why)) if why.contains("token expired") && why.contains("asking again")),
        "{event:?}"
    );
    // Asked again after a backoff delay, and the new token goes out.
    let (id, token) = refresh_command(&mut peer).await;
    assert_eq!(token, "fresh-2");
    let waited = refused_at.elapsed();
    assert!(
        waited >= config.min && waited <= config.ceiling(0),
        "{waited:?}"
    );
    // Success starts the tries over and re-arms from the reply.
    peer.send(json!({"id": id, "refresh": {"client": "c1", "expires": true, "ttl": 10}}))
        .await;

    // A source that keeps handing out expired tokens: five tries in a row,
    // then the client leaves the connection to expire (no refresh loop).
    for n in 1..=super::refresh::MAX_TRIES {
        let (id, _) = refresh_command(&mut peer).await;
        peer.send(json!({"id": id, "error": {"code": 109, "message": "token expired"}}))
            .await;
        let (event, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
        let Event::Error(Error::Token(why)) = event else {
            panic!("{event:?}")
        };
        assert_eq!(
            why.contains("gave up"),
            n == super::refresh::MAX_TRIES,
            "try {n}: {why}"
        );
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(3600), peer.recv())
            .await
            .is_err(),
        "no refresh after the tries are used up"
    );
    assert_eq!(
        fetched.load(Ordering::SeqCst),
        2 + super::refresh::MAX_TRIES as usize
    );
    // The hub then closes the expired connection; the reconnect fetches a
    // token instead of presenting the expired one.
    peer.close(3005, "connection expired").await;
    let mut peer = accept(&mut dials).await;
    let connect = peer.recv().await.remove(0);
    assert_eq!(
        connect["connect"]["token"],
        format!("fresh-{}", 3 + super::refresh::MAX_TRIES)
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_refused_outright_is_terminal() {
    let (options, _) = counting_source(options().token("t0"));
    let (_client, mut events, mut dials) = start(options);
    let mut peer = dials.accept().await;
    expiring_handshake(&mut peer, 10).await;
    let (id, _) = refresh_command(&mut peer).await;
    peer.send(json!({"id": id, "error": {"code": 101, "message": "unauthorized"}}))
        .await;
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { .. }))
    })
    .await;
    assert!(
        matches!(&event, Event::State(State::Disconnected { code: 101, reconnect: false, reason }) if reason.contains("refresh refused")),
        "{event:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_token_source_nothing_is_refreshed() {
    let (_client, mut events, mut dials) = start(options().token("t0"));
    let mut peer = dials.accept().await;
    expiring_handshake(&mut peer, 3).await;
    until(&mut events, |e| is_state(e, State::is_connected)).await;
    assert!(
        tokio::time::timeout(Duration::from_secs(600), peer.recv())
            .await
            .is_err(),
        "the client sent something"
    );
    // The hub closes the expired connection; the reconnect presents the
    // same token, is refused with 109, and that is terminal.
    peer.close(3005, "connection expired").await;
    let mut peer = accept(&mut dials).await;
    let connect = peer.recv().await.remove(0);
    assert_eq!(connect["connect"]["token"], "t0");
    peer.send(json!({"id": connect["id"], "error": {"code": 109, "message": "token expired"}}))
        .await;
    let (event, _) = until(&mut events, |e| {
        is_state(e, |s| matches!(s, State::Disconnected { code: 109, .. }))
    })
    .await;
    assert!(is_state(&event, State::is_terminal), "{event:?}");
}

mod endpoints;
