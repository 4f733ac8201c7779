//! A real `prometheus-node-exporter` (Debian's) on a free loopback port,
//! read by a real `telltale-agent` through a `[[scrape]]` table, published
//! to a real hub: a client subscribed to the scrape's source sees
//! `load.1` and `cpu.total` with sane values. A second `[[scrape]]` points
//! at a port nobody listens on: the agent keeps going. The hub's
//! `--collector` reads the same tables.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use telltale_client::{Client, Event, Options, Payload};
use telltale_hub::{Config, Server};

const KEY: &str = "exporter-test-key";
const EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
const WAIT: Duration = Duration::from_secs(30);

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts node_exporter with the collectors the mapping reads, and waits
/// (bounded) until it answers.
async fn node_exporter() -> (Process, String) {
    assert!(
        std::path::Path::new(EXPORTER).exists(),
        "{EXPORTER} is missing: run scripts/install-deps.sh"
    );
    let port = free_port();
    let child = Command::new(EXPORTER)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args([
            "--collector.disable-defaults",
            "--collector.loadavg",
            "--collector.cpu",
            "--collector.meminfo",
            "--collector.netdev",
            "--collector.filesystem",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter starts");
    let exporter = Process(child);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "node_exporter did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (exporter, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_exporter_metrics_reach_a_client_under_telltale_names() {
    let (_exporter, url) = node_exporter().await;
    let server = Server::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: Some(KEY.into()),
        allow_anonymous: true,
        ..Config::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));

    let (client, mut events) =
        Client::new(Options::new(&format!("ws://{addr}/connection/websocket")).unwrap());
    client.subscribe("metrics:node-1").unwrap();

    let dir = std::env::temp_dir().join(format!("telltale-exporter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[scrape]]
url = "{url}"
interval = "1s"
source = "node-1"

[[scrape]]
url = "http://127.0.0.1:{}/metrics"
interval = "1s"
source = "nobody"
"#,
            free_port()
        ),
    )
    .unwrap();
    let mut agent = Process(
        Command::new(env!("CARGO_BIN_EXE_telltale-agent"))
            .args(["--hub", &format!("http://{addr}"), "--key", KEY])
            .args(["--source", "agent-host", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("telltale-agent starts"),
    );

    let values = scraped(&mut events, "metrics:node-1").await;
    assert_sane(&values);
    assert!(
        agent.0.try_wait().unwrap().is_none(),
        "the unreachable exporter did not stop the agent"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_collector_scrapes_too() {
    let (_exporter, url) = node_exporter().await;
    let spec: telltale_agent::scrape::ScrapeSpec = serde_json::from_value(serde_json::json!({
        "url": url, "interval": "1s", "source": "hub-node",
    }))
    .unwrap();
    let server = Server::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        allow_anonymous: true,
        collector: true,
        node_name: "hub-self".into(),
        scrapes: vec![spec],
        ..Config::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));
    let (client, mut events) =
        Client::new(Options::new(&format!("ws://{addr}/connection/websocket")).unwrap());
    client.subscribe("metrics:hub-node").unwrap();
    assert_sane(&scraped(&mut events, "metrics:hub-node").await);
}

/// The first sample on `channel` that has `cpu.total`: the first scrape has
/// no rates, so it comes from the second one on.
async fn scraped(
    events: &mut telltale_client::Events,
    channel: &str,
) -> std::collections::BTreeMap<String, f64> {
    tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let Event::Publication(p) = event {
                if let Payload::Metric(sample) = p.payload {
                    assert_eq!(p.channel, channel);
                    if sample.values.contains_key("cpu.total") {
                        return sample.values;
                    }
                    assert!(
                        sample.values.contains_key("load.1"),
                        "every scrape has the gauges: {sample:?}"
                    );
                }
            }
        }
        panic!("the client stopped");
    })
    .await
    .expect("a sample with cpu.total from the scrape in time")
}

fn assert_sane(values: &std::collections::BTreeMap<String, f64>) {
    let load = values["load.1"];
    assert!(load >= 0.0, "load.1 {load}");
    let cpu = values["cpu.total"];
    assert!((0.0..=100.0).contains(&cpu), "cpu.total {cpu}");
    assert!(values.contains_key("cpu.core.0"), "{values:?}");
    let mem = values["mem.used_percent"];
    assert!(mem > 0.0 && mem <= 100.0, "mem.used_percent {mem}");
    assert!(values["net.rx_bytes_per_s"] >= 0.0, "{values:?}");
    assert!(
        values.keys().all(|k| !k.starts_with("prom.")),
        "the default selection is the mapped metrics only: {values:?}"
    );
}
