//! Token refresh against a real hub: connections whose tokens live 3 s
//! stay up for 30 s (the hub would close them at expiry + 25 s) with a token
//! file and with a token command, and an expired first token is replaced
//! from the source.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use telltale_client::{token_command, token_file, Client, Event, Options, State, TokenSource};
use tokio::time::Instant;

use crate::support::*;

/// How long the tokens live, seconds.
const LIFE: u64 = 3;
/// How long the connection must stay up: past the hub's 25 s grace after
/// the first token's expiry, so a missing refresh shows as a 3005 close.
const HOLD: Duration = Duration::from_secs(30);

/// `source`, counting how often the client asks it.
fn counted(source: TokenSource) -> (TokenSource, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    let counted = TokenSource::new(move || {
        a.fetch_add(1, Ordering::SeqCst);
        source.fetch()
    });
    (counted, asked)
}

/// Connects with `options`, then for [`HOLD`] publishes an alarm every
/// second and checks each arrives with no state change (no disconnect, no
/// reconnect) and no error in between. Returns the client.
async fn stays_connected(hub: &Hub, options: Options) -> Client {
    let (client, mut events) = Client::new(options);
    client.subscribe("alarms").unwrap();
    until(&mut events, connected).await;
    subscribed(&mut events, "alarms").await;
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < HOLD {
        n += 1;
        hub.alarm(n).await;
        let arrived = async {
            loop {
                match events.recv().await.expect("event stream ended") {
                    Event::Publication(p) if p.data.get().contains(&format!("\"alarm {n}\"")) => {
                        return
                    }
                    Event::Publication(_) | Event::Lagged { .. } => {}
                    other => panic!(
                        "after {:.1} s, alarm {n}: {other:?}",
                        started.elapsed().as_secs_f64()
                    ),
                }
            }
        };
        tokio::time::timeout(WAIT, arrived)
            .await
            .unwrap_or_else(|_| panic!("alarm {n} did not arrive"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(client.state().is_connected(), "{}", client.state());
    assert!(n >= 20, "only {n} alarms in {HOLD:?}");
    client
}

/// With a 3 s token the client refreshes every 1-2 s: 30 s need many.
fn assert_refreshed(asked: &AtomicUsize) {
    let asked = asked.load(Ordering::SeqCst);
    assert!(
        asked >= 10,
        "the token source was asked {asked} times in {HOLD:?}"
    );
}

#[tokio::test]
async fn a_token_file_keeps_a_short_lived_connection_up() {
    let hub = Hub::start().await;
    let dir = TempDir::new();
    let path = dir.join("token");
    let _agent = FreshTokenFile::start(path.clone(), LIFE as i64, Duration::from_secs(1));
    let (source, asked) = counted(token_file(&path));
    let client = stays_connected(&hub, options(&hub.ws_url()).token_from(source)).await;
    assert_refreshed(&asked);
    client.close();
}

#[tokio::test]
async fn a_token_command_keeps_a_short_lived_connection_up() {
    let hub = Hub::start().await;
    let dir = TempDir::new();
    let fallback = dir.join("token");
    let _agent = FreshTokenFile::start(fallback.clone(), LIFE as i64, Duration::from_secs(1));
    let command = token_command_line(LIFE, &fallback);
    let (source, asked) = counted(token_command(command));
    let client = stays_connected(&hub, options(&hub.ws_url()).token_from(source)).await;
    assert_refreshed(&asked);
    client.close();
}

#[tokio::test]
async fn an_expired_first_token_is_replaced_by_the_token_command() {
    let hub = Hub::start().await;
    let dir = TempDir::new();
    let fresh = dir.join("token");
    write_atomically(&fresh, &token_expiring_in(3600));
    let (source, asked) = counted(token_command(format!("cat '{}'", fresh.display())));
    let options = options(&hub.ws_url())
        .token(token_expiring_in(-60))
        .token_from(source);
    let (_client, mut events) = Client::new(options);
    let (_, before) = until(&mut events, connected).await;
    assert!(
        before.iter().any(|e| is_state(e, |s| matches!(
            s,
            State::Disconnected {
                code: 109,
                reconnect: true,
                ..
            }
        ))),
        "{before:?}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1, "asked once, after the 109");
}

#[tokio::test]
async fn a_token_file_holding_an_expired_token_is_read_again_until_it_is_fresh() {
    let hub = Hub::start().await;
    let dir = TempDir::new();
    let path = dir.join("token");
    write_atomically(&path, &token_expiring_in(-60));
    let (client, mut events) = Client::new(options(&hub.ws_url()).token_from(token_file(&path)));
    until(&mut events, |e| {
        is_state(e, |s| {
            matches!(
                s,
                State::Disconnected {
                    code: 109,
                    reconnect: true,
                    ..
                }
            )
        })
    })
    .await;
    // The agent catches up; the next attempt reads the new token.
    write_atomically(&path, &token_expiring_in(3600));
    until(&mut events, connected).await;
    assert!(client.state().is_connected());
}
