//! Alarm rules as data, and the engine that evaluates them for every source.
//!
//! A rule is a `[[rule]]` table of the config file: a metric (exact or glob),
//! the sources it applies to (glob), a comparison with a threshold, an
//! optional `clear` value (hysteresis), how long the condition must hold
//! (`for`), a severity, and title/message templates. [`RuleSet::compile`]
//! checks every rule once, at start or reload, so evaluation never fails.
//!
//! [`RuleEngine`] is fed every sample published on `metrics:*` (by
//! [`crate::Node::publish`]) and returns the alarm transitions to publish:
//! one per change, never one per sample.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use telltale_protocol::payload::now_ms;
use telltale_protocol::{Alarm, AlarmState, Severity};
use tokio::time::Instant;

use crate::config::ConfigError;

/// One alarm rule, as written in the config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name; the alarm id is `<source>/<name>` (plus `/<metric>` when
    /// `metric` is a glob, so that two matching metrics are two alarms).
    pub name: String,
    /// Metric watched: an exact name or a glob such as `disk.*.used_percent`.
    pub metric: String,
    /// Sources the rule applies to, a glob (default `*`: every source).
    #[serde(default = "every_source")]
    pub sources: String,
    /// Comparison: `>`, `>=`, `<` or `<=`.
    pub op: String,
    /// The value compared with.
    pub threshold: f64,
    /// A firing alarm resolves only once the value no longer satisfies
    /// `op clear` (default: `threshold`). For `>` rules it is at most the
    /// threshold, for `<` rules at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
    /// How long the condition must hold before the alarm fires (default 0s).
    #[serde(rename = "for", default, with = "humantime_serde")]
    pub hold: Duration,
    /// Severity of the alarm.
    pub severity: Severity,
    /// Alarm title template.
    pub title: String,
    /// Alarm message template (default: `{metric} is {value} (threshold
    /// {threshold})`).
    #[serde(default = "default_message")]
    pub message: String,
    /// Extra labels put on the alarm (besides `rule` and `metric`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

fn every_source() -> String {
    "*".into()
}

fn default_message() -> String {
    "{metric} is {value} (threshold {threshold})".into()
}

/// The rules a hub has without a config file: CPU above 90% for 10 s,
/// memory above 90%, disk above 90%. Each resolves below 85%, so a value
/// hovering at the threshold does not flap.
pub fn default_rules() -> Vec<Rule> {
    let rule = |name: &str, metric: &str, hold, severity, title: &str| Rule {
        name: name.into(),
        metric: metric.into(),
        sources: every_source(),
        op: ">".into(),
        threshold: 90.0,
        clear: Some(85.0),
        hold: Duration::from_secs(hold),
        severity,
        title: title.into(),
        message: default_message(),
        labels: BTreeMap::new(),
    };
    vec![
        rule(
            "cpu.high",
            "cpu.total",
            10,
            Severity::Warning,
            "CPU above 90%",
        ),
        rule(
            "memory.high",
            "mem.used_percent",
            0,
            Severity::Warning,
            "Memory above 90%",
        ),
        rule(
            "disk.high",
            "disk.used_percent",
            0,
            Severity::Critical,
            "Disk above 90%",
        ),
    ]
}

