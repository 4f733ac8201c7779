//! A dead host is never shown as healthy: a real `telltale-agent` killed
//! with SIGKILL makes the hub raise `<source>/silent`, and a new agent for
//! the same source resolves it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use telltale_client::{Client, Event, Options};
use telltale_hub::{Config, Server};

const KEY: &str = "silent-agent-key";
const WAIT: Duration = Duration::from_secs(30);

struct Agent(Child);

impl Agent {
    fn start(hub: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_telltale-agent"))
            .args(["--hub", hub, "--key", KEY, "--source", "doomed"])
            .args(["--interval", "200ms"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("telltale-agent starts");
        Self(child)
    }

    fn kill(&mut self) {
        // SIGKILL: the agent cannot say goodbye, as when a host dies.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The next state of alarm `doomed/silent` on `alarms`.
async fn next_silent(events: &mut telltale_client::Events) -> String {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(event) = events.recv().await {
            if let Event::Publication(p) = event {
                let alarm: serde_json::Value = serde_json::from_str(p.data.get()).unwrap();
                if alarm["id"] == "doomed/silent" {
                    return alarm["state"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!("the client stopped");
    })
    .await;
    found.expect("a doomed/silent transition in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_is_silent_and_a_new_one_resolves() {
    let server = Server::bind(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        api_key: Some(KEY.into()),
        allow_anonymous: true,
        min_stale_after: Duration::from_secs(1),
        ..Config::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));
    let hub = format!("http://{addr}");
    let (client, mut events) =
        Client::new(Options::new(&format!("ws://{addr}/connection/websocket")).unwrap());
    client.subscribe("alarms").unwrap();

    let mut first = Agent::start(&hub);
    // Let the hub learn the agent's pace before it dies.
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.kill();
    assert_eq!(next_silent(&mut events).await, "firing");

    let _second = Agent::start(&hub);
    assert_eq!(next_silent(&mut events).await, "resolved");
}
