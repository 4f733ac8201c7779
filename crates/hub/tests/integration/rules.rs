//! Alarm rules as data: samples published by anyone on `metrics:<source>`
//! raise and resolve alarms on `alarms`, one per change; `for` waits on the
//! hub's clock; a broken rule stops the hub (and `--check-config`) naming
//! the rule; SIGHUP swaps the rules of the real binary without dropping
//! clients.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use telltale_hub::rules::Rule;
use telltale_hub::{Config, Node};
use tokio_tungstenite::tungstenite::Message;

use crate::binary::HubProcess;
use crate::support::{Client, Hub, WAIT};

fn rule(fields: Value) -> Rule {
    serde_json::from_value(fields).unwrap()
}

/// `disk.*.used_percent > 80`, resolving at 70, on `web-*` sources.
fn disk_rule() -> Rule {
    rule(json!({
        "name": "disk.full",
        "metric": "disk.*.used_percent",
        "sources": "web-*",
        "op": ">",
        "threshold": 80.0,
        "clear": 70.0,
        "for": "0s",
        "severity": "critical",
        "title": "{source}: {metric} at {value}%",
    }))
}

fn sample(values: Value) -> Value {
    json!({"ts": 1, "values": values})
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-rules-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_rule_fires_once_and_resolves_below_clear() {
    let hub = Hub::with(|c| c.rules = vec![disk_rule()]).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let disk = |v: f64| sample(json!({"disk.sda.used_percent": v, "cpu.total": 1.0}));

    hub.publish("metrics:db-1", disk(99.0)).await; // not a web-* source
    hub.publish("metrics:web-1", disk(85.0)).await;
    let (channel, _, alarm) = watcher.next_publication().await;
    assert_eq!(channel, "alarms");
    assert_eq!(alarm["id"], "web-1/disk.full/disk.sda.used_percent");
    assert_eq!(alarm["state"], "firing");
    assert_eq!(alarm["title"], "web-1: disk.sda.used_percent at 85%");
    assert_eq!(alarm["severity"], "critical");
    assert_eq!(alarm["labels"]["rule"], "disk.full");

    // Still high, then between clear and threshold: no transition. The next
    // publication on `alarms` is the resolution, so nothing came between.
    hub.publish("metrics:web-1", disk(95.0)).await;
    hub.publish("metrics:web-1", disk(75.0)).await;
    hub.publish("metrics:web-1", disk(65.0)).await;
    let (_, _, alarm) = watcher.next_publication().await;
    assert_eq!(
        (alarm["id"].as_str(), alarm["state"].as_str()),
        (
            Some("web-1/disk.full/disk.sda.used_percent"),
            Some("resolved")
        )
    );
    assert_eq!(alarm["value"], 65.0);
    let active = hub.node.active_alarms().await.unwrap();
    assert!(active.is_empty(), "{active:?}");
    hub.stop().await;
}

#[tokio::test]
async fn a_client_publication_is_evaluated_too() {
    let hub = Hub::with(|c| c.rules = vec![disk_rule()]).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let mut agent = Client::anonymous(&hub).await;
    let reply = agent
        .call(
            "publish",
            json!({"channel": "metrics:web-2", "data": sample(json!({"disk.root.used_percent": 81.5}))}),
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let (_, _, alarm) = watcher.next_publication().await;
    assert_eq!(alarm["id"], "web-2/disk.full/disk.root.used_percent");
    assert_eq!(alarm["value"], 81.5);
    hub.stop().await;
}

/// `for` on the node's one publish path, with tokio's clock paused: the
/// in-process hub's sockets and timeouts do not mix with a paused clock, so
/// this drives [`Node::publish`] directly and reads the active alarm set.
#[tokio::test(start_paused = true)]
async fn for_waits_on_the_hubs_clock() {
    let mut slow = disk_rule();
    slow.name = "disk.slow".into();
    slow.metric = "disk.used_percent".into();
    slow.hold = Duration::from_secs(10);
    let node = Node::new(Config {
        rules: vec![slow],
        ..Config::default()
    });
    let publish = async |v: f64| {
        let data = serde_json::value::to_raw_value(&sample(json!({"disk.used_percent": v})));
        node.publish("metrics:web-1", data.unwrap(), Default::default())
            .await
            .unwrap();
    };
    let active = async || node.active_alarms().await.unwrap();
    publish(90.0).await;
    tokio::time::advance(Duration::from_secs(9)).await;
    publish(90.0).await;
    assert!(active().await.is_empty(), "9s is not 10s");
    tokio::time::advance(Duration::from_secs(1)).await;
    publish(90.0).await;
    let alarms = active().await;
    assert_eq!(alarms.len(), 1);
    assert_eq!(
        alarms[0].id, "web-1/disk.slow",
        "an exact metric: no suffix"
    );
}

#[test]
fn a_broken_rule_is_refused_at_start_naming_it() {
    let dir = scratch("broken");
    let path = dir.join("hub.toml");
    let good = r#"
[[rule]]
name = "cpu.hot"
metric = "cpu.total"
op = ">"
threshold = 95
for = "30s"
severity = "warning"
title = "CPU {value}% on {source}"
"#;
    std::fs::write(&path, good).unwrap();
    let config = Config::load(Some(&path), json!({})).unwrap();
    assert_eq!(
        config.rules.len(),
        1,
        "the file's rules replace the defaults"
    );
    assert_eq!(config.rules[0].hold, Duration::from_secs(30));

    let broken = format!(
        "{good}\n[[rule]]\nname = \"disk.high\"\nmetric = \"disk.used_percent\"\nop = \"=>\"\n\
         threshold = 90\nseverity = \"critical\"\ntitle = \"Disk\"\n"
    );
    std::fs::write(&path, &broken).unwrap();
    let err = Config::load(Some(&path), json!({})).unwrap_err().0;
    assert_eq!(err, "rule 2 \"disk.high\": op must be one of >, >=, <, <=");

    let bin = env!("CARGO_BIN_EXE_telltale-hub");
    let check = |path: &PathBuf| {
        Command::new(bin)
            .arg("--check-config")
            .arg(path)
            .output()
            .unwrap()
    };
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rule 2 \"disk.high\": op must be one of"),
        "{stderr}"
    );
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    let started = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(started.status.code(), Some(2), "refused, not served");
    assert!(String::from_utf8_lossy(&started.stderr).contains("rule 2 \"disk.high\""));

    std::fs::write(&path, good).unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{}: ok (1 rules, 2 namespaces)", path.display())
    );
}

