//! The agent's sender against a real hub that goes away for 20 s: what was
//! queued meanwhile arrives in order once the hub is back, so the history
//! has no hole, and the alarm transition made during the outage is not lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Value};
use telltale_agent::outbox::{Kind, Outbox};
use telltale_agent::sender::{self, Hub};
use telltale_hub::{Config, Server};
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;

mod support;

const KEY: &str = "agent-test-key";
const CHANNEL: &str = "metrics:outage-test";

struct RunningHub {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start_hub(listen: SocketAddr) -> (SocketAddr, RunningHub) {
    let config = Config {
        listen,
        api_key: Some(KEY.into()),
        history_size: 10_000,
        ..Config::default()
    };
    // The port may take a moment to be free again after a stop.
    let mut tries = 0;
    let server = loop {
        match Server::bind(config.clone()).await {
            Ok(server) => break server,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot bind {listen} again: {e:#}"),
        }
    };
    let addr = server.local_addr();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(server.run(async move {
        let _ = stopped.await;
    }));
    (addr, RunningHub { stop, task })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_20_second_outage_leaves_no_hole() {
    let (addr, hub) = start_hub("127.0.0.1:0".parse().unwrap()).await;
    let outbox = Arc::new(Mutex::new(Outbox::new(Duration::from_secs(600), 100_000)));
    let wake = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let sender = tokio::spawn(sender::run(
        Hub::new(&format!("http://{addr}"), KEY),
        outbox.clone(),
        wake.clone(),
        shutdown.clone(),
    ));
    let queue = |channel: &str, data: Value, kind| {
        outbox.lock().push(channel, data.to_string(), kind);
        wake.notify_one();
    };
    let sample = |n: i64| json!({"ts": n, "values": {"n": n as f64}});
    let mut n = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    // 2 s with the hub up.
    for _ in 0..10 {
        tick.tick().await;
        n += 1;
        queue(CHANNEL, sample(n), Kind::Sample);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = support::history(&format!("http://{addr}"), KEY, CHANNEL).await;
    assert_eq!(before.len(), 10, "delivered while the hub was up");

    // 20 s without a hub; an alarm transition happens meanwhile.
    hub.stop.send(()).unwrap();
    hub.task.await.unwrap().unwrap();
    for i in 0..100 {
        tick.tick().await;
        n += 1;
        queue(CHANNEL, sample(n), Kind::Sample);
        if i == 50 {
            let alarm = json!({"id": "outage-test/disk", "source": "outage-test",
                "severity": "critical", "state": "firing", "title": "disk", "ts": n});
            queue("alarms", alarm, Kind::Transition);
        }
    }
    assert!(outbox.lock().len() >= 100, "queued while the hub is away");

    // The hub is back on the same address; a few more samples.
    let (_, hub) = start_hub(addr).await;
    for _ in 0..5 {
        tick.tick().await;
        n += 1;
        queue(CHANNEL, sample(n), Kind::Sample);
    }
    let mut after = Vec::new();
    for _ in 0..150 {
        after = support::history(&format!("http://{addr}"), KEY, CHANNEL).await;
        if after.len() >= 105 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen: Vec<i64> = after.iter().map(|d| d["ts"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (11..=n).collect();
    assert_eq!(
        seen, expected,
        "every sample of the outage, in order, no hole"
    );
    let alarms = support::history(&format!("http://{addr}"), KEY, "alarms").await;
    assert_eq!(
        alarms.len(),
        1,
        "the transition made during the outage: {alarms:?}"
    );
    assert_eq!(alarms[0]["id"], "outage-test/disk");

    shutdown.cancel();
    sender.await.unwrap();
    hub.stop.send(()).unwrap();
    hub.task.await.unwrap().unwrap();
}
