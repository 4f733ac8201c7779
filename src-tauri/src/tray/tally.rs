//! What the tray shows: firing alarms per server, counted by severity.
//!
//! Fed the same alarm transitions as the window; no tauri here.

use std::collections::HashMap;

use telltale_protocol::{Alarm, AlarmState, Severity};

/// Firing (unacknowledged) alarms, per server and alarm id.
#[derive(Debug, Default)]
pub struct AlarmTally {
    servers: HashMap<String, HashMap<String, Firing>>,
}

/// What the tally keeps of a firing alarm.
#[derive(Debug, Clone, Copy)]
struct Firing {
    severity: Severity,
    silenced_until: Option<i64>,
}

/// Counts of firing, unacknowledged, not silenced alarms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraySummary {
    /// Critical alarms.
    pub critical: u32,
    /// Warnings.
    pub warning: u32,
    /// Info alarms.
    pub info: u32,
}

impl AlarmTally {
    /// One transition of `alarm` on `server_id`: firing counts, anything
    /// else (acknowledged, resolved) no longer does.
    pub fn apply(&mut self, server_id: &str, alarm: &Alarm) {
        let alarms = self.servers.entry(server_id.to_owned()).or_default();
        if alarm.state == AlarmState::Firing {
            alarms.insert(
                alarm.id.clone(),
                Firing {
                    severity: alarm.severity,
                    silenced_until: alarm.silenced_until,
                },
            );
        } else {
            alarms.remove(&alarm.id);
        }
    }

    /// The whole active set of `server_id`, as resynced after a
    /// (re)connect: what is not in it is over.
    pub fn replace(&mut self, server_id: &str, alarms: &[Alarm]) {
        self.servers.remove(server_id);
        for alarm in alarms {
            self.apply(server_id, alarm);
        }
    }

    /// `server_id` was removed or disabled: its alarms no longer count.
    pub fn forget_server(&mut self, server_id: &str) {
        self.servers.remove(server_id);
    }

    /// Counts at `now_ms`: an alarm silenced until later does not count.
    pub fn summary(&self, now_ms: i64) -> TraySummary {
        let mut summary = TraySummary::default();
        let counted = self
            .servers
            .values()
            .flat_map(HashMap::values)
            .filter(|a| a.silenced_until.is_none_or(|until| until <= now_ms));
        for alarm in counted {
            match alarm.severity {
                Severity::Critical => summary.critical += 1,
                Severity::Warning => summary.warning += 1,
                Severity::Info => summary.info += 1,
            }
        }
        summary
    }

    /// When the summary next changes with no new transition: the earliest
    /// end of a silence after `now_ms` (so a timer can update the tray).
    pub fn next_change(&self, now_ms: i64) -> Option<i64> {
        self.servers
            .values()
            .flat_map(HashMap::values)
            .filter_map(|a| a.silenced_until)
            .filter(|&until| until > now_ms)
            .min()
    }
}

impl TraySummary {
    /// The worst severity that counts, `None` when all is clear.
    pub fn worst(&self) -> Option<Severity> {
        if self.critical > 0 {
            Some(Severity::Critical)
        } else if self.warning > 0 {
            Some(Severity::Warning)
        } else if self.info > 0 {
            Some(Severity::Info)
        } else {
            None
        }
    }

    /// "2 critical, 1 warning", or "all clear".
    pub fn counts_text(&self) -> String {
        let parts: Vec<String> = [
            (self.critical, "critical", "critical"),
            (self.warning, "warning", "warnings"),
            (self.info, "info", "info"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
        if parts.is_empty() {
            "all clear".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(id: &str, severity: Severity, state: AlarmState) -> Alarm {
        Alarm {
            id: id.to_owned(),
            source: "web-1".to_owned(),
            severity,
            state,
            title: id.to_owned(),
            message: String::new(),
            ts: 1_000,
            value: None,
            labels: Default::default(),
            by: None,
            silenced_until: None,
            comment: None,
            links: Default::default(),
        }
    }

    fn counts(s: TraySummary) -> (u32, u32, u32) {
        (s.critical, s.warning, s.info)
    }

    #[test]
    fn firing_counts_until_acknowledged_or_resolved() {
        let mut tally = AlarmTally::default();
        tally.apply("a", &alarm("disk", Severity::Critical, AlarmState::Firing));
        tally.apply("a", &alarm("cpu", Severity::Warning, AlarmState::Firing));
        tally.apply("b", &alarm("disk", Severity::Critical, AlarmState::Firing));
        assert_eq!(counts(tally.summary(0)), (2, 1, 0));
        assert_eq!(tally.summary(0).worst(), Some(Severity::Critical));

        tally.apply(
            "a",
            &alarm("disk", Severity::Critical, AlarmState::Acknowledged),
        );
        tally.apply(
            "b",
            &alarm("disk", Severity::Critical, AlarmState::Resolved),
        );
        assert_eq!(counts(tally.summary(0)), (0, 1, 0));
        assert_eq!(tally.summary(0).worst(), Some(Severity::Warning));
    }

    #[test]
    fn a_new_severity_replaces_the_old_one() {
        let mut tally = AlarmTally::default();
        tally.apply("a", &alarm("disk", Severity::Warning, AlarmState::Firing));
        tally.apply("a", &alarm("disk", Severity::Critical, AlarmState::Firing));
        assert_eq!(counts(tally.summary(0)), (1, 0, 0));
    }

    #[test]
    fn silenced_alarms_count_again_when_the_silence_ends() {
        let mut tally = AlarmTally::default();
        let mut silenced = alarm("disk", Severity::Critical, AlarmState::Firing);
        silenced.silenced_until = Some(5_000);
        tally.apply("a", &silenced);
        tally.apply("a", &alarm("load", Severity::Info, AlarmState::Firing));
        assert_eq!(counts(tally.summary(4_999)), (0, 0, 1));
        assert_eq!(tally.summary(4_999).worst(), Some(Severity::Info));
        assert_eq!(tally.next_change(4_999), Some(5_000));
        assert_eq!(counts(tally.summary(5_000)), (1, 0, 1));
        assert_eq!(tally.next_change(5_000), None);
    }

    #[test]
    fn replace_and_forget_touch_one_server_only() {
        let mut tally = AlarmTally::default();
        tally.apply("a", &alarm("disk", Severity::Critical, AlarmState::Firing));
        tally.apply("b", &alarm("cpu", Severity::Warning, AlarmState::Firing));
        tally.replace(
            "a",
            &[
                alarm("mem", Severity::Info, AlarmState::Firing),
                alarm("net", Severity::Critical, AlarmState::Acknowledged),
            ],
        );
        assert_eq!(counts(tally.summary(0)), (0, 1, 1));
        tally.forget_server("b");
        assert_eq!(counts(tally.summary(0)), (0, 0, 1));
        tally.forget_server("a");
        assert_eq!(tally.summary(0), TraySummary::default());
        assert_eq!(tally.summary(0).worst(), None);
    }

    #[test]
    fn counts_text_names_what_fires() {
        let summary = |critical, warning, info| TraySummary {
            critical,
            warning,
            info,
        };
        assert_eq!(summary(0, 0, 0).counts_text(), "all clear");
        assert_eq!(summary(2, 1, 0).counts_text(), "2 critical, 1 warning");
        assert_eq!(summary(0, 3, 1).counts_text(), "3 warnings, 1 info");
    }
}
