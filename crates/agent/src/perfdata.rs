//! Nagios plugin performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`,
//! space separated, after the first `|` of a plugin's output (and after a
//! `|` on later lines, for plugins that print long output).
//!
//! Parsing is lenient, as monitoring systems are with real plugins: an item
//! that does not parse is skipped, never the whole check.

/// One performance value.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfValue {
    /// The label as the plugin wrote it (quotes removed).
    pub label: String,
    /// The value.
    pub value: f64,
    /// Unit of measure: `""`, `s`, `ms`, `us`, `%`, `B`, `KB`, `MB`, `TB`, `c`...
    pub uom: String,
    /// Warning threshold, as written (a Nagios range such as `10:` or `@5:8`).
    pub warn: Option<String>,
    /// Critical threshold, as written.
    pub crit: Option<String>,
    /// Smallest possible value.
    pub min: Option<f64>,
    /// Largest possible value.
    pub max: Option<f64>,
}

impl PerfValue {
    /// The label as a metric name part: ASCII letters, digits, `_`, `-` and
    /// `.` kept, anything else becomes `_`; a path label keeps its path
    /// (`/var` → `var`, `/` → `root`).
    pub fn metric_label(&self) -> String {
        let trimmed = self.label.trim_start_matches('/');
        if trimmed.is_empty() {
            return "root".into();
        }
        trimmed
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '.' => c,
                _ => '_',
            })
            .collect()
    }
}

/// The performance data of a plugin's whole output.
pub fn of_output(output: &str) -> Vec<PerfValue> {
    output
        .lines()
        .filter_map(|line| line.split_once('|').map(|(_, perf)| perf))
        .flat_map(parse)
        .collect()
}

/// Parses one performance data string.
pub fn parse(text: &str) -> Vec<PerfValue> {
    items(text).iter().filter_map(|item| value(item)).collect()
}

/// Splits on whitespace outside single quotes (labels may hold spaces).
fn items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    items.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items
}

fn value(item: &str) -> Option<PerfValue> {
    let (label, rest) = item.rsplit_once('=')?;
    let label = label.trim_matches('\'').replace("''", "'");
    if label.is_empty() {
        return None;
    }
    let mut fields = rest.split(';');
    let (value, uom) = split_uom(fields.next()?)?;
    let text = |f: Option<&str>| {
        f.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let number = |f: Option<&str>| f.map(str::trim).and_then(|s| s.parse::<f64>().ok());
    Some(PerfValue {
        label,
        value,
        uom,
        warn: text(fields.next()),
        crit: text(fields.next()),
        min: number(fields.next()),
        max: number(fields.next()),
    })
}

/// `12.5ms` → (12.5, "ms"); `U` (unknown) and non-finite values are no value.
fn split_uom(text: &str) -> Option<(f64, String)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(text.len());
    // `e` could start a unit ("5events"): back off until the number parses.
    (1..=end).rev().find_map(|cut| {
        let value: f64 = text[..cut].parse().ok()?;
        value
            .is_finite()
            .then(|| (value, text[cut..].trim().to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_load_output() {
        let out = "LOAD OK - total load average: 0.19, 0.67, 1.05|load1=0.190;5.000;10.000;0; load5=0.670;4.000;8.000;0; load15=1.050;3.000;6.000;0; ";
        let values = of_output(out);
        assert_eq!(values.len(), 3);
        assert_eq!(values[0].label, "load1");
        assert_eq!(values[0].value, 0.19);
        assert_eq!(values[0].warn.as_deref(), Some("5.000"));
        assert_eq!(values[0].crit.as_deref(), Some("10.000"));
        assert_eq!(values[0].min, Some(0.0));
        assert_eq!(values[0].max, None);
    }

    #[test]
    fn units_quotes_and_paths() {
        let values = parse("'/var log'=40671117312B;216;243;0;270552530944 time=12.5ms 'it''s'=3%");
        assert_eq!(values[0].label, "/var log");
        assert_eq!(
            (values[0].value, values[0].uom.as_str()),
            (40671117312.0, "B")
        );
        assert_eq!(values[0].max, Some(270552530944.0));
        assert_eq!(values[0].metric_label(), "var_log");
        assert_eq!((values[1].value, values[1].uom.as_str()), (12.5, "ms"));
        assert_eq!(values[2].label, "it's");
        let root = parse("/=5B");
        assert_eq!(root[0].metric_label(), "root");
    }

    #[test]
    fn garbage_is_skipped_not_fatal() {
        let values = parse("junk =1 x=U y=abc z= ok=1e3 events=5events");
        let got: Vec<_> = values.iter().map(|v| (v.label.as_str(), v.value)).collect();
        assert_eq!(got, [("ok", 1000.0), ("events", 5.0)]);
        assert!(of_output("no perfdata here\nsecond line").is_empty());
        assert_eq!(of_output("OK\nlong text | later=2").len(), 1);
    }
}
