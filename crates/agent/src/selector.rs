//! Which scraped series to keep: `name_glob` or
//! `name_glob{label="value",label!="value"}`.
//!
//! The glob matches the whole metric name, `*` standing for any run of
//! characters and `?` for one. Each label condition must hold: `=` the
//! label has that value (a missing label is the empty value, as in
//! PromQL), `!=` it does not. Deliberately smaller than PromQL: no regular
//! expressions, so a selector is easy to read in a config file.

use std::collections::BTreeMap;

/// One parsed entry of a `[[scrape]]` table's `metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    glob: String,
    conditions: Vec<(String, bool, String)>,
}

impl Selector {
    /// Parses `name_glob` or `name_glob{label="v",label!="v"}`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (glob, rest) = match text.find('{') {
            Some(i) => (&text[..i], Some(&text[i + 1..])),
            None => (text, None),
        };
        let glob = glob.trim();
        if glob.is_empty()
            || !glob
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '*' | '?'))
        {
            return Err(format!(
                "{text:?}: the name must be letters, digits, '_', ':' and the wildcards '*' and '?'"
            ));
        }
        let mut conditions = Vec::new();
        if let Some(rest) = rest {
            let inner = rest.strip_suffix('}').ok_or_else(|| {
                format!("{text:?}: label conditions end with '}}', e.g. name{{mode!=\"idle\"}}")
            })?;
            for part in split_conditions(inner) {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let (label, equal, value) = if let Some((l, v)) = part.split_once("!=") {
                    (l, false, v)
                } else if let Some((l, v)) = part.split_once('=') {
                    (l, true, v)
                } else {
                    return Err(format!(
                        "{text:?}: {part:?} must be label=\"value\" or label!=\"value\""
                    ));
                };
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|_| value.len() >= 2)
                    .ok_or_else(|| format!("{text:?}: the value in {part:?} must be quoted"))?;
                let label = label.trim();
                if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!("{text:?}: bad label name {label:?}"));
                }
                conditions.push((label.to_owned(), equal, value.replace("\\\"", "\"")));
            }
        }
        Ok(Self {
            glob: glob.to_owned(),
            conditions,
        })
    }

    /// Whether a series with this name and these labels is selected.
    pub fn matches(&self, name: &str, labels: &BTreeMap<String, String>) -> bool {
        glob(self.glob.as_bytes(), name.as_bytes())
            && self.conditions.iter().all(|(label, equal, value)| {
                let actual = labels.get(label).map(String::as_str).unwrap_or("");
                (actual == value) == *equal
            })
    }
}

/// Splits on commas outside quotes (a value may hold a comma).
fn split_conditions(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

/// `*` any run, `?` one character; the whole text must match.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it now covers up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn globs_match_whole_names() {
        let s = Selector::parse("node_memory_*").unwrap();
        assert!(s.matches("node_memory_MemTotal_bytes", &labels(&[])));
        assert!(!s.matches("xnode_memory_MemTotal_bytes", &labels(&[])));
        let s = Selector::parse("node_load?").unwrap();
        assert!(s.matches("node_load1", &labels(&[])));
        assert!(!s.matches("node_load15", &labels(&[])));
        assert!(Selector::parse("*_total")
            .unwrap()
            .matches("a_b_total", &labels(&[])));
        assert!(!Selector::parse("*_total")
            .unwrap()
            .matches("a_totals", &labels(&[])));
        assert!(Selector::parse("a*b*c")
            .unwrap()
            .matches("axxbyybc", &labels(&[])));
    }

    #[test]
    fn label_conditions() {
        let s = Selector::parse(r#"node_cpu_seconds_total{mode!="idle", cpu="0"}"#).unwrap();
        let name = "node_cpu_seconds_total";
        assert!(s.matches(name, &labels(&[("cpu", "0"), ("mode", "user")])));
        assert!(!s.matches(name, &labels(&[("cpu", "0"), ("mode", "idle")])));
        assert!(!s.matches(name, &labels(&[("cpu", "1"), ("mode", "user")])));
        let s = Selector::parse(r#"x{mountpoint="/a,b"}"#).unwrap();
        assert!(s.matches("x", &labels(&[("mountpoint", "/a,b")])));
        let s = Selector::parse(r#"x{device=""}"#).unwrap();
        assert!(s.matches("x", &labels(&[])));
    }

    #[test]
    fn mistakes_are_explained() {
        for bad in [
            "",
            "node load",
            "x{a=\"b\"",
            "x{a}",
            "x{a=b}",
            "x{=\"b\"}",
            "x{a~\"b\"}",
        ] {
            assert!(Selector::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
