//! The `telltale-tail` binary, black-box.

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::*;

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

/// Reads stderr lines until one contains `want`; returns every line read.
async fn stderr_until(
    stderr: &mut tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
    want: &str,
) -> Vec<String> {
    let mut log = Vec::new();
    loop {
        let line = tokio::time::timeout(WAIT, stderr.next_line())
            .await
            .unwrap_or_else(|_| panic!("no {want:?} on stderr: {log:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("stderr ended before {want:?}: {log:?}"));
        let found = line.contains(want);
        log.push(line);
        if found {
            return log;
        }
    }
}

#[tokio::test]
async fn tail_gets_its_token_from_a_token_command() {
    // No anonymous connections: without the command's token, no data.
    let hub = Hub::with(|config| config.allow_anonymous = false).await;
    let dir = TempDir::new();
    let fallback = dir.join("token");
    write_atomically(&fallback, &token_expiring_in(3600));
    let command = token_command_line(3600, &fallback);
    let mut child = tail()
        .args(["--server", &hub.ws_url(), "--count", "2"])
        .args(["--token-command", &command, "alarms"])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = stderr_until(&mut stderr, "subscribed to alarms").await;
    hub.alarm(1).await;
    hub.alarm(2).await;
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("tail exits after --count")
        .unwrap();
    assert!(status.success(), "{log:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    // JWTs start with the base64 of `{"`: none may reach the output.
    assert!(!stdout.contains("eyJ"), "{stdout}");
    assert!(log.iter().all(|l| !l.contains("eyJ")), "{log:?}");
}

#[tokio::test]
async fn tail_reports_a_failing_token_command_without_its_stdout() {
    let hub = Hub::start().await;
    // Stdout is `secret-stdout`, a string the command line lacks.
    let command = "printf 'secret-%s' stdout; echo 'vault: sealed' >&2; exit 3";
    let mut child = tail()
        .args([
            "--server",
            &hub.ws_url(),
            "--token-command",
            command,
            "alarms",
        ])
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = stderr_until(&mut stderr, "exited with status 3: vault: sealed").await;
    // It keeps trying (the vault may unseal): a second report follows.
    let more = stderr_until(&mut stderr, "exited with status 3").await;
    assert!(
        log.iter()
            .chain(&more)
            .all(|l| !l.contains("secret-stdout")),
        "{log:?} {more:?}"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn tail_takes_one_kind_of_token() {
    for args in [
        ["--token", "t", "--token-file", "/tmp/t"],
        ["--token", "t", "--token-command", "cat /tmp/t"],
        ["--token-file", "/tmp/t", "--token-command", "cat /tmp/t"],
    ] {
        let output = tokio::time::timeout(WAIT, tail().args(args).arg("alarms").output())
            .await
            .expect("tail exits")
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cannot be used with"), "{args:?}: {stderr}");
    }
}
