//! Native alarm notifications (notify-rust, the freedesktop D-Bus service
//! on Linux).
//!
//! One notification per alarm *firing transition*: a repeated firing of the
//! same id is not shown again, nor is an alarm someone acknowledged or
//! silenced. A resolved alarm that was shown gets a low-urgency note. A
//! missing notification daemon is logged once; the app keeps working.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use notify_rust::{Notification, Timeout, Urgency};
use telltale_protocol::{Alarm, AlarmState, Severity};

/// Application name shown by the notification daemon.
pub const APP_NAME: &str = "Telltale";

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Summary line: the alarm's title.
    pub summary: String,
    /// Body: the alarm's message and source.
    pub body: String,
    /// Urgency from the severity (critical stays until dismissed).
    pub urgency: NoteUrgency,
}

/// Urgency levels of the freedesktop specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteUrgency {
    /// Info alarms and resolutions.
    Low,
    /// Warnings.
    Normal,
    /// Critical alarms: shown until dismissed.
    Critical,
}

/// Decides which alarm transitions become notifications.
#[derive(Debug, Default)]
pub struct Notifier {
    shown: HashSet<String>,
}

impl Notifier {
    /// The notification for this transition, if one is due. `now_ms` is
    /// compared with the alarm's `silenced_until`.
    pub fn on_alarm(&mut self, alarm: &Alarm, now_ms: i64) -> Option<Note> {
        match alarm.state {
            AlarmState::Firing => {
                let silenced = alarm.silenced_until.is_some_and(|until| until > now_ms);
                (self.shown.insert(alarm.id.clone()) && !silenced).then(|| firing(alarm))
            }
            AlarmState::Acknowledged => {
                // Someone is on it: a later firing of the same id stays quiet.
                self.shown.insert(alarm.id.clone());
                None
            }
            AlarmState::Resolved => self.shown.remove(&alarm.id).then(|| resolved(alarm)),
        }
    }
}

fn firing(alarm: &Alarm) -> Note {
    let urgency = match alarm.severity {
        Severity::Critical => NoteUrgency::Critical,
        Severity::Warning => NoteUrgency::Normal,
        Severity::Info => NoteUrgency::Low,
    };
    Note {
        summary: alarm.title.clone(),
        body: body(alarm),
        urgency,
    }
}

fn resolved(alarm: &Alarm) -> Note {
    Note {
        summary: format!("Resolved: {}", alarm.title),
        body: body(alarm),
        urgency: NoteUrgency::Low,
    }
}

fn body(alarm: &Alarm) -> String {
    if alarm.message.is_empty() {
        alarm.source.clone()
    } else {
        format!("{}\n{}", alarm.message, alarm.source)
    }
}

/// Sends `note` to the notification daemon (blocking D-Bus call).
pub fn send(note: &Note) -> Result<(), notify_rust::error::Error> {
    let (urgency, timeout) = match note.urgency {
        NoteUrgency::Low => (Urgency::Low, Timeout::Default),
        NoteUrgency::Normal => (Urgency::Normal, Timeout::Default),
        NoteUrgency::Critical => (Urgency::Critical, Timeout::Never),
    };
    Notification::new()
        .appname(APP_NAME)
        .summary(&note.summary)
        .body(&note.body)
        .urgency(urgency)
        .timeout(timeout)
        .show()
        .map(|_| ())
}

/// Shows `note` without blocking the runtime; failures are logged once.
pub fn show(note: Note) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = send(&note) {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "cannot show notifications (is a notification daemon running?); alarms still show in the window");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(id: &str, severity: Severity, state: AlarmState) -> Alarm {
        Alarm {
            id: id.into(),
            source: "web1".into(),
            severity,
            state,
            title: "Disk above 90%".into(),
            message: "disk.used_percent is 93.1".into(),
            ts: 1,
            value: None,
            labels: Default::default(),
            by: None,
            silenced_until: None,
            comment: None,
        }
    }

    #[test]
    fn one_note_per_firing_transition() {
        let mut notifier = Notifier::default();
        let note = notifier
            .on_alarm(&alarm("a", Severity::Critical, AlarmState::Firing), 0)
            .unwrap();
        assert_eq!(note.urgency, NoteUrgency::Critical);
        assert_eq!(note.summary, "Disk above 90%");
        assert_eq!(note.body, "disk.used_percent is 93.1\nweb1");
        assert_eq!(
            notifier.on_alarm(&alarm("a", Severity::Critical, AlarmState::Firing), 0),
            None
        );
        let resolved = notifier
            .on_alarm(&alarm("a", Severity::Critical, AlarmState::Resolved), 0)
            .unwrap();
        assert_eq!(resolved.urgency, NoteUrgency::Low);
        assert!(
            notifier
                .on_alarm(&alarm("a", Severity::Critical, AlarmState::Firing), 0)
                .is_some(),
            "fires anew"
        );
    }

    #[test]
    fn acknowledged_and_silenced_alarms_stay_quiet() {
        let mut notifier = Notifier::default();
        assert_eq!(
            notifier.on_alarm(&alarm("a", Severity::Warning, AlarmState::Acknowledged), 0),
            None
        );
        assert_eq!(
            notifier.on_alarm(&alarm("a", Severity::Warning, AlarmState::Firing), 0),
            None
        );
        let mut silenced = alarm("b", Severity::Warning, AlarmState::Firing);
        silenced.silenced_until = Some(100);
        assert_eq!(notifier.on_alarm(&silenced, 50), None);
        assert_eq!(
            notifier.on_alarm(&alarm("c", Severity::Info, AlarmState::Resolved), 0),
            None,
            "never shown"
        );
    }
}