/// A `[[rule]]` table that does not even parse (unknown field, wrong type,
/// bad severity or duration), counted from 1 like [`RuleSet::compile`]
/// does: `rule 2: severity: unknown variant ...`. `None` for other errors.
pub fn file_error(error: &figment::Error) -> Option<String> {
    let mut path = error.path.iter().skip_while(|key| *key != "rule");
    path.next()?;
    let index: usize = path.next()?.parse().ok()?;
    let field: Vec<&str> = path.map(String::as_str).collect();
    Some(match field.is_empty() {
        true => format!("rule {}: {}", index + 1, error.kind),
        false => format!("rule {}: {}: {}", index + 1, field.join("."), error.kind),
    })
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(op: &str) -> Option<Self> {
        Some(match op {
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            _ => return None,
        })
    }

    fn holds(self, value: f64, against: f64) -> bool {
        match self {
            Op::Gt => value > against,
            Op::Ge => value >= against,
            Op::Lt => value < against,
            Op::Le => value <= against,
        }
    }

    /// Whether the alarm is raised by high values.
    fn upward(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Source,
    Metric,
    Value,
    Threshold,
    Label(String),
}

/// A title or message template, checked once.
#[derive(Debug, Clone, PartialEq)]
struct Template(Vec<Piece>);

impl Template {
    /// Parses `text`; `{{` and `}}` are literal braces.
    fn parse(text: &str, labels: &BTreeMap<String, String>) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                literal.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err("has a `}` without `{` (write `}}` for a brace)".into());
            }
            let end = tail
                .find('}')
                .ok_or("has a `{` without `}` (write `{{` for a brace)")?;
            let name = &tail[1..end];
            let piece = match name {
                "source" => Piece::Source,
                "metric" => Piece::Metric,
                "value" => Piece::Value,
                "threshold" => Piece::Threshold,
                _ => match name.strip_prefix("labels.") {
                    Some(label) if labels.contains_key(label) => Piece::Label(label.into()),
                    Some(label) => {
                        return Err(format!(
                            "uses {{labels.{label}}} but the rule has no label {label:?} \
                             (add it under labels)"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "unknown placeholder {{{name}}} (known: {{source}}, {{metric}}, \
                             {{value}}, {{threshold}}, {{labels.<name>}})"
                        ))
                    }
                },
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(piece);
            rest = &tail[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self(pieces))
    }

    fn render(&self, rule: &Compiled, source: &str, metric: &str, value: f64) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Source => out.push_str(source),
                Piece::Metric => out.push_str(metric),
                Piece::Value => out.push_str(&number(value)),
                Piece::Threshold => out.push_str(&number(rule.rule.threshold)),
                Piece::Label(name) => out.push_str(&rule.rule.labels[name]),
            }
        }
        out
    }
}

/// A value as people read it: at most two decimals, no trailing zeros.
fn number(value: f64) -> String {
    ((value * 100.0).round() / 100.0).to_string()
}

/// A rule checked and ready to evaluate.
#[derive(Debug)]
struct Compiled {
    rule: Rule,
    /// `None` when `rule.metric` is an exact name (looked up, not scanned).
    metric_glob: Option<glob::Pattern>,
    sources: glob::Pattern,
    op: Op,
    clear: f64,
    title: Template,
    message: Template,
}

impl Compiled {
    /// Whether this rule watches `metric` of `source`.
    fn applies(&self, source: &str, metric: &str) -> bool {
        self.sources.matches(source)
            && match &self.metric_glob {
                Some(glob) => glob.matches(metric),
                None => self.rule.metric == metric,
            }
    }
}

/// A checked list of rules.
#[derive(Debug, Default, Clone)]
pub struct RuleSet(Arc<Vec<Compiled>>);

