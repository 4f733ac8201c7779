//! The shell's commands over Tauri's IPC (mock runtime, no window), against
//! a real hub over loopback: names, arguments and results as the UI sees them.

#[path = "common/ipc.rs"]
mod ipc;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipc::invoke;
use parking_lot::Mutex;
use serde_json::{json, Value};
use tauri::async_runtime::{block_on, JoinHandle};
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{App, WebviewWindowBuilder};
use telltale::args::LaunchArgs;
use telltale::bridge::Shared;
use telltale::stream::StreamBatch;
use telltale_hub::{Config, Node, Server};
use telltale_protocol::payload::now_ms;
use tokio::sync::oneshot;

/// A hub on loopback; dropping `stop` (or sending on it) shuts it down.
struct TestHub {
    addr: SocketAddr,
    node: Node,
    stop: oneshot::Sender<()>,
    run: JoinHandle<anyhow::Result<()>>,
}

impl TestHub {
    /// A hub with `config` that first gets `before` published, as if it had
    /// been running before anyone connected.
    fn start(config: Config, before: impl FnOnce(&Node)) -> TestHub {
        let server = block_on(Server::bind(config)).unwrap();
        let addr = server.local_addr();
        let node = server.node().clone();
        before(&node);
        let (stop, stopped) = oneshot::channel::<()>();
        let run = tauri::async_runtime::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestHub {
            addr,
            node,
            stop,
            run,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// Shuts down, disconnecting its clients.
    fn stop(self) {
        let _ = self.stop.send(());
        block_on(self.run).unwrap().unwrap();
    }
}

/// An open hub on `listen` (port 0: any).
fn config(listen: &str) -> Config {
    Config {
        listen: listen.parse().unwrap(),
        allow_anonymous: true,
        anonymous_ack: true,
        ..Config::default()
    }
}

fn start_hub() -> (SocketAddr, Node) {
    let hub = TestHub::start(config("127.0.0.1:0"), |_| {});
    let (addr, node) = (hub.addr, hub.node.clone());
    // Runs until the test process ends.
    std::mem::forget(hub.stop);
    (addr, node)
}

/// The app on the mock runtime, connected to `url`, with its bridge running.
fn start_app(url: &str) -> (App<MockRuntime>, Arc<Shared>) {
    let settings = LaunchArgs::parse_from(["telltale", "--server", url]).unwrap();
    let shared = block_on(telltale::servers::start_from_args(settings)).unwrap();
    let dir = std::env::temp_dir().join(format!("telltale-shell-{}", std::process::id()));
    let store = Arc::new(telltale::settings::SettingsStore::load_with(&dir, None));
    let app = telltale::run_app(mock_builder(), shared.clone(), store)
        .build(mock_context(noop_assets()))
        .unwrap();
    // The mock runtime never runs its event loop, so `setup` does not run:
    // start the bridge as setup would.
    telltale::bridge::spawn(app.handle().clone(), shared.clone());
    (app, shared)
}

/// Connects a stream as the window does; returns the `ts` the window
/// received for `source`, in order, across batches.
fn watch_source(shared: &Shared, source: &str) -> Arc<Mutex<Vec<i64>>> {
    let received = Arc::new(Mutex::new(Vec::new()));
    let (sink, source) = (received.clone(), source.to_owned());
    let channel = Channel::<StreamBatch>::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("a batch is JSON");
        };
        let batch: Value = serde_json::from_str(&json).unwrap();
        let blocks = batch["metrics"].as_array().cloned().unwrap_or_default();
        for block in blocks.iter().filter(|b| b["source"] == source.as_str()) {
            let ts = block["ts"].as_array().unwrap().iter();
            sink.lock().extend(ts.map(|t| t.as_i64().unwrap()));
        }
        Ok(())
    });
    shared.connect_stream(channel);
    received
}

/// Sample times of one test: 10 ms apart, starting a minute ago.
fn sample_ts(range: std::ops::RangeInclusive<i64>) -> Vec<i64> {
    let base = now_ms() - 60_000;
    range.map(|i| base + i * 10).collect()
}

