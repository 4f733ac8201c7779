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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
    assert!(hub.node.local().alarms.get(&id).is_none());
    drop(alertmanager);
    hub.stop().await;
}
