//! The freedesktop notification service on D-Bus: sends, replaces and
//! closes notes, and turns `ActionInvoked` / `NotificationClosed` signals
//! into [`NoteAction`]s.
//!
//! One thread drives one zbus connection, used both for the calls and for
//! the signals. One connection matters: some daemons send a note's signals
//! only to the connection that created it, and notify-rust opens a
//! connection per note (and a blocking wait per note for its actions), so
//! notify-rust builds the notification (hints, timeout, actions) and this
//! module carries it. The thread sleeps on its channels: no polling.
//!
//! The connection is opened at the first note. A missing bus or daemon is
//! logged once; notes are then dropped and the next one tries again.

use std::collections::HashMap;
use std::pin::pin;

use futures_util::future::{select, Either};
use futures_util::stream::{self, BoxStream, StreamExt};
use notify_rust::{Notification, Timeout, Urgency};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use zbus::Variant;

use super::note::{Note, NoteUrgency};
use super::policy::{AlarmKey, Effect};
use super::{NoteAction, APP_NAME};

/// Action key of "Acknowledge".
pub const ACK_ACTION: &str = "ack";
/// Action key of a click on the note (freedesktop's default action).
pub const DEFAULT_ACTION: &str = "default";
/// Action key of the explicit "Open" button.
pub const OPEN_ACTION: &str = "open";

/// Which bus to reach the daemon on.
#[derive(Debug, Clone)]
pub enum Bus {
    /// The session bus (`DBUS_SESSION_BUS_ADDRESS`).
    Session,
    /// A bus at this D-Bus address (tests, or a custom setup).
    Address(String),
}

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications"
)]
trait Daemon {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[String],
        hints: HashMap<&str, Variant<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;

    fn close_notification(&self, id: u32) -> zbus::Result<()>;

    fn get_capabilities(&self) -> zbus::Result<Vec<String>>;

    #[zbus(signal)]
    fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

    #[zbus(signal)]
    fn notification_closed(&self, id: u32, reason: u32) -> zbus::Result<()>;
}

/// Starts the thread that carries `effects` to the daemon and reports the
/// user's actions on `actions`. It ends when the `effects` sender is gone.
pub(crate) fn spawn(
    bus: Bus,
    effects: UnboundedReceiver<(AlarmKey, Effect)>,
    actions: UnboundedSender<NoteAction>,
) {
    let started = std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || zbus::block_on(run(bus, effects, actions)));
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start the notification thread; alarms still show in the window");
    }
}

async fn run(
    bus: Bus,
    mut effects: UnboundedReceiver<(AlarmKey, Effect)>,
    actions: UnboundedSender<NoteAction>,
) {
    let mut warned = false;
    // Waits for work before connecting: an app with no alarm never talks
    // to the daemon.
    while let Some(first) = effects.recv().await {
        match Desktop::connect(&bus).await {
            Ok(desktop) => {
                return desktop
                    .serve(first, &mut effects, &actions, &mut warned)
                    .await;
            }
            Err(e) => warn_once(&mut warned, &e),
        }
    }
}

fn warn_once(warned: &mut bool, error: &zbus::Error) {
    if !std::mem::replace(warned, true) {
        tracing::warn!(%error, "cannot show notifications (is a notification daemon running?); alarms still show in the window");
    } else {
        tracing::debug!(%error, "notification not shown");
    }
}

/// A signal from the daemon about one of our notes.
enum Signal {
    Action { id: u32, key: String },
    Closed { id: u32 },
}

/// The connection to the daemon and the notes it has on screen.
struct Desktop {
    daemon: DaemonProxy<'static>,
    /// The daemon advertises `actions`: notes get buttons.
    buttons: bool,
    by_key: HashMap<AlarmKey, u32>,
    by_id: HashMap<u32, AlarmKey>,
}

impl Desktop {
    async fn connect(bus: &Bus) -> zbus::Result<Self> {
        let connection = match bus {
            Bus::Session => zbus::Connection::session().await?,
            Bus::Address(address) => {
                zbus::connection::Builder::address(address.as_str())
                    .build()
                    .await?
            }
        };
        let daemon = DaemonProxy::new(&connection).await?;
        // Asked once: capabilities do not change while the daemon runs.
        let buttons = daemon
            .get_capabilities()
            .await?
            .iter()
            .any(|c| c == "actions");
        Ok(Self {
            daemon,
            buttons,
            by_key: HashMap::new(),
            by_id: HashMap::new(),
        })
    }

