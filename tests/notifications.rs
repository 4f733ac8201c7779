//! Notifications on a real D-Bus session bus.
//!
//! The test starts a private `dbus-daemon --session`, puts a recording
//! notification service on it (it owns `org.freedesktop.Notifications`, as
//! dunst or a desktop would) and drives the app's notifier against it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use telltale::notifications::{send, Notifier};
use telltale_protocol::{Alarm, AlarmState, Severity};
use zbus::OwnedVariant;

#[derive(Debug, Clone)]
struct Recorded {
    app_name: String,
    summary: String,
    body: String,
    urgency: Option<u8>,
    expire_timeout: i32,
}

#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Recorded>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let urgency = hints
            .get("urgency")
            .and_then(|v| v.try_clone().ok())
            .and_then(|v| u8::try_from(v).ok());
        let mut calls = self.calls.lock();
        calls.push(Recorded {
            app_name,
            summary,
            body,
            urgency,
            expire_timeout,
        });
        calls.len() as u32
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "recorder".into(),
            "telltale-tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

/// A private session bus for this test process.
struct Bus {
    daemon: Child,
    address: String,
}

impl Bus {
    fn start() -> Self {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Self {
            daemon,
            address: line.trim().to_owned(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn alarm(id: &str, severity: Severity, title: &str) -> Alarm {
    Alarm {
        id: id.into(),
        source: "web1".into(),
        severity,
        state: AlarmState::Firing,
        title: title.into(),
        message: "disk.used_percent is 93.1 (threshold 90)".into(),
        ts: 1,
        value: Some(93.1),
        labels: Default::default(),
        by: None,
        silenced_until: None,
        comment: None,
    }
}

/// Waits (bounded) until `n` calls were recorded.
async fn recorded(recorder: &Recorder, n: usize) -> Vec<Recorded> {
    for _ in 0..200 {
        let calls = recorder.calls.lock().clone();
        if calls.len() >= n {
            return calls;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "expected {n} notifications, got {:?}",
        recorder.calls.lock()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_alarm_notifies_once_with_summary_body_and_urgency() {
    let bus = Bus::start();
    // notify-rust connects to the session bus named here. This test binary
    // has this single test, so no other thread reads the variable.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let recorder = Recorder::default();
    let _service = zbus::connection::Builder::address(bus.address.as_str())
        .name("org.freedesktop.Notifications")
        .serve_at("/org/freedesktop/Notifications", recorder.clone())
        .build()
        .await
        .expect("the recorder owns org.freedesktop.Notifications");

    let mut notifier = Notifier::default();
    let disk = alarm("web1/disk.high", Severity::Critical, "Disk above 90%");
    let deliver = |note| tokio::task::spawn_blocking(move || send(&note));
    deliver(notifier.on_alarm(&disk, 0).expect("first firing notifies"))
        .await
        .unwrap()
        .unwrap();
    let calls = recorded(&recorder, 1).await;
    assert_eq!(calls[0].app_name, "Telltale");
    assert_eq!(calls[0].summary, "Disk above 90%");
    assert_eq!(
        calls[0].body,
        "disk.used_percent is 93.1 (threshold 90)\nweb1"
    );
    assert_eq!(calls[0].urgency, Some(2), "critical urgency");
    assert_eq!(calls[0].expire_timeout, 0, "critical stays until dismissed");

    // The same id firing again sends nothing; a different alarm does, and
    // arriving second proves nothing else was sent in between.
    assert!(notifier.on_alarm(&disk, 0).is_none());
    let cpu = alarm("web1/cpu.high", Severity::Warning, "CPU above 90%");
    deliver(notifier.on_alarm(&cpu, 0).expect("another alarm notifies"))
        .await
        .unwrap()
        .unwrap();
    let calls = recorded(&recorder, 2).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].summary, "CPU above 90%");
    assert_eq!(calls[1].urgency, Some(1), "warning is normal urgency");
}
