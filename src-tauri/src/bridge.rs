//! Client events → what the window and the desktop need.
//!
//! Translation only. Every hub in the server list is a [`HubLink`] followed
//! by the client crate ([`telltale_client::follow`]: source discovery,
//! history backfill, alarm resyncs); its [`Update`]s go into [`Pending`]
//! tagged with the hub's id, alarms also to the [`Notifications`] and the
//! alarm history, state changes
//! to the `connection-state` event. One more task sends what is pending to
//! the window about once per display frame, so the UI never gets one IPC
//! message per WebSocket frame.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use telltale_client::{State, Update};
use telltale_protocol::payload::now_ms;
use telltale_protocol::Alarm;
use tokio::sync::{mpsc, Notify};

use crate::connection::{ConnectionPhase, ConnectionState};
use crate::history::AppHistory;
use crate::link::{HubLink, HubSpec};
use crate::notifications::{NoteAction, Notifications};
use crate::settings::NotifyPrefs;
use crate::stream::{Pending, StreamBatch};
use crate::tray::{AlarmTally, Tray, TraySummary};

/// How often pending data is sent to the window (about one display frame).
const FRAME: Duration = Duration::from_millis(16);
/// Event name of connection state changes.
pub const CONNECTION_EVENT: &str = "connection-state";
/// Event asking the window to show an alarm (a notification was clicked).
pub const OPEN_ALARM_EVENT: &str = "alarm-open";

/// The desktop around the window: where connection states and the tray's
/// alarm summary go.
pub trait Desktop: Send + Sync {
    /// A hub's connection state changed (a Tauri event to the window).
    fn connection_state(&self, state: &ConnectionState);
    /// The alarms or do not disturb changed (the tray icon).
    fn tray(&self, summary: &TraySummary, dnd_until: Option<i64>, now_ms: i64);
}

impl<R: Runtime> Desktop for AppHandle<R> {
    fn connection_state(&self, state: &ConnectionState) {
        if let Err(e) = self.emit(CONNECTION_EVENT, state) {
            tracing::warn!(error = %e, "cannot emit the connection state");
        }
    }

    fn tray(&self, summary: &TraySummary, dnd_until: Option<i64>, now_ms: i64) {
        if let Some(tray) = self.try_state::<Tray<R>>() {
            tray.update(summary, dnd_until, now_ms);
        }
    }
}

/// State shared by the commands and the bridge tasks.
pub struct Shared {
    links: RwLock<Vec<Arc<HubLink>>>,
    operator: String,
    channel: Mutex<Option<Channel<StreamBatch>>>,
    pending: Mutex<Pending>,
    notifications: Notifications,
    note_actions: Mutex<Option<mpsc::UnboundedReceiver<NoteAction>>>,
    history: OnceLock<AppHistory>,
    /// Servers that could not be started, as the window shows them.
    unstarted: Mutex<Vec<ConnectionState>>,
    /// Firing, unacknowledged alarms per hub, for the tray.
    tally: Mutex<AlarmTally>,
    /// Do not disturb until (unix ms), as the tray shows it.
    dnd_until: Mutex<Option<i64>>,
    /// Woken when the tally changes, so the tray clock recomputes its sleep.
    tally_changed: Notify,
    sink: OnceLock<Arc<dyn Desktop>>,
}

impl Shared {
    /// An app with no hub yet, notifying as `prefs` say.
    pub fn new(prefs: NotifyPrefs) -> Arc<Shared> {
        let dnd_until = prefs.dnd_until;
        let (notifications, note_actions) = Notifications::new(prefs);
        Arc::new(Shared {
            links: RwLock::new(Vec::new()),
            operator: operator(),
            channel: Mutex::new(None),
            pending: Mutex::new(Pending::default()),
            notifications,
            note_actions: Mutex::new(Some(note_actions)),
            history: OnceLock::new(),
            unstarted: Mutex::new(Vec::new()),
            tally: Mutex::new(AlarmTally::default()),
            dnd_until: Mutex::new(dnd_until),
            tally_changed: Notify::new(),
            sink: OnceLock::new(),
        })
    }

    /// New notification preferences (the settings changed, or do not
    /// disturb was picked in the tray).
    pub fn set_notify_prefs(&self, prefs: NotifyPrefs) {
        *self.dnd_until.lock() = prefs.dnd_until;
        self.notifications.set_prefs(prefs);
        self.refresh_tray();
    }

    /// Shows the tally and do not disturb in the tray.
    fn refresh_tray(&self) {
        if let Some(sink) = self.sink.get() {
            let now = now_ms();
            let summary = self.tally.lock().summary(now);
            sink.tray(&summary, *self.dnd_until.lock(), now);
        }
        self.tally_changed.notify_one();
    }

    /// Where alarm transitions are recorded (set once, at start).
    pub fn set_history(&self, history: AppHistory) {
        let _ = self.history.set(history);
    }

