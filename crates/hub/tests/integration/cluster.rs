//! Several hub nodes on one real Redis act as one hub: what one node
//! publishes reaches the clients of another, a client recovers on another
//! node, a Redis that restarts empty degrades the nodes (503) without
//! dropping their clients and then has its subscribers resync, and the
//! duties lease and the alarm rules pass from node to node without a second
//! firing.
//!
//! Each test starts its own redis-server, so this module runs in `make
//! test-rust`, not in `make test-redis` (which picks its suite by module
//! name and runs every hub on one shared Redis).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use telltale_hub::Config;
use telltale_protocol::payload::now_ms;

use crate::binary::HubProcess;
use crate::redis_server::RedisServer;
use crate::support::{Client, Hub, API_KEY, WAIT};

/// Bound of the waits that span a Redis reconnect: the fan-out's backoff
/// grows to 5 s between attempts, and each attempt may take seconds.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);
/// Period of the bounded polls.
const POLL: Duration = Duration::from_millis(50);
/// `duty_lease` of the process tests (a config file setting: no flag).
const LEASE: &str = "2s";
const LEASE_TIME: Duration = Duration::from_secs(2);
/// `--min-stale-after` of the process tests. A source sampled every
/// [`SAMPLE_EVERY`] is silent after this (three intervals are less), so a
/// pause of the test of this long would be a real silence.
const STALE: &str = "2s";
const STALE_TIME: Duration = Duration::from_secs(2);
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// Samples sent before a test lets its source fall silent.
const SAMPLES: usize = 10;
/// Long enough for the duty holder to run several silent checks (they are
/// at most a second apart).
const SEVERAL_CHECKS: Duration = Duration::from_secs(3);
/// The silent alarm of the process tests' source.
const SILENT: &str = "web-1/silent";

/// A key prefix for the nodes of one test: they share it, so they share
/// channels, alarms, the catalog and the lease.
fn shared_prefix() -> String {
    format!("cluster{}", uuid::Uuid::new_v4().simple())
}

/// An in-process node on `redis` under `prefix` that lets anonymous
/// clients acknowledge, with `edit` applied after.
async fn node(redis: &RedisServer, prefix: &str, edit: impl FnOnce(&mut Config)) -> Hub {
    Hub::with(|config| {
        config.redis = vec![redis.url()];
        config.redis_prefix = prefix.to_owned();
        config.anonymous_ack = true;
        edit(config);
    })
    .await
}

/// A Redis and two nodes on it sharing one prefix, both with `edit`.
async fn two_nodes(edit: impl Fn(&mut Config)) -> (RedisServer, Hub, Hub) {
    let redis = RedisServer::start();
    let prefix = shared_prefix();
    let a = node(&redis, &prefix, &edit).await;
    let b = node(&redis, &prefix, &edit).await;
    (redis, a, b)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().unwrap()
}

