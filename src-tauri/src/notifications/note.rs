//! What a notification says: summary, body, urgency, sound and whether it
//! offers "Acknowledge".

use telltale_protocol::{Alarm, Severity};

use crate::settings::NotifyPrefs;

/// A notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Summary line: the alarm's title.
    pub summary: String,
    /// Body: the alarm's message, its source and the server's name.
    pub body: String,
    /// Urgency from the severity (critical stays until dismissed).
    pub urgency: NoteUrgency,
    /// Freedesktop sound name (`sound-name` hint), from the preferences.
    pub sound: Option<String>,
    /// Offers "Acknowledge" (firing alarms); every note opens the window
    /// when clicked.
    pub acknowledge: bool,
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

/// The note for a firing alarm (first time or a repeat).
pub fn firing(alarm: &Alarm, server_name: &str, prefs: &NotifyPrefs) -> Note {
    let (urgency, sound) = match alarm.severity {
        Severity::Critical => (NoteUrgency::Critical, &prefs.sounds.critical),
        Severity::Warning => (NoteUrgency::Normal, &prefs.sounds.warning),
        Severity::Info => (NoteUrgency::Low, &prefs.sounds.info),
    };
    Note {
        summary: alarm.title.clone(),
        body: body(alarm, server_name),
        urgency,
        sound: (!sound.trim().is_empty()).then(|| sound.trim().to_owned()),
        acknowledge: true,
    }
}

/// The quiet note saying an alarm the user was told about is over.
pub fn resolved(alarm: &Alarm, server_name: &str) -> Note {
    Note {
        summary: format!("Resolved: {}", alarm.title),
        body: body(alarm, server_name),
        urgency: NoteUrgency::Low,
        sound: None,
        acknowledge: false,
    }
}

/// Message, then `source · server` so the user knows which hub it is.
fn body(alarm: &Alarm, server_name: &str) -> String {
    let origin = if server_name.is_empty() {
        alarm.source.clone()
    } else {
        format!("{} · {server_name}", alarm.source)
    };
    if alarm.message.is_empty() {
        origin
    } else {
        format!("{}\n{origin}", alarm.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use telltale_protocol::AlarmState;

    fn alarm(severity: Severity) -> Alarm {
        Alarm {
            id: "web1/disk".into(),
            source: "web1".into(),
            severity,
            state: AlarmState::Firing,
            title: "Disk above 90%".into(),
            message: "disk.used_percent is 93.1".into(),
            ts: 1,
            value: None,
            labels: Default::default(),
            by: None,
            silenced_until: None,
            comment: None,
            links: Default::default(),
        }
    }

    #[test]
    fn firing_note_names_the_server_and_maps_severity() {
        let mut prefs = NotifyPrefs::default();
        prefs.sounds.critical = "dialog-warning".into();
        let note = firing(&alarm(Severity::Critical), "Production", &prefs);
        assert_eq!(note.summary, "Disk above 90%");
        assert_eq!(note.body, "disk.used_percent is 93.1\nweb1 · Production");
        assert_eq!(note.urgency, NoteUrgency::Critical);
        assert_eq!(note.sound.as_deref(), Some("dialog-warning"));
        assert!(note.acknowledge);
        let warning = firing(&alarm(Severity::Warning), "", &prefs);
        assert_eq!(warning.urgency, NoteUrgency::Normal);
        assert_eq!(warning.sound, None, "no sound chosen for warnings");
        assert_eq!(warning.body, "disk.used_percent is 93.1\nweb1");
        assert_eq!(
            firing(&alarm(Severity::Info), "x", &prefs).urgency,
            NoteUrgency::Low
        );
    }

    #[test]
    fn resolved_note_is_quiet_and_offers_no_ack() {
        let note = resolved(&alarm(Severity::Critical), "Production");
        assert_eq!(note.summary, "Resolved: Disk above 90%");
        assert_eq!(note.urgency, NoteUrgency::Low);
        assert_eq!(note.sound, None);
        assert!(!note.acknowledge);
    }
}
