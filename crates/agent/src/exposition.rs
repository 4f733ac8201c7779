//! The Prometheus text exposition format (version 0.0.4), what exporters
//! such as node_exporter serve on `/metrics`.
//!
//! Written here rather than taken from a crate: `prometheus-parse` splits
//! labels on `,` and `=` (a label value holding either, or an escaped `"`,
//! comes out wrong) and `openmetrics-parser` is LGPL. This parser follows
//! the format's grammar: `# TYPE` lines give a family's type, other
//! comments are skipped, a sample is `name{label="value",...} value
//! [timestamp]` with `\\`, `\"` and `\n` escapes in label values.

use std::collections::{BTreeMap, HashMap};

/// What a series counts, from its family's `# TYPE` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (until the exporter restarts): read as a rate.
    Counter,
    /// A value as it is now.
    Gauge,
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Metric name, e.g. `node_cpu_seconds_total`.
    pub name: String,
    /// Labels, by name.
    pub labels: BTreeMap<String, String>,
    /// The value (may be NaN or ±Inf, as the format allows).
    pub value: f64,
    /// Counter or gauge.
    pub kind: Kind,
}

/// A line that does not follow the format.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

/// Parses a whole exposition. The kind of a series is its family's
/// `# TYPE`: `counter` is a counter, and so are the `_bucket`, `_sum` and
/// `_count` series of a histogram or summary (cumulative); an untyped
/// series is a counter when its name ends in `_total` (the naming rule),
/// a gauge otherwise.
pub fn parse(text: &str) -> Result<Vec<Series>, ParseError> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fail = |why: &str| ParseError {
            line: n + 1,
            why: why.to_owned(),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.split_whitespace();
            if words.next() == Some("TYPE") {
                let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                    return Err(fail("# TYPE needs a metric name and a type"));
                };
                types.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        let (name, labels, rest) = sample_line(line).map_err(|why| fail(&why))?;
        let value = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| fail("no value after the metric"))?;
        let value = parse_value(value).ok_or_else(|| fail(&format!("bad value {value:?}")))?;
        let kind = kind_of(&name, &types);
        out.push(Series {
            name,
            labels,
            value,
            kind,
        });
    }
    Ok(out)
}

fn kind_of(name: &str, types: &HashMap<String, String>) -> Kind {
    if let Some(kind) = types.get(name) {
        return if kind == "counter" {
            Kind::Counter
        } else {
            Kind::Gauge
        };
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if matches!(
                types.get(base).map(String::as_str),
                Some("histogram" | "summary")
            ) {
                return Kind::Counter;
            }
        }
    }
    if !types.contains_key(name) && name.ends_with("_total") {
        Kind::Counter
    } else {
        Kind::Gauge
    }
}

fn parse_value(word: &str) -> Option<f64> {
    match word {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => word.parse().ok(),
    }
}

type Line = (String, BTreeMap<String, String>, String);

/// Splits `name{labels} rest` into its parts, unescaping label values.
fn sample_line(line: &str) -> Result<Line, String> {
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let name = &line[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("bad metric name in {line:?}"));
    }
    let mut rest = line[end..].trim_start();
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            match chars.peek() {
                Some((i, '}')) => {
                    rest = &inner[i + 1..];
                    break;
                }
                None => return Err("labels are not closed with '}'".into()),
                _ => {}
            }
            let mut label = String::new();
            while let Some((_, c)) = chars.next_if(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
            {
                label.push(c);
            }
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            if label.is_empty() || chars.next().map(|(_, c)| c) != Some('=') {
                return Err(format!("bad label in {line:?}"));
            }
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label {label} has no quoted value"));
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    None => return Err(format!("label {label}'s value is not closed")),
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        other => {
                            return Err(format!("label {label}: bad escape \\{other:?}"));
                        }
                    },
                    Some(c) => value.push(c),
                }
            }
            labels.insert(label, value);
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            // A comma between labels, and optionally after the last one.
            let _ = chars.next_if(|(_, c)| *c == ',');
        }
    }
    Ok((name.to_owned(), labels, rest.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_labels_escapes_and_special_values() {
        let text = r#"
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",path="/a,b=c",note="say \"hi\"\\n\n"} 1027 1395066363000
# TYPE temp gauge
temp{ chip = "x" , } +Inf
untyped_total 3
untyped 4
# TYPE rpc summary
rpc_sum 5
rpc{quantile="0.5"} NaN
"#;
        let series = parse(text).unwrap();
        assert_eq!(series.len(), 6);
        let first = &series[0];
        assert_eq!(first.kind, Kind::Counter);
        assert_eq!(first.value, 1027.0);
        assert_eq!(first.labels["path"], "/a,b=c");
        assert_eq!(first.labels["note"], "say \"hi\"\\n\n");
        assert_eq!(series[1].labels["chip"], "x");
        assert!(series[1].value.is_infinite());
        assert_eq!(series[1].kind, Kind::Gauge);
        assert_eq!(series[2].kind, Kind::Counter);
        assert_eq!(series[3].kind, Kind::Gauge);
        assert_eq!(series[4].kind, Kind::Counter);
        assert!(series[5].value.is_nan());
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line) in [
            ("ok 1\nbad{a=\"x} 1\n", 2),
            ("x{a=1} 2", 1),
            ("x 1\n\nx abc", 3),
            ("{a=\"b\"} 1", 1),
            ("x", 1),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
        }
    }

    #[test]
    fn reads_real_node_exporter_output() {
        let text = include_str!("../tests/fixtures/node_exporter.txt");
        let series = parse(text).unwrap();
        let load = series.iter().find(|s| s.name == "node_load1").unwrap();
        assert_eq!(load.kind, Kind::Gauge);
        let cpu = series
            .iter()
            .find(|s| s.name == "node_cpu_seconds_total")
            .unwrap();
        assert_eq!(cpu.kind, Kind::Counter);
        assert!(cpu.labels.contains_key("mode"));
    }
}