/// `POST /api/<method>` on the node at `addr`: the status and the JSON.
async fn api(addr: SocketAddr, method: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(format!("http://{addr}/api/{method}"))
        .header("X-API-Key", API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Publishes through the HTTP API of the node at `addr`: `{offset, epoch}`.
async fn publish(addr: SocketAddr, channel: &str, data: Value) -> Value {
    let (status, reply) = api(addr, "publish", json!({"channel": channel, "data": data})).await;
    assert_eq!(status, 200, "publish on {channel} through {addr}: {reply}");
    assert!(
        reply["result"]["offset"].is_u64(),
        "publish failed: {reply}"
    );
    reply["result"].clone()
}

/// `GET /healthz`: the status and the text.
async fn healthz(addr: SocketAddr) -> (u16, String) {
    let response = http()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The value of an unlabelled metric on the node's `/metrics`.
async fn metric(addr: SocketAddr, name: &str) -> f64 {
    let text = (http().get(format!("http://{addr}/metrics")).send().await)
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} on /metrics:\n{text}"))
}

/// Runs `check` every [`POLL`] until it gives something, for at most
/// `within`; `None` when it never did.
async fn poll<T>(within: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(found) = check().await {
            return Some(found);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// An alarm transition as a producer publishes it on `alarms`.
fn alarm(id: &str, state: &str) -> Value {
    let source = id.split('/').next().unwrap();
    json!({"id": id, "source": source, "severity": "critical", "state": state,
           "title": id, "message": "m", "ts": now_ms()})
}

fn sample(values: Value) -> Value {
    json!({"ts": now_ms(), "values": values})
}

/// The next publication on `alarms` (others skipped).
async fn next_alarm(client: &mut Client) -> Value {
    loop {
        let (channel, _, data) = client.next_publication().await;
        if channel == "alarms" {
            return data;
        }
    }
}

/// The transitions of alarm `id` in the `alarms` history read from the
/// node at `addr`, oldest first: every one ever published, by any node.
async fn alarm_history(addr: SocketAddr, id: &str) -> Vec<Value> {
    let (status, reply) = api(addr, "history", json!({"channel": "alarms", "limit": 1000})).await;
    assert_eq!(status, 200, "{reply}");
    let publications = reply["result"]["publications"].as_array().cloned();
    (publications.unwrap_or_default().into_iter())
        .map(|p| p["data"].clone())
        .filter(|alarm| alarm["id"] == id)
        .collect()
}

/// The states of [`alarm_history`].
async fn transitions(addr: SocketAddr, id: &str) -> Vec<String> {
    (alarm_history(addr, id).await.iter())
        .map(|alarm| alarm["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `state: message` per transition of `id`, for failure messages.
async fn explained(addr: SocketAddr, id: &str) -> String {
    (alarm_history(addr, id).await.iter())
        .map(|a| format!("{}: {}\n", a["state"], a["message"]))
        .collect()
}

/// The `alarms.active` answer of `client`'s node.
async fn active(client: &mut Client) -> Value {
    let reply = client.call("rpc", json!({"method": "alarms.active"})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    reply["rpc"]["data"].clone()
}

#[tokio::test]
async fn two_nodes_on_one_redis_act_as_one_hub() {
    let (_redis, a, b) = two_nodes(|_| {}).await;

    // Through B, to a subscriber on A, at the position B's publish gave.
    let mut reader = Client::anonymous(&a).await;
    let subscribed = reader.subscribe("news").await;
    let position = publish(b.addr, "news", json!({"n": 1})).await;
    assert_eq!(
        position["epoch"], subscribed["epoch"],
        "one stream for both"
    );
    let (channel, offset, data) = reader.next_publication().await;
    assert_eq!(channel, "news");
    assert_eq!(Some(offset), position["offset"].as_u64());
    assert_eq!(data, json!({"n": 1}));

    // An alarm raised through B, acknowledged by a client of A: a watcher
    // on B sees both transitions.
    let mut watcher = Client::anonymous(&b).await;
    watcher.subscribe("alarms").await;
    publish(b.addr, "alarms", alarm("web-1/disk", "firing")).await;
    let firing = next_alarm(&mut watcher).await;
    assert_eq!(
        (&firing["id"], &firing["state"]),
        (&json!("web-1/disk"), &json!("firing"))
    );
    let mut acker = Client::anonymous(&a).await;
    let ack = json!({"method": "alarms.ack",
                     "data": {"id": "web-1/disk", "by": "ops", "comment": "on it"}});
    let reply = acker.call("rpc", ack).await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["state"], "acknowledged",
        "{reply}"
    );
    let acked = next_alarm(&mut watcher).await;
    assert_eq!(acked["id"], "web-1/disk", "{acked}");
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert_eq!(acked["by"], "ops (unverified)", "{acked}");
    assert_eq!(acked["comment"], "on it", "{acked}");

    // Both nodes answer the same active alarms: the acknowledged one.
    let on_a = active(&mut acker).await;
    let on_b = active(&mut watcher).await;
    assert_eq!(on_a, on_b);
    let alarms = on_a["alarms"].as_array().unwrap();
    assert_eq!(alarms.len(), 1, "{on_a}");
    assert_eq!(alarms[0]["id"], "web-1/disk");
    assert_eq!(alarms[0]["state"], "acknowledged");
    assert_eq!(alarms[0]["by"], "ops (unverified)");

    // A source sampled through B is in A's catalog, with its metrics.
    let values = json!({"cpu.total": 3.0, "mem.used_percent": 40.0});
    publish(b.addr, "metrics:web-7", sample(values)).await;
    let catalog = acker.call("rpc", json!({"method": "catalog"})).await;
    let sources = catalog["rpc"]["data"]["sources"].as_array().cloned();
    let web7 = (sources.unwrap_or_default().into_iter())
        .find(|s| s["source"] == "web-7")
        .unwrap_or_else(|| panic!("web-7 missing from A's catalog: {catalog}"));
    assert_eq!(web7["channel"], "metrics:web-7");
    assert_eq!(web7["metrics"], json!(["cpu.total", "mem.used_percent"]));

    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_client_recovers_on_another_node_what_it_missed() {
    let (_redis, a, b) = two_nodes(|_| {}).await;

    let mut client = Client::anonymous(&a).await;
    let subscribed = client.subscribe("feed").await;
    let epoch = subscribed["epoch"].clone();
    assert_eq!(
        subscribed["offset"].as_u64().unwrap_or(0),
        0,
        "{subscribed}"
    );
    for n in 1..=2 {
        publish(b.addr, "feed", json!({"n": n})).await;
        assert_eq!(client.next_publication().await.1, n);
    }
    client.close().await;

    for n in 3..=5 {
        publish(b.addr, "feed", json!({"n": n})).await;
    }
    let mut client = Client::anonymous(&b).await;
    let recover = json!({"channel": "feed", "recover": true, "offset": 2, "epoch": epoch});
    let reply = client.call("subscribe", recover).await;
    let subscribed = &reply["subscribe"];
    assert_eq!(subscribed["recovered"], true, "{reply}");
    assert_eq!(subscribed["epoch"], epoch, "{reply}");
    let missed: Vec<(u64, Value)> = (subscribed["publications"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p["offset"].as_u64().unwrap(), p["data"].clone()))
        .collect();
    let expected: Vec<(u64, Value)> = (3..=5).map(|n| (n, json!({"n": n}))).collect();
    assert_eq!(
        missed, expected,
        "exactly the missed publications, in order"
    );

    // The live stream goes on after them, published through A this time.
    publish(a.addr, "feed", json!({"n": 6})).await;
    assert_eq!(
        client.next_publication().await,
        ("feed".to_owned(), 6, json!({"n": 6})),
        "no gap, no duplicate"
    );

    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn redis_restarted_empty_degrades_the_nodes_then_their_subscribers_resync() {
    // Pings every second keep the watcher's reads short while it waits for
    // the node to notice the restart (the client gives up on 10 s silence).
    let fast_pings = |c: &mut Config| c.ping_interval = Duration::from_secs(1);
    let (mut redis, a, b) = two_nodes(fast_pings).await;
    let mut watcher = Client::anonymous(&a).await;
    let subscribed = watcher.subscribe("alarms").await;
    let old_epoch = subscribed["epoch"].clone();
    publish(b.addr, "alarms", alarm("web-1/old", "firing")).await;
    let (_, old_offset, old) = watcher.next_publication().await;
    assert_eq!(old["id"], "web-1/old");
    let errors_before = metric(b.addr, "telltale_hub_broker_errors_total").await;

    redis.stop();
    let (status, reply) = api(b.addr, "publish", json!({"channel": "news", "data": 1})).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["error"]["code"], 108, "{reply}");
    for hub in [&a, &b] {
        let (status, text) = poll(WAIT, async || {
            let health = healthz(hub.addr).await;
            (health.0 == 503).then_some(health)
        })
        .await
        .unwrap_or_else(|| panic!("/healthz of {} not 503 while Redis is down", hub.addr));
        assert_eq!(status, 503);
        assert!(text.contains("degraded"), "{text}");
        assert_eq!(metric(hub.addr, "telltale_hub_broker_up").await, 0.0);
    }
    let errors = metric(b.addr, "telltale_hub_broker_errors_total").await;
    assert!(errors > errors_before, "{errors} after {errors_before}");
    // The outage closes no client: the watcher is answered (108) on its
    // connection, which stays open.
    let reply = watcher
        .call("rpc", json!({"method": "alarms.active"}))
        .await;
    assert_eq!(reply["error"]["code"], 108, "{reply}");

    redis.restart();
    for hub in [&a, &b] {
        let back = poll(RECONNECT_WAIT, async || {
            (healthz(hub.addr).await.0 == 200).then_some(())
        });
        assert!(
            back.await.is_some(),
            "/healthz of {} not back to 200",
            hub.addr
        );
    }
    // A's fan-out finds the stream of `alarms` gone: its subscriber must
    // resync, and is told so.
    let closed = tokio::time::timeout(RECONNECT_WAIT, watcher.closed()).await;
    assert_eq!(closed.expect("the watcher is disconnected"), Some(3010));
    for hub in [&a, &b] {
        let body = json!({"channel": "news", "data": 2});
        let published = poll(RECONNECT_WAIT, async || {
            let (status, reply) = api(hub.addr, "publish", body.clone()).await;
            (status == 200).then_some(reply)
        });
        let reply = published.await.expect("publishes work again");
        assert!(reply["result"]["offset"].is_u64(), "{reply}");
    }

    let mut watcher = Client::anonymous(&a).await;
    let resubscribe =
        json!({"channel": "alarms", "recover": true, "offset": old_offset, "epoch": old_epoch});
    let reply = watcher.call("subscribe", resubscribe).await;
    let subscribed = &reply["subscribe"];
    assert!(reply.get("error").is_none(), "{reply}");
    assert_ne!(
        subscribed["recovered"], true,
        "nothing can be recovered: {reply}"
    );
    assert_eq!(subscribed["was_recovering"], true, "{reply}");
    assert_ne!(subscribed["epoch"], old_epoch, "a new stream: {reply}");

    publish(b.addr, "alarms", alarm("web-1/new", "firing")).await;
    let new = next_alarm(&mut watcher).await;
    assert_eq!(
        (&new["id"], &new["state"]),
        (&json!("web-1/new"), &json!("firing"))
    );
    let mut other = Client::anonymous(&b).await;
    for on in [active(&mut watcher).await, active(&mut other).await] {
        let ids: Vec<&Value> = on["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["id"])
            .collect();
        assert_eq!(
            ids,
            [&json!("web-1/new")],
            "only what came after the restart: {on}"
        );
    }

    a.stop().await;
    b.stop().await;
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("telltale-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Two `telltale-hub` processes on `redis` with a [`LEASE`] duty lease
/// (only a config file sets it) and [`STALE`] silent sources.
fn two_processes(redis: &RedisServer, scratch: &Scratch) -> [HubProcess; 2] {
    let file = scratch.0.join("hub.toml");
    std::fs::write(&file, format!("duty_lease = \"{LEASE}\"\n")).unwrap();
    let url = redis.url();
    let file = file.to_str().unwrap();
    let start = |name: &str| {
        HubProcess::start(&[
            "--redis",
            &url,
            "--api-key",
            API_KEY,
            "--min-stale-after",
            STALE,
            "--config",
            file,
            "--node-name",
            name,
        ])
    };
    [start("one"), start("two")]
}

/// Which of `nodes` holds the duties, once exactly one does.
async fn duty_holder(nodes: &[HubProcess; 2]) -> usize {
    let holder = poll(WAIT, async || {
        let held = [
            metric(nodes[0].addr, "telltale_hub_duties_held").await,
            metric(nodes[1].addr, "telltale_hub_duties_held").await,
        ];
        match held {
            [1.0, 0.0] => Some(0),
            [0.0, 1.0] => Some(1),
            _ => None,
        }
    });
    holder.await.unwrap_or_else(|| {
        panic!(
            "not exactly one duty holder; logs:\n{}\n{}",
            nodes[0].log(),
            nodes[1].log()
        )
    })
}

/// Sends `web-1` samples through the node at `addr`, every [`SAMPLE_EVERY`].
async fn sample_web1(addr: SocketAddr, samples: usize) {
    for i in 0..samples {
        if i > 0 {
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        publish(addr, "metrics:web-1", sample(json!({"cpu.total": 12.5}))).await;
    }
}

/// Waits until the `alarms` history read from `node` holds as many
/// transitions of [`SILENT`] as `states`, within `within`, and checks them.
async fn wait_transitions(node: &HubProcess, states: &[&str], within: Duration) {
    let reached = poll(within, async || {
        let now = transitions(node.addr, SILENT).await;
        (now.len() >= states.len()).then_some(())
    });
    let why = format!("{} transitions of {SILENT} within {within:?}", states.len());
    assert!(reached.await.is_some(), "{why}; {}", context(node).await);
    assert_transitions(node, states, &why).await;
}

/// Checks the transitions of [`SILENT`] in the `alarms` history.
async fn assert_transitions(node: &HubProcess, states: &[&str], why: &str) {
    let now = transitions(node.addr, SILENT).await;
    assert_eq!(now, states, "{why}; {}", context(node).await);
}

/// The transitions of [`SILENT`] and the log of `node`.
async fn context(node: &HubProcess) -> String {
    let transitions = explained(node.addr, SILENT).await;
    format!(
        "transitions:\n{transitions}log of {}:\n{}",
        node.addr,
        node.log()
    )
}

/// Kills a node as a crash would: no lease given up.
fn crash(node: &mut HubProcess) {
    node.child.kill().unwrap();
    node.child.wait().unwrap();
}

#[tokio::test]
async fn a_crashed_duty_holder_is_replaced_and_a_silent_source_fires_once() {
    let redis = RedisServer::start();
    let scratch = Scratch::new();
    let mut nodes = two_processes(&redis, &scratch);
    let holder = duty_holder(&nodes).await;
    let survivor = 1 - holder;
    let addr = nodes[survivor].addr;

    sample_web1(addr, SAMPLES).await;
    crash(&mut nodes[holder]);
    // web-1 sends nothing more: the survivor takes the lease over and finds
    // it silent.
    let within = LEASE_TIME + STALE_TIME + WAIT;
    wait_transitions(&nodes[survivor], &["firing"], within).await;
    assert_eq!(metric(addr, "telltale_hub_duties_held").await, 1.0);
    tokio::time::sleep(SEVERAL_CHECKS).await;
    let why = "one firing, nothing after it";
    assert_transitions(&nodes[survivor], &["firing"], why).await;
}

#[tokio::test]
async fn a_silent_alarm_raised_before_the_holder_crashed_is_not_raised_again() {
    let redis = RedisServer::start();
    let scratch = Scratch::new();
    let mut nodes = two_processes(&redis, &scratch);
    let holder = duty_holder(&nodes).await;
    let survivor = 1 - holder;
    let addr = nodes[survivor].addr;

    // Through the node without the duties: the holder sees the source in
    // the shared catalog and raises its silent alarm.
    sample_web1(addr, SAMPLES).await;
    wait_transitions(&nodes[survivor], &["firing"], STALE_TIME + WAIT).await;

    crash(&mut nodes[holder]);
    let took_over = poll(LEASE_TIME + WAIT, async || {
        (metric(addr, "telltale_hub_duties_held").await == 1.0).then_some(())
    });
    assert!(took_over.await.is_some(), "{}", nodes[survivor].log());
    tokio::time::sleep(SEVERAL_CHECKS).await;
    let why = "the new holder takes the alarm over, it does not raise it again";
    assert_transitions(&nodes[survivor], &["firing"], why).await;

    // The source is back: resolved once. It keeps publishing meanwhile, so
    // that nothing else may follow.
    sample_web1(addr, 1).await;
    wait_transitions(&nodes[survivor], &["firing", "resolved"], WAIT).await;
    let samples = (SEVERAL_CHECKS.as_millis() / SAMPLE_EVERY.as_millis()) as usize;
    sample_web1(addr, samples).await;
    let why = "resolved once by a source that publishes again";
    assert_transitions(&nodes[survivor], &["firing", "resolved"], why).await;
}

/// The one rule of the rule tests: `x > 50`, alarm `<source>/x.high`.
fn x_high() -> telltale_hub::rules::Rule {
    serde_json::from_value(json!({
        "name": "x.high", "metric": "x", "op": ">", "threshold": 50.0,
        "severity": "warning", "title": "{source}: x at {value}",
    }))
    .unwrap()
}

#[tokio::test]
async fn a_rule_alarm_raised_on_one_node_resolves_once_on_another() {
    let (_redis, a, b) = two_nodes(|c| c.rules = vec![x_high()]).await;
    let id = "db-1/x.high";
    let mut watcher = Client::anonymous(&b).await;
    watcher.subscribe("alarms").await;

    for x in [90.0, 95.0] {
        publish(a.addr, "metrics:db-1", sample(json!({"x": x}))).await;
    }
    let firing = next_alarm(&mut watcher).await;
    assert_eq!(
        (&firing["id"], &firing["state"]),
        (&json!(id), &json!("firing"))
    );

    // The source's samples now come through B: still high, then low.
    for x in [93.0, 10.0, 5.0] {
        publish(b.addr, "metrics:db-1", sample(json!({"x": x}))).await;
    }
    let resolved = next_alarm(&mut watcher).await;
    assert_eq!(
        (&resolved["id"], &resolved["state"]),
        (&json!(id), &json!("resolved")),
        "no second firing before the resolution: {resolved}"
    );
    assert_eq!(resolved["value"], 10.0);
    // Rule transitions are published before the sample's publish answers.
    assert_eq!(transitions(a.addr, id).await, ["firing", "resolved"]);
    assert!(active(&mut watcher).await["alarms"]
        .as_array()
        .unwrap()
        .is_empty());

    a.stop().await;
    b.stop().await;
}

/// A source whose samples go to A, then B, then back to A (its agent
/// reconnected twice behind a load balancer): A must not go on from the
/// rule state it had before B resolved the alarm.
#[tokio::test]
async fn a_rule_alarm_follows_its_source_back_to_the_first_node() {
    let (_redis, a, b) = two_nodes(|c| c.rules = vec![x_high()]).await;
    for (hub, x) in [(&a, 90.0), (&b, 10.0), (&a, 90.0), (&a, 10.0)] {
        publish(hub.addr, "metrics:db-1", sample(json!({"x": x}))).await;
    }
    let states = transitions(a.addr, "db-1/x.high").await;
    assert_eq!(states, ["firing", "resolved", "firing", "resolved"]);
    a.stop().await;
    b.stop().await;
}

/// The keys under `prefix` on the Redis at `url`.
async fn keys_on(url: &str, prefix: &str) -> Vec<String> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn channels_are_sharded_over_several_redis_servers() {
    use telltale_hub::broker::redis::keys::{home_shard, shard_of};
    let (first, second) = (RedisServer::start(), RedisServer::start());
    let urls = vec![first.url(), second.url()];
    let prefix = shared_prefix();
    let on_both = |c: &mut Config| {
        c.redis = urls.clone();
        c.redis_prefix = prefix.clone();
    };
    let a = Hub::with(on_both).await;
    let b = Hub::with(on_both).await;

    // Channels on each shard, all read on A, all published through B.
    let channels: Vec<String> = (0..8).map(|i| format!("feed-{i}")).collect();
    let shards: Vec<usize> = channels.iter().map(|c| shard_of(c, 2)).collect();
    assert!(shards.contains(&0) && shards.contains(&1), "{shards:?}");
    let mut reader = Client::anonymous(&a).await;
    for channel in &channels {
        reader.subscribe(channel).await;
    }
    for (n, channel) in channels.iter().enumerate() {
        publish(b.addr, channel, json!({"n": n})).await;
    }
    let mut received = Vec::new();
    for _ in &channels {
        let (channel, offset, data) = reader.next_publication().await;
        assert_eq!(offset, 1, "{channel}");
        received.push((channel, data["n"].as_u64().unwrap()));
    }
    received.sort();
    let expected: Vec<(String, u64)> = (channels.iter().cloned()).zip(0..).collect();
    assert_eq!(received, expected);

    // Each channel's stream is on its own shard, and only there.
    let keys = [
        keys_on(&urls[0], &prefix).await,
        keys_on(&urls[1], &prefix).await,
    ];
    for (channel, &shard) in channels.iter().zip(&shards) {
        let stream = format!("{prefix}:stream:{channel}");
        assert!(keys[shard].contains(&stream), "{stream} on shard {shard}");
        assert!(!keys[1 - shard].contains(&stream), "{stream} only once");
    }

    // The alarms live on the shard of `alarms`, for every node.
    publish(b.addr, "alarms", alarm("web-1/disk", "firing")).await;
    let on_a = active(&mut reader).await;
    assert_eq!(on_a["alarms"][0]["id"], "web-1/disk", "{on_a}");
    let home = home_shard(2);
    let alarms = format!("{prefix}:alarms");
    assert!(keys_on(&urls[home], &prefix).await.contains(&alarms));
    assert!(!keys_on(&urls[1 - home], &prefix).await.contains(&alarms));

    a.stop().await;
    b.stop().await;
}

/// The ids of the active alarms on the node at `addr`, polled until Redis
/// answers.
async fn active_ids(hub: &Hub) -> Vec<String> {
    let mut client = Client::anonymous(hub).await;
    let reply = client.call("rpc", json!({"method": "alarms.active"})).await;
    let alarms = reply["rpc"]["data"]["alarms"].as_array().cloned();
    (alarms.unwrap_or_default().iter())
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn alarms_still_true_are_raised_again_after_redis_lost_them() {
    let mut redis = RedisServer::start();
    let prefix = shared_prefix();
    let a = node(&redis, &prefix, |c| {
        c.rules = vec![x_high()];
        c.min_stale_after = Duration::from_secs(1);
        c.duty_lease = Duration::from_millis(600);
    })
    .await;
    // A rule alarm, and a source that goes silent.
    publish(a.addr, "metrics:db-1", sample(json!({"x": 90.0}))).await;
    for _ in 0..3 {
        publish(a.addr, "metrics:web-9", sample(json!({"y": 1.0}))).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let both = poll(WAIT, async || {
        let ids = active_ids(&a).await;
        (ids.contains(&"web-9/silent".to_owned()) && ids.contains(&"db-1/x.high".to_owned()))
            .then_some(ids)
    });
    assert!(both.await.is_some(), "{:?}", active_ids(&a).await);

    redis.restart();
    // The silent source, still silent, is raised again by the duty holder;
    // the rule alarm by the next sample that still breaks it.
    let silent = poll(RECONNECT_WAIT, async || {
        let ids = active_ids(&a).await;
        ids.contains(&"web-9/silent".to_owned()).then_some(ids)
    });
    let ids = silent
        .await
        .expect("web-9/silent raised again after the restart");
    assert!(!ids.contains(&"db-1/x.high".to_owned()), "{ids:?}");
    publish(a.addr, "metrics:db-1", sample(json!({"x": 91.0}))).await;
    let ids = active_ids(&a).await;
    assert!(ids.contains(&"db-1/x.high".to_owned()), "{ids:?}");
    assert_eq!(transitions(a.addr, "db-1/x.high").await, ["firing"]);
    assert_eq!(transitions(a.addr, "web-9/silent").await, ["firing"]);
    a.stop().await;
}

/// Runs one command on the Redis at `url`.
async fn redis_cmd<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    cmd.query_async(&mut conn).await.unwrap()
}

/// How many nodes listen to `channel`'s fan-out.
async fn listeners(url: &str, prefix: &str, channel: &str) -> u64 {
    let fanout = format!("{prefix}:pub:{channel}");
    let counts: Vec<(String, u64)> =
        redis_cmd(url, redis::cmd("PUBSUB").arg("NUMSUB").arg(&fanout)).await;
    counts[0].1
}

#[tokio::test]
async fn a_node_listens_only_where_it_has_subscribers_and_catches_up_after_a_cut() {
    let (redis, a, b) = two_nodes(|_| {}).await;
    let prefix = a.node.config().redis_prefix.clone();
    let mut reader = Client::anonymous(&a).await;
    reader.subscribe("feed").await;
    publish(b.addr, "quiet", json!({"n": 0})).await;
    assert_eq!(listeners(&redis.url(), &prefix, "feed").await, 1, "A only");
    assert_eq!(listeners(&redis.url(), &prefix, "quiet").await, 0);

    // Redis drops every node's pub/sub connection; what B publishes before
    // A is back (A waits at least 100 ms to reconnect) reaches A's reader
    // from history: every publication once, in order, and no disconnect.
    let killed: u64 = redis_cmd(
        &redis.url(),
        redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"),
    )
    .await;
    assert!(killed >= 1, "A's pub/sub connection was cut");
    for n in 1..=5 {
        publish(b.addr, "feed", json!({"n": n})).await;
    }
    let back = poll(RECONNECT_WAIT, async || {
        (listeners(&redis.url(), &prefix, "feed").await == 1).then_some(())
    });
    assert!(back.await.is_some(), "A listens to feed again");
    for n in 6..=8 {
        publish(b.addr, "feed", json!({"n": n})).await;
    }
    for n in 1..=8u64 {
        let (channel, offset, data) = reader.next_publication().await;
        assert_eq!(
            (channel.as_str(), offset, &data),
            ("feed", n, &json!({"n": n}))
        );
    }
    let more = tokio::time::timeout(Duration::from_millis(300), reader.next_event()).await;
    assert!(more.is_err(), "nothing twice: {more:?}");

    a.stop().await;
    b.stop().await;
}
