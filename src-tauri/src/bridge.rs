//! Client events → what the window and the desktop need.
//!
//! One task reads the client's events: samples and alarm transitions go into
//! [`Pending`], alarms also to the [`Notifications`], state changes to the
//! `connection-state` event. Another sends what is pending to the window
//! about once per display frame, so the UI never gets one IPC message per
//! WebSocket frame. A third discovers metric sources from the catalog.
//! A source subscribed afresh, or whose channel had a gap, gets its recent
//! history first ([`Backfill`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Runtime};
use telltale_client::{Client, Event, Events, Options, Payload, Publication, State};
use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, MetricSample, ALARMS_CHANNEL, METRICS_PREFIX};
use tokio::sync::Semaphore;

use crate::backfill::{self, Backfill, Ticket};
use crate::connection::{ConnectionState, ConnectionView};
use crate::embedded;
use crate::notifications::{NoteAction, Notifications};
use crate::args::LaunchArgs;
use crate::settings::NotifyPrefs;
use crate::stream::{Pending, StreamBatch};

/// How often pending data is sent to the window (about one display frame).
const FRAME: Duration = Duration::from_millis(16);
/// How often the catalog is checked for new sources.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait for a source's history, queueing included; its live
/// samples are held meanwhile.
const BACKFILL_WAIT: Duration = Duration::from_secs(10);
/// History requests at once: after a reconnect every source asks, and many
/// large replies at once could overflow the hub's queue for this client.
const BACKFILLS_AT_ONCE: usize = 2;
/// Event name of connection state changes.
pub const CONNECTION_EVENT: &str = "connection-state";

/// State shared by the commands and the bridge tasks.
pub struct Shared {
    client: Client,
    operator: String,
    events: Mutex<Option<Events>>,
    view: Mutex<ConnectionView>,
    channel: Mutex<Option<Channel<StreamBatch>>>,
    /// Locked before `pending` when both are: samples enter `pending` in
    /// the order the backfill releases them.
    backfill: Mutex<Backfill>,
    backfills: Semaphore,
    pending: Mutex<Pending>,
    notifications: Notifications,
    note_actions: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<NoteAction>>>,
    /// Server id and name in notifications (one server for now).
    server: String,
}

impl Shared {
    /// The hub client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Who acks from this app when the hub does not know the user: the
    /// desktop login and host, e.g. `ann@laptop`.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The connection state now.
    pub fn connection_state(&self) -> ConnectionState {
        self.view.lock().current().clone()
    }

