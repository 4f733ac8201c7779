//! Notifications on a real D-Bus bus.
//!
//! Each test starts a private `dbus-daemon --session`, puts a recording
//! notification service on it (it owns `org.freedesktop.Notifications`, as
//! dunst or a desktop would, and emits `NotificationClosed` when asked to
//! close, as they do) and drives the app's [`Notifications`] against it.
//!
//! "Nothing was sent" is shown with a sentinel: a later alarm that must
//! notify. The app sends in order and waits for each reply, so when the
//! sentinel's note is the next call recorded, nothing came before it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use telltale::notifications::{Bus, NoteAction, Notifications};
use telltale::settings::NotifyPrefs;
use telltale_protocol::{Alarm, AlarmState, Severity};
use tokio::sync::mpsc::UnboundedReceiver;
use zbus::object_server::SignalEmitter;
use zbus::OwnedVariant;

const PATH: &str = "/org/freedesktop/Notifications";
const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Notify(Notified),
    Close(u32),
}

#[derive(Debug, Clone, PartialEq)]
struct Notified {
    id: u32,
    replaces_id: u32,
    app_name: String,
    summary: String,
    body: String,
    actions: Vec<String>,
    urgency: Option<u8>,
    sound: Option<String>,
    expire_timeout: i32,
}

#[derive(Clone)]
struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
    next_id: Arc<Mutex<u32>>,
    capabilities: Vec<String>,
}

impl Recorder {
    fn new(actions: bool) -> Self {
        let mut capabilities = vec!["body".to_owned()];
        if actions {
            capabilities.push("actions".into());
        }
        Self {
            calls: Arc::default(),
            next_id: Arc::new(Mutex::new(100)),
            capabilities,
        }
    }
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedVariant>,
        expire_timeout: i32,
    ) -> u32 {
        let hint = |name: &str| hints.get(name).and_then(|v| v.try_clone().ok());
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            let mut next = self.next_id.lock();
            *next += 1;
            *next
        };
        self.calls.lock().push(Call::Notify(Notified {
            id,
            replaces_id,
            app_name,
            summary,
            body,
            actions,
            urgency: hint("urgency").and_then(|v| u8::try_from(v).ok()),
            sound: hint("sound-name").and_then(|v| String::try_from(v).ok()),
            expire_timeout,
        }));
        id
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        self.calls.lock().push(Call::Close(id));
        // Reason 3: closed by a call to CloseNotification.
        Self::notification_closed(&emitter, id, 3).await?;
        Ok(())
    }

    fn get_capabilities(&self) -> Vec<String> {
        self.capabilities.clone()
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "recorder".into(),
            "telltale-tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;
}

/// A private bus for one test.
struct PrivateBus {
    daemon: Child,
    address: String,
}

impl PrivateBus {
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

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A bus, the recording daemon on it, and the app's notifications.
struct Desk {
    recorder: Recorder,
    service: zbus::Connection,
    notifications: Notifications,
    actions: UnboundedReceiver<NoteAction>,
    _bus: PrivateBus,
}

impl Desk {
    async fn start(buttons: bool, prefs: NotifyPrefs) -> Self {
        let bus = PrivateBus::start();
        let recorder = Recorder::new(buttons);
        let service = serve(&bus.address, recorder.clone()).await;
        let (notifications, actions) =
            Notifications::on_bus(prefs, Bus::Address(bus.address.clone()));
        Self {
            recorder,
            service,
            notifications,
            actions,
            _bus: bus,
        }
    }

    fn on(&self, alarm: &Alarm, now: i64) {
        self.notifications
            .on_alarm("prod", "Production", alarm, now);
    }

