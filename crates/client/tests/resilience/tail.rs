//! The `telltale-tail` binary, black-box.

use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::support::*;

fn tail() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_telltale-tail"));
    command
        .env_remove("TELLTALE_SERVER")
        .env_remove("TELLTALE_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn tail_prints_each_publication_as_one_json_line() {
    let hub = Hub::start().await;
    let mut child = tail()
        .args([
            "--server",
            &hub.ws_url(),
            "--count",
            "3",
            "alarms",
            "metrics:t",
        ])
        .spawn()
        .unwrap();
    // Wait until both subscriptions are active (announced on stderr).
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut subscribed = 0;
    let mut log = Vec::new();
    while subscribed < 2 {
        let line = tokio::time::timeout(WAIT, stderr.next_line())
            .await
            .expect("tail reports on stderr")
            .unwrap()
            .unwrap_or_else(|| panic!("stderr ended: {log:?}"));
        subscribed += line.contains("subscribed to") as usize;
        log.push(line);
    }
    assert!(log.iter().any(|l| l.contains("connected")), "{log:?}");

    hub.alarm(1).await;
    hub.publish("metrics:t", json!({"ts": 1, "values": {"x": 1.5}}))
        .await;
    hub.alarm(2).await;

    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("tail exits after --count")
        .unwrap();
    assert!(status.success());
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (raw, line) in stdout.lines().zip(&lines) {
        let mut keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        assert_eq!(keys, ["channel", "data", "offset"], "{raw}");
        assert!(
            raw.starts_with(r#"{"channel":"#) && raw.find(r#""offset":"#) < raw.find(r#""data":"#),
            "{raw}"
        );
    }
    assert_eq!(lines[0]["channel"], "alarms");
    assert_eq!(lines[0]["data"]["title"], "alarm 1");
    assert_eq!(
        lines[1],
        json!({"channel": "metrics:t", "offset": 1, "data": {"ts": 1, "values": {"x": 1.5}}})
    );
    assert_eq!(lines[2]["offset"], lines[0]["offset"].as_u64().unwrap() + 1);
}

#[tokio::test]
async fn tail_explains_a_malformed_url() {
    for url in [
        "localhost:8000",
        "http://localhost:8000/connection/websocket",
        "ws://localhost:8000",
    ] {
        let output = tokio::time::timeout(WAIT, tail().args(["--server", url, "alarms"]).output())
            .await
            .expect("tail exits")
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{url}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("expected ws://HOST:PORT/connection/websocket"),
            "{url}: {stderr}"
        );
    }
}

#[tokio::test]
async fn tail_gives_up_on_a_bad_token() {
    let hub = Hub::start().await;
    let output = tokio::time::timeout(
        WAIT,
        tail()
            .args(["--server", &hub.ws_url(), "--token", "garbage", "alarms"])
            .output(),
    )
    .await
    .expect("tail exits on a terminal disconnect")
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("code 3500") && stderr.contains("terminal"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}
