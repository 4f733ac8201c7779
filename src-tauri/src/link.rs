//! One hub the app is connected to: its client, the client crate's
//! follower of it, and its connection state as shown. Every server in the
//! list, the embedded hub included, is one `HubLink` running the same code.

use parking_lot::Mutex;
use telltale_client::{Client, Events, Following, Options, State};

use std::sync::Arc;

use crate::connection::{ConnectionState, ConnectionView};
use crate::embedded::EmbeddedHub;

/// What a link is built from.
#[derive(Clone)]
pub struct HubSpec {
    /// Stable id, on every sample and alarm from this hub.
    pub id: String,
    /// Name shown next to its data.
    pub name: String,
    /// Client options (URL, token source, certificates).
    pub options: Options,
    /// Everything that, when it changes, needs a new connection (name,
    /// URL, token, CA file).
    pub key: String,
    /// The in-process hub this link connects to, stopped with the link.
    pub embedded: Option<Arc<EmbeddedHub>>,
}

/// A connected hub.
pub struct HubLink {
    id: String,
    name: String,
    key: String,
    embedded: Mutex<Option<Arc<EmbeddedHub>>>,
    client: Client,
    events: Mutex<Option<Events>>,
    view: Mutex<ConnectionView>,
    /// The client crate's follower of this hub, and the task reading it;
    /// both stop with the link.
    following: Mutex<Option<(Following, tauri::async_runtime::JoinHandle<()>)>>,
}

impl HubLink {
    /// Creates the client (it starts connecting).
    pub fn open(spec: HubSpec) -> HubLink {
        let (client, events) = Client::new(spec.options);
        HubLink {
            view: Mutex::new(ConnectionView::new(spec.id.clone(), spec.name.clone())),
            id: spec.id,
            name: spec.name,
            key: spec.key,
            embedded: Mutex::new(spec.embedded),
            client,
            events: Mutex::new(Some(events)),
            following: Mutex::new(None),
        }
    }

    /// The hub's stable id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The hub's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it was built from (see [`HubSpec::key`]).
    pub fn key(&self) -> &str {
        &self.key
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

    /// The events, once: the follower takes them.
    pub(crate) fn take_events(&self) -> Option<Events> {
        self.events.lock().take()
    }

    /// Keeps the follower and its reader, to stop them with the link.
    pub(crate) fn keep(&self, following: Following, reader: tauri::async_runtime::JoinHandle<()>) {
        *self.following.lock() = Some((following, reader));
    }

    /// Disconnects and stops following; returns the final `off` state.
    pub fn close(&self) -> ConnectionState {
        self.client.close();
        if let Some((following, reader)) = self.following.lock().take() {
            drop(following);
            reader.abort();
        }
        // The last reference: an embedded hub shuts down.
        self.embedded.lock().take();
        self.view.lock().off().clone()
    }
}
