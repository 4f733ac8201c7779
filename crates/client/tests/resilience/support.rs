//! A hub per test, an HTTP publisher, and bounded waits on client events.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use telltale_client::{Client, Event, Events, Options, State};
use telltale_hub::{Config, Server};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound of every wait in these tests (they normally take far less).
pub const WAIT: Duration = Duration::from_secs(20);

pub const API_KEY: &str = "k";
pub const SECRET: &str = "s";

pub struct Hub {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    http: reqwest::Client,
}

impl Hub {
    /// A hub that pings every second.
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            allow_anonymous: true,
            anonymous_ack: true,
            api_key: Some(API_KEY.into()),
            token_secret: Some(SECRET.into()),
            ping_interval: Duration::from_secs(1),
            ..Config::default()
        };
        edit(&mut config);
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// Shuts the hub down (clients get 3001) and waits for it, bounded.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(WAIT, task)
            .await
            .expect("hub stops in time")
            .unwrap()
            .unwrap();
    }

    /// `POST /api/<method>`; returns the JSON body.
    pub async fn api(&self, method: &str, body: Value) -> Value {
        let response = tokio::time::timeout(
            WAIT,
            self.http
                .post(format!("http://{}/api/{method}", self.addr))
                .header("X-API-Key", API_KEY)
                .json(&body)
                .send(),
        )
        .await
        .expect("API answers in time")
        .unwrap();
        assert_eq!(response.status(), 200, "/api/{method}");
        response.json().await.unwrap()
    }

    /// Publishes and returns the offset.
    pub async fn publish(&self, channel: &str, data: Value) -> u64 {
        let reply = self
            .api("publish", json!({"channel": channel, "data": data}))
            .await;
        reply["result"]["offset"]
            .as_u64()
            .unwrap_or_else(|| panic!("publish failed: {reply}"))
    }

    /// Publishes alarm number `n` (a firing alarm with id `test/n`).
    pub async fn alarm(&self, n: u64) -> u64 {
        self.publish("alarms", alarm(n)).await
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn alarm(n: u64) -> Value {
    json!({"id": format!("test/{n}"), "source": "test", "severity": "critical",
           "state": "firing", "title": format!("alarm {n}"), "ts": n})
}

/// Short timings so that cuts are noticed in seconds: ping 1 s (hub) +
/// allowance 1 s, reconnect delays 50 ms .. 500 ms.
pub fn options(url: &str) -> Options {
    Options::new(url)
        .unwrap()
        .backoff(Duration::from_millis(50), Duration::from_millis(500))
        .ping_allowance(Duration::from_secs(1))
        .connect_timeout(Duration::from_secs(2))
        .call_timeout(Duration::from_secs(5))
}

/// Waits (bounded) for an event matching `want`; returns it and the events
/// before it.
pub async fn until(events: &mut Events, want: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
    let mut before = Vec::new();
    let wait = async {
        loop {
            let event = events.recv().await.expect("event stream ended");
            if want(&event) {
                return event;
            }
            before.push(event);
        }
    };
    match tokio::time::timeout(WAIT, wait).await {
        Ok(event) => (event, before),
        Err(_) => panic!("timed out; events so far: {before:#?}"),
    }
}

pub fn is_state(event: &Event, want: impl Fn(&State) -> bool) -> bool {
    matches!(event, Event::State(s) if want(s))
}

pub fn connected(event: &Event) -> bool {
    is_state(event, State::is_connected)
}

pub fn disconnected(event: &Event) -> bool {
    is_state(event, |s| matches!(s, State::Disconnected { .. }))
}

/// Waits until `channel` is subscribed.
pub async fn subscribed(events: &mut Events, channel: &str) -> Event {
    until(
        events,
        |e| matches!(e, Event::Subscribed { channel: c, .. } if c == channel),
    )
    .await
    .0
}

/// Collects alarm publications until alarm `last` arrived; returns the
/// alarm numbers (from `ts`) and offsets in arrival order.
pub async fn alarms_until(events: &mut Events, last: u64) -> Vec<(u64, u64)> {
    let mut seen = Vec::new();
    let wait = async {
        loop {
            match events.recv().await.expect("event stream ended") {
                Event::Publication(p) if p.channel == "alarms" => {
                    let telltale_client::Payload::Alarm(alarm) = &p.payload else {
                        panic!("not an alarm: {}", p.data)
                    };
                    let n = alarm.ts as u64;
                    seen.push((n, p.offset));
                    if n == last {
                        return;
                    }
                }
                _ => {}
            }
        }
    };
    if tokio::time::timeout(WAIT, wait).await.is_err() {
        panic!("alarm {last} did not arrive; got {seen:?}");
    }
    seen
}

/// A connected client subscribed to `alarms`.
pub async fn subscribed_client(options: Options) -> (Client, Events) {
    let (client, mut events) = Client::new(options);
    client.subscribe("alarms").unwrap();
    until(&mut events, connected).await;
    subscribed(&mut events, "alarms").await;
    (client, events)
}

/// A connection token for user `u` signed with the test hub's secret.
pub fn token(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token for user `u` that expires `secs` seconds from now (in the past
/// when negative).
pub fn token_expiring_in(secs: i64) -> String {
    token(json!({"sub": "u", "exp": now().saturating_add_signed(secs)}))
}

/// A directory of its own under the system's temporary directory, removed
/// on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("telltale-client-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Replaces the file at `path` with `text` in one step (write, then
/// rename), so a reader never sees half a token.
pub fn write_atomically(path: &Path, text: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

/// Keeps a token file fresh like a credentials agent would: a token that
/// lives `life` seconds, rewritten every `every`, until dropped.
pub struct FreshTokenFile {
    task: JoinHandle<()>,
}

impl FreshTokenFile {
    pub fn start(path: PathBuf, life: i64, every: Duration) -> Self {
        write_atomically(&path, &token_expiring_in(life));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                write_atomically(&path, &token_expiring_in(life));
            }
        });
        Self { task }
    }
}

impl Drop for FreshTokenFile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The hub binary: `TELLTALE_HUB_BIN`, or `target/debug/telltale-hub`.
fn hub_bin() -> PathBuf {
    match std::env::var_os("TELLTALE_HUB_BIN") {
        Some(bin) => bin.into(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/telltale-hub"),
    }
}

/// A shell command that prints a token for user `u` living `life` seconds:
/// `telltale-hub token` when that binary is built and has the subcommand
/// (the way an operator would mint one), else `cat` of `fallback`, a file
/// the caller keeps fresh. `cargo test -p telltale-client` alone does not
/// build the hub binary, hence the fallback.
pub fn token_command_line(life: u64, fallback: &Path) -> String {
    let bin = hub_bin();
    let line = format!(
        "TELLTALE_HUB_TOKEN_SECRET='{SECRET}' '{}' token --user u --ttl {life}s",
        bin.display()
    );
    let probe = std::process::Command::new("sh")
        .args(["-c", &line])
        .stderr(std::process::Stdio::null())
        .output();
    match probe {
        Ok(out) if out.status.success() && out.stdout.split(|b| *b == b'.').count() == 3 => line,
        _ => {
            eprintln!(
                "note: {} token is not available (build telltale-hub); using cat {}",
                bin.display(),
                fallback.display()
            );
            format!("cat '{}'", fallback.display())
        }
    }
}

/// The `telltale-tail` binary with pipes, and none of the `TELLTALE_*`
/// settings of the environment the tests run in: each test passes its own.
pub fn tail() -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_telltale-tail"));
    for name in [
        "TELLTALE_SERVER",
        "TELLTALE_TOKEN",
        "TELLTALE_TOKEN_FILE",
        "TELLTALE_TOKEN_COMMAND",
        "TELLTALE_CA_FILE",
    ] {
        command.env_remove(name);
    }
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    command
}