impl RuleSet {
    /// Checks every rule; the error names the rule (1-based position and
    /// name) and the field to fix.
    pub fn compile(rules: &[Rule]) -> Result<Self, ConfigError> {
        let mut compiled = Vec::with_capacity(rules.len());
        for (i, rule) in rules.iter().enumerate() {
            let bad = |field: &str, why: String| {
                ConfigError(format!("rule {} {:?}: {field} {why}", i + 1, rule.name))
            };
            if rule.name.trim().is_empty() {
                return Err(bad("name", "must not be empty".into()));
            }
            // `<source>/silent` is the silent-source alarm's id.
            if rule.name == "silent" {
                return Err(bad(
                    "name",
                    "\"silent\" is reserved for the silent-source alarm; choose another".into(),
                ));
            }
            if let Some(first) = rules[..i].iter().position(|r| r.name == rule.name) {
                return Err(bad(
                    "name",
                    format!(
                        "is already the name of rule {}; names must be unique",
                        first + 1
                    ),
                ));
            }
            let pattern = |field: &str, text: &str| {
                glob::Pattern::new(text)
                    .map_err(|e| bad(field, format!("{text:?} is not a valid glob pattern: {e}")))
            };
            let is_glob = rule.metric.contains(['*', '?', '[']);
            let metric_glob = is_glob
                .then(|| pattern("metric", &rule.metric))
                .transpose()?;
            if rule.metric.is_empty() {
                return Err(bad("metric", "must not be empty".into()));
            }
            let sources = pattern("sources", &rule.sources)?;
            let op = Op::parse(&rule.op)
                .ok_or_else(|| bad("op", "must be one of >, >=, <, <=".into()))?;
            if !rule.threshold.is_finite() {
                return Err(bad("threshold", "must be a finite number".into()));
            }
            let clear = rule.clear.unwrap_or(rule.threshold);
            if !clear.is_finite() {
                return Err(bad("clear", "must be a finite number".into()));
            }
            if op.upward() && clear > rule.threshold {
                return Err(bad(
                    "clear",
                    format!(
                        "must be at most threshold ({}) for a `{}` rule: the alarm resolves when the value falls back to clear",
                        number(rule.threshold),
                        rule.op
                    ),
                ));
            }
            if !op.upward() && clear < rule.threshold {
                return Err(bad(
                    "clear",
                    format!(
                        "must be at least threshold ({}) for a `{}` rule: the alarm resolves when the value rises back to clear",
                        number(rule.threshold),
                        rule.op
                    ),
                ));
            }
            let title =
                Template::parse(&rule.title, &rule.labels).map_err(|why| bad("title", why))?;
            let message =
                Template::parse(&rule.message, &rule.labels).map_err(|why| bad("message", why))?;
            compiled.push(Compiled {
                rule: rule.clone(),
                metric_glob,
                sources,
                op,
                clear,
                title,
                message,
            });
        }
        Ok(Self(Arc::new(compiled)))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn named(&self, name: &str) -> Option<&Compiled> {
        self.0.iter().find(|r| r.rule.name == name)
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where one (rule, source, metric) stands. An idle state (not pending,
/// not firing) is not stored.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct State {
    /// Since when the condition holds, while waiting out `for`.
    pending_since: Option<Instant>,
    firing: bool,
    /// The last value seen, for the alarm resolved when a reload drops
    /// the rule.
    value: f64,
}

impl State {
    /// Nothing to remember: neither pending nor firing.
    fn idle(&self) -> bool {
        self.pending_since.is_none() && !self.firing
    }
}

impl State {
    /// Feeds one value; returns the transition to publish, if any.
    fn step(&mut self, rule: &Compiled, value: f64, now: Instant) -> Option<AlarmState> {
        self.value = value;
        if rule.op.holds(value, rule.rule.threshold) {
            if !self.firing {
                let since = *self.pending_since.get_or_insert(now);
                if now.duration_since(since) >= rule.rule.hold {
                    self.pending_since = None;
                    self.firing = true;
                    return Some(AlarmState::Firing);
                }
            }
            return None;
        }
        // A dip below the threshold restarts `for`.
        self.pending_since = None;
        if self.firing && !rule.op.holds(value, rule.clear) {
            self.firing = false;
            return Some(AlarmState::Resolved);
        }
        None
    }
}

/// The states of one source.
#[derive(Default)]
struct SourceStates {
    /// By (rule name, metric name).
    states: HashMap<(String, String), State>,
    /// Last sample, by the hub's clock, to forget silent sources.
    seen: Option<Instant>,
}

struct Engine {
    rules: RuleSet,
    sources: HashMap<String, SourceStates>,
    /// Sources whose alarms raised by other nodes were taken over (see
    /// [`RuleEngine::adopt`]), with their last sample.
    adopted: HashMap<String, Instant>,
}

/// Evaluates the rules for every source and keeps their state.
///
/// State is kept only for (rule, source, metric) that are pending or
/// firing, and metrics are those the catalog accepted, so it is bounded by
/// rules × sources × `--max-metrics-per-source`; a source silent for
/// `--catalog-forget-after` is dropped with the catalog's sweep.
pub struct RuleEngine {
    inner: Mutex<Engine>,
}

impl RuleEngine {
    /// An engine with `rules` and no state.
    pub fn new(rules: RuleSet) -> Self {
        Self {
            inner: Mutex::new(Engine {
                rules,
                sources: HashMap::new(),
                adopted: HashMap::new(),
            }),
        }
    }

    /// Whether there is any rule to evaluate (saves parsing samples).
    pub fn is_empty(&self) -> bool {
        self.inner.lock().rules.is_empty()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.inner.lock().rules.len()
    }

    /// Swaps in new rules at once. State is kept for rules whose name is
    /// unchanged and that still apply to its source and metric (a firing
    /// alarm stays firing, a pending `for` keeps counting). Returns the
    /// alarms to publish: a `resolved` for each alarm that was firing under
    /// a rule now gone or changed, which no sample would resolve otherwise.
    pub fn replace(&self, rules: RuleSet) -> Vec<Alarm> {
        let mut engine = self.inner.lock();
        let old = std::mem::replace(&mut engine.rules, rules);
        let Engine { rules, sources, .. } = &mut *engine;
        let mut resolved = Vec::new();
        for (source, states) in sources.iter_mut() {
            states.states.retain(|(name, metric), state| {
                let before = old.named(name);
                let keeps = match (before, rules.named(name)) {
                    // The alarm id must stay the same too (glob or not).
                    (Some(before), Some(after)) => {
                        after.applies(source, metric)
                            && before.metric_glob.is_some() == after.metric_glob.is_some()
                    }
                    _ => false,
                };
                if let (false, true, Some(before)) = (keeps, state.firing, before) {
                    let mut alarm =
                        alarm(before, source, metric, state.value, AlarmState::Resolved);
                    alarm.message = format!("rule {name:?} was removed or changed by a reload");
                    resolved.push(alarm);
                }
                keeps
            });
        }
        sources.retain(|_, s| !s.states.is_empty());
        resolved
    }

    /// Evaluates one sample of `source` at `now`; returns the alarms to
    /// publish on `alarms`.
    pub fn observe(
        &self,
        source: &str,
        values: &BTreeMap<String, f64>,
        now: Instant,
    ) -> Vec<Alarm> {
        let mut engine = self.inner.lock();
        let Engine {
            rules,
            sources,
            adopted,
        } = &mut *engine;
        if let Some(seen) = adopted.get_mut(source) {
            *seen = now;
        }
        let mut alarms = Vec::new();
        let mut states = sources.remove(source).unwrap_or_default();
        for rule in rules.0.iter().filter(|r| r.sources.matches(source)) {
            let matched: Box<dyn Iterator<Item = (&String, &f64)>> = match &rule.metric_glob {
                Some(glob) => Box::new(values.iter().filter(|(m, _)| glob.matches(m))),
                None => Box::new(values.get_key_value(&rule.rule.metric).into_iter()),
            };
            for (metric, &value) in matched {
                if !value.is_finite() {
                    continue;
                }
                let key = (rule.rule.name.clone(), metric.clone());
                let mut state = states.states.get(&key).copied().unwrap_or_default();
                if let Some(transition) = state.step(rule, value, now) {
                    alarms.push(alarm(rule, source, metric, value, transition));
                }
                if state.idle() {
                    states.states.remove(&key);
                } else {
                    states.states.insert(key, state);
                }
            }
        }
        if !states.states.is_empty() {
            states.seen = Some(now);
            sources.insert(source.to_owned(), states);
        }
        alarms
    }

    /// Drops the state of sources that sent nothing for `age`, as the
    /// catalog forgets them.
    pub fn forget_idle(&self, age: Duration) {
        let now = Instant::now();
        let mut engine = self.inner.lock();
        engine
            .sources
            .retain(|_, s| s.seen.is_some_and(|seen| now.duration_since(seen) < age));
        engine
            .adopted
            .retain(|_, seen| now.duration_since(*seen) < age);
    }

    /// Forgets every state, as if no sample had been seen: the alarms they
    /// raised are gone (see [`crate::lease`]).
    pub fn reset(&self) {
        let mut engine = self.inner.lock();
        engine.sources.clear();
        engine.adopted.clear();
    }

    /// Forgets `source`'s states: another node evaluated its samples since,
    /// so they are taken over again from the shared alarms.
    pub fn forget(&self, source: &str) {
        let mut engine = self.inner.lock();
        engine.sources.remove(source);
        engine.adopted.remove(source);
    }

    /// Whether this engine already took over `source`'s alarms.
    pub fn knows(&self, source: &str) -> bool {
        self.inner.lock().adopted.contains_key(source)
    }

    /// Takes over the rule alarms of `source` that are active (raised by
    /// another node, whose samples came there): each is firing here too,
    /// so the next sample resolves it or keeps it, and never fires it
    /// again.
    pub fn adopt<'a>(&self, source: &str, active: impl Iterator<Item = &'a Alarm>, now: Instant) {
        let mut engine = self.inner.lock();
        let Engine {
            rules,
            sources,
            adopted,
        } = &mut *engine;
        adopted.insert(source.to_owned(), now);
        let states = sources.entry(source.to_owned()).or_default();
        for alarm in active.filter(|a| a.state != AlarmState::Resolved) {
            let (Some(name), Some(metric)) = (alarm.labels.get("rule"), alarm.labels.get("metric"))
            else {
                continue;
            };
            let Some(rule) = rules.named(name).filter(|r| r.applies(source, metric)) else {
                continue;
            };
            let key = (rule.rule.name.clone(), metric.clone());
            let state = states.states.entry(key).or_default();
            state.firing = true;
            state.pending_since = None;
            state.value = alarm.value.unwrap_or(rule.rule.threshold);
        }
        if states.states.is_empty() {
            sources.remove(source);
        } else {
            states.seen = Some(now);
        }
    }

    /// Number of (rule, source, metric) states held.
    pub fn states(&self) -> usize {
        self.inner
            .lock()
            .sources
            .values()
            .map(|s| s.states.len())
            .sum()
    }
}

fn alarm(rule: &Compiled, source: &str, metric: &str, value: f64, state: AlarmState) -> Alarm {
    let id = match rule.metric_glob {
        Some(_) => format!("{source}/{}/{metric}", rule.rule.name),
        None => format!("{source}/{}", rule.rule.name),
    };
    let message = match state {
        AlarmState::Resolved => format!("{metric} is back to {}", number(value)),
        _ => rule.message.render(rule, source, metric, value),
    };
    let mut labels = rule.rule.labels.clone();
    labels.insert("rule".into(), rule.rule.name.clone());
    labels.insert("metric".into(), metric.into());
    Alarm {
        id,
        source: source.into(),
        severity: rule.rule.severity,
        state,
        title: rule.title.render(rule, source, metric, value),
        message,
        ts: now_ms(),
        value: Some(value),
        labels,
        by: None,
        silenced_until: None,
        comment: None,
        links: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(toml_rule: &str) -> Rule {
        #[derive(Deserialize)]
        struct File {
            rule: Vec<Rule>,
        }
        let file: File = figment::Figment::from(
            <figment::providers::Toml as figment::providers::Format>::string(&format!(
                "[[rule]]\n{toml_rule}"
            )),
        )
        .extract()
        .unwrap();
        file.rule.into_iter().next().unwrap()
    }

    fn disk() -> Rule {
        rule(
            r#"name = "disk.full"
metric = "disk.*.used_percent"
sources = "web-*"
op = ">"
threshold = 80
clear = 70
severity = "critical"
title = "{source}: {metric} at {value}% (> {threshold}%)"
labels = { team = "ops" }
message = "team {labels.team}""#,
        )
    }

    fn engine(rules: Vec<Rule>) -> RuleEngine {
        RuleEngine::new(RuleSet::compile(&rules).unwrap())
    }

    fn sample(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn states(alarms: &[Alarm]) -> Vec<(&str, AlarmState)> {
        alarms.iter().map(|a| (a.id.as_str(), a.state)).collect()
    }

    #[test]
    fn globs_pick_metrics_and_sources() {
        let engine = engine(vec![disk()]);
        let now = Instant::now();
        let high = sample(&[
            ("disk.sda.used_percent", 90.0),
            ("disk.used_percent", 99.0),
            ("cpu.total", 99.0),
        ]);
        assert!(
            engine.observe("db-1", &high, now).is_empty(),
            "sources glob"
        );
        let alarms = engine.observe("web-1", &high, now);
        assert_eq!(
            states(&alarms),
            [("web-1/disk.full/disk.sda.used_percent", AlarmState::Firing)]
        );
        let alarm = &alarms[0];
        assert_eq!(alarm.title, "web-1: disk.sda.used_percent at 90% (> 80%)");
        assert_eq!(alarm.message, "team ops");
        assert_eq!(alarm.severity, Severity::Critical);
        assert_eq!(alarm.labels["rule"], "disk.full");
        assert_eq!(alarm.labels["metric"], "disk.sda.used_percent");
        assert_eq!(alarm.labels["team"], "ops");
    }

    #[test]
    fn one_transition_per_change_with_hysteresis() {
        let engine = engine(vec![disk()]);
        let now = Instant::now();
        let at = |v| engine.observe("web-1", &sample(&[("disk.a.used_percent", v)]), now);
        assert_eq!(at(85.0).len(), 1);
        assert!(at(95.0).is_empty(), "no duplicate");
        assert!(at(75.0).is_empty(), "between clear and threshold");
        assert!(at(85.0).is_empty(), "still firing");
        assert_eq!(at(65.0)[0].state, AlarmState::Resolved);
        assert!(at(65.0).is_empty());
        assert_eq!(engine.states(), 0, "nothing kept for quiet metrics");
    }

    #[test]
    fn every_op_compares_as_written() {
        for (op, fires, quiet) in [
            (">", 11.0, 10.0),
            (">=", 10.0, 9.0),
            ("<", 9.0, 10.0),
            ("<=", 10.0, 11.0),
        ] {
            let rule = rule(&format!(
                "name = \"r\"\nmetric = \"m\"\nop = \"{op}\"\nthreshold = 10\nseverity = \"info\"\ntitle = \"t\""
            ));
            let engine = engine(vec![rule]);
            let now = Instant::now();
            assert!(
                engine
                    .observe("s", &sample(&[("m", quiet)]), now)
                    .is_empty(),
                "{op}"
            );
            let alarms = engine.observe("s", &sample(&[("m", fires)]), now);
            assert_eq!(states(&alarms), [("s/r", AlarmState::Firing)], "{op}");
            let alarms = engine.observe("s", &sample(&[("m", quiet)]), now);
            assert_eq!(states(&alarms), [("s/r", AlarmState::Resolved)], "{op}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn for_waits_and_a_dip_restarts_it() {
        let engine = engine(default_rules());
        let cpu = |v| sample(&[("cpu.total", v)]);
        let observe = |v| engine.observe("h", &cpu(v), Instant::now());
        assert!(observe(95.0).is_empty());
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(observe(95.0).is_empty(), "9s < for");
        assert!(observe(50.0).is_empty(), "dip");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(observe(95.0).is_empty(), "restarted");
        tokio::time::advance(Duration::from_secs(10)).await;
        let alarms = observe(95.0);
        assert_eq!(states(&alarms), [("h/cpu.high", AlarmState::Firing)]);
        assert_eq!(alarms[0].title, "CPU above 90%");
        assert!(observe(88.0).is_empty(), "default clear is 85");
        assert_eq!(observe(80.0)[0].state, AlarmState::Resolved);
    }

    #[test]
    fn defaults_keep_the_collector_ids_and_severities() {
        let engine = engine(default_rules());
        let alarms = engine.observe(
            "h",
            &sample(&[("mem.used_percent", 95.0), ("disk.used_percent", 95.0)]),
            Instant::now(),
        );
        let got: Vec<_> = alarms.iter().map(|a| (a.id.as_str(), a.severity)).collect();
        assert_eq!(
            got,
            [
                ("h/memory.high", Severity::Warning),
                ("h/disk.high", Severity::Critical)
            ]
        );
    }

    #[test]
    fn reload_keeps_state_of_rules_that_keep_their_name() {
        let engine = engine(vec![disk()]);
        let now = Instant::now();
        let high = sample(&[("disk.a.used_percent", 90.0)]);
        assert_eq!(engine.observe("web-1", &high, now).len(), 1);
        let mut stricter = disk();
        stricter.threshold = 85.0;
        let resolved = engine.replace(RuleSet::compile(&[stricter]).unwrap());
        assert!(resolved.is_empty(), "{resolved:?}");
        assert!(
            engine.observe("web-1", &high, now).is_empty(),
            "still firing"
        );
        let mut renamed = disk();
        renamed.name = "disk.other".into();
        let resolved = engine.replace(RuleSet::compile(&[renamed]).unwrap());
        assert_eq!(
            states(&resolved),
            [("web-1/disk.full/disk.a.used_percent", AlarmState::Resolved)],
            "the old rule's alarm does not stay firing"
        );
        assert_eq!(resolved[0].value, Some(90.0));
        assert!(resolved[0].message.contains("reload"), "{resolved:?}");
        assert_eq!(engine.states(), 0);
        assert_eq!(
            engine.observe("web-1", &high, now).len(),
            1,
            "new rule fires"
        );
        let mut narrower = disk();
        narrower.name = "disk.other".into();
        narrower.sources = "db-*".into();
        let resolved = engine.replace(RuleSet::compile(&[narrower]).unwrap());
        assert_eq!(resolved.len(), 1, "no longer applies to web-1");
    }

    #[tokio::test(start_paused = true)]
    async fn silent_sources_are_dropped() {
        let engine = engine(vec![disk()]);
        let high = sample(&[("disk.a.used_percent", 90.0)]);
        engine.observe("web-1", &high, Instant::now());
        tokio::time::advance(Duration::from_secs(30)).await;
        engine.observe("web-2", &high, Instant::now());
        tokio::time::advance(Duration::from_secs(40)).await;
        engine.forget_idle(Duration::from_secs(60));
        assert_eq!(engine.states(), 1);
    }

    #[test]
    fn bad_rules_are_named_with_their_field() {
        let check = |edit: &dyn Fn(&mut Rule), expected: &str| {
            let mut rules = default_rules();
            edit(&mut rules[1]);
            let err = RuleSet::compile(&rules).unwrap_err().0;
            assert!(err.starts_with("rule 2 \"memory.high\": "), "{err}");
            assert!(err.contains(expected), "{err} should say {expected}");
        };
        check(&|r| r.op = "=>".into(), "op must be one of >, >=, <, <=");
        check(
            &|r| r.metric = "disk.[".into(),
            "metric \"disk.[\" is not a valid glob",
        );
        check(
            &|r| r.sources = "[a".into(),
            "sources \"[a\" is not a valid glob",
        );
        check(
            &|r| r.clear = Some(95.0),
            "clear must be at most threshold (90)",
        );
        check(
            &|r| {
                r.op = "<".into();
                r.clear = Some(10.0)
            },
            "clear must be at least threshold (90)",
        );
        check(
            &|r| r.title = "{host} high".into(),
            "title unknown placeholder {host}",
        );
        check(
            &|r| r.message = "{labels.team}".into(),
            "message uses {labels.team}",
        );
        check(&|r| r.title = "50% {".into(), "title has a `{` without `}`");
        check(
            &|r| r.threshold = f64::NAN,
            "threshold must be a finite number",
        );
        let mut reserved = default_rules();
        reserved[0].name = "silent".into();
        let err = RuleSet::compile(&reserved).unwrap_err().0;
        assert!(
            err.starts_with("rule 1 \"silent\": name \"silent\" is reserved"),
            "{err}"
        );
        let mut twice = default_rules();
        twice[2].name = "cpu.high".into();
        let err = RuleSet::compile(&twice).unwrap_err().0;
        assert_eq!(
            err,
            "rule 3 \"cpu.high\": name is already the name of rule 1; names must be unique"
        );
    }

    #[test]
    fn unparsable_tables_are_counted_from_one() {
        let file = "[[rule]]\nname = \"a\"\n\n[[rule]]\nname = \"b\"\nmetric = \"m\"\nop = \">\"\nthreshold = 1\nseverity = \"high\"\ntitle = \"t\"\n";
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct File {
            rule: Vec<Rule>,
        }
        let err = figment::Figment::from(
            <figment::providers::Toml as figment::providers::Format>::string(file),
        )
        .extract::<File>()
        .unwrap_err();
        let message = file_error(&err).unwrap();
        assert!(message.starts_with("rule 1: "), "{message}");
        let file = file.replacen("[[rule]]\nname = \"a\"\n", "", 1);
        let err = figment::Figment::from(
            <figment::providers::Toml as figment::providers::Format>::string(&file),
        )
        .extract::<File>()
        .unwrap_err();
        let message = file_error(&err).unwrap();
        assert!(
            message.starts_with("rule 1: severity: unknown variant"),
            "{message}"
        );
    }

    #[test]
    fn templates_escape_braces() {
        let t = Template::parse("{{x}} {value}", &BTreeMap::new()).unwrap();
        assert_eq!(t.0, [Piece::Text("{x} ".into()), Piece::Value],);
    }
}
