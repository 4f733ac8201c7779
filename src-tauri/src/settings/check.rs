//! What a settings change must satisfy, as one message per field that the
//! settings view shows next to that field.
//!
//! Fields are named as the UI names them: `servers.<index>.<field>` (index
//! in the list as sent), `chartWindowSecs`, `notifications.<field>`.

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;
use telltale_client::Endpoint;
use ts_rs::TS;

use super::{Settings, TokenSource, CHART_WINDOWS};

/// Longest flap hold, seconds (an hour).
pub const MAX_FLAP_HOLD_SECS: u32 = 3600;
/// Longest repeat interval, minutes (a day).
pub const MAX_REPEAT_MINS: u32 = 24 * 60;

/// One field that cannot be saved, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct FieldProblem {
    /// The field, e.g. `servers.0.url`.
    pub field: String,
    /// What is wrong and what to do, for the user.
    pub message: String,
}

impl FieldProblem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The problems of `settings`, empty when it can be saved. `previous`
/// (the settings in force) supplies fixed tokens left blank to be kept.
pub fn check(settings: &Settings, previous: &Settings) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    for (index, entry) in settings.servers.iter().enumerate() {
        let field = |name: &str| format!("servers.{index}.{name}");
        if let Some(message) = id_problem(&entry.id) {
            problems.push(FieldProblem::new(field("id"), message));
        } else if !ids.insert(entry.id.as_str()) {
            problems.push(FieldProblem::new(
                field("id"),
                format!(
                    "Two servers have the id {:?}; remove one of them.",
                    entry.id
                ),
            ));
        }
        if entry.temporary {
            // Given on the command line, kept as given.
            continue;
        }
        if entry.name.trim().is_empty() {
            problems.push(FieldProblem::new(field("name"), "Give this server a name."));
        }
        if let Err(e) = Endpoint::parse(entry.url.trim()) {
            problems.push(FieldProblem::new(field("url"), e.to_string()));
        }
        if let Some(path) = entry.ca_file.as_deref().filter(|p| !p.trim().is_empty()) {
            if !Path::new(path.trim()).is_absolute() {
                problems.push(FieldProblem::new(
                    field("caFile"),
                    format!(
                        "Use an absolute path for the CA file (starting with /), not {path:?}."
                    ),
                ));
            }
        }
        if let Some(message) = token_problem(entry, previous) {
            problems.push(FieldProblem::new(field("token"), message));
        }
    }
    if !CHART_WINDOWS.contains(&settings.chart_window_secs) {
        problems.push(FieldProblem::new(
            "chartWindowSecs",
            format!(
                "The chart window must be 60, 300, 900 or 3600 seconds, not {}.",
                settings.chart_window_secs
            ),
        ));
    }
    problems.extend(notification_problems(settings));
    problems
}

fn id_problem(id: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() {
        Some("This server has no id; remove it and add it again.".into())
    } else if id.len() > 64 || !id.chars().all(allowed) {
        Some(format!(
            "The server id {id:?} may hold only letters, digits, '-', '_' and '.' (64 at most)."
        ))
    } else {
        None
    }
}

fn token_problem(entry: &super::ServerEntry, previous: &Settings) -> Option<String> {
    match &entry.token {
        TokenSource::None => None,
        TokenSource::Fixed { value, .. } => {
            let pasted = value.as_deref().is_some_and(|v| !v.trim().is_empty());
            let kept = previous.servers.iter().any(|p| {
                p.id == entry.id && !p.temporary && matches!(p.token, TokenSource::Fixed { .. })
            });
            (!pasted && !kept).then(|| {
                format!(
                    "Paste the token for {:?}, or choose another token source.",
                    entry.name.trim()
                )
            })
        }
        TokenSource::File { path } if path.trim().is_empty() => {
            Some("Give the path of the token file.".into())
        }
        TokenSource::File { path } if !Path::new(path.trim()).is_absolute() => Some(format!(
            "Use an absolute path for the token file (starting with /), not {path:?}."
        )),
        TokenSource::File { .. } => None,
        TokenSource::Command { command } if command.trim().is_empty() => {
            Some("Give the command that prints the token.".into())
        }
        TokenSource::Command { .. } => None,
    }
}

