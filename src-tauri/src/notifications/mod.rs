//! Native alarm notifications people can act on (the freedesktop D-Bus
//! service on Linux).
//!
//! - [`policy`]: when a transition becomes a note, closes one or replaces
//!   one (pure; the rules are documented there).
//! - [`note`]: what a note says.
//! - [`dbus`]: the daemon: notes with "Acknowledge" / "Open" buttons when
//!   it offers actions, and the user's clicks as [`NoteAction`]s.
//!
//! [`Notifications`] ties them together for the shell, without tauri.

pub mod dbus;
pub mod note;
pub mod policy;

use std::time::Duration;

use parking_lot::Mutex;
use telltale_protocol::payload::now_ms;
use telltale_protocol::Alarm;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

use crate::settings::NotifyPrefs;
pub use dbus::Bus;
pub use note::{Note, NoteUrgency};
pub use policy::{AlarmKey, Effect, Policy};

/// Application name shown by the notification daemon.
pub const APP_NAME: &str = "Telltale";

/// What the user did with a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoteAction {
    /// "Acknowledge": the shell acknowledges the alarm on that server.
    Acknowledge {
        /// Server id.
        server: String,
        /// Alarm id.
        id: String,
    },
    /// A click on the note, or "Open": the shell shows the window at the
    /// alarm.
    Open {
        /// Server id.
        server: String,
        /// Alarm id.
        id: String,
    },
}

/// Alarm notifications for every server: feed it transitions, get the
/// user's clicks on the receiver [`Notifications::new`] returns.
///
/// Calls never block on D-Bus: notes go to a thread of their own. Repeats,
/// deferred notes and held resolves need [`Notifications::run_wakes`]
/// spawned once (or a timer of the shell's calling
/// [`Notifications::next_wake`] and [`Notifications::wake`]).
pub struct Notifications {
    policy: Mutex<Policy>,
    effects: UnboundedSender<(AlarmKey, Effect)>,
    /// Tells [`Notifications::run_wakes`] that the next wake may be sooner.
    rearm: Notify,
}

/// Longest sleep of [`Notifications::run_wakes`]: the monotonic clock stops
/// while the machine sleeps, the wall clock (alarm times) does not.
const MAX_SLEEP_MS: i64 = 60_000;
/// Shortest: a late timer never spins.
const MIN_SLEEP_MS: i64 = 1_000;

impl Notifications {
    /// Notifications on the session bus, and the channel of the user's
    /// actions on them.
    pub fn new(prefs: NotifyPrefs) -> (Self, UnboundedReceiver<NoteAction>) {
        Self::on_bus(prefs, Bus::Session)
    }

    /// Notifications through the daemon on `bus`.
    pub fn on_bus(prefs: NotifyPrefs, bus: Bus) -> (Self, UnboundedReceiver<NoteAction>) {
        let (effects, effects_rx) = mpsc::unbounded_channel();
        let (actions, actions_rx) = mpsc::unbounded_channel();
        dbus::spawn(bus, effects_rx, actions);
        let notifications = Self {
            policy: Mutex::new(Policy::new(prefs)),
            effects,
            rearm: Notify::new(),
        };
        (notifications, actions_rx)
    }

    /// New preferences (from the settings view); they apply from the next
    /// decision on. Call [`Notifications::next_wake`] again afterwards.
    pub fn set_prefs(&self, prefs: NotifyPrefs) {
        self.policy.lock().set_prefs(prefs);
        self.rearm.notify_one();
    }

    /// One alarm transition from server `server_id`, shown as
    /// `server_name` in the note.
    pub fn on_alarm(&self, server_id: &str, server_name: &str, alarm: &Alarm, now_ms: i64) {
        let effects = self
            .policy
            .lock()
            .on_alarm(server_id, server_name, alarm, now_ms);
        self.send(effects);
    }

    /// After a resync: `active` is the server's full active set.
    pub fn on_active(&self, server_id: &str, server_name: &str, active: &[Alarm], now_ms: i64) {
        let effects = self
            .policy
            .lock()
            .on_active(server_id, server_name, active, now_ms);
        self.send(effects);
    }

    /// Server `server_id` was removed or disabled: its notes close and
    /// its alarms are forgotten, without "Resolved" notes.
    pub fn forget_server(&self, server_id: &str) {
        let effects = self.policy.lock().forget_server(server_id);
        self.send(effects);
    }

    /// When [`Notifications::wake`] next has work (unix ms, possibly
    /// already past), `None` when nothing is pending. Ask again after
    /// every `on_alarm`, `on_active`, `set_prefs` and `wake`.
    pub fn next_wake(&self, now_ms: i64) -> Option<i64> {
        self.policy.lock().next_wake(now_ms)
    }

    /// Sends what is due at `now_ms`: repeats, notes deferred by a
    /// silence, snooze or do not disturb, resolves whose flap hold passed.
    pub fn wake(&self, now_ms: i64) {
        let effects = self.policy.lock().wake(now_ms);
        self.send(effects);
    }

    /// Calls [`Notifications::wake`] whenever something is due, forever:
    /// spawn it once on the runtime. Idle (no timer at all) while nothing
    /// is pending; otherwise it sleeps until the next wake, at most a
    /// minute at a time.
    pub async fn run_wakes(&self) {
        loop {
            let now = now_ms();
            let Some(at) = self.next_wake(now) else {
                self.rearm.notified().await;
                continue;
            };
            if at <= now {
                self.wake(now);
            }
            let next = self.next_wake(now).map_or(MAX_SLEEP_MS, |at| at - now);
            let sleep = next.clamp(MIN_SLEEP_MS, MAX_SLEEP_MS).unsigned_abs();
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(sleep)) => {}
                () = self.rearm.notified() => {}
            }
        }
    }

    fn send(&self, effects: Vec<(AlarmKey, Effect)>) {
        self.rearm.notify_one();
        for effect in effects {
            // The thread only ends when it could not start: logged there.
            let _ = self.effects.send(effect);
        }
    }
}

// The shell keeps one in an `Arc` shared by its tasks.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Notifications>();
};
