//! The active alarm set, kept from the publications on `alarms`.
//!
//! History expires, but a client that connects late must still learn which
//! alarms are firing: `alarms.active` answers from this set. The memory
//! broker keeps it, updated with each publication on `alarms`; the Redis
//! broker keeps the same state in Redis for every node.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;
use telltale_protocol::{Alarm, AlarmState};
use tokio::time::Instant;

/// Alarms that are firing or acknowledged, by id.
#[derive(Default)]
pub struct AlarmSet {
    active: Mutex<HashMap<String, Alarm>>,
    /// When each active alarm was last changed by a client (ack, silence).
    changed: Mutex<HashMap<String, Instant>>,
}

impl AlarmSet {
    /// Applies one published transition: `firing` adds or updates (keeping an
    /// earlier acknowledgement and its comment), `acknowledged` updates,
    /// `resolved` removes, so the next firing is a new episode without them.
    pub fn apply(&self, alarm: Alarm) {
        let mut active = self.active.lock();
        match alarm.state {
            AlarmState::Resolved => {
                active.remove(&alarm.id);
                self.changed.lock().remove(&alarm.id);
            }
            AlarmState::Firing => {
                let previous = active.get(&alarm.id);
                let keep_ack = previous.filter(|p| p.state == AlarmState::Acknowledged);
                let mut alarm = alarm;
                if let Some(prev) = keep_ack {
                    alarm.state = AlarmState::Acknowledged;
                    alarm.by = alarm.by.or_else(|| prev.by.clone());
                    alarm.comment = alarm.comment.or_else(|| prev.comment.clone());
                }
                if alarm.silenced_until.is_none() {
                    alarm.silenced_until = previous.and_then(|p| p.silenced_until);
                }
                active.insert(alarm.id.clone(), alarm);
            }
            AlarmState::Acknowledged => {
                active.insert(alarm.id.clone(), alarm);
            }
        }
    }

    /// The active alarms, most severe first, then newest first.
    pub fn active(&self) -> Vec<Alarm> {
        let mut alarms: Vec<Alarm> = self.active.lock().values().cloned().collect();
        sort(&mut alarms);
        alarms
    }

    /// Claims the right to change alarm `id` now: `false` when a client
    /// changed it less than `interval` ago. Keeps floods of acks from
    /// pushing real transitions out of the alarms history.
    pub fn claim_change(&self, id: &str, interval: Duration) -> bool {
        let now = Instant::now();
        let mut changed = self.changed.lock();
        match changed.get(id) {
            Some(last) if now.duration_since(*last) < interval => false,
            _ => {
                changed.insert(id.to_owned(), now);
                true
            }
        }
    }

    /// One active alarm.
    pub fn get(&self, id: &str) -> Option<Alarm> {
        self.active.lock().get(id).cloned()
    }
}

/// Most severe first, then newest first: the order of `alarms.active`.
pub fn sort(alarms: &mut [Alarm]) {
    alarms.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.ts.cmp(&a.ts))
            .then(a.id.cmp(&b.id))
    });
}

/// The active alarm that a sequence of published transitions leaves, for
/// a broker that keeps the pieces apart (see [`crate::broker::redis`]): the
/// last transition that was not `resolved`, the last acknowledgement of the
/// episode and its last silence.
pub fn merged(last: Alarm, ack: Option<Acknowledgement>, silenced_until: Option<i64>) -> Alarm {
    let mut alarm = last;
    if let (AlarmState::Firing, Some(ack)) = (alarm.state, ack) {
        alarm.state = AlarmState::Acknowledged;
        alarm.by = alarm.by.or(ack.by);
        alarm.comment = alarm.comment.or(ack.comment);
    }
    alarm.silenced_until = alarm.silenced_until.or(silenced_until);
    alarm
}

/// Who acknowledged an alarm, and why.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Acknowledgement {
    /// The acknowledging user.
    pub by: Option<String>,
    /// Their comment.
    pub comment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_protocol::Severity;

    fn alarm(id: &str, severity: Severity, state: AlarmState, ts: i64) -> Alarm {
        Alarm {
            id: id.into(),
            source: "h".into(),
            severity,
            state,
            title: id.into(),
            message: String::new(),
            ts,
            value: None,
            labels: Default::default(),
            by: None,
            silenced_until: None,
            comment: None,
            links: Default::default(),
        }
    }

    #[test]
    fn dedups_by_id_orders_by_severity_and_removes_resolved() {
        let set = AlarmSet::default();
        set.apply(alarm("a", Severity::Warning, AlarmState::Firing, 1));
        set.apply(alarm("b", Severity::Critical, AlarmState::Firing, 2));
        set.apply(alarm("a", Severity::Warning, AlarmState::Firing, 3));
        let ids: Vec<_> = set.active().into_iter().map(|a| (a.id, a.ts)).collect();
        assert_eq!(ids, [("b".to_string(), 2), ("a".to_string(), 3)]);
        set.apply(alarm("b", Severity::Critical, AlarmState::Resolved, 4));
        assert_eq!(set.active().len(), 1);
    }

    #[test]
    fn refiring_keeps_the_acknowledgement() {
        let set = AlarmSet::default();
        set.apply(alarm("a", Severity::Warning, AlarmState::Firing, 1));
        let mut ack = alarm("a", Severity::Warning, AlarmState::Acknowledged, 2);
        ack.by = Some("ann".into());
        ack.comment = Some("db restart".into());
        set.apply(ack);
        set.apply(alarm("a", Severity::Warning, AlarmState::Firing, 3));
        let a = set.get("a").unwrap();
        assert_eq!(
            (a.state, a.by.as_deref(), a.comment.as_deref(), a.ts),
            (AlarmState::Acknowledged, Some("ann"), Some("db restart"), 3)
        );
    }

    #[test]
    fn a_new_episode_starts_without_the_old_comment() {
        let set = AlarmSet::default();
        let mut ack = alarm("a", Severity::Warning, AlarmState::Acknowledged, 1);
        ack.comment = Some("db restart".into());
        set.apply(ack);
        set.apply(alarm("a", Severity::Warning, AlarmState::Resolved, 2));
        set.apply(alarm("a", Severity::Warning, AlarmState::Firing, 3));
        let a = set.get("a").unwrap();
        assert_eq!((a.state, a.comment), (AlarmState::Firing, None));
    }

    #[tokio::test(start_paused = true)]
    async fn client_changes_are_spaced_per_alarm() {
        let set = AlarmSet::default();
        let interval = Duration::from_secs(1);
        assert!(set.claim_change("a", interval));
        assert!(!set.claim_change("a", interval));
        assert!(set.claim_change("b", interval), "per alarm");
        tokio::time::advance(interval).await;
        assert!(set.claim_change("a", interval));
    }
}
