//! One hub the app is connected to: its client and what the shell tracks
//! about it. Every server in the list, the embedded hub included, is one
//! `HubLink` running the same code.

use std::collections::HashSet;

use parking_lot::Mutex;
use telltale_client::{Client, Events, Options, State};
use telltale_protocol::ALARMS_CHANNEL;
use tokio::sync::Semaphore;

use crate::backfill::Backfill;
use crate::connection::{ConnectionState, ConnectionView};

/// History requests at once per hub: after a reconnect every source asks,
/// and many large replies at once could overflow the hub's queue for this
/// client.
const BACKFILLS_AT_ONCE: usize = 2;

/// What a link is built from.
#[derive(Debug, Clone)]
pub struct HubSpec {
    /// Stable id, on every sample and alarm from this hub.
    pub id: String,
    /// Name shown next to its data.
    pub name: String,
    /// Client options (URL, token source, certificates).
    pub options: Options,
}

/// A connected hub.
pub struct HubLink {
    id: String,
    name: String,
    client: Client,
    events: Mutex<Option<Events>>,
    view: Mutex<ConnectionView>,
    /// Locked before the stream's `Pending` when both are: samples enter it
    /// in the order the backfill releases them.
    pub(crate) backfill: Mutex<Backfill>,
    pub(crate) backfills: Semaphore,
    /// Metric channels already subscribed.
    known: Mutex<HashSet<String>>,
    /// Tasks reading this hub, stopped when it is removed.
    tasks: Mutex<Vec<tauri::async_runtime::JoinHandle<()>>>,
}

impl HubLink {
    /// Creates the client (it starts connecting) and subscribes to alarms.
    pub fn open(spec: HubSpec) -> Result<HubLink, telltale_client::Error> {
        let (client, events) = Client::new(spec.options);
        client.subscribe(ALARMS_CHANNEL)?;
        Ok(HubLink {
            view: Mutex::new(ConnectionView::new(spec.id.clone(), spec.name.clone())),
            id: spec.id,
            name: spec.name,
            client,
            events: Mutex::new(Some(events)),
            backfill: Mutex::new(Backfill::default()),
            backfills: Semaphore::new(BACKFILLS_AT_ONCE),
            known: Mutex::new(HashSet::new()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// The hub's stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The hub's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hub client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The connection state now.
    pub fn connection_state(&self) -> ConnectionState {
        self.view.lock().current().clone()
    }

    /// Applies a client state; returns what to show and whether the last
    /// disconnect was the hub refusing the token.
    pub(crate) fn apply_state(&self, state: &State) -> (ConnectionState, bool) {
        let mut view = self.view.lock();
        (view.apply(state).clone(), view.auth_failed())
    }

    /// The events, once: the reading task takes them.
    pub(crate) fn take_events(&self) -> Option<Events> {
        self.events.lock().take()
    }

    /// Keeps `task` to stop it with the link.
    pub(crate) fn own_task(&self, task: tauri::async_runtime::JoinHandle<()>) {
        self.tasks.lock().push(task);
    }

    /// Whether `channel` is new (and remembers it).
    pub(crate) fn learn_channel(&self, channel: &str) -> bool {
        self.known.lock().insert(channel.to_owned())
    }

    /// Disconnects and stops its tasks; returns the final `off` state.
    pub fn close(&self) -> ConnectionState {
        self.client.close();
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        self.view.lock().off().clone()
    }
}
