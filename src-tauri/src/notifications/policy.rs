//! When an alarm transition becomes a notification: pure decisions, no
//! D-Bus, time passed in as `now_ms`.
//!
//! The rules, per (server id, alarm id):
//!
//! - One notification per firing. Repeated `firing` messages of the same
//!   episode change nothing; with `repeat_mins` the note is put up again
//!   (in place) every so often until someone acknowledges it.
//! - Acknowledged: the note on screen closes, and no repeat follows.
//!   Silenced on the hub while notified: the note closes too.
//! - Muted server or source, or below the minimum severity: decided when
//!   the alarm fires, and that episode stays quiet (unmuting later does not
//!   replay alarms already firing: the window lists them).
//! - Silenced on the hub, personally snoozed, or do not disturb (unless
//!   critical and `critical_breaks_dnd`): the note is *deferred*, not
//!   dropped. If the alarm still fires, unacknowledged, when the silence,
//!   snooze or do not disturb ends, it notifies then: a snooze means
//!   "remind me later".
//! - Resolved, for an alarm the user was notified about: after
//!   `flap_hold_secs` without a new firing, the firing note closes and a
//!   quiet "Resolved: ..." note follows (not while silenced, snoozed, muted
//!   or in do not disturb; critical alarms do not break do not disturb for
//!   good news). An alarm the user was never notified about resolves
//!   silently.
//! - Flapping: an alarm that fires again within `flap_hold_secs` of
//!   resolving is the same problem. Nothing is sent: the firing note stays
//!   on screen, no "Resolved" note, no second notification. So a resolved
//!   note means the alarm stayed resolved for the hold; the window shows
//!   the resolve at once.
//!
//! Nothing here polls: [`Policy::next_wake`] says when [`Policy::wake`]
//! has something to do (a repeat, a deferred note, a resolve's hold).

use std::collections::HashMap;

use telltale_protocol::{Alarm, AlarmState, Severity};

use super::note::{self, Note};
use crate::settings::NotifyPrefs;

/// One alarm on one server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlarmKey {
    /// Server id (stable key of the server entry).
    pub server: String,
    /// Alarm id, `<source>/<rule>`.
    pub id: String,
}

/// What to do with an alarm's notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A new firing: put this note up (in place of an older note of the
    /// same alarm, if one is still on screen).
    Show(Note),
    /// The same firing again (a repeat): update the note on screen in
    /// place, or put it up again if the user dismissed it.
    Replace(Note),
    /// Take the alarm's note off screen, if it is there.
    Close,
}

/// Why a note cannot go out now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Open,
    /// Deferred until this time (unix ms).
    Until(i64),
    /// Muted or below the minimum severity.
    Never,
}

/// What the policy remembers about one alarm.
#[derive(Debug, Clone)]
struct Entry {
    alarm: Alarm,
    server_name: String,
    /// Last time this episode notified; `None`: the user has not been told.
    notified_at: Option<i64>,
    /// Muted or below the minimum severity when it fired.
    quiet: bool,
    /// Resolved at this time, waiting for the flap hold to pass.
    resolved_at: Option<i64>,
}

/// Decides, per alarm transition, what happens to its notification.
#[derive(Debug, Default)]
pub struct Policy {
    prefs: NotifyPrefs,
    alarms: HashMap<AlarmKey, Entry>,
}

impl Policy {
    /// A policy with these preferences and no alarm seen yet.
    pub fn new(prefs: NotifyPrefs) -> Self {
        Self {
            prefs,
            alarms: HashMap::new(),
        }
    }

    /// New preferences; they apply from the next decision on.
    pub fn set_prefs(&mut self, prefs: NotifyPrefs) {
        self.prefs = prefs;
    }

    /// The effects of one alarm transition from server `server_id`.
    pub fn on_alarm(
        &mut self,
        server_id: &str,
        server_name: &str,
        alarm: &Alarm,
        now_ms: i64,
    ) -> Vec<(AlarmKey, Effect)> {
        let key = AlarmKey {
            server: server_id.to_owned(),
            id: alarm.id.clone(),
        };
        let effects = match alarm.state {
            AlarmState::Firing => self.fire(&key, server_name, alarm, now_ms),
            AlarmState::Acknowledged => self.acknowledge(&key, server_name, alarm),
            AlarmState::Resolved => self.resolve(&key, alarm, now_ms),
        };
        effects.into_iter().map(|e| (key.clone(), e)).collect()
    }