    /// The native notifications.
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }

    /// The hub with this id.
    pub fn link(&self, server: &str) -> Option<Arc<HubLink>> {
        self.links.read().iter().find(|l| l.id() == server).cloned()
    }

    /// Every hub, in the order of the server list.
    pub fn links(&self) -> Vec<Arc<HubLink>> {
        self.links.read().clone()
    }

    /// Who acks from this app when the hub does not know the user: the
    /// desktop login and host, e.g. `ann@laptop`.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Every hub's connection state now, and the servers that could not
    /// be started (as `failed`, with the reason).
    pub fn connection_states(&self) -> Vec<ConnectionState> {
        let mut states: Vec<_> = self.links().iter().map(|l| l.connection_state()).collect();
        states.extend(self.unstarted.lock().iter().cloned());
        states
    }

    /// Servers of the list that cannot be started (e.g. their token is
    /// missing): shown as failed with the reason, replacing the previous
    /// list; those no longer in it are announced `off`.
    pub fn set_unstarted(&self, failed: Vec<ConnectionState>) {
        let before = std::mem::replace(&mut *self.unstarted.lock(), failed.clone());
        let Some(sink) = self.sink.get() else {
            return;
        };
        for mut gone in before {
            if !failed.iter().any(|f| f.server_id == gone.server_id) {
                gone.state = ConnectionPhase::Off;
                gone.reason = None;
                sink.connection_state(&gone);
            }
        }
        for state in &failed {
            sink.connection_state(state);
        }
    }

    /// A window (re)connected its stream: counters start over.
    pub fn connect_stream(&self, channel: Channel<StreamBatch>) {
        self.pending.lock().reset_diagnostics();
        *self.channel.lock() = Some(channel);
    }

    /// Adds a hub; its tasks start now when the bridge runs, else with
    /// [`spawn`].
    pub fn add(self: &Arc<Self>, spec: HubSpec) -> Arc<HubLink> {
        let link = Arc::new(HubLink::open(spec));
        self.links.write().push(link.clone());
        if self.sink.get().is_some() {
            start_link(self, &link);
        }
        link
    }

    /// Disconnects and forgets the hub `server`; the window drops its data.
    pub fn remove(&self, server: &str) {
        let link = {
            let mut links = self.links.write();
            let index = links.iter().position(|l| l.id() == server);
            index.map(|i| links.remove(i))
        };
        if let Some(link) = link {
            let state = link.close();
            self.pending.lock().forget_server(server);
            self.notifications.forget_server(server);
            self.tally.lock().forget_server(server);
            self.refresh_tray();
            if let Some(sink) = self.sink.get() {
                sink.connection_state(&state);
            }
        }
    }
}

/// Starts the bridge tasks for the app.
pub fn spawn<R: Runtime>(app: AppHandle<R>, shared: Arc<Shared>) {
    let sink: Arc<dyn Desktop> = Arc::new(app.clone());
    if shared.sink.set(sink).is_err() {
        return;
    }
    for link in shared.links() {
        start_link(&shared, &link);
    }
    if let Some(actions) = shared.note_actions.lock().take() {
        tauri::async_runtime::spawn(on_note_actions(app, shared.clone(), actions));
    }
    let wakes = shared.clone();
    tauri::async_runtime::spawn(async move { wakes.notifications.run_wakes().await });
    tauri::async_runtime::spawn(tray_clock(shared.clone()));
    tauri::async_runtime::spawn(send_frames(shared));
}

/// An alarm to show, as the `alarm-open` event carries it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpenAlarm {
    /// The hub's id.
    pub server: String,
    /// The alarm's id on that hub.
    pub id: String,
}

/// The user's clicks on notifications: Acknowledge acks on the alarm's
/// hub; Open (or the click itself) brings the window forward on the alarm.
async fn on_note_actions<R: Runtime>(
    app: AppHandle<R>,
    shared: Arc<Shared>,
    mut actions: mpsc::UnboundedReceiver<NoteAction>,
) {
    while let Some(action) = actions.recv().await {
        match action {
            NoteAction::Acknowledge { server, id } => {
                let Some(link) = shared.link(&server) else {
                    continue;
                };
                let operator = shared.operator().to_owned();
                // Spawned: a slow hub must not hold up the next click.
                tauri::async_runtime::spawn(async move {
                    let acked = link.client().ack_alarm_with(&id, Some(&operator), None);
                    if let Err(e) = acked.await {
                        tracing::warn!(server = link.name(), alarm = %id, error = %e, "acknowledge from the notification failed");
                    }
                });
            }
            NoteAction::Open { server, id } => {
                crate::show_main_window(&app);
                if let Err(e) = app.emit(OPEN_ALARM_EVENT, OpenAlarm { server, id }) {
                    tracing::warn!(error = %e, "cannot ask the window to show the alarm");
                }
            }
        }
    }
}

