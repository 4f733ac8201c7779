//! Client events → what the window and the desktop need.
//!
//! Every hub in the server list is a [`HubLink`] with the same tasks: one
//! reads its client's events (samples and alarm transitions go into
//! [`Pending`] tagged with the hub's id, alarms also to the [`Notifier`],
//! state changes to the `connection-state` event), one discovers its metric
//! sources from the catalog. One more task sends what is pending to the
//! window about once per display frame, so the UI never gets one IPC
//! message per WebSocket frame. A source subscribed afresh, or whose channel
//! had a gap, gets its recent history first ([`backfill`]); an alarm
//! subscription that is fresh or had a gap gets the hub's active set.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Runtime};
use telltale_client::{Event, Events, Options, Payload, Publication, State};
use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, MetricSample, ALARMS_CHANNEL, METRICS_PREFIX};

use crate::args::LaunchArgs;
use crate::backfill::{self, Ticket};
use crate::connection::{ConnectionPhase, ConnectionState};
use crate::embedded;
use crate::link::{HubLink, HubSpec};
use crate::notifications::{self, Notifier};
use crate::stream::{Pending, StreamBatch};

/// How often pending data is sent to the window (about one display frame).
const FRAME: Duration = Duration::from_millis(16);
/// How often the catalog is checked for new sources.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait for a source's history, queueing included; its live
/// samples are held meanwhile.
const BACKFILL_WAIT: Duration = Duration::from_secs(10);
/// Event name of connection state changes.
pub const CONNECTION_EVENT: &str = "connection-state";
/// Id of the embedded hub in the server list.
pub const EMBEDDED_ID: &str = "local";
/// Id of the temporary server given with `--server`.
pub const LAUNCH_ID: &str = "launch";

/// Where connection states go (the window, as a Tauri event).
pub trait StateSink: Send + Sync {
    /// A hub's connection state changed.
    fn connection_state(&self, state: &ConnectionState);
}

impl<R: Runtime> StateSink for AppHandle<R> {
    fn connection_state(&self, state: &ConnectionState) {
        if let Err(e) = self.emit(CONNECTION_EVENT, state) {
            tracing::warn!(error = %e, "cannot emit the connection state");
        }
    }
}

/// State shared by the commands and the bridge tasks.
pub struct Shared {
    links: RwLock<Vec<Arc<HubLink>>>,
    operator: String,
    channel: Mutex<Option<Channel<StreamBatch>>>,
    pending: Mutex<Pending>,
    notifier: Mutex<Notifier>,
    sink: OnceLock<Arc<dyn StateSink>>,
}

impl Shared {
    /// An app with no hub yet.
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            links: RwLock::new(Vec::new()),
            operator: operator(),
            channel: Mutex::new(None),
            pending: Mutex::new(Pending::default()),
            notifier: Mutex::new(Notifier::default()),
            sink: OnceLock::new(),
        })
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

    /// Every hub's connection state now.
    pub fn connection_states(&self) -> Vec<ConnectionState> {
        self.links().iter().map(|l| l.connection_state()).collect()
    }

    /// A window (re)connected its stream: counters start over.
    pub fn connect_stream(&self, channel: Channel<StreamBatch>) {
        self.pending.lock().reset_diagnostics();
        *self.channel.lock() = Some(channel);
    }

    /// Adds a hub; its tasks start now when the bridge runs, else with
    /// [`spawn`].
    pub fn add(self: &Arc<Self>, spec: HubSpec) -> Result<Arc<HubLink>, telltale_client::Error> {
        let link = Arc::new(HubLink::open(spec)?);
        self.links.write().push(link.clone());
        if self.sink.get().is_some() {
            start_link(self, &link);
        }
        Ok(link)
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
            if let Some(sink) = self.sink.get() {
                sink.connection_state(&state);
            }
        }
    }
}