    /// Waits (bounded) until `n` calls were recorded.
    async fn calls(&self, n: usize) -> Vec<Call> {
        for _ in 0..400 {
            let calls = self.recorder.calls.lock().clone();
            if calls.len() >= n {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} calls, got {:?}", self.recorder.calls.lock());
    }

    async fn emit_action(&self, id: u32, key: &str) {
        let iface = self
            .service
            .object_server()
            .interface::<_, Recorder>(PATH)
            .await
            .unwrap();
        Recorder::action_invoked(iface.signal_emitter(), id, key)
            .await
            .unwrap();
    }

    async fn emit_closed(&self, id: u32, reason: u32) {
        let iface = self
            .service
            .object_server()
            .interface::<_, Recorder>(PATH)
            .await
            .unwrap();
        Recorder::notification_closed(iface.signal_emitter(), id, reason)
            .await
            .unwrap();
    }

    async fn next_action(&mut self) -> NoteAction {
        tokio::time::timeout(Duration::from_secs(10), self.actions.recv())
            .await
            .expect("an action within 10 s")
            .expect("the channel is open")
    }
}

async fn serve(address: &str, recorder: Recorder) -> zbus::Connection {
    zbus::connection::Builder::address(address)
        .name("org.freedesktop.Notifications")
        .serve_at(PATH, recorder)
        .build()
        .await
        .expect("the recorder owns org.freedesktop.Notifications")
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
        links: Default::default(),
    }
}

fn disk() -> Alarm {
    alarm("web1/disk.high", Severity::Critical, "Disk above 90%")
}

fn sentinel() -> Alarm {
    alarm("web1/sentinel", Severity::Critical, "Sentinel")
}

fn with_state(alarm: &Alarm, state: AlarmState) -> Alarm {
    Alarm {
        state,
        ..alarm.clone()
    }
}

fn notified(call: &Call) -> &Notified {
    match call {
        Call::Notify(n) => n,
        Call::Close(id) => panic!("expected a Notify, got Close({id})"),
    }
}

fn no_hold() -> NotifyPrefs {
    NotifyPrefs {
        flap_hold_secs: 0,
        ..NotifyPrefs::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firing_note_has_buttons_sound_and_server_and_ack_closes_it() {
    let mut prefs = NotifyPrefs::default();
    prefs.sounds.critical = "dialog-warning".into();
    let mut desk = Desk::start(true, prefs).await;
    desk.on(&disk(), 0);
    let calls = desk.calls(1).await;
    let note = notified(&calls[0]);
    assert_eq!(note.app_name, "Telltale");
    assert_eq!(note.summary, "Disk above 90%");
    assert_eq!(
        note.body,
        "disk.used_percent is 93.1 (threshold 90)\nweb1 · Production"
    );
    assert_eq!(note.urgency, Some(2), "critical urgency");
    assert_eq!(note.expire_timeout, 0, "critical stays until dismissed");
    assert_eq!(note.sound.as_deref(), Some("dialog-warning"));
    assert_eq!(
        note.actions,
        ["ack", "Acknowledge", "open", "Open", "default", "Open"]
    );
    let id = note.id;

    desk.emit_action(id, "ack").await;
    assert_eq!(
        desk.next_action().await,
        NoteAction::Acknowledge {
            server: "prod".into(),
            id: "web1/disk.high".into()
        }
    );
    let calls = desk.calls(2).await;
    assert_eq!(calls[1], Call::Close(id), "the note closes at once");

    // The hub's Acknowledged transition finds nothing left to close.
    desk.on(&with_state(&disk(), AlarmState::Acknowledged), 1);
    desk.on(&sentinel(), 2);
    let calls = desk.calls(3).await;
    assert_eq!(notified(&calls[2]).summary, "Sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_or_open_opens_the_alarm() {
    let mut desk = Desk::start(true, NotifyPrefs::default()).await;
    desk.on(&disk(), 0);
    let id = notified(&desk.calls(1).await[0]).id;
    let open = NoteAction::Open {
        server: "prod".into(),
        id: "web1/disk.high".into(),
    };
    // Another app's note is none of ours: nothing arrives for it.
    desk.emit_action(id + 50, "default").await;
    desk.emit_action(id, "default").await;
    assert_eq!(desk.next_action().await, open);
    desk.emit_action(id, "open").await;
    assert_eq!(desk.next_action().await, open);
    assert!(desk.actions.try_recv().is_err(), "one action per click");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_transition_closes_the_note() {
    let desk = Desk::start(true, NotifyPrefs::default()).await;
    desk.on(&disk(), 0);
    let id = notified(&desk.calls(1).await[0]).id;
    desk.on(&with_state(&disk(), AlarmState::Acknowledged), 1);
    assert_eq!(desk.calls(2).await[1], Call::Close(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolve_closes_the_note_after_the_hold_and_says_so() {
    let desk = Desk::start(true, NotifyPrefs::default()).await;
    desk.on(&disk(), 0);
    let id = notified(&desk.calls(1).await[0]).id;
    desk.on(&with_state(&disk(), AlarmState::Resolved), 1_000);
    assert_eq!(desk.notifications.next_wake(1_000), Some(61_000));
    desk.notifications.wake(61_000);
    let calls = desk.calls(3).await;
    assert_eq!(calls[1], Call::Close(id));
    let resolved = notified(&calls[2]);
    assert_eq!(resolved.summary, "Resolved: Disk above 90%");
    assert_eq!(resolved.urgency, Some(0));
    assert_eq!(resolved.replaces_id, 0, "a note of its own");
    assert_eq!(
        resolved.actions,
        ["open", "Open", "default", "Open"],
        "nothing to acknowledge"
    );
    assert_eq!(desk.notifications.next_wake(61_000), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flapping_alarm_notifies_once() {
    let desk = Desk::start(true, NotifyPrefs::default()).await;
    for second in 0..5 {
        let t = second * 4_000;
        desk.on(&disk(), t);
        desk.on(&with_state(&disk(), AlarmState::Resolved), t + 2_000);
        desk.on(&disk(), t + 3_000);
    }
    desk.on(&sentinel(), 30_000);
    let calls = desk.calls(2).await;
    assert_eq!(notified(&calls[0]).summary, "Disk above 90%");
    assert_eq!(
        notified(&calls[1]).summary,
        "Sentinel",
        "nothing in between"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_disturb_defers_notes_and_critical_breaks_through_when_allowed() {
    let now = 1_000;
    let dnd = NotifyPrefs {
        dnd_until: Some(now + HOUR),
        critical_breaks_dnd: true,
        ..NotifyPrefs::default()
    };
    let desk = Desk::start(true, dnd.clone()).await;
    let warning = alarm("web1/cpu.high", Severity::Warning, "CPU above 90%");
    desk.on(&warning, now);
    desk.on(&disk(), now);
    let calls = desk.calls(1).await;
    assert_eq!(
        notified(&calls[0]).summary,
        "Disk above 90%",
        "critical first"
    );
    assert_eq!(desk.notifications.next_wake(now), Some(now + HOUR));
    desk.notifications.wake(now + HOUR);
    let calls = desk.calls(2).await;
    assert_eq!(
        notified(&calls[1]).summary,
        "CPU above 90%",
        "deferred to the end of do not disturb"
    );

    let strict = Desk::start(
        true,
        NotifyPrefs {
            critical_breaks_dnd: false,
            ..dnd
        },
    )
    .await;
    strict.on(&warning, now);
    strict.on(&disk(), now);
    strict.notifications.set_prefs(NotifyPrefs::default());
    strict.on(&sentinel(), now + 1);
    let calls = strict.calls(1).await;
    assert_eq!(
        notified(&calls[0]).summary,
        "Sentinel",
        "DND held both back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_without_actions_gets_plain_notes() {
    let desk = Desk::start(false, NotifyPrefs::default()).await;
    desk.on(&disk(), 0);
    let calls = desk.calls(1).await;
    assert_eq!(notified(&calls[0]).actions, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silenced_alarm_and_its_resolve_send_nothing() {
    let desk = Desk::start(true, no_hold()).await;
    let mut silenced = alarm("web1/cpu.high", Severity::Warning, "CPU above 90%");
    silenced.silenced_until = Some(HOUR);
    desk.on(&silenced, 0);
    desk.on(&with_state(&silenced, AlarmState::Resolved), 1);
    desk.on(&sentinel(), 2);
    let calls = desk.calls(1).await;
    assert_eq!(notified(&calls[0]).summary, "Sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_the_user_dismissed_is_forgotten() {
    let desk = Desk::start(true, no_hold()).await;
    desk.on(&disk(), 0);
    let id = notified(&desk.calls(1).await[0]).id;
    // Reason 2: dismissed by the user.
    desk.emit_closed(id, 2).await;
    // The signal and the next note travel different ways: wait until the
    // app has forgotten the note, seen as a repeat that is a new note.
    let mut repeat = no_hold();
    repeat.repeat_mins = Some(1);
    desk.notifications.set_prefs(repeat);
    let mut replaced = 0;
    for round in 1..=40 {
        desk.notifications.wake(round * 60_000);
        let calls = desk.calls(round as usize + 1).await;
        replaced = notified(&calls[round as usize]).replaces_id;
        if replaced == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(replaced, 0, "the dismissed note was forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_that_starts_late_gets_the_next_note() {
    let bus = PrivateBus::start();
    let (notifications, _actions) =
        Notifications::on_bus(NotifyPrefs::default(), Bus::Address(bus.address.clone()));
    // No daemon yet: logged, and the app goes on.
    notifications.on_alarm("prod", "Production", &disk(), 0);
    let recorder = Recorder::new(true);
    let _service = serve(&bus.address, recorder.clone()).await;
    let desk_calls = || recorder.calls.lock().clone();
    let mut seen = Vec::new();
    for round in 0..200 {
        notifications.on_alarm(
            "prod",
            "Production",
            &alarm(&format!("a/{round}"), Severity::Warning, "Later"),
            1,
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
        seen = desk_calls();
        if !seen.is_empty() {
            break;
        }
    }
    assert!(
        seen.iter().any(|c| notified(c).summary == "Later"),
        "got {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_uses_the_session_bus() {
    let bus = PrivateBus::start();
    // `new` connects to the session bus named here. No other test reads the
    // variable: they name their bus.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let recorder = Recorder::new(false);
    let _service = serve(&bus.address, recorder.clone()).await;
    let (notifications, _actions) = Notifications::new(NotifyPrefs::default());
    notifications.on_alarm("prod", "Production", &disk(), 0);
    for _ in 0..400 {
        if !recorder.calls.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let calls = recorder.calls.lock().clone();
    assert_eq!(notified(&calls[0]).summary, "Disk above 90%");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_wakes_closes_a_resolved_note_when_the_hold_passes() {
    let bus = PrivateBus::start();
    let recorder = Recorder::new(true);
    let _service = serve(&bus.address, recorder.clone()).await;
    let hold = NotifyPrefs {
        flap_hold_secs: 1,
        ..NotifyPrefs::default()
    };
    let (notifications, _actions) = Notifications::on_bus(hold, Bus::Address(bus.address.clone()));
    let notifications = Arc::new(notifications);
    let timer = tokio::spawn({
        let notifications = notifications.clone();
        async move { notifications.run_wakes().await }
    });
    // Wall-clock times, as the shell passes them: run_wakes reads the clock.
    let now = telltale_protocol::payload::now_ms();
    notifications.on_alarm("prod", "Production", &disk(), now);
    notifications.on_alarm(
        "prod",
        "Production",
        &with_state(&disk(), AlarmState::Resolved),
        now,
    );
    let mut calls = Vec::new();
    for _ in 0..400 {
        calls = recorder.calls.lock().clone();
        if calls.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    timer.abort();
    let id = notified(&calls[0]).id;
    assert_eq!(calls[1], Call::Close(id), "got {calls:?}");
    assert_eq!(notified(&calls[2]).summary, "Resolved: Disk above 90%");
    assert_eq!(notifications.next_wake(now + 2_000), None, "idle again");
}
