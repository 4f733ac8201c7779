//! One hub at several URLs (its nodes, no load balancer): the client moves
//! to the next URL when its node stops, drops or refuses, and its
//! subscriptions work again there. The hubs here have a memory broker
//! each, so a publication reaches the clients of its own hub only: that is
//! how these tests tell which node the client is on.

use telltale_client::{Client, Event, Events, Options, State};

use crate::proxy::Proxy;
use crate::support::*;

/// A loopback URL where nothing listens (a port just freed).
async fn closed_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("ws://{addr}/connection/websocket")
}

/// [`options`] for the first URL with the others as fallbacks.
fn options_for(urls: &[&str]) -> Options {
    let (first, rest) = urls.split_first().unwrap();
    let mut options = options(first);
    for url in rest {
        options = options.fallback(url).unwrap();
    }
    options
}

/// Waits until the client is connected again and `alarms` subscribed
/// again after it: the events up to there.
async fn resubscribed(events: &mut Events) -> Vec<Event> {
    let (_, mut before) = until(events, connected).await;
    let (event, after) = until(
        events,
        |e| matches!(e, Event::Subscribed { channel, .. } if channel == "alarms"),
    )
    .await;
    before.extend(after);
    before.push(event);
    before
}

#[tokio::test]
async fn fails_over_to_the_second_hub_when_the_first_stops() {
    let a = Hub::start().await;
    let b = Hub::start().await;
    let (client, mut events) = subscribed_client(options_for(&[&a.ws_url(), &b.ws_url()])).await;
    // On a: its publication arrives.
    a.alarm(1).await;
    alarms_until(&mut events, 1).await;

    a.stop().await;
    let before = resubscribed(&mut events).await;
    assert!(
        before.iter().any(|e| is_state(e, |s| matches!(
            s,
            State::Disconnected {
                code: 3001,
                reconnect: true,
                ..
            }
        ))),
        "a's shutdown is what moved the client: {before:#?}"
    );
    assert!(
        before.iter().any(|e| matches!(
            e,
            Event::Subscribed {
                was_recovering: true,
                ..
            }
        )),
        "the subscription is taken up from its position: {before:#?}"
    );
    // On b: live again.
    b.alarm(2).await;
    let seen = alarms_until(&mut events, 2).await;
    assert_eq!(seen.last().map(|(n, _)| *n), Some(2));
    assert!(client.state().is_connected());
    let active = client.active_alarms().await.unwrap();
    assert_eq!(
        active.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["test/2"],
        "calls go to b"
    );
}

#[tokio::test]
async fn a_first_url_that_refuses_connections_is_skipped() {
    let closed = closed_url().await;
    let b = Hub::start().await;
    let (client, mut events) = Client::new(options_for(&[&closed, &b.ws_url()]));
    client.subscribe("alarms").unwrap();
    let (_, before) = until(&mut events, connected).await;
    let refused = before.iter().find_map(|e| match e {
        Event::State(State::Disconnected {
            code,
            reason,
            reconnect: true,
        }) => Some((*code, reason.clone())),
        _ => None,
    });
    let (code, reason) = refused.expect("the first attempt failed");
    assert_eq!(code, telltale_client::code::TRANSPORT_CLOSED, "{reason}");
    assert!(
        reason.contains(&closed),
        "the first URL was dialed first: {reason}"
    );
    subscribed(&mut events, "alarms").await;
    b.alarm(1).await;
    alarms_until(&mut events, 1).await;
}

/// Both nodes behind proxies that can cut them: a → (a cut) → b →
/// (b cut) → a again, each time with the subscription live on the node
/// the client moved to.
#[tokio::test]
async fn a_dropped_link_moves_on_and_the_urls_wrap_around() {
    let a = Hub::start().await;
    let b = Hub::start().await;
    let (to_a, to_b) = (Proxy::start(a.addr).await, Proxy::start(b.addr).await);
    let (_client, mut events) =
        subscribed_client(options_for(&[&to_a.ws_url(), &to_b.ws_url()])).await;
    assert_eq!((to_a.accepts(), to_b.accepts()), (1, 0), "a first");
    a.alarm(1).await;
    alarms_until(&mut events, 1).await;

    to_a.reset(); // RST on the link and on any new connection to a
    resubscribed(&mut events).await;
    assert!(to_b.accepts() >= 1, "moved to b");
    b.alarm(2).await;
    alarms_until(&mut events, 2).await;

    let a_accepts = to_a.accepts();
    to_a.resume();
    to_b.reset();
    resubscribed(&mut events).await;
    assert!(to_a.accepts() > a_accepts, "back to a after b");
    a.alarm(3).await;
    alarms_until(&mut events, 3).await;
}

/// Mixed schemes: each URL is dialed by its own (a `wss://` one over TLS,
/// here failing for a missing CA file), so a `ws://` fallback still works.
#[tokio::test]
async fn each_url_is_dialed_by_its_own_scheme() {
    let b = Hub::start().await;
    let tls_url = closed_url().await.replacen("ws://", "wss://", 1);
    let options = options_for(&[&tls_url, &b.ws_url()]).ca_file("/no/such/ca.pem");
    assert!(options.tls_config().is_err());
    let (_client, mut events) = Client::new(options);
    let (_, before) = until(&mut events, connected).await;
    assert!(
        before.iter().any(|e| is_state(e, |s| matches!(
            s,
            State::Disconnected { reason, .. } if reason.contains("/no/such/ca.pem")
        ))),
        "the wss:// URL failed for its CA file: {before:#?}"
    );
}