    /// The user's clicks on notifications (once; `None` afterwards).
    pub fn take_note_actions(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<NoteAction>> {
        self.note_actions.lock().take()
    }

    /// A window (re)connected its stream: counters start over.
    pub fn connect_stream(&self, channel: Channel<StreamBatch>) {
        self.pending.lock().reset_diagnostics();
        *self.channel.lock() = Some(channel);
    }
}

/// Starts the embedded hub when no server is configured, and the client.
pub async fn start(settings: LaunchArgs) -> anyhow::Result<Arc<Shared>> {
    let (url, label) = match &settings.server {
        Some(endpoint) => (endpoint.as_str().to_owned(), endpoint.as_str().to_owned()),
        None => {
            let hub = embedded::start().await?;
            (hub.url(), format!("embedded hub ({})", hub.addr))
        }
    };
    tracing::info!(server = %label, "connecting");
    // A bad --ca-file stops the start with its message rather than failing
    // every reconnect.
    let options = settings.access.apply(Options::new(&url)?)?;
    let (client, events) = Client::new(options);
    client.subscribe(ALARMS_CHANNEL)?;
    let (notifications, note_actions) = Notifications::new(NotifyPrefs::default());
    Ok(Arc::new(Shared {
        client,
        operator: operator(),
        events: Mutex::new(Some(events)),
        view: Mutex::new(ConnectionView::new(label.clone())),
        channel: Mutex::new(None),
        backfill: Mutex::new(Backfill::default()),
        backfills: Semaphore::new(BACKFILLS_AT_ONCE),
        pending: Mutex::new(Pending::default()),
        notifications,
        note_actions: Mutex::new(Some(note_actions)),
        server: label,
    }))
}

/// Starts the bridge tasks for the app.
pub fn spawn<R: Runtime>(app: AppHandle<R>, shared: Arc<Shared>) {
    if let Some(events) = shared.events.lock().take() {
        tauri::async_runtime::spawn(read_events(app, shared.clone(), events));
    }
    tauri::async_runtime::spawn(send_frames(shared.clone()));
    let wakes = shared.clone();
    tauri::async_runtime::spawn(async move { wakes.notifications.run_wakes().await });
    tauri::async_runtime::spawn(discover_sources(shared));
}

async fn read_events<R: Runtime>(app: AppHandle<R>, shared: Arc<Shared>, mut events: Events) {
    while let Some(event) = events.recv().await {
        match event {
            Event::State(state) => on_state(&app, &shared, &state),
            Event::Publication(publication) => on_publication(&shared, publication),
            Event::Gap { channel, .. } if channel == ALARMS_CHANNEL => {
                tauri::async_runtime::spawn(resync_alarms(shared.clone()));
            }
            // A fresh subscription starts at "now", a gap skipped samples:
            // both miss what the hub still has in history.
            Event::Subscribed {
                channel,
                was_recovering: false,
                ..
            }
            | Event::Gap { channel, .. } => {
                if let Some(source) = channel.strip_prefix(METRICS_PREFIX) {
                    start_backfill(&shared, source);
                }
            }
            Event::Lagged { dropped } => shared.pending.lock().lagged(dropped),
            Event::Error(e) => shared.pending.lock().error(e.to_string()),
            _ => {}
        }
    }
}

fn on_state<R: Runtime>(app: &AppHandle<R>, shared: &Shared, state: &State) {
    let (view, auth_failed) = {
        let mut tracker = shared.view.lock();
        (tracker.apply(state).clone(), tracker.auth_failed())
    };
    match (&view.reason, view.retry_in_secs) {
        (Some(reason), Some(secs)) => {
            eprintln!("telltale: {}: {reason}; retrying in {secs} s", view.server)
        }
        (Some(reason), None) if view.state == "failed" && auth_failed => eprintln!(
            "telltale: {}: authentication failed: {reason}; not retrying (start with a valid --token, --token-file or --token-command)",
            view.server
        ),
        (Some(reason), None) if view.state == "failed" => {
            eprintln!("telltale: {}: {reason}; not retrying", view.server)
        }
        _ => {}
    }
    if let Err(e) = app.emit(CONNECTION_EVENT, &view) {
        tracing::warn!(error = %e, "cannot emit the connection state");
    }
    if matches!(state, State::Connected { .. }) {
        tauri::async_runtime::spawn(subscribe_new_sources(shared.client.clone(), None));
    }
}

fn on_publication(shared: &Shared, publication: Publication) {
    match publication.payload {
        Payload::Metric(sample) => {
            let source = publication
                .channel
                .strip_prefix(METRICS_PREFIX)
                .unwrap_or_default();
            let mut backfill = shared.backfill.lock();
            if let Some(sample) = backfill.live(source, sample) {
                shared.pending.lock().sample(source, &sample);
            }
        }
        Payload::Alarm(alarm) => on_alarm(shared, alarm),
        Payload::Raw => {
            let error = if publication.channel == ALARMS_CHANNEL {
                serde_json::from_str::<Alarm>(publication.data.get()).err()
            } else if publication.channel.starts_with(METRICS_PREFIX) {
                serde_json::from_str::<MetricSample>(publication.data.get()).err()
            } else {
                None
            };
            if let Some(error) = error {
                shared
                    .pending
                    .lock()
                    .invalid(&publication.channel, error.to_string());
            }
        }
    }
}

fn on_alarm(shared: &Shared, alarm: Alarm) {
    let server = &shared.server;
    shared
        .notifications
        .on_alarm(server, server, &alarm, now_ms());
    shared.pending.lock().alarm(alarm);
}

/// After an alarm gap (recovery failed), the hub's active set is the truth.
async fn resync_alarms(shared: Arc<Shared>) {
    match shared.client.active_alarms().await {
        Ok(active) => {
            let server = &shared.server;
            shared
                .notifications
                .on_active(server, server, &active, now_ms());
            shared.pending.lock().active(active);
        }
        Err(e) => shared
            .pending
            .lock()
            .error(format!("alarm resync failed: {e}")),
    }
}

/// Holds `source`'s live samples and loads its history in the background.
fn start_backfill(shared: &Arc<Shared>, source: &str) {
    let ticket = shared.backfill.lock().begin(source);
    tauri::async_runtime::spawn(run_backfill(shared.clone(), ticket));
}

/// Loads the history of `ticket`'s source and releases it with the held
/// samples; a failure or timeout is shown in the diagnostics and releases
/// the held samples alone.
async fn run_backfill(shared: Arc<Shared>, ticket: Ticket) {
    let channel = format!("{METRICS_PREFIX}{}", ticket.source);
    // The wait for a turn counts too: live samples are never held longer.
    let load = async {
        let _turn = shared.backfills.acquire().await;
        backfill::recent_samples(&shared.client, &channel).await
    };
    let history = match tokio::time::timeout(BACKFILL_WAIT, load).await {
        Ok(Ok(samples)) => samples,
        Ok(Err(e)) => {
            let error = format!("{channel}: history not loaded, recent samples missing: {e}");
            shared.pending.lock().error(error);
            Vec::new()
        }
        Err(_) => {
            let error = format!(
                "{channel}: history not loaded within {} s, recent samples missing",
                BACKFILL_WAIT.as_secs()
            );
            shared.pending.lock().error(error);
            Vec::new()
        }
    };
    let mut backfill = shared.backfill.lock();
    let samples = backfill.finish(&ticket, history);
    let mut pending = shared.pending.lock();
    for sample in &samples {
        pending.sample(&ticket.source, sample);
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

async fn discover_sources(shared: Arc<Shared>) {
    let mut known = HashSet::new();
    let mut ticks = tokio::time::interval(DISCOVERY_INTERVAL);
    loop {
        ticks.tick().await;
        if matches!(shared.client.state(), State::Connected { .. }) {
            known = subscribe_new_sources(shared.client.clone(), Some(known)).await;
        }
    }
}

/// Subscribes to every metrics channel in the catalog not yet in `known`.
async fn subscribe_new_sources(client: Client, known: Option<HashSet<String>>) -> HashSet<String> {
    let mut known = known.unwrap_or_default();
    match client.catalog().await {
        Ok(catalog) => {
            for source in catalog.sources {
                if known.insert(source.channel.clone()) {
                    let _ = client.subscribe(source.channel);
                }
            }
        }
        Err(e) => tracing::debug!(error = %e, "catalog not available"),
    }
    known
}

fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    let host = hostname::get().map(|h| h.to_string_lossy().into_owned());
    let host = host.unwrap_or_else(|_| "localhost".into());
    format!("{}@{host}", user.unwrap_or_else(|_| "desktop".into()))
}