/// The hubs of the command line alone: each `--server` (temporary
/// entries), or the embedded hub when no server is given.
pub async fn start(args: LaunchArgs) -> anyhow::Result<Arc<Shared>> {
    let shared = Shared::new();
    let mut specs = launch_specs(&args)?;
    if specs.is_empty() {
        specs.push(embedded_spec().await?);
    }
    for spec in specs {
        tracing::info!(server = %spec.name, "connecting");
        shared.add(spec)?;
    }
    Ok(shared)
}

/// The temporary entries of `--server`: ids `launch`, `launch-2`, ...;
/// named `host:port`.
pub fn launch_specs(args: &LaunchArgs) -> anyhow::Result<Vec<HubSpec>> {
    let mut specs = Vec::new();
    for (i, endpoint) in args.servers.iter().enumerate() {
        let id = match i {
            0 => LAUNCH_ID.to_owned(),
            _ => format!("{LAUNCH_ID}-{}", i + 1),
        };
        let options = args
            .access
            .clone()
            .apply(Options::new(endpoint.as_str())?)?;
        // host:port reads better next to a source name than the whole URL.
        let name = format!("{}:{}", endpoint.host(), endpoint.port());
        specs.push(HubSpec { id, name, options });
    }
    Ok(specs)
}

/// Starts the embedded hub; the spec of its entry.
pub async fn embedded_spec() -> anyhow::Result<HubSpec> {
    let hub = embedded::start().await?;
    Ok(HubSpec {
        id: EMBEDDED_ID.into(),
        name: "This computer".into(),
        options: Options::new(&hub.url())?,
    })
}

/// Starts the bridge tasks for the app.
pub fn spawn<R: Runtime>(app: AppHandle<R>, shared: Arc<Shared>) {
    let sink: Arc<dyn StateSink> = Arc::new(app);
    if shared.sink.set(sink).is_err() {
        return;
    }
    for link in shared.links() {
        start_link(&shared, &link);
    }
    tauri::async_runtime::spawn(send_frames(shared));
}

/// Starts the tasks that read one hub.
fn start_link(shared: &Arc<Shared>, link: &Arc<HubLink>) {
    if let Some(events) = link.take_events() {
        let task = read_events(shared.clone(), link.clone(), events);
        link.own_task(tauri::async_runtime::spawn(task));
    }
    let task = discover_sources(link.clone());
    link.own_task(tauri::async_runtime::spawn(task));
}

async fn read_events(shared: Arc<Shared>, link: Arc<HubLink>, mut events: Events) {
    while let Some(event) = events.recv().await {
        match event {
            Event::State(state) => on_state(&shared, &link, &state),
            Event::Publication(publication) => on_publication(&shared, &link, publication),
            // A fresh alarm subscription (first connect, or the hub lost
            // its history) or one that could not recover: the hub's active
            // set is the truth. The one place alarms are resynced.
            Event::Subscribed {
                channel,
                was_recovering: false,
                ..
            }
            | Event::Gap { channel, .. }
                if channel == ALARMS_CHANNEL =>
            {
                tauri::async_runtime::spawn(resync_alarms(shared.clone(), link.clone()));
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
                    start_backfill(&shared, &link, source);
                }
            }
            Event::Lagged { dropped } => shared.pending.lock().lagged(dropped),
            Event::Error(e) => shared.pending.lock().error(format!("{}: {e}", link.name())),
            _ => {}
        }
    }
}

fn on_state(shared: &Arc<Shared>, link: &Arc<HubLink>, state: &State) {
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
    if matches!(state, State::Connected { .. }) {
        tauri::async_runtime::spawn(subscribe_new_sources(link.clone()));
    }
}

fn on_publication(shared: &Shared, link: &HubLink, publication: Publication) {
    match publication.payload {
        Payload::Metric(sample) => {
            let source = publication
                .channel
                .strip_prefix(METRICS_PREFIX)
                .unwrap_or_default();
            let mut backfill = link.backfill.lock();
            if let Some(sample) = backfill.live(source, sample) {
                shared.pending.lock().sample(link.id(), source, &sample);
            }
        }
        Payload::Alarm(alarm) => on_alarm(shared, link, alarm),
        Payload::Raw => {
            let error = if publication.channel == ALARMS_CHANNEL {
                serde_json::from_str::<Alarm>(publication.data.get()).err()
            } else if publication.channel.starts_with(METRICS_PREFIX) {
                serde_json::from_str::<MetricSample>(publication.data.get()).err()
            } else {
                None
            };
            if let Some(error) = error {
                let channel = format!("{}: {}", link.name(), publication.channel);
                shared.pending.lock().invalid(&channel, error.to_string());
            }
        }
    }
}

