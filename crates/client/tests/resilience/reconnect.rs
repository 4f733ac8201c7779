//! Terminal disconnects do not loop; transport loss and 3000–3499 codes
//! reconnect, with growing (jittered, bounded) delays; a hub that hangs up
//! right after `connect` is backed off too, and a stable connection starts
//! the delays over.

use std::time::Duration;

use serde_json::json;
use telltale_client::{Client, Error, Event, State};

use crate::proxy::Proxy;
use crate::support::*;

/// Waits for the terminal state and checks no further connection is tried.
async fn assert_terminal_without_retries(
    client: &Client,
    events: &mut telltale_client::Events,
    proxy: &Proxy,
    want_code: u16,
) {
    let (event, _) = until(events, disconnected).await;
    let Event::State(State::Disconnected {
        code,
        reconnect,
        reason,
    }) = event
    else {
        unreachable!()
    };
    assert_eq!((code, reconnect), (want_code, false), "{reason}");
    assert!(client.state().is_terminal());
    let accepts = proxy.accepts();
    // Many times the longest reconnect delay (500 ms): a loop would show.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        proxy.accepts(),
        accepts,
        "no connection attempt after a terminal state"
    );
    assert!(
        events.try_recv().is_none(),
        "no event after the terminal state"
    );
    let err = client.active_alarms().await.unwrap_err();
    assert!(
        matches!(err, Error::Closed { code, .. } if code == want_code),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_bad_token_is_terminal_and_does_not_loop() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (client, mut events) = Client::new(options(&proxy.ws_url()).token("not-a-jwt"));
    assert_terminal_without_retries(&client, &mut events, &proxy, 3500).await;
    assert_eq!(proxy.accepts(), 1);
}

#[tokio::test]
async fn an_expired_token_without_a_token_source_is_terminal() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let expired = token(json!({"sub": "u", "exp": now() - 60}));
    let (client, mut events) = Client::new(options(&proxy.ws_url()).token(expired));
    assert_terminal_without_retries(&client, &mut events, &proxy, 109).await;
}

#[tokio::test]
async fn an_expired_token_is_replaced_from_the_token_source() {
    let hub = Hub::start().await;
    let expired = token(json!({"sub": "u", "exp": now() - 60}));
    let fresh = token(json!({"sub": "u", "exp": now() + 3600}));
    let options = options(&hub.ws_url()).token(expired).token_source(move || {
        let fresh = fresh.clone();
        async move { Ok(fresh) }
    });
    let (_client, mut events) = Client::new(options);
    let (_, before) = until(&mut events, connected).await;
    assert!(before.iter().any(|e| is_state(e, |s| matches!(
        s,
        State::Disconnected {
            code: 109,
            reconnect: true,
            ..
        }
    ))));
}

#[tokio::test]
async fn server_disconnects_reconnect_below_3500_and_stop_at_3503() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let user_token = token(json!({"sub": "u"}));
    let (client, mut events) = Client::new(options(&proxy.ws_url()).token(user_token));
    until(&mut events, connected).await;

    let reply = hub
        .api(
            "disconnect",
            json!({"user": "u", "disconnect": {"code": 3011, "reason": "force reconnect"}}),
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let (event, _) = until(&mut events, disconnected).await;
    assert!(
        matches!(&event, Event::State(State::Disconnected { code: 3011, reconnect: true, reason }) if reason == "force reconnect"),
        "{event:?}"
    );
    until(&mut events, connected).await;

    hub.api("disconnect", json!({"user": "u"})).await;
    assert_terminal_without_retries(&client, &mut events, &proxy, 3503).await;
}

#[tokio::test]
async fn transport_loss_reconnects_with_growing_delays() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let stable_after = Duration::from_millis(200);
    let options = options(&proxy.ws_url())
        .backoff(Duration::from_millis(20), Duration::from_secs(2))
        .stable_after(stable_after);
    let config = options.backoff;
    let (_client, mut events) = Client::new(options);
    until(&mut events, connected).await;
    // Up for longer than `stable_after`: the cut starts from attempt 1.
    tokio::time::sleep(stable_after * 2).await;

    proxy.reset();
    let mut delays = Vec::new();
    while delays.len() < 8 {
        let (event, _) = until(&mut events, |e| {
            is_state(e, |s| matches!(s, State::Reconnecting { .. }))
        })
        .await;
        let Event::State(State::Reconnecting { attempt, delay }) = event else {
            unreachable!()
        };
        assert_eq!(attempt as usize, delays.len() + 1, "attempts are counted");
        delays.push(delay);
    }
    for (n, delay) in delays.iter().enumerate() {
        assert!(
            *delay >= config.min && *delay <= config.ceiling(n as u32),
            "delay {n} = {delay:?} outside [{:?}, {:?}]",
            config.min,
            config.ceiling(n as u32)
        );
    }
    // The ceiling doubles: 40 ms, 80 ms ... 2 s. With full jitter a single
    // delay may be short, but not all of the last four.
    assert!(
        delays[4..].iter().max().unwrap() > &config.ceiling(0),
        "delays did not grow: {delays:?}"
    );
    proxy.resume();
    until(&mut events, connected).await;
}

#[tokio::test]
async fn a_hub_that_hangs_up_right_after_connect_is_backed_off() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let options =
        options(&proxy.ws_url()).backoff(Duration::from_millis(20), Duration::from_secs(1));
    // The default: these sessions last milliseconds, far from stable.
    assert_eq!(options.stable_after, Duration::from_secs(10));
    let config = options.backoff;
    proxy.hang_up_after_connect();
    let (_client, mut events) = Client::new(options);

    let mut delays = Vec::new();
    for n in 0..6u32 {
        // `connect` succeeds, then the link ends (no close frame).
        let (_, before) = until(&mut events, disconnected).await;
        assert!(before.iter().any(connected), "session {n}: {before:?}");
        let (event, _) = until(&mut events, |e| matches!(e, Event::State(_))).await;
        let Event::State(State::Reconnecting { attempt, delay }) = event else {
            panic!("session {n}: {event:?} instead of Reconnecting")
        };
        // Not reset by the connects: attempt 1 was the first dial.
        assert_eq!(attempt, n + 2, "session {n}: the attempt count was reset");
        assert!(
            delay >= config.min && delay <= config.ceiling(n),
            "session {n}: {delay:?} outside [{:?}, {:?}]",
            config.min,
            config.ceiling(n)
        );
        delays.push(delay);
    }
    // Ceilings 40 ms ... 1 s; all of the last three at most 40 ms (as with a
    // reset on every connect) has a probability below 1e-4.
    assert!(
        delays[3..].iter().max().unwrap() > &config.ceiling(0),
        "delays did not grow: {delays:?}"
    );
    assert!(proxy.accepts() >= 6);

    proxy.resume();
    until(&mut events, connected).await;
}