/// Publishes through the binary's HTTP API with the file's key.
async fn publish(hub: &HubProcess, channel: &str, data: Value) {
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/publish", hub.addr))
        .header("X-API-Key", "rules-key")
        .json(&json!({"channel": channel, "data": data}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["result"]["offset"].is_u64(), "{body}");
}

/// A config file with the API key and one `> 10` rule on `metric`.
fn rules_file(metric: &str, op: &str) -> String {
    format!(
        "api_key = \"rules-key\"\n\n[[rule]]\nname = \"{metric}.high\"\nmetric = \"{metric}\"\n\
         op = \"{op}\"\nthreshold = 10\nseverity = \"warning\"\ntitle = \"{metric} high\"\n"
    )
}

#[tokio::test]
async fn sighup_swaps_the_rules_and_keeps_clients() {
    let dir = scratch("sighup");
    let path = dir.join("hub.toml");
    std::fs::write(&path, rules_file("a", ">")).unwrap();
    let hub = HubProcess::start(&["--config", path.to_str().unwrap()]);
    hub.wait_logged("serving ws://").await;

    // A subscriber on `alarms`, connected before the reload.
    let url = format!("ws://{}/connection/websocket", hub.addr);
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .unwrap()
        .unwrap();
    ws.send(Message::text(r#"{"id":1,"connect":{}}"#))
        .await
        .unwrap();
    ws.send(Message::text(
        r#"{"id":2,"subscribe":{"channel":"alarms"}}"#,
    ))
    .await
    .unwrap();
    let mut next = async || loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("still connected")
            .unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        for line in text.as_str().lines() {
            let value: Value = serde_json::from_str(line).unwrap();
            if value["id"] == 2 || value["push"]["pub"].is_object() {
                return value;
            }
        }
    };
    assert!(next().await["subscribe"].is_object(), "subscribed");

    publish(&hub, "metrics:src", sample(json!({"a": 50.0}))).await;
    let push = next().await;
    assert_eq!(push["push"]["pub"]["data"]["id"], "src/a.high", "{push}");

    std::fs::write(&path, rules_file("b", ">")).unwrap();
    hub.hangup();
    hub.wait_logged("SIGHUP: alarm rules reloaded").await;
    // The removed rule's alarm does not stay firing.
    let push = next().await;
    let alarm = &push["push"]["pub"]["data"];
    assert_eq!(
        (alarm["id"].as_str(), alarm["state"].as_str()),
        (Some("src/a.high"), Some("resolved")),
        "{push}"
    );
    publish(&hub, "metrics:src", sample(json!({"a": 50.0, "b": 50.0}))).await;
    let push = next().await;
    let alarm = &push["push"]["pub"]["data"];
    assert_eq!(alarm["id"], "src/b.high", "only the new rule: {push}");

    // A broken file: logged naming the rule and field, the rules stay.
    std::fs::write(&path, rules_file("c", "=")).unwrap();
    hub.hangup();
    hub.wait_logged("keeping the previous alarm rules").await;
    assert!(hub.logged(r#"rule 1 "c.high": op must be one of"#));
    publish(&hub, "metrics:src", sample(json!({"b": 1.0, "c": 50.0}))).await;
    let push = next().await;
    let alarm = &push["push"]["pub"]["data"];
    assert_eq!(
        (alarm["id"].as_str(), alarm["state"].as_str()),
        (Some("src/b.high"), Some("resolved")),
        "the old rule still runs: {push}"
    );
}
