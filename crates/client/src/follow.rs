//! Following a hub as a dashboard does: its alarms and every metric source,
//! with the hub's state restored after anything was missed.
//!
//! [`follow`] turns a client's raw [`Event`]s into [`Update`]s an app can
//! show as they come:
//! - metric sources are found in the hub's catalog (at connect and every
//!   [`DISCOVERY_INTERVAL`]) and subscribed;
//! - a source subscribed afresh, or whose channel had a gap, gets its recent
//!   history before its live samples ([`backfill`]);
//! - an alarm subscription that is fresh (first connect, or the hub lost
//!   its history) or had a gap gets the hub's active set
//!   ([`Update::ActiveAlarms`]): the one place alarms are resynced.

pub mod backfill;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use telltale_protocol::{Alarm, MetricSample, ALARMS_CHANNEL, METRICS_PREFIX};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::{Client, Event, Events, Payload, Publication, State};
use backfill::{Backfill, Ticket};

/// How often the catalog is checked for new sources.
pub const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// Longest wait for a source's history, queueing included; its live
/// samples are held meanwhile.
pub const BACKFILL_WAIT: Duration = Duration::from_secs(10);
/// History requests at once: after a reconnect every source asks, and many
/// large replies at once could overflow the hub's queue for this client.
const BACKFILLS_AT_ONCE: usize = 2;

/// What changed on the hub, in the order to apply it.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The connection state changed.
    State(State),
    /// Samples of a source, ascending by `ts`, each newer than the last
    /// ones given for it: live, or its recent history then what arrived
    /// meanwhile.
    Samples {
        /// The source, `<source>` of `metrics:<source>`.
        source: String,
        /// The samples.
        samples: Vec<MetricSample>,
    },
    /// An alarm transition.
    Alarm(Alarm),
    /// The hub's complete active alarm set, replacing what was known.
    ActiveAlarms(Vec<Alarm>),
    /// A publication on `alarms` or `metrics:*` that is not a Telltale
    /// payload.
    Invalid {
        /// Channel.
        channel: String,
        /// Why it did not decode.
        error: String,
    },
    /// Metric publications dropped because the reader lagged.
    Lagged(u64),
    /// A problem that did not end the connection, for the user.
    Problem(String),
}

/// The tasks following one hub; dropping it stops them.
pub struct Following {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Following {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Follows the hub of `client` (its `events`): subscribes to alarms and to
/// every metric source. Must be called within a tokio runtime.
pub fn follow(client: Client, events: Events) -> (Following, mpsc::UnboundedReceiver<Update>) {
    let (tx, rx) = mpsc::unbounded_channel();
    if let Err(e) = client.subscribe(ALARMS_CHANNEL) {
        let _ = tx.send(Update::Problem(format!("cannot subscribe to alarms: {e}")));
    }
    let follower = Arc::new(Follower {
        client,
        tx,
        backfill: Mutex::new(Backfill::default()),
        backfills: Semaphore::new(BACKFILLS_AT_ONCE),
        known: Mutex::new(HashSet::new()),
    });
    let tasks = vec![
        tokio::spawn(follower.clone().read(events)),
        tokio::spawn(follower.discover()),
    ];
    (Following { tasks }, rx)
}

struct Follower {
    client: Client,
    tx: mpsc::UnboundedSender<Update>,
    backfill: Mutex<Backfill>,
    backfills: Semaphore,
    /// Metric channels already subscribed.
    known: Mutex<HashSet<String>>,
}

impl Follower {
    fn send(&self, update: Update) {
        // The receiver is gone only when the app stops following.
        let _ = self.tx.send(update);
    }

    async fn read(self: Arc<Self>, mut events: Events) {
        while let Some(event) = events.recv().await {
            match event {
                Event::State(state) => {
                    if matches!(state, State::Connected { .. }) {
                        tokio::spawn(self.clone().subscribe_new_sources());
                    }
                    self.send(Update::State(state));
                }
                Event::Publication(publication) => self.on_publication(publication),
                Event::Subscribed {
                    channel,
                    was_recovering: false,
                    ..
                }
                | Event::Gap { channel, .. } => self.resync(&channel),
                Event::Lagged { dropped } => self.send(Update::Lagged(dropped)),
                Event::Error(e) => self.send(Update::Problem(e.to_string())),
                _ => {}
            }
        }
    }

