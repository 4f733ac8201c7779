//! Alarms published while the link is cut arrive exactly once, in order;
//! a slow consumer loses metric samples (counted), never alarms.

use serde_json::json;
use telltale_client::{code, Client, Event, HistoryQuery, State};

use crate::proxy::Proxy;
use crate::support::*;

/// Alarm numbers must be `1..=last` and offsets consecutive.
fn assert_exactly_once_in_order(seen: &[(u64, u64)], last: u64) {
    let numbers: Vec<u64> = seen.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        numbers,
        (1..=last).collect::<Vec<_>>(),
        "alarms (number, offset): {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[1].1 == w[0].1 + 1),
        "offsets not consecutive: {seen:?}"
    );
}

#[tokio::test]
async fn alarms_published_during_a_blackhole_arrive_once_in_order() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (_client, mut events) = subscribed_client(options(&proxy.ws_url())).await;
    for n in 1..=3 {
        hub.alarm(n).await;
    }
    let mut seen = alarms_until(&mut events, 3).await;

    proxy.blackhole();
    for n in 4..=8 {
        hub.alarm(n).await;
    }
    // Nothing arrives and nothing fails: only the watchdog can tell.
    let (event, _) = until(&mut events, disconnected).await;
    assert!(
        matches!(
            event,
            Event::State(State::Disconnected {
                code: code::NO_PING,
                reconnect: true,
                ..
            })
        ),
        "{event:?}"
    );
    proxy.resume();
    let (subscribed, before) = until(&mut events, |e| matches!(e, Event::Subscribed { .. })).await;
    assert!(before.iter().any(connected));
    assert!(
        matches!(
            subscribed,
            Event::Subscribed {
                was_recovering: true,
                recovered: true,
                ..
            }
        ),
        "{subscribed:?}"
    );
    for n in 9..=10 {
        hub.alarm(n).await;
    }
    seen.extend(alarms_until(&mut events, 10).await);
    assert_exactly_once_in_order(&seen, 10);
}

#[tokio::test]
async fn alarms_published_while_the_link_is_reset_arrive_once_in_order() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (_client, mut events) = subscribed_client(options(&proxy.ws_url())).await;
    hub.alarm(1).await;
    let mut seen = alarms_until(&mut events, 1).await;

    let accepts = proxy.accepts();
    proxy.reset();
    let (event, _) = until(&mut events, disconnected).await;
    assert!(
        matches!(
            event,
            Event::State(State::Disconnected {
                code: code::TRANSPORT_CLOSED,
                reconnect: true,
                ..
            })
        ),
        "{event:?}"
    );
    for n in 2..=6 {
        hub.alarm(n).await;
    }
    // Attempts during the outage fail too (the proxy resets them): two more
    // `Reconnecting` after the one that follows the cut. (Counted here, not
    // read from `attempt`: the connection was not up for `stable_after`, so
    // the count did not start over at the connect.)
    for _ in 0..3 {
        until(&mut events, |e| {
            is_state(e, |s| matches!(s, State::Reconnecting { .. }))
        })
        .await;
    }
    assert!(proxy.accepts() >= accepts + 2, "the client kept trying");
    proxy.resume();
    let (subscribed, _) = until(&mut events, |e| matches!(e, Event::Subscribed { .. })).await;
    assert!(
        matches!(
            subscribed,
            Event::Subscribed {
                was_recovering: true,
                recovered: true,
                ..
            }
        ),
        "{subscribed:?}"
    );
    for n in 7..=9 {
        hub.alarm(n).await;
    }
    seen.extend(alarms_until(&mut events, 9).await);
    assert_exactly_once_in_order(&seen, 9);
}

#[tokio::test]
async fn a_slow_consumer_loses_metric_samples_never_alarms() {
    let hub = Hub::start().await;
    let (client, mut events) = Client::new(options(&hub.ws_url()).event_capacity(4));
    client.subscribe("alarms").unwrap();
    client.subscribe("metrics:slow").unwrap();
    subscribed(&mut events, "alarms").await;
    subscribed(&mut events, "metrics:slow").await;

    // The consumer reads nothing while 60 samples and 6 alarms arrive.
    for i in 1..=60u64 {
        hub.publish("metrics:slow", json!({"ts": i, "values": {"x": i}}))
            .await;
        if i % 10 == 0 {
            hub.alarm(i / 10).await;
        }
    }
    // A round trip on the same connection: every push before it is handled.
    client
        .history("alarms", HistoryQuery::default())
        .await
        .unwrap();

    let (mut alarms, mut samples, mut lagged) = (Vec::new(), Vec::new(), 0);
    while let Some(event) = events.try_recv() {
        match event {
            Event::Publication(p) if p.channel == "alarms" => alarms.push(p.offset),
            Event::Publication(p) => samples.push(p.offset),
            Event::Lagged { dropped } => lagged += dropped,
            _ => {}
        }
    }
    assert_eq!(alarms, (1..=6).collect::<Vec<_>>(), "every alarm, in order");
    assert!(lagged > 0, "the loss is reported");
    assert_eq!(
        samples.len() as u64 + lagged,
        60,
        "samples {samples:?}, lagged {lagged}"
    );
    assert!(
        samples.windows(2).all(|w| w[0] < w[1]),
        "kept samples stay in order"
    );
    assert_eq!(samples.last(), Some(&60), "the newest sample is kept");
    assert_eq!(events.dropped_total(), lagged);
}