/// Follows one hub (the client crate's follower) and applies its updates.
fn start_link(shared: &Arc<Shared>, link: &Arc<HubLink>) {
    let Some(events) = link.take_events() else {
        return;
    };
    let (shared, link) = (shared.clone(), link.clone());
    // Spawned: the follower starts tasks of its own, which needs the runtime.
    tauri::async_runtime::spawn(async move {
        let (following, mut updates) = telltale_client::follow(link.client().clone(), events);
        let reader = {
            let (shared, link) = (shared.clone(), link.clone());
            tauri::async_runtime::spawn(async move {
                while let Some(update) = updates.recv().await {
                    apply(&shared, &link, update);
                }
            })
        };
        link.keep(following, reader);
    });
}

/// One update of a hub → the window's stream and the desktop.
fn apply(shared: &Shared, link: &HubLink, update: Update) {
    let server = link.id();
    match update {
        Update::State(state) => on_state(shared, link, &state),
        Update::Samples { source, samples } => {
            let mut pending = shared.pending.lock();
            for sample in &samples {
                pending.sample(server, &source, sample);
            }
        }
        Update::Alarm(alarm) => on_alarm(shared, link, alarm),
        Update::ActiveAlarms(active) => {
            (shared.notifications).on_active(server, link.name(), &active, now_ms());
            if let Some(history) = shared.history.get() {
                for alarm in &active {
                    history.record(server, link.name(), alarm);
                }
            }
            shared.tally.lock().replace(server, &active);
            shared.refresh_tray();
            shared.pending.lock().active(server, active);
        }
        Update::Invalid { channel, error } => {
            let channel = format!("{}: {channel}", link.name());
            shared.pending.lock().invalid(&channel, error);
        }
        Update::Lagged(dropped) => shared.pending.lock().lagged(dropped),
        Update::Problem(problem) => {
            let problem = format!("{}: {problem}", link.name());
            shared.pending.lock().error(problem);
        }
    }
}

fn on_state(shared: &Shared, link: &HubLink, state: &State) {
    let (view, auth_failed) = link.apply_state(state);
    match (&view.reason, view.retry_in_secs) {
        (Some(reason), Some(secs)) => {
            eprintln!("telltale: {}: {reason}; retrying in {secs} s", view.server)
        }
        (Some(reason), None) if view.state == ConnectionPhase::Failed && auth_failed => eprintln!(
            "telltale: {}: authentication failed: {reason}; not retrying (give this server a valid token in Settings, or start with a valid --token, --token-file or --token-command)",
            view.server
        ),
        (Some(reason), None) if view.state == ConnectionPhase::Failed => {
            eprintln!("telltale: {}: {reason}; not retrying", view.server)
        }
        _ => {}
    }
    if let Some(sink) = shared.sink.get() {
        sink.connection_state(&view);
    }
}

fn on_alarm(shared: &Shared, link: &HubLink, alarm: Alarm) {
    let (server, name) = (link.id(), link.name());
    shared
        .notifications
        .on_alarm(server, name, &alarm, now_ms());
    if let Some(history) = shared.history.get() {
        history.record(server, name, &alarm);
    }
    shared.tally.lock().apply(server, &alarm);
    shared.refresh_tray();
    shared.pending.lock().alarm(server, alarm);
}

/// Silences and do not disturb end on their own: the tray is refreshed
/// then. Asleep otherwise (no periodic wake-up).
async fn tray_clock(shared: Arc<Shared>) {
    loop {
        let now = now_ms();
        let silence_ends = shared.tally.lock().next_change(now);
        let dnd_ends = (*shared.dnd_until.lock()).filter(|&t| t > now);
        let next = silence_ends.into_iter().chain(dnd_ends).min();
        match next {
            Some(at) => {
                let wait = Duration::from_millis((at - now).max(0) as u64 + 1);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => shared.refresh_tray(),
                    _ = shared.tally_changed.notified() => {}
                }
            }
            None => shared.tally_changed.notified().await,
        }
    }
}

async fn send_frames(shared: Arc<Shared>) {
    let ready = shared.pending.lock().ready();
    loop {
        // Asleep while nothing arrives: an idle window costs no wake-ups here.
        ready.notified().await;
        // Then gather a frame's worth, so the UI gets one message per frame.
        tokio::time::sleep(FRAME).await;
        let channel = shared.channel.lock().clone();
        let Some(channel) = channel else {
            shared.pending.lock().trim_unsent();
            continue;
        };
        let batch = shared.pending.lock().take();
        if let Some(batch) = batch {
            if channel.send(batch).is_err() {
                // The window went away (reload); wait for the next connect_stream.
                shared.channel.lock().take();
            }
        }
    }
}

fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    let host = hostname::get().map(|h| h.to_string_lossy().into_owned());
    let host = host.unwrap_or_else(|_| "localhost".into());
    format!("{}@{host}", user.unwrap_or_else(|_| "desktop".into()))
}