fn on_alarm(shared: &Shared, link: &HubLink, alarm: Alarm) {
    if let Some(note) = shared.notifier.lock().on_alarm(&alarm, now_ms()) {
        notifications::show(note);
    }
    shared.pending.lock().alarm(link.id(), alarm);
}

/// The hub's active set replaces what the window holds for it.
async fn resync_alarms(shared: Arc<Shared>, link: Arc<HubLink>) {
    match link.client().active_alarms().await {
        Ok(active) => {
            for alarm in &active {
                if let Some(note) = shared.notifier.lock().on_alarm(alarm, now_ms()) {
                    notifications::show(note);
                }
            }
            shared.pending.lock().active(link.id(), active);
        }
        Err(e) => shared
            .pending
            .lock()
            .error(format!("{}: alarm resync failed: {e}", link.name())),
    }
}

/// Holds `source`'s live samples and loads its history in the background.
fn start_backfill(shared: &Arc<Shared>, link: &Arc<HubLink>, source: &str) {
    let ticket = link.backfill.lock().begin(source);
    let task = run_backfill(shared.clone(), link.clone(), ticket);
    tauri::async_runtime::spawn(task);
}

/// Loads the history of `ticket`'s source and releases it with the held
/// samples; a failure or timeout is shown in the diagnostics and releases
/// the held samples alone.
async fn run_backfill(shared: Arc<Shared>, link: Arc<HubLink>, ticket: Ticket) {
    let channel = format!("{METRICS_PREFIX}{}", ticket.source);
    // The wait for a turn counts too: live samples are never held longer.
    let load = async {
        let _turn = link.backfills.acquire().await;
        backfill::recent_samples(link.client(), &channel).await
    };
    let name = link.name();
    let history = match tokio::time::timeout(BACKFILL_WAIT, load).await {
        Ok(Ok(samples)) => samples,
        Ok(Err(e)) => {
            let error =
                format!("{name}: {channel}: history not loaded, recent samples missing: {e}");
            shared.pending.lock().error(error);
            Vec::new()
        }
        Err(_) => {
            let error = format!(
                "{name}: {channel}: history not loaded within {} s, recent samples missing",
                BACKFILL_WAIT.as_secs()
            );
            shared.pending.lock().error(error);
            Vec::new()
        }
    };
    let mut backfill = link.backfill.lock();
    let samples = backfill.finish(&ticket, history);
    let mut pending = shared.pending.lock();
    for sample in &samples {
        pending.sample(link.id(), &ticket.source, sample);
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

async fn discover_sources(link: Arc<HubLink>) {
    let mut ticks = tokio::time::interval(DISCOVERY_INTERVAL);
    loop {
        ticks.tick().await;
        if matches!(link.client().state(), State::Connected { .. }) {
            subscribe_new_sources(link.clone()).await;
        }
    }
}

/// Subscribes to every metrics channel in the hub's catalog not yet known.
async fn subscribe_new_sources(link: Arc<HubLink>) {
    match link.client().catalog().await {
        Ok(catalog) => {
            for source in catalog.sources {
                if link.learn_channel(&source.channel) {
                    let _ = link.client().subscribe(source.channel);
                }
            }
        }
        Err(e) => tracing::debug!(server = link.name(), error = %e, "catalog not available"),
    }
}

fn operator() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"));
    let host = hostname::get().map(|h| h.to_string_lossy().into_owned());
    let host = host.unwrap_or_else(|_| "localhost".into());
    format!("{}@{host}", user.unwrap_or_else(|_| "desktop".into()))
}