async fn publish_samples(node: &Node, source: &str, ts: &[i64], every: Duration) {
    publish_wide_samples(node, source, ts, 1, every).await;
}

/// Samples of `metrics` metrics each.
async fn publish_wide_samples(
    node: &Node,
    source: &str,
    ts: &[i64],
    metrics: usize,
    every: Duration,
) {
    let channel = format!("metrics:{source}");
    for t in ts {
        let values: serde_json::Map<String, Value> = (0..metrics)
            .map(|i| (format!("metric.{i}"), json!(*t as f64)))
            .collect();
        let sample = json!({"ts": t, "values": values});
        let data = serde_json::value::to_raw_value(&sample).unwrap();
        node.publish(&channel, data, Default::default())
            .await
            .unwrap();
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
    }
}

/// Waits until the window received `last` for the source (or 20 s).
fn wait_for(received: &Mutex<Vec<i64>>, last: i64) -> Vec<i64> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().last() != Some(&last) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    received.lock().clone()
}

#[test]
fn commands_answer_from_the_hub() {
    let (addr, node) = start_hub();
    let alarm = json!({"id": "h/disk", "source": "h", "severity": "critical", "state": "firing", "title": "Disk", "ts": 1});
    let data = serde_json::value::to_raw_value(&alarm).unwrap();
    tauri::async_runtime::block_on(node.publish("alarms", data, Default::default())).unwrap();

    let mem = json!({"id": "h/mem", "source": "h", "severity": "warning", "state": "firing", "title": "Memory", "ts": 1});
    let data = serde_json::value::to_raw_value(&mem).unwrap();
    tauri::async_runtime::block_on(node.publish("alarms", data, Default::default())).unwrap();

    let url = format!("ws://{addr}/connection/websocket");
    let (app, _shared) = start_app(&url);
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let state = loop {
        let states = invoke(&webview, "connection_states", json!({})).unwrap();
        let state = states[0].clone();
        if state["state"] == "live" || Instant::now() > deadline {
            break state;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(state["state"], "live", "{state}");
    assert_eq!(
        state["server"],
        url.trim_start_matches("ws://").split('/').next().unwrap()
    );
    let server = state["serverId"].as_str().unwrap().to_owned();

    let active = invoke(&webview, "alarms_active", json!({"server": server})).unwrap();
    assert_eq!(active[0]["id"], "h/disk", "{active}");

    let acked = invoke(
        &webview,
        "alarms_ack",
        json!({"server": server, "id": "h/disk", "comment": "replacing the disk"}),
    )
    .unwrap();
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert_eq!(acked["comment"], "replacing the disk", "{acked}");
    assert!(
        acked["by"].as_str().unwrap().contains('@'),
        "acked as user@host: {acked}"
    );
    let too_long = invoke(
        &webview,
        "alarms_ack",
        json!({"server": server, "id": "h/mem", "comment": "x".repeat(501)}),
    )
    .unwrap_err();
    assert!(
        too_long["message"]
            .as_str()
            .unwrap()
            .contains("comment too long"),
        "{too_long}"
    );
    assert_eq!(too_long["code"], "hub", "{too_long}");
    assert_eq!(too_long["hubCode"], 107, "{too_long}");

    let silenced = invoke(
        &webview,
        "alarms_silence",
        json!({"server": server, "id": "h/mem", "until": 4_102_444_800_000i64}),
    )
    .unwrap();
    assert_eq!(
        silenced["silenced_until"], 4_102_444_800_000i64,
        "{silenced}"
    );
    let gone = invoke(
        &webview,
        "alarms_silence",
        json!({"server": server, "id": "nope", "until": 1}),
    )
    .unwrap_err();
    assert!(
        gone["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot silence nope"),
        "{gone}"
    );

    let missing = invoke(
        &webview,
        "alarms_ack",
        json!({"server": server, "id": "nope"}),
    );
    let missing = missing.unwrap_err();
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot acknowledge nope"),
        "{missing}"
    );
    let elsewhere = invoke(
        &webview,
        "alarms_ack",
        json!({"server": "gone", "id": "h/mem"}),
    );
    assert_eq!(elsewhere.unwrap_err()["code"], "unknown_server");

    let catalog = invoke(&webview, "catalog", json!({"server": server})).unwrap();
    assert!(catalog["sources"].is_array(), "{catalog}");
}

/// A source found in the catalog is subscribed after it started: what it
/// published before comes from history, ahead of and merged with the live
/// samples, each once and in order.
#[test]
fn a_discovered_source_keeps_its_first_samples() {
    let ts = sample_ts(1..=200);
    let (early, live) = ts.split_at(100);
    let hub = TestHub::start(config("127.0.0.1:0"), |node| {
        block_on(publish_samples(node, "late", early, Duration::ZERO));
    });
    let (_app, shared) = start_app(&hub.url());
    let received = watch_source(&shared, "late");
    // Live samples keep coming while the app subscribes and loads history.
    let node = hub.node.clone();
    let live = live.to_vec();
    let publisher = tauri::async_runtime::spawn(async move {
        publish_samples(&node, "late", &live, Duration::from_millis(5)).await;
    });
    block_on(publisher).unwrap();

    let got = wait_for(&received, ts[199]);
    assert_eq!(got, ts, "every sample once, ascending");
    hub.stop();
}

/// A hub restart (new epoch) makes recovery fail: what the source published
/// while the app was away comes from the new hub's history.
#[test]
fn a_metrics_gap_is_backfilled_after_a_reconnect() {
    let ts = sample_ts(1..=50);
    let first = TestHub::start(config("127.0.0.1:0"), |node| {
        block_on(publish_samples(node, "g", &ts[..10], Duration::ZERO));
    });
    let addr = first.addr;
    let (_app, shared) = start_app(&first.url());
    let received = watch_source(&shared, "g");
    assert_eq!(wait_for(&received, ts[9]), ts[..10]);
    block_on(publish_samples(
        &first.node,
        "g",
        &ts[10..20],
        Duration::ZERO,
    ));
    assert_eq!(wait_for(&received, ts[19]), ts[..20]);

    first.stop();
    // Published before the app can reconnect: only history has these.
    let second = TestHub::start(config(&addr.to_string()), |node| {
        block_on(publish_samples(node, "g", &ts[20..40], Duration::ZERO));
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().last() != Some(&ts[39]) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    block_on(publish_samples(
        &second.node,
        "g",
        &ts[40..],
        Duration::ZERO,
    ));

    let got = wait_for(&received, ts[49]);
    assert_eq!(got, ts, "the gap filled, nothing twice");
    second.stop();
}

/// History too large for one reply on this hub (its client queue is small):
/// the app asks for fewer, and still gets the newest samples before live.
#[test]
fn history_too_large_for_one_reply_is_asked_in_smaller_pieces() {
    let ts = sample_ts(1..=220);
    let (early, live) = ts.split_at(200);
    let small = Config {
        client_queue_bytes: 16 * 1024,
        max_message_size: 4096,
        ..config("127.0.0.1:0")
    };
    // About 300 bytes a sample: 200 of them are several times the budget.
    let hub = TestHub::start(small, |node| {
        block_on(publish_wide_samples(
            node,
            "wide",
            early,
            10,
            Duration::ZERO,
        ));
    });
    let (_app, shared) = start_app(&hub.url());
    let received = watch_source(&shared, "wide");
    let deadline = Instant::now() + Duration::from_secs(20);
    while received.lock().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    block_on(publish_wide_samples(
        &hub.node,
        "wide",
        live,
        10,
        Duration::ZERO,
    ));

    let got = wait_for(&received, ts[219]);
    let from = ts
        .iter()
        .position(|t| *t == got[0])
        .expect("a published ts");
    assert!(
        from > 0 && from < 200 - 16,
        "the newest part of history: {from}"
    );
    assert_eq!(got, ts[from..], "from there on, every sample once");
    hub.stop();
}