fn notification_problems(settings: &Settings) -> Vec<FieldProblem> {
    let prefs = &settings.notifications;
    let mut problems = Vec::new();
    if prefs.flap_hold_secs > MAX_FLAP_HOLD_SECS {
        problems.push(FieldProblem::new(
            "notifications.flapHoldSecs",
            format!(
                "The flap hold is at most {MAX_FLAP_HOLD_SECS} seconds, not {}.",
                prefs.flap_hold_secs
            ),
        ));
    }
    if let Some(mins) = prefs.repeat_mins {
        if mins == 0 || mins > MAX_REPEAT_MINS {
            problems.push(FieldProblem::new(
                "notifications.repeatMins",
                format!("Repeat every 1 to {MAX_REPEAT_MINS} minutes, or turn repeating off."),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ServerEntry, TokenStore};

    fn server(id: &str, url: &str, token: TokenSource) -> ServerEntry {
        ServerEntry {
            id: id.into(),
            name: format!("hub {id}"),
            url: url.into(),
            token,
            enabled: true,
            ca_file: None,
            temporary: false,
        }
    }

    const URL: &str = "ws://127.0.0.1:8000/connection/websocket";

    fn fields(problems: &[FieldProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults_pass() {
        assert!(check(&Settings::default(), &Settings::default()).is_empty());
    }

    #[test]
    fn each_bad_field_is_named_with_what_to_do() {
        let mut bad = server("a", "localhost:8000", TokenSource::None);
        bad.name = "  ".into();
        let settings = Settings {
            servers: vec![
                bad,
                server(
                    "b",
                    URL,
                    TokenSource::File {
                        path: "token".into(),
                    },
                ),
                server(
                    "b",
                    URL,
                    TokenSource::Command {
                        command: " ".into(),
                    },
                ),
                server("d/e", URL, TokenSource::None),
            ],
            chart_window_secs: 120,
            ..Settings::default()
        };
        let problems = check(&settings, &Settings::default());
        assert_eq!(
            fields(&problems),
            [
                "servers.0.name",
                "servers.0.url",
                "servers.1.token",
                "servers.2.id",
                "servers.2.token",
                "servers.3.id",
                "chartWindowSecs"
            ]
        );
        let message = |field: &str| {
            problems
                .iter()
                .find(|p| p.field == field)
                .map(|p| p.message.clone())
                .unwrap()
        };
        assert_eq!(message("servers.0.name"), "Give this server a name.");
        assert!(
            message("servers.0.url").contains("ws://HOST:PORT/connection/websocket"),
            "{}",
            message("servers.0.url")
        );
        assert!(message("servers.1.token").contains("absolute path"));
        assert!(message("servers.2.id").contains("Two servers have the id \"b\""));
        assert!(message("chartWindowSecs").contains("60, 300, 900 or 3600"));
    }

    #[test]
    fn a_blank_fixed_token_is_kept_only_when_there_is_one() {
        let blank = TokenSource::Fixed {
            value: None,
            stored: None,
        };
        let settings = Settings {
            servers: vec![server("a", URL, blank)],
            ..Settings::default()
        };
        let problems = check(&settings, &Settings::default());
        assert_eq!(fields(&problems), ["servers.0.token"]);
        assert!(problems[0]
            .message
            .starts_with("Paste the token for \"hub a\""));
        let previous = Settings {
            servers: vec![server(
                "a",
                URL,
                TokenSource::Fixed {
                    value: None,
                    stored: Some(TokenStore::Keyring),
                },
            )],
            ..Settings::default()
        };
        assert!(check(&settings, &previous).is_empty());
    }

    #[test]
    fn notification_bounds() {
        let mut settings = Settings::default();
        settings.notifications.repeat_mins = Some(0);
        settings.notifications.flap_hold_secs = 7200;
        assert_eq!(
            fields(&check(&settings, &Settings::default())),
            ["notifications.flapHoldSecs", "notifications.repeatMins"]
        );
    }
}