    /// After a resync: `active` is everything firing or acknowledged on
    /// `server_id`; what it no longer lists has resolved meanwhile.
    pub fn on_active(
        &mut self,
        server_id: &str,
        server_name: &str,
        active: &[Alarm],
        now_ms: i64,
    ) -> Vec<(AlarmKey, Effect)> {
        let gone: Vec<Alarm> = self
            .alarms
            .iter()
            .filter(|(key, entry)| {
                key.server == server_id
                    && entry.resolved_at.is_none()
                    && !active.iter().any(|a| a.id == key.id)
            })
            .map(|(_, entry)| Alarm {
                state: AlarmState::Resolved,
                ts: now_ms,
                ..entry.alarm.clone()
            })
            .collect();
        let mut effects = Vec::new();
        for alarm in gone.iter().chain(active) {
            effects.extend(self.on_alarm(server_id, server_name, alarm, now_ms));
        }
        effects
    }

    /// Server `server_id` left the list: its notes close, its alarms are
    /// forgotten (no "Resolved" notes).
    pub fn forget_server(&mut self, server_id: &str) -> Vec<(AlarmKey, Effect)> {
        let mut keys: Vec<AlarmKey> = self
            .alarms
            .keys()
            .filter(|key| key.server == server_id)
            .cloned()
            .collect();
        keys.sort_by(|a, b| a.id.cmp(&b.id));
        keys.into_iter()
            .filter_map(|key| {
                let entry = self.alarms.remove(&key)?;
                entry.notified_at.map(|_| (key, Effect::Close))
            })
            .collect()
    }

    /// When [`Policy::wake`] next has something to do (unix ms; may be in
    /// the past), or `None` when nothing is pending.
    pub fn next_wake(&self, now_ms: i64) -> Option<i64> {
        self.alarms
            .iter()
            .filter_map(|(key, entry)| self.wake_time(key, entry, now_ms))
            .min()
    }

    /// What is due at `now_ms`: repeats, deferred notes, resolves whose
    /// hold has passed.
    pub fn wake(&mut self, now_ms: i64) -> Vec<(AlarmKey, Effect)> {
        let mut keys: Vec<AlarmKey> = self.alarms.keys().cloned().collect();
        // A stable order: the same wake gives the same effects.
        keys.sort_by(|a, b| (&a.server, &a.id).cmp(&(&b.server, &b.id)));
        let mut effects = Vec::new();
        for key in keys {
            let due = self.settle(&key, now_ms);
            effects.extend(due.into_iter().map(|e| (key.clone(), e)));
        }
        effects
    }

    fn fire(&mut self, key: &AlarmKey, server_name: &str, alarm: &Alarm, now: i64) -> Vec<Effect> {
        let hold = self.hold_ms();
        match self.alarms.get_mut(key) {
            Some(entry) if entry.resolved_at.is_some_and(|at| now < at + hold) => {
                // Flapping: the same problem is back before the hold ended.
                entry.resolved_at = None;
                entry.alarm = alarm.clone();
                entry.server_name = server_name.to_owned();
                return Vec::new();
            }
            Some(entry) if entry.resolved_at.is_none() => {
                // Same episode (or acknowledged: someone is on it).
                if entry.alarm.state != AlarmState::Firing {
                    return Vec::new();
                }
                let silenced = |a: &Alarm| a.silenced_until.is_some_and(|until| until > now);
                let newly_silenced = silenced(alarm) && !silenced(&entry.alarm);
                entry.alarm = alarm.clone();
                entry.server_name = server_name.to_owned();
                if newly_silenced && entry.notified_at.is_some() {
                    // Someone silenced it: the note on screen goes too.
                    return vec![Effect::Close];
                }
                return self.settle(key, now);
            }
            _ => {}
        }
        // New episode (or a resolve whose hold passed before wake ran: the
        // new firing's note takes the old one's place).
        self.alarms.insert(
            key.clone(),
            Entry {
                alarm: alarm.clone(),
                server_name: server_name.to_owned(),
                notified_at: None,
                quiet: false,
                resolved_at: None,
            },
        );
        self.settle(key, now)
    }

    fn acknowledge(&mut self, key: &AlarmKey, server_name: &str, alarm: &Alarm) -> Vec<Effect> {
        let entry = self.alarms.entry(key.clone()).or_insert_with(|| Entry {
            alarm: alarm.clone(),
            server_name: server_name.to_owned(),
            notified_at: None,
            quiet: false,
            resolved_at: None,
        });
        entry.alarm = alarm.clone();
        entry.resolved_at = None;
        if entry.notified_at.is_some() {
            vec![Effect::Close]
        } else {
            Vec::new()
        }
    }

