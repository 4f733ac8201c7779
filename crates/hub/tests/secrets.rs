//! Secrets never reach a log: a full run of the real `telltale-hub` and
//! `telltale-tail` binaries at debug level (trace for Telltale's own crates),
//! with an API key, a token secret, tokens from a token command that are
//! refreshed during the run, a wrong API key and a forged token, and then
//! every line both programs wrote is searched for each secret.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// Upper bound of every wait here.
const WAIT: Duration = Duration::from_secs(30);

struct Run {
    dir: PathBuf,
}

impl Run {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("telltale-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Spawns `command` with stdout and stderr in `<name>.out` / `<name>.err`.
    fn spawn(&self, name: &str, command: &mut Command) -> Running {
        let out = std::fs::File::create(self.path(&format!("{name}.out"))).unwrap();
        let err = std::fs::File::create(self.path(&format!("{name}.err"))).unwrap();
        command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map(Running)
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"))
    }
}

/// A child process that is killed when dropped, so a failed assertion
/// midway through the test does not leave a hub or a tail running.
struct Running(Child);

impl Running {
    fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `telltale-tail` is built next to `telltale-hub` by `cargo test --workspace`.
fn tail_bin() -> PathBuf {
    let hub = Path::new(env!("CARGO_BIN_EXE_telltale-hub"));
    let tail = hub.with_file_name("telltale-tail");
    assert!(
        tail.exists(),
        "{} is missing: build it first with `cargo build -p telltale-client`",
        tail.display()
    );
    tail
}

fn wait_for_addr(run: &Run) -> String {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let out = run.read("hub.out");
        if let Some(addr) = out
            .lines()
            .find_map(|l| l.strip_prefix("telltale-hub listening on "))
        {
            return addr.trim().to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the hub did not start: {}", run.read("hub.err"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_ever_logged() {
    let run = Run::new();
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let secret = format!("token-secret-{unique}");
    let api_key = format!("api-key-{unique}");
    let wrong_key = format!("wrong-key-{unique}");
    let forged = format!("forged.token.{unique}");
    let log_level = "debug,telltale_hub=trace,telltale_client=trace";

    let hub_bin = env!("CARGO_BIN_EXE_telltale-hub");
    let hub = run.spawn(
        "hub",
        Command::new(hub_bin)
            .args(["--listen", "127.0.0.1:0", "--allow-anonymous"])
            .env("TELLTALE_HUB_TOKEN_SECRET", &secret)
            .env("TELLTALE_HUB_API_KEY", &api_key)
            .env("RUST_LOG", log_level),
    );
    let addr = wait_for_addr(&run);

    // Every token the command hands out is also appended to tokens.txt, so
    // the test knows them; each lives 3 s, so the run spans refreshes.
    let tokens = run.path("tokens.txt");
    let token_command = format!(
        "'{hub_bin}' token --user alice --ttl 3s --caps ack | tee -a '{}'",
        tokens.display()
    );
    let mut tail = run.spawn(
        "tail",
        Command::new(tail_bin())
            .args(["--server", &format!("ws://{addr}/connection/websocket")])
            .args(["--token-command", &token_command, "--count", "8", "alarms"])
            .env_remove("TELLTALE_TOKEN")
            .env("TELLTALE_HUB_TOKEN_SECRET", &secret)
            .env("RUST_LOG", log_level),
    );

    let http = reqwest::Client::new();
    let api = |method: &str| format!("http://{addr}/api/{method}");
    // A wrong key and a key in the query string, each refused or used once.
    let refused = http
        .post(api("info"))
        .header("Authorization", format!("apikey {wrong_key}"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let by_query = http
        .post(format!("{}?api_key={api_key}", api("info")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    forged_connect(&addr, &forged).await;

    // One alarm a second for ~9 s: tail subscribes, then prints 8 of them.
    let deadline = Instant::now() + WAIT;
    let mut n = 0;
    while tail.try_wait().is_none() && Instant::now() < deadline {
        n += 1;
        let alarm = json!({"channel": "alarms", "data": {
            "id": format!("h/{n}"), "source": "h", "severity": "warning",
            "state": "firing", "title": format!("alarm {n}"), "ts": n }});
        let reply = http
            .post(api("publish"))
            .header("X-API-Key", &api_key)
            .json(&alarm)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let status = tail.try_wait();
    drop(tail);
    drop(hub);
    assert!(
        status.is_some_and(|s| s.success()),
        "telltale-tail did not print 8 alarms: {}",
        run.read("tail.err")
    );

    let issued: Vec<String> = run.read("tokens.txt").lines().map(str::to_owned).collect();
    assert!(
        issued.len() >= 2,
        "the token was refreshed from the command during the run: {issued:?}"
    );
    let mut secrets = vec![secret, api_key, wrong_key, forged];
    for token in &issued {
        secrets.push(token.clone());
        // The signature alone is enough to be worth hiding.
        secrets.push(token.rsplit('.').next().unwrap().to_owned());
    }
    let logs = ["hub.out", "hub.err", "tail.out", "tail.err"];
    let total: usize = logs.iter().map(|l| run.read(l).lines().count()).sum();
    assert!(total > 20, "debug logs were written ({total} lines)");
    for log in logs {
        let text = run.read(log);
        for secret in &secrets {
            if let Some(line) = text.lines().find(|l| l.contains(secret.as_str())) {
                panic!("{log} contains a secret: {line}");
            }
        }
    }
}

/// A connect with a token the hub never signed: refused with 3500.
async fn forged_connect(addr: &str, token: &str) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/connection/websocket"))
        .await
        .unwrap();
    let connect = json!({"id": 1, "connect": {"token": token}}).to_string();
    ws.send(Message::text(connect)).await.unwrap();
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .unwrap();
    assert_eq!(closed, Some(3500));
}
