//! A hub restart loses history (new epoch): the client says so with a gap.

use telltale_client::{Event, State};

use crate::proxy::Proxy;
use crate::support::*;

#[tokio::test]
async fn hub_restart_gives_recovered_false_and_a_gap_event() {
    let hub = Hub::start().await;
    let proxy = Proxy::start(hub.addr).await;
    let (client, mut events) = subscribed_client(options(&proxy.ws_url())).await;
    hub.alarm(1).await;
    hub.alarm(2).await;
    alarms_until(&mut events, 2).await;

    let new_hub = Hub::start().await;
    proxy.set_target(new_hub.addr);
    hub.stop().await;

    let (gap, before) = until(&mut events, |e| matches!(e, Event::Gap { .. })).await;
    assert!(
        before.iter().any(|e| is_state(e, |s| matches!(
            s,
            State::Disconnected {
                code: 3001,
                reconnect: true,
                ..
            }
        ))),
        "shutdown is announced as 3001 and the client reconnects: {before:#?}"
    );
    assert!(before.iter().any(|e| matches!(
        e,
        Event::Subscribed {
            was_recovering: true,
            recovered: false,
            ..
        }
    )));
    let Event::Gap {
        channel,
        last_seen,
        now,
    } = gap
    else {
        unreachable!()
    };
    assert_eq!(channel, "alarms");
    let last_seen = last_seen.expect("the old position is reported");
    assert_eq!(last_seen.offset, 2);
    assert_ne!(
        now.epoch, last_seen.epoch,
        "a restarted hub has a new epoch"
    );

    // The application resyncs from the new hub and the stream goes on.
    new_hub.alarm(7).await;
    let seen = alarms_until(&mut events, 7).await;
    assert_eq!(seen, [(7, now.offset + 1)]);
    let active = client.active_alarms().await.unwrap();
    assert_eq!(
        active.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["test/7"]
    );
}