    fn resolve(&mut self, key: &AlarmKey, alarm: &Alarm, now: i64) -> Vec<Effect> {
        let Some(entry) = self.alarms.get_mut(key) else {
            return Vec::new();
        };
        if entry.notified_at.is_none() {
            // Never told: nothing on screen, nothing to say.
            self.alarms.remove(key);
            return Vec::new();
        }
        if entry.resolved_at.is_some() {
            return Vec::new();
        }
        // The hub may drop the silence with the resolve: a silenced alarm
        // stays silenced for its resolved note.
        let silenced_until = entry.alarm.silenced_until.max(alarm.silenced_until);
        entry.alarm = Alarm {
            silenced_until,
            ..alarm.clone()
        };
        entry.resolved_at = Some(now);
        self.settle(key, now)
    }

    /// Whatever is due for `key` at `now`.
    fn settle(&mut self, key: &AlarmKey, now: i64) -> Vec<Effect> {
        let hold = self.hold_ms();
        let Some(entry) = self.alarms.get(key) else {
            return Vec::new();
        };
        if let Some(at) = entry.resolved_at {
            if now < at + hold {
                return Vec::new();
            }
            let entry = self.alarms.remove(key).unwrap_or_else(|| unreachable!());
            let mut effects = vec![Effect::Close];
            if gate(&self.prefs, key, &entry.alarm, now, false) == Gate::Open {
                effects.push(Effect::Show(note::resolved(
                    &entry.alarm,
                    &entry.server_name,
                )));
            }
            return effects;
        }
        if entry.quiet || entry.alarm.state != AlarmState::Firing {
            return Vec::new();
        }
        let Some(due) = self.due(entry, now) else {
            return Vec::new();
        };
        if due > now {
            return Vec::new();
        }
        match gate(&self.prefs, key, &entry.alarm, now, true) {
            Gate::Open => {
                let note = note::firing(&entry.alarm, &entry.server_name, &self.prefs);
                let effect = if entry.notified_at.is_some() {
                    Effect::Replace(note)
                } else {
                    Effect::Show(note)
                };
                if let Some(entry) = self.alarms.get_mut(key) {
                    entry.notified_at = Some(now);
                }
                vec![effect]
            }
            Gate::Never => {
                if let Some(entry) = self.alarms.get_mut(key) {
                    entry.quiet = true;
                }
                Vec::new()
            }
            Gate::Until(_) => Vec::new(),
        }
    }

    /// When this episode should notify next, ignoring gates: now for a new
    /// one, the repeat time for one already notified.
    fn due(&self, entry: &Entry, now: i64) -> Option<i64> {
        match entry.notified_at {
            None => Some(now),
            Some(at) => self
                .prefs
                .repeat_mins
                .filter(|mins| *mins > 0)
                .map(|mins| at + i64::from(mins) * 60_000),
        }
    }

    fn wake_time(&self, key: &AlarmKey, entry: &Entry, now: i64) -> Option<i64> {
        if let Some(at) = entry.resolved_at {
            return Some(at + self.hold_ms());
        }
        if entry.quiet || entry.alarm.state != AlarmState::Firing {
            return None;
        }
        let due = self.due(entry, now)?;
        match gate(&self.prefs, key, &entry.alarm, due.max(now), true) {
            Gate::Open => Some(due),
            Gate::Until(until) => Some(until.max(due)),
            Gate::Never => None,
        }
    }

    fn hold_ms(&self) -> i64 {
        i64::from(self.prefs.flap_hold_secs) * 1000
    }
}

/// May a note about `alarm` go out at `now`? `firing`: a firing note
/// (critical ones may break do not disturb), else a resolved note.
fn gate(prefs: &NotifyPrefs, key: &AlarmKey, alarm: &Alarm, now: i64, firing: bool) -> Gate {
    let source = format!("{}/{}", key.server, alarm.source);
    if prefs.muted_servers.contains(&key.server)
        || prefs.muted_sources.contains(&source)
        || alarm.severity < prefs.min_severity
    {
        return Gate::Never;
    }
    let breaks_dnd = firing && alarm.severity == Severity::Critical && prefs.critical_breaks_dnd;
    let snoozed = prefs
        .snoozes
        .iter()
        .filter(|s| s.server == key.server && s.id == key.id)
        .map(|s| s.until);
    let dnd = prefs.dnd_until.filter(|_| !breaks_dnd);
    alarm
        .silenced_until
        .into_iter()
        .chain(snoozed)
        .chain(dnd)
        .filter(|until| *until > now)
        .max()
        .map_or(Gate::Open, Gate::Until)
}

#[cfg(test)]
mod tests;
