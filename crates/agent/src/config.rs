//! Agent settings: defaults, an optional TOML file, then flags and
//! environment (later wins), checked once at start with messages that name
//! the flag or the check to fix.

use std::path::PathBuf;
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::check::CheckSpec;
use crate::scrape::ScrapeSpec;

/// Everything an agent needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The hub's HTTP address, e.g. `http://hub.example:8000`.
    pub hub: String,
    /// API key: one of the hub's `--publish-key`s (or its `--api-key`).
    pub key: Option<String>,
    /// Source name: samples go to `metrics:<source>`, alarms are
    /// `<source>/<check>` (default: the hostname).
    pub source: String,
    /// How often this host's metrics are sampled.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How much to keep while the hub is unreachable (samples older than
    /// this are dropped, oldest first; alarm transitions never).
    #[serde(with = "humantime_serde")]
    pub buffer: Duration,
    /// Nagios-plugin compatible checks (`[[check]]` tables).
    #[serde(rename = "check")]
    pub checks: Vec<CheckSpec>,
    /// Prometheus exporters to read (`[[scrape]]` tables).
    #[serde(rename = "scrape")]
    pub scrapes: Vec<ScrapeSpec>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            hub: "http://127.0.0.1:8000".into(),
            key: None,
            source: hostname::get()
                .ok()
                .and_then(|name| name.into_string().ok())
                .unwrap_or_else(|| "localhost".into()),
            interval: Duration::from_secs(1),
            buffer: Duration::from_secs(600),
            checks: Vec::new(),
            scrapes: Vec::new(),
        }
    }
}

/// A setting that cannot be used; the message names what to fix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl AgentConfig {
    /// Merges defaults, an optional TOML file and `overrides` (flags and
    /// environment, already parsed), then checks the result.
    pub fn load(file: Option<&PathBuf>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(AgentConfig::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "--config: file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let config: AgentConfig = figment
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError(format!("configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |m: String| Err(ConfigError(m));
        if !self.hub.starts_with("http://") {
            return fail(format!(
                "--hub {:?} must be the hub's http:// address, e.g. http://hub.example:8000",
                self.hub
            ));
        }
        if self.key.as_deref().is_none_or(str::is_empty) {
            return fail(
                "--key is required: one of the hub's --publish-key values (env TELLTALE_AGENT_KEY)"
                    .into(),
            );
        }
        if !is_name(&self.source) {
            return fail(format!(
                "--source {:?} must be letters, digits, '.', '_' or '-'",
                self.source
            ));
        }
        if self.interval < Duration::from_millis(100) {
            return fail("--interval must be at least 100ms".into());
        }
        let mut names = std::collections::HashSet::new();
        for (n, check) in self.checks.iter().enumerate() {
            let at = format!("check {} {:?}", n + 1, check.name);
            if !is_name(&check.name) {
                return fail(format!(
                    "{at}: name must be letters, digits, '.', '_' or '-'"
                ));
            }
            if !names.insert(&check.name) {
                return fail(format!("{at}: another check has the same name"));
            }
            if check.command.trim().is_empty() {
                return fail(format!("{at}: command is empty"));
            }
            if check.interval < Duration::from_secs(1) || check.timeout.is_zero() {
                return fail(format!(
                    "{at}: interval must be at least 1s and timeout longer than 0s"
                ));
            }
        }
        for (n, scrape) in self.scrapes.iter().enumerate() {
            scrape.check(n + 1).map_err(ConfigError)?;
        }
        Ok(())
    }
}

/// Whether `name` can be a source name.
pub(crate) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Flags {
        key: &'static str,
    }

    #[test]
    fn checks_come_from_the_file_and_mistakes_are_named() {
        let dir = std::env::temp_dir().join(format!("telltale-agent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.toml");
        std::fs::write(
            &path,
            "source = \"web-1\"\n[[check]]\nname = \"load\"\ncommand = \"check_load -w 5 -c 10\"\ninterval = \"30s\"\n",
        )
        .unwrap();
        let config = AgentConfig::load(Some(&path), Flags { key: "k" }).unwrap();
        assert_eq!(config.source, "web-1");
        assert_eq!(config.checks[0].interval, Duration::from_secs(30));
        assert_eq!(config.checks[0].timeout, Duration::from_secs(10));
        std::fs::write(&path, "[[check]]\nname = \"a b\"\ncommand = \"x\"\n").unwrap();
        let err = AgentConfig::load(Some(&path), Flags { key: "k" }).unwrap_err();
        assert!(err.0.starts_with("check 1 \"a b\": name"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scrapes_come_from_the_file_and_mistakes_are_named() {
        let dir =
            std::env::temp_dir().join(format!("telltale-agent-scrape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.toml");
        std::fs::write(
            &path,
            "[[scrape]]\nurl = \"http://127.0.0.1:9100/metrics\"\ninterval = \"5s\"\nsource = \"db-1\"\nmetrics = [\"node_load1\", 'node_cpu_seconds_total{mode!=\"idle\"}']\n",
        )
        .unwrap();
        let config = AgentConfig::load(Some(&path), Flags { key: "k" }).unwrap();
        assert_eq!(config.scrapes[0].interval, Duration::from_secs(5));
        assert_eq!(config.scrapes[0].source.as_deref(), Some("db-1"));
        assert_eq!(config.scrapes[0].metrics.len(), 2);
        for (toml, wanted) in [
            ("interval = \"500ms\"", "interval must be at least 1s"),
            ("metrics = [\"a{b}\"]", "metrics: "),
            ("source = \"a b\"", "source must be"),
        ] {
            std::fs::write(
                &path,
                format!("[[scrape]]\nurl = \"http://h:1/m\"\n{toml}\n"),
            )
            .unwrap();
            let err = AgentConfig::load(Some(&path), Flags { key: "k" }).unwrap_err();
            assert!(err.0.starts_with("scrape 1 \"http://h:1/m\": "), "{err}");
            assert!(err.0.contains(wanted), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_key_and_an_http_hub_are_required() {
        let config = AgentConfig::default();
        assert!(config.validate().unwrap_err().0.contains("--key"));
        let config = AgentConfig {
            key: Some("k".into()),
            hub: "hub:8000".into(),
            ..AgentConfig::default()
        };
        assert!(config.validate().unwrap_err().0.contains("--hub"));
    }
}
