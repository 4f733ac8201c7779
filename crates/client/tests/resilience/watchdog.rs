//! Half-open connections are found by the ping watchdog; healthy idle ones
//! are kept alive by pings and pongs.

use std::time::Duration;

use telltale_client::{code, Event, State};

use crate::proxy::Proxy;
use crate::support::*;

#[tokio::test]
async fn a_half_open_connection_is_detected_by_the_watchdog() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (client, mut events) = subscribed_client(options(&proxy.ws_url())).await;
    let State::Connected { ping, .. } = client.state() else {
        panic!("not connected")
    };
    assert_eq!(
        ping,
        Some(Duration::from_secs(1)),
        "the interval comes from the connect reply"
    );

    proxy.blackhole();
    let (event, before) = until(&mut events, disconnected).await;
    assert!(
        before.is_empty(),
        "nothing happened before the watchdog fired: {before:?}"
    );
    let Event::State(State::Disconnected {
        code,
        reconnect,
        reason,
    }) = event
    else {
        unreachable!()
    };
    assert_eq!((code, reconnect), (code::NO_PING, true), "{reason}");

    proxy.resume();
    until(&mut events, connected).await;
}

#[tokio::test]
async fn an_idle_connection_stays_up_with_pings_and_pongs() {
    let hub = Hub::with(|config| config.pong_timeout = Duration::from_secs(2)).await;
    // An allowance that absorbs a busy machine; the hub pings every second.
    let options = options(&hub.ws_url()).ping_allowance(Duration::from_secs(3));
    let (client, mut events) = subscribed_client(options).await;
    // Several pings, each answered (or the hub would close with 3012), and
    // longer than the client's watchdog limit: only pings keep it quiet.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(client.state().is_connected());
    while let Some(event) = events.try_recv() {
        assert!(!disconnected(&event), "{event:?}");
    }
}