    async fn serve(
        mut self,
        first: (AlarmKey, Effect),
        effects: &mut UnboundedReceiver<(AlarmKey, Effect)>,
        actions: &UnboundedSender<NoteAction>,
        warned: &mut bool,
    ) {
        let mut signals = match self.signals().await {
            Ok(signals) => signals,
            Err(e) => {
                // Notes still go out; only their buttons would be dead.
                tracing::warn!(error = %e, "cannot listen to notification actions");
                self.buttons = false;
                stream::pending().boxed()
            }
        };
        self.apply(first, warned).await;
        loop {
            let effect = pin!(effects.recv());
            let next = select(effect, signals.next()).await;
            match next {
                Either::Left((Some(effect), _)) => self.apply(effect, warned).await,
                Either::Left((None, _)) => return,
                Either::Right((Some(signal), _)) => self.on_signal(signal, actions).await,
                // The connection is gone: notes can no longer be acted on.
                Either::Right((None, _)) => {
                    self.buttons = false;
                    signals = stream::pending().boxed();
                }
            }
        }
    }

    async fn signals(&self) -> zbus::Result<BoxStream<'static, Signal>> {
        let invoked = self
            .daemon
            .receive_action_invoked()
            .await?
            .filter_map(|s| async move {
                let args = s.args().ok()?;
                Some(Signal::Action {
                    id: *args.id(),
                    key: args.action_key().clone(),
                })
            });
        let closed = self
            .daemon
            .receive_notification_closed()
            .await?
            .filter_map(|s| async move {
                Some(Signal::Closed {
                    id: *s.args().ok()?.id(),
                })
            });
        Ok(stream::select(invoked.boxed(), closed.boxed()).boxed())
    }

    async fn apply(&mut self, (key, effect): (AlarmKey, Effect), warned: &mut bool) {
        match effect {
            Effect::Show(note) | Effect::Replace(note) => {
                // One note per alarm: a new one takes the old one's place.
                let replaces = self.by_key.get(&key).copied().unwrap_or(0);
                let notification = self.build(&note);
                match self.send(&notification, replaces).await {
                    Ok(id) => self.remember(key, id),
                    Err(e) => warn_once(warned, &e),
                }
            }
            Effect::Close => {
                if let Some(id) = self.forget_key(&key) {
                    self.close(id).await;
                }
            }
        }
    }

    async fn on_signal(&mut self, signal: Signal, actions: &UnboundedSender<NoteAction>) {
        match signal {
            Signal::Action { id, key: action } => {
                let Some(key) = self.by_id.get(&id).cloned() else {
                    return; // another app's note
                };
                let AlarmKey { server, id: alarm } = key.clone();
                let action = match action.as_str() {
                    ACK_ACTION => {
                        // Gone at once; the Acknowledged transition that
                        // follows finds nothing left to close.
                        self.forget_key(&key);
                        self.close(id).await;
                        NoteAction::Acknowledge { server, id: alarm }
                    }
                    DEFAULT_ACTION | OPEN_ACTION => NoteAction::Open { server, id: alarm },
                    _ => return,
                };
                // No receiver: the shell does not handle actions (yet).
                let _ = actions.send(action);
            }
            Signal::Closed { id } => {
                if let Some(key) = self.by_id.remove(&id) {
                    self.by_key.remove(&key);
                }
            }
        }
    }

    /// The notification for `note`, built with notify-rust's types.
    fn build(&self, note: &Note) -> Notification {
        let (urgency, timeout) = match note.urgency {
            NoteUrgency::Low => (Urgency::Low, Timeout::Default),
            NoteUrgency::Normal => (Urgency::Normal, Timeout::Default),
            NoteUrgency::Critical => (Urgency::Critical, Timeout::Never),
        };
        let mut notification = Notification::new();
        notification
            .appname(APP_NAME)
            .summary(&note.summary)
            .body(&note.body)
            .urgency(urgency)
            .timeout(timeout);
        if let Some(sound) = &note.sound {
            notification.sound_name(sound);
        }
        if self.buttons {
            if note.acknowledge {
                notification.action(ACK_ACTION, "Acknowledge");
            }
            notification
                .action(OPEN_ACTION, "Open")
                .action(DEFAULT_ACTION, "Open");
        }
        notification
    }

    async fn send(&self, notification: &Notification, replaces: u32) -> zbus::Result<u32> {
        let hints: HashMap<&str, Variant<'_>> = notification
            .hints
            .iter()
            .map(<(&str, Variant<'_>)>::from)
            .collect();
        self.daemon
            .notify(
                &notification.appname,
                replaces,
                &notification.icon,
                &notification.summary,
                &notification.body,
                &notification.actions,
                hints,
                i32::from(notification.timeout),
            )
            .await
    }

    async fn close(&self, id: u32) {
        if let Err(e) = self.daemon.close_notification(id).await {
            tracing::debug!(error = %e, id, "cannot close a notification");
        }
    }

    fn remember(&mut self, key: AlarmKey, id: u32) {
        if let Some(old) = self.by_key.insert(key.clone(), id) {
            self.by_id.remove(&old);
        }
        // A daemon may reuse the id of a note whose close we missed.
        if let Some(stale) = self.by_id.insert(id, key.clone()) {
            if stale != key {
                self.by_key.remove(&stale);
            }
        }
    }

    fn forget_key(&mut self, key: &AlarmKey) -> Option<u32> {
        let id = self.by_key.remove(key)?;
        self.by_id.remove(&id);
        Some(id)
    }
}
