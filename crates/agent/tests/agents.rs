//! Two real `telltale-agent` processes against a real hub, with a key that
//! may only publish: both sources
//! reach the catalog and their history, and the checks of the first one
//! (the real `check_load` and `check_dummy` from monitoring-plugins-basic, a
//! hanging command, garbage output) become metrics and alarm transitions.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use telltale_client::{Client, Options};
use telltale_hub::{Config, Server};

mod support;

/// The agents' key: it may only publish (`--publish-key`).
const KEY: &str = "agents-test-key";
/// The operator's key, to read history.
const ADMIN: &str = "agents-test-admin";
const PLUGINS: &str = "/usr/lib/nagios/plugins";
const WAIT: Duration = Duration::from_secs(30);

struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(hub: &str, source: &str, config: Option<&std::path::Path>) -> Agent {
    let mut command = Command::new(env!("CARGO_BIN_EXE_telltale-agent"));
    command
        .args([
            "--hub",
            hub,
            "--key",
            KEY,
            "--source",
            source,
            "--interval",
            "200ms",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Some(path) = config {
        command.arg("--config").arg(path);
    }
    Agent(command.spawn().expect("telltale-agent starts"))
}

/// Polls `probe` until it returns `Some`, for at most [`WAIT`].
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(found) = probe().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_publish_their_hosts_and_checks() {
    let server = Server::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: Some(ADMIN.into()),
        publish_keys: vec![KEY.into()],
        allow_anonymous: true,
        ..Config::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));
    let hub = format!("http://{addr}");

    let dir = std::env::temp_dir().join(format!("telltale-agents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("agent.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[check]]
name = "load"
command = "{PLUGINS}/check_load -w 1000,1000,1000 -c 2000,2000,2000"
interval = "1s"

[[check]]
name = "disk"
command = "{PLUGINS}/check_disk -w 0% -c 0% -p /"
interval = "1s"

[[check]]
name = "raid"
command = "{PLUGINS}/check_dummy 2 'array degraded'"
interval = "1s"

[[check]]
name = "hang"
command = "sleep 30"
interval = "1s"
timeout = "1s"

[[check]]
name = "garbage"
command = "printf '\\377\\376|x=junk'; exit 9"
interval = "1s"
"#
        ),
    )
    .unwrap();
    let _one = agent(&hub, "agent-1", Some(&config));
    let _two = agent(&hub, "agent-2", None);

    let (client, _events) =
        Client::new(Options::new(&format!("ws://{addr}/connection/websocket")).unwrap());
    let sources = eventually("both sources in the catalog", || async {
        let catalog = client.catalog().await.ok()?;
        let names: Vec<String> = catalog.sources.iter().map(|s| s.source.clone()).collect();
        (names.contains(&"agent-1".to_string()) && names.contains(&"agent-2".to_string()))
            .then_some(catalog)
    })
    .await;
    assert!(sources.sources.len() >= 2);

    let metrics = eventually("host metrics and check perfdata of agent-1", || async {
        let samples = support::history(&hub, ADMIN, "metrics:agent-1").await;
        let names: Vec<String> = samples
            .iter()
            .filter_map(|s| s["values"].as_object())
            .flat_map(|values| values.keys().cloned())
            .collect();
        let wanted = [
            "cpu.total",
            "mem.used_percent",
            "check.load.load1",
            "check.disk.root",
        ];
        wanted
            .iter()
            .all(|w| names.iter().any(|n| n == w))
            .then_some(names)
    })
    .await;
    assert!(metrics.iter().any(|n| n == "load.1"), "{metrics:?}");

    let alarms = eventually("the check alarms", || async {
        let alarms = support::history(&hub, ADMIN, "alarms").await;
        let ids: Vec<&str> = alarms.iter().filter_map(|a| a["id"].as_str()).collect();
        ["agent-1/raid", "agent-1/hang", "agent-1/garbage"]
            .iter()
            .all(|id| ids.contains(id))
            .then_some(alarms)
    })
    .await;
    let by_id = |id: &str| alarms.iter().filter(|a| a["id"] == id).collect::<Vec<_>>();
    let raid = by_id("agent-1/raid");
    assert_eq!(raid.len(), 1, "one transition, not one per run: {raid:?}");
    assert_eq!(raid[0]["severity"], "critical");
    assert_eq!(raid[0]["state"], "firing");
    assert_eq!(raid[0]["message"], "CRITICAL: array degraded");
    let hang = by_id("agent-1/hang");
    assert_eq!(hang[0]["labels"]["status"], "unknown");
    assert!(
        hang[0]["message"].as_str().unwrap().contains("timed out"),
        "{hang:?}"
    );
    assert_eq!(by_id("agent-1/garbage")[0]["labels"]["status"], "unknown");
    assert!(
        by_id("agent-1/load").is_empty(),
        "an OK check raises nothing"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