    /// A fresh subscription starts at "now", a gap skipped publications:
    /// both miss what the hub still knows.
    fn resync(self: &Arc<Self>, channel: &str) {
        if channel == ALARMS_CHANNEL {
            tokio::spawn(self.clone().load_active_alarms());
        } else if let Some(source) = channel.strip_prefix(METRICS_PREFIX) {
            let ticket = self.lock_backfill().begin(source);
            tokio::spawn(self.clone().load_history(ticket));
        }
    }

    fn lock_backfill(&self) -> std::sync::MutexGuard<'_, Backfill> {
        self.backfill.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn on_publication(&self, publication: Publication) {
        match publication.payload {
            Payload::Metric(sample) => {
                let source = publication.channel.strip_prefix(METRICS_PREFIX);
                let source = source.unwrap_or_default().to_owned();
                // Held while its history loads, else passed on now; under
                // the lock so released history and live samples keep order.
                let mut backfill = self.lock_backfill();
                if let Some(sample) = backfill.live(&source, sample) {
                    let samples = vec![sample];
                    self.send(Update::Samples { source, samples });
                }
            }
            Payload::Alarm(alarm) => self.send(Update::Alarm(*alarm)),
            Payload::Raw => {
                let data = publication.data.get();
                let error = if publication.channel == ALARMS_CHANNEL {
                    serde_json::from_str::<Alarm>(data).err()
                } else if publication.channel.starts_with(METRICS_PREFIX) {
                    serde_json::from_str::<MetricSample>(data).err()
                } else {
                    None
                };
                if let Some(error) = error {
                    let channel = publication.channel;
                    let error = error.to_string();
                    self.send(Update::Invalid { channel, error });
                }
            }
        }
    }

    async fn load_active_alarms(self: Arc<Self>) {
        match self.client.active_alarms().await {
            Ok(active) => self.send(Update::ActiveAlarms(active)),
            Err(e) => self.send(Update::Problem(format!("alarm resync failed: {e}"))),
        }
    }

    /// Loads the history of `ticket`'s source and releases it with the held
    /// samples; a failure or timeout is reported and releases the held
    /// samples alone.
    async fn load_history(self: Arc<Self>, ticket: Ticket) {
        let channel = format!("{METRICS_PREFIX}{}", ticket.source);
        // The wait for a turn counts too: live samples are never held longer.
        let load = async {
            let _turn = self.backfills.acquire().await;
            backfill::recent_samples(&self.client, &channel).await
        };
        let history = match tokio::time::timeout(BACKFILL_WAIT, load).await {
            Ok(Ok(samples)) => samples,
            Ok(Err(e)) => {
                let problem = format!("{channel}: history not loaded, recent samples missing: {e}");
                self.send(Update::Problem(problem));
                Vec::new()
            }
            Err(_) => {
                let secs = BACKFILL_WAIT.as_secs();
                let problem = format!(
                    "{channel}: history not loaded within {secs} s, recent samples missing"
                );
                self.send(Update::Problem(problem));
                Vec::new()
            }
        };
        let mut backfill = self.lock_backfill();
        let samples = backfill.finish(&ticket, history);
        if !samples.is_empty() {
            let source = ticket.source.clone();
            self.send(Update::Samples { source, samples });
        }
    }

    async fn discover(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(DISCOVERY_INTERVAL);
        loop {
            ticks.tick().await;
            if matches!(self.client.state(), State::Connected { .. }) {
                self.clone().subscribe_new_sources().await;
            }
        }
    }

    /// Subscribes to every metrics channel in the hub's catalog not yet
    /// known.
    async fn subscribe_new_sources(self: Arc<Self>) {
        match self.client.catalog().await {
            Ok(catalog) => {
                for source in catalog.sources {
                    let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
                    let fresh = known.insert(source.channel.clone());
                    drop(known);
                    if fresh {
                        let _ = self.client.subscribe(source.channel);
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "catalog not available"),
        }
    }
}
