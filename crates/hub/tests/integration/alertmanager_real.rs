//! A real Alertmanager (Debian's `prometheus-alertmanager`) on a free
//! loopback port, with a `webhook_configs` receiver pointing at the hub:
//! alerts posted to Alertmanager arrive at a client, firing once however
//! often Alertmanager repeats them, then resolved.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::support::{Client, Hub};

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const KEY: &str = "am-webhook-key";
/// Upper bound of every wait on Alertmanager.
const LONG_WAIT: Duration = Duration::from_secs(30);

/// An Alertmanager process and its files, stopped and removed on drop.
struct Alertmanager {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Alertmanager {
    /// Starts Alertmanager sending every notification to `webhook`, with
    /// the intervals as short as it takes, so it repeats within a second.
    async fn start(webhook: &str) -> Self {
        let port = free_port();
        Self::start_on(webhook, port).await
    }

    /// [`Alertmanager::start`] on `port`.
    async fn start_on(webhook: &str, port: u16) -> Self {
        assert!(
            std::path::Path::new(ALERTMANAGER).exists(),
            "{ALERTMANAGER} is missing: run scripts/install-deps.sh (it installs Debian's \
             prometheus-alertmanager)"
        );
        let dir = std::env::temp_dir().join(format!("telltale-am-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let config = format!(
            r#"route:
  receiver: telltale
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: telltale
    webhook_configs:
      - url: "{webhook}"
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: "{KEY}"
"#
        );
        std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start alertmanager");
        let alertmanager = Self {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        alertmanager.wait_ready().await;
        alertmanager
    }

    async fn wait_ready(&self) {
        let ready = format!("{}/-/ready", self.url);
        let deadline = tokio::time::Instant::now() + LONG_WAIT;
        loop {
            if let Ok(response) = reqwest::get(&ready).await {
                if response.status().is_success() {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "alertmanager not ready within {LONG_WAIT:?}; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("alertmanager.log")).unwrap_or_default()
    }

    /// `POST /api/v2/alerts` with one alert.
    async fn post_alert(&self, alert: &Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&json!([alert]))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            response.text().await.unwrap()
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The next publication on `alarms`, within [`LONG_WAIT`].
async fn next_alarm(client: &mut Client) -> Value {
    let (channel, _, data) = tokio::time::timeout(LONG_WAIT, client.next_publication())
        .await
        .expect("an alarm within 30s");
    assert_eq!(channel, "alarms");
    data
}

#[tokio::test]
async fn alerts_from_a_real_alertmanager_fire_once_then_resolve() {
    // Pings every second keep the client's own 10 s read timeout from
    // firing while Alertmanager takes its time.
    let hub = Hub::with(|c| {
        c.publish_keys = vec![KEY.into()];
        c.ping_interval = Duration::from_secs(1);
    })
    .await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let alertmanager = Alertmanager::start(&format!(
        "http://{}/api/alertmanager?receiver=am1",
        hub.addr
    ))
    .await;

    let started = SystemTime::now() - Duration::from_secs(1);
    let mut alert = json!({
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical"},
        "annotations": {"summary": "disk / above 95%"},
        "startsAt": rfc3339(started),
        "endsAt": rfc3339(SystemTime::now() + Duration::from_secs(3600)),
        "generatorURL": "http://prometheus.example:9090/graph"
    });
    alertmanager.post_alert(&alert).await;

    let firing = next_alarm(&mut watcher).await;
    assert_eq!(firing["state"], "firing", "{firing}");
    let id = firing["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("am1/"), "{id}");
    assert_eq!(firing["severity"], "critical");
    assert_eq!(firing["title"], "DiskFull on db-1:9100");
    // Without --web.external-url Alertmanager names itself by host name.
    let port = alertmanager.url.rsplit(':').next().unwrap();
    let external = firing["links"]["alertmanager"].as_str().unwrap();
    assert!(external.ends_with(&format!(":{port}")), "{firing}");
    assert!(
        firing["links"]["silence"]
            .as_str()
            .unwrap()
            .contains("/#/silences/new?filter=%7Balertname%3D%22DiskFull%22"),
        "{firing}"
    );

    // Alertmanager repeats the notification (repeat_interval 1s): wait
    // until the hub has received at least one repeat.
    let received = |outcome: &str| {
        hub.node
            .local()
            .metrics
            .alerts_received
            .with_label_values(&["alertmanager", outcome])
            .get()
    };
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    while received("unchanged") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no repeat notification from alertmanager within {LONG_WAIT:?}; its log:\n{}",
            alertmanager.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    alert["endsAt"] = json!(rfc3339(SystemTime::now() - Duration::from_millis(500)));
    alertmanager.post_alert(&alert).await;
    // The publication after the firing one is the resolution: the repeats
    // published nothing in between.
    let resolved = next_alarm(&mut watcher).await;
    assert_eq!(
        (resolved["id"].as_str(), resolved["state"].as_str()),
        (Some(id.as_str()), Some("resolved")),
        "{resolved}"
    );
    assert_eq!(received("firing"), 1);
    assert_eq!(received("resolved"), 1);
    assert!(hub.node.alarm(&id).await.unwrap().is_none());
    drop(alertmanager);
    hub.stop().await;
}

/// The next alarm publication whose `check` holds, skipping the others,
/// within [`LONG_WAIT`].
async fn alarm_where(client: &mut Client, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Ok((_, _, data)) = tokio::time::timeout(left, client.next_publication()).await else {
            panic!("no alarm {what} within {LONG_WAIT:?}");
        };
        if check(&data) {
            return data;
        }
    }
}

/// Alertmanager's silences, as `GET /api/v2/silences` lists them.
async fn silences(url: &str) -> Vec<Value> {
    let reply = reqwest::get(format!("{url}/api/v2/silences"))
        .await
        .unwrap();
    reply.json::<Vec<Value>>().await.unwrap()
}

/// The active silence whose matchers are `alertname=DiskFull` and
/// `instance=db-1:9100`, within [`LONG_WAIT`].
async fn ack_silence(url: &str) -> Value {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    loop {
        let found = silences(url).await.into_iter().find(|s| {
            let matchers: Vec<(String, String)> = (s["matchers"].as_array().unwrap().iter())
                .map(|m| {
                    (
                        m["name"].as_str().unwrap().to_owned(),
                        m["value"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            s["status"]["state"] == "active"
                && matchers
                    == [
                        ("alertname".to_owned(), "DiskFull".to_owned()),
                        ("instance".to_owned(), "db-1:9100".to_owned()),
                    ]
        });
        if let Some(silence) = found {
            return silence;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no silence within {LONG_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn disk_full() -> Value {
    json!({
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "severity": "critical", "mountpoint": "/"},
        "annotations": {"summary": "disk / above 95%"},
        "startsAt": rfc3339(SystemTime::now() - Duration::from_secs(1)),
        "endsAt": rfc3339(SystemTime::now() + Duration::from_secs(3600)),
    })
}

/// A hub that sends acknowledgements of `am1/...` alarms to the
/// Alertmanager at `port`, checking every 200 ms.
async fn acking_hub(port: u16) -> Hub {
    Hub::with(|c| {
        c.publish_keys = vec![KEY.into()];
        c.ping_interval = Duration::from_secs(1);
        c.anonymous_ack = true;
        c.alertmanagers = vec![format!("am1=http://127.0.0.1:{port}")];
        c.alertmanager_poll = Duration::from_millis(200);
        c.alertmanager_resolve_after = Duration::from_secs(1);
    })
    .await
}

#[tokio::test]
async fn an_ack_silences_the_alert_in_alertmanager_until_it_resolves() {
    let port = free_port();
    let hub = acking_hub(port).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let webhook = format!("http://{}/api/alertmanager?receiver=am1", hub.addr);
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    let mut alert = disk_full();
    alertmanager.post_alert(&alert).await;
    let firing = alarm_where(&mut watcher, "firing", |a| a["state"] == "firing").await;
    let id = firing["id"].as_str().unwrap().to_owned();

    let mut acker = Client::anonymous(&hub).await;
    let reply = acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": id, "by": "ann"}}),
        )
        .await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["state"], "acknowledged",
        "{reply}"
    );

    // On the stable labels only (not mountpoint, not severity), by the acker.
    let silence = ack_silence(&alertmanager.url).await;
    assert_eq!(silence["createdBy"], "ann (unverified)", "{silence}");
    assert_eq!(silence["comment"], "acknowledged in Telltale");
    let marked = alarm_where(&mut watcher, "marked with its silence", |a| {
        a["labels"]["telltale.silence"] == silence["id"]
    })
    .await;
    assert_eq!(marked["state"], "acknowledged");

    // The alert ends; Alertmanager sends no resolved webhook for a
    // silenced alert, so the hub finds out by polling.
    alert["endsAt"] = json!(rfc3339(SystemTime::now() - Duration::from_millis(500)));
    alertmanager.post_alert(&alert).await;
    let resolved = alarm_where(&mut watcher, "resolved", |a| a["state"] == "resolved").await;
    assert_eq!(resolved["id"], id.as_str());
    let silence_id = silence["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    loop {
        let url = format!("{}/api/v2/silence/{silence_id}", alertmanager.url);
        let state = reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        if state["status"]["state"] == "expired" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "silence not expired: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_ack_while_alertmanager_is_down_is_a_pending_silence_set_once_it_is_back() {
    let port = free_port();
    let hub = acking_hub(port).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let webhook = format!("http://{}/api/alertmanager?receiver=am1", hub.addr);
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    let alert = disk_full();
    alertmanager.post_alert(&alert).await;
    let firing = alarm_where(&mut watcher, "firing", |a| a["state"] == "firing").await;
    let id = firing["id"].as_str().unwrap().to_owned();
    drop(alertmanager);

    let mut acker = Client::anonymous(&hub).await;
    acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": id, "by": "bob"}}),
        )
        .await;
    let pending = alarm_where(&mut watcher, "with a pending silence", |a| {
        a["labels"]["telltale.silence"] == "pending"
    })
    .await;
    assert_eq!(
        pending["state"], "acknowledged",
        "the ack holds in Telltale"
    );

    // Back, empty (no persistence), and Prometheus sends its alerts again.
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    alertmanager.post_alert(&alert).await;
    let silence = ack_silence(&alertmanager.url).await;
    assert_eq!(silence["createdBy"], "bob (unverified)");
    let marked = alarm_where(&mut watcher, "marked with its silence once set", |a| {
        a["labels"]["telltale.silence"] == silence["id"]
    })
    .await;
    assert_eq!(marked["state"], "acknowledged", "not resolved meanwhile");
}

#[tokio::test]
async fn a_silence_in_telltale_is_a_silence_in_alertmanager_until_that_time() {
    let port = free_port();
    let hub = acking_hub(port).await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let webhook = format!("http://{}/api/alertmanager?receiver=am1", hub.addr);
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    alertmanager.post_alert(&disk_full()).await;
    let firing = alarm_where(&mut watcher, "firing", |a| a["state"] == "firing").await;
    let until = SystemTime::now() + Duration::from_secs(2 * 3600);
    let until_ms = until
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let mut client = Client::anonymous(&hub).await;
    let reply = client
        .call(
            "rpc",
            json!({"method": "alarms.silence", "data": {"id": firing["id"], "until": until_ms}}),
        )
        .await;
    assert_eq!(
        reply["rpc"]["data"]["alarm"]["silenced_until"], until_ms,
        "{reply}"
    );
    let silence = ack_silence(&alertmanager.url).await;
    let ends =
        humantime::parse_rfc3339_weak(silence["endsAt"].as_str().unwrap().trim_end_matches('Z'))
            .unwrap();
    let off = ends.duration_since(until).unwrap_or_else(|e| e.duration());
    assert!(
        off < Duration::from_secs(2),
        "ends {:?} vs until {:?}: {silence}",
        ends,
        until
    );
}

#[tokio::test]
async fn the_silence_of_an_acknowledged_alarm_is_extended_before_it_ends() {
    let port = free_port();
    let hub = Hub::with(|c| {
        c.publish_keys = vec![KEY.into()];
        c.ping_interval = Duration::from_secs(1);
        c.anonymous_ack = true;
        c.alertmanagers = vec![format!("am1=http://127.0.0.1:{port}")];
        c.alertmanager_poll = Duration::from_millis(200);
        c.alertmanager_ack_span = Duration::from_secs(3);
    })
    .await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let webhook = format!("http://{}/api/alertmanager?receiver=am1", hub.addr);
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    alertmanager.post_alert(&disk_full()).await;
    let firing = alarm_where(&mut watcher, "firing", |a| a["state"] == "firing").await;
    let mut acker = Client::anonymous(&hub).await;
    acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": firing["id"], "by": "cy"}}),
        )
        .await;
    let first = ack_silence(&alertmanager.url).await;
    let first_end = first["endsAt"].as_str().unwrap().to_owned();
    // Past the first silence's end: still silenced, by a silence ending later.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = ack_silence(&alertmanager.url).await;
    assert!(
        later["endsAt"].as_str().unwrap() > first_end.as_str(),
        "{first} then {later}"
    );
}

#[tokio::test]
async fn an_alertmanager_can_have_its_own_silence_labels() {
    let port = free_port();
    let hub = Hub::with(|c| {
        c.publish_keys = vec![KEY.into()];
        c.anonymous_ack = true;
        c.alertmanagers = vec![format!("am1=http://127.0.0.1:{port}")];
        c.alertmanager_poll = Duration::from_millis(200);
        c.alertmanager_silence_labels_for = [(
            "am1".to_owned(),
            vec!["alertname".to_owned(), "mountpoint".to_owned()],
        )]
        .into();
    })
    .await;
    let mut watcher = Client::anonymous(&hub).await;
    watcher.subscribe("alarms").await;
    let webhook = format!("http://{}/api/alertmanager?receiver=am1", hub.addr);
    let alertmanager = Alertmanager::start_on(&webhook, port).await;
    alertmanager.post_alert(&disk_full()).await;
    let firing = alarm_where(&mut watcher, "firing", |a| a["state"] == "firing").await;
    let mut acker = Client::anonymous(&hub).await;
    acker
        .call(
            "rpc",
            json!({"method": "alarms.ack", "data": {"id": firing["id"]}}),
        )
        .await;
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    let matchers = loop {
        let found = silences(&alertmanager.url)
            .await
            .into_iter()
            .find(|s| s["status"]["state"] == "active");
        if let Some(silence) = found {
            break (silence["matchers"].as_array().unwrap().iter())
                .map(|m| {
                    format!(
                        "{}={}",
                        m["name"].as_str().unwrap(),
                        m["value"].as_str().unwrap()
                    )
                })
                .collect::<Vec<_>>();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no silence within {LONG_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(matchers, ["alertname=DiskFull", "mountpoint=/"]);
}
