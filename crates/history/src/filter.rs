//! Which transitions a query or an export selects, and the SQL for it.

use rusqlite::types::Value;
use serde::{Deserialize, Serialize};
use telltale_protocol::Severity;

use crate::schema::FOLD_FUNCTION;
use crate::transition::severity_name;

/// Rows a query returns when the filter gives no limit.
pub const DEFAULT_LIMIT: u32 = 1000;

/// The most rows a query returns, whatever the filter asks (the export has
/// no limit).
pub const MAX_LIMIT: u32 = 10_000;

/// A selection of transitions. Every field is optional: the default selects
/// everything kept.
// `ts(optional)`: the UI sends only the fields it sets (`default` fills in
// the rest), so TypeScript gets `field?: T` (`as = "Option<_>"` for the
// list: ts-rs allows `optional` only on an `Option`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryFilter {
    /// Severities kept; empty keeps every severity.
    #[cfg_attr(feature = "ts", ts(as = "Option<_>", optional))]
    pub severities: Vec<Severity>,
    /// Part of the source name, case-insensitive (as in the alarm panel);
    /// blank keeps every source.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub source: Option<String>,
    /// The server's id, exactly; none keeps every server.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub server_id: Option<String>,
    /// Words found, case-insensitive, in the id, title, message or labels.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub text: Option<String>,
    /// Transitions at or after this time (unix ms).
    #[cfg_attr(feature = "ts", ts(optional))]
    pub from: Option<i64>,
    /// Transitions before this time (unix ms).
    #[cfg_attr(feature = "ts", ts(optional))]
    pub to: Option<i64>,
    /// Rows a query returns, newest first: [`DEFAULT_LIMIT`] when none, at
    /// most [`MAX_LIMIT`]. The export ignores it.
    #[cfg_attr(feature = "ts", ts(optional))]
    pub limit: Option<u32>,
}

impl HistoryFilter {
    /// The rows a query returns.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT)
    }

    /// `WHERE …` (or nothing) and its parameters, in order.
    pub fn to_sql(&self) -> (String, Vec<Value>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if !self.severities.is_empty() {
            let mut names: Vec<&str> = self.severities.iter().map(|s| severity_name(*s)).collect();
            names.sort_unstable();
            names.dedup();
            // Severities are a closed set of names: literals, not parameters.
            let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>();
            clauses.push(format!("severity IN ({})", list.join(", ")));
        }
        let mut push = |clause: &str, value: Value| {
            params.push(value);
            clauses.push(clause.replace('?', &format!("?{}", params.len())));
        };
        if let Some(source) = folded(&self.source) {
            push(
                &format!("instr({FOLD_FUNCTION}(source), ?) > 0"),
                Value::Text(source),
            );
        }
        if let Some(server) = self.server_id.as_ref().filter(|s| !s.is_empty()) {
            push("server_id = ?", Value::Text(server.clone()));
        }
        if let Some(text) = folded(&self.text) {
            let haystack =
                "alarm_id || char(10) || title || char(10) || message || char(10) || labels";
            push(
                &format!("instr({FOLD_FUNCTION}({haystack}), ?) > 0"),
                Value::Text(text),
            );
        }
        if let Some(from) = self.from {
            push("ts >= ?", Value::Integer(from));
        }
        if let Some(to) = self.to {
            push("ts < ?", Value::Integer(to));
        }
        if clauses.is_empty() {
            (String::new(), params)
        } else {
            (format!("WHERE {}", clauses.join(" AND ")), params)
        }
    }
}

/// The trimmed, case-folded text, or none when blank.
fn folded(text: &Option<String>) -> Option<String> {
    let text = text.as_deref()?.trim();
    (!text.is_empty()).then(|| text.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_filter_selects_everything() {
        let (clause, params) = HistoryFilter::default().to_sql();
        assert_eq!(clause, "");
        assert!(params.is_empty());
        assert_eq!(HistoryFilter::default().effective_limit(), DEFAULT_LIMIT);
    }

    #[test]
    fn parameters_are_numbered_in_order_and_blank_texts_ignored() {
        let filter = HistoryFilter {
            severities: vec![Severity::Warning, Severity::Critical, Severity::Warning],
            source: Some("  ".into()),
            server_id: Some("s1".into()),
            text: Some(" Disk ".into()),
            to: Some(5),
            limit: Some(1_000_000),
            ..HistoryFilter::default()
        };
        let (clause, params) = filter.to_sql();
        assert_eq!(
            clause,
            "WHERE severity IN ('critical', 'warning') AND server_id = ?1 AND \
             instr(telltale_fold(alarm_id || char(10) || title || char(10) || message || char(10) || labels), ?2) > 0 \
             AND ts < ?3"
        );
        assert_eq!(
            params,
            vec![
                Value::Text("s1".into()),
                Value::Text("disk".into()),
                Value::Integer(5)
            ]
        );
        assert_eq!(filter.effective_limit(), MAX_LIMIT);
    }

    #[test]
    fn the_filter_reads_the_ui_json() {
        let json = r#"{"severities":["critical"],"serverId":"a","from":1,"limit":50}"#;
        let filter: HistoryFilter = serde_json::from_str(json).unwrap();
        assert_eq!(filter.severities, vec![Severity::Critical]);
        assert_eq!(filter.server_id.as_deref(), Some("a"));
        assert_eq!(filter.from, Some(1));
        assert_eq!(filter.limit, Some(50));
    }
}
