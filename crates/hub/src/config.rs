//! Hub settings: defaults, an optional TOML file, then flags and environment.
//!
//! Later sources win: built-in defaults < `--config` file < environment
//! variables and flags (clap reads both). Every value is checked once at
//! start, and a bad one is refused with a message naming its flag.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::permissions::Namespace;
use crate::rules::{Rule, RuleSet};

/// Everything a hub needs to run. `Config::default()` is a sensible local
/// setup (loopback, no auth configured: connections need a token secret or
/// `allow_anonymous`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on for WebSocket and HTTP.
    pub listen: SocketAddr,
    /// Key for the HTTP server API; the API is refused (401) without one.
    pub api_key: Option<String>,
    /// Keys for the HTTP server API that may only publish on `metrics:*` and
    /// `alarms` (see [`crate::api_access`]): for machines that feed the hub.
    pub publish_keys: Vec<String>,
    /// HMAC secret for connection JWTs (HS256/384/512).
    pub token_secret: Option<String>,
    /// Accept connections without a token (trusted networks only).
    pub allow_anonymous: bool,
    /// Publications kept per channel.
    pub history_size: usize,
    /// How long publications are kept.
    #[serde(with = "humantime_serde")]
    pub history_ttl: Duration,
    /// Largest inbound WebSocket message, bytes; larger closes with 1009.
    pub max_message_size: usize,
    /// Outbound bytes queued per client before it is disconnected as slow.
    pub client_queue_bytes: usize,
    /// Publish this machine's metrics and threshold alarms.
    pub collector: bool,
    /// How often the collector samples.
    #[serde(with = "humantime_serde")]
    pub collector_interval: Duration,
    /// Browser origins allowed to connect (besides the hub's own host).
    pub allowed_origins: Vec<String>,
    /// Allow any browser origin.
    pub allow_any_origin: bool,
    /// Serve the web UI (`ui/dist`, carried in the binary) at `/`, so a
    /// browser can watch this hub (see [`crate::web`]).
    pub web: bool,
    /// Who may subscribe, read history and presence, and publish, by
    /// namespace (see [`crate::permissions`]). Defaults: `metrics` and
    /// `alarms` readable by anyone allowed to connect; everything else closed.
    pub namespaces: BTreeMap<String, Namespace>,
    /// Let connections without a token acknowledge and silence alarms
    /// (recorded as unverified). For a loopback hub with one user.
    pub anonymous_ack: bool,
    /// Host names (the `Host` header) this hub answers to besides the
    /// defaults (the listen address, `localhost` forms on loopback, and IP
    /// literals on an unspecified address: DNS rebinding needs a name);
    /// `*` for any.
    pub allowed_hosts: Vec<String>,
    /// PEM certificate chain: serve `wss://` and `https://` (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Most simultaneous WebSocket connections.
    pub max_connections: usize,
    /// Server ping interval.
    #[serde(with = "humantime_serde")]
    pub ping_interval: Duration,
    /// How long a client has to answer a ping.
    #[serde(with = "humantime_serde")]
    pub pong_timeout: Duration,
    /// Time allowed to receive an HTTP request's headers; also how long an
    /// idle keep-alive connection stays open.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// Time allowed for one write to a client.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Name of this node in `/api/info` and metrics (default: hostname).
    pub node_name: String,
    /// Time an upgraded socket has to complete `connect` (3502 otherwise).
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Most sockets that have not completed `connect` yet; past it the oldest
    /// is closed (3502), so they never take the slots of connected clients.
    pub max_pending_connections: usize,
    /// Most connections (HTTP and WebSocket) from one IP address; 0 = no limit.
    pub max_connections_per_ip: usize,
    /// Most HTTP connections that are not WebSockets (API, metrics, health).
    pub max_http_connections: usize,
    /// Time allowed to receive an HTTP request body.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Largest HTTP API request body, bytes (default: `max_message_size`).
    pub api_body_limit: Option<usize>,
    /// A channel without subscribers or publications for this long forgets
    /// its stream (epoch and offsets), as Centrifugo's history meta TTL.
    #[serde(with = "humantime_serde")]
    pub history_meta_ttl: Duration,
    /// Most publications a recovery returns; more answers `recovered: false`.
    pub max_recovery: usize,
    /// Commands per second a connection may send (token bucket rate).
    pub client_command_rate: u32,
    /// Commands a connection may send in a burst (token bucket size).
    pub client_command_burst: u32,
    /// Most metric names one source may have; samples adding more are refused.
    pub max_metrics_per_source: usize,
    /// A source unseen for this long leaves the catalog.
    #[serde(with = "humantime_serde")]
    pub catalog_forget_after: Duration,
    /// A source that published and then stops raises `<source>/silent`
    /// after three times its observed interval, but never sooner than this
    /// (see [`crate::staleness`]).
    #[serde(with = "humantime_serde")]
    pub min_stale_after: Duration,
    /// Severity of `<source>/silent` alarms.
    pub silent_severity: telltale_protocol::Severity,
    /// `labels.severity` of alerts from Alertmanager and Grafana → Telltale
    /// severity (`[alert_severity]` table, e.g. `page = "critical"`), over
    /// the defaults critical/error → critical, warning → warning,
    /// info/none → info; anything else is `warning`.
    pub alert_severity: BTreeMap<String, telltale_protocol::Severity>,
    /// Secret of Grafana's webhook HMAC signature: when set, `/api/grafana`
    /// requires a valid `X-Grafana-Alerting-Signature`.
    pub grafana_secret: Option<String>,
    /// Title of alarms from Alertmanager and Grafana: `{label}` is replaced
    /// by the alert's label (default: "alertname on instance").
    pub alert_title: Option<String>,
    /// Alertmanagers that acknowledgements go out to, as `NAME=URL`: an
    /// acked alarm `NAME/...` (from `/api/alertmanager?receiver=NAME`) gets
    /// a silence there until it resolves (see [`crate::silences`]).
    pub alertmanagers: Vec<String>,
    /// Labels an acknowledgement's silence matches on.
    pub alertmanager_silence_labels: Vec<String>,
    /// Redis servers (`redis://HOST:PORT[/DB]`) that several nodes share:
    /// history, fan-out, alarms, the catalog and the duties lease (see
    /// [`crate::broker::redis`]). Several shard channels by name. Empty:
    /// this node keeps everything in memory.
    pub redis: Vec<String>,
    /// Prefix of every Redis key and pub/sub channel, so several clusters
    /// can share one Redis.
    pub redis_prefix: String,
    /// How long the node running the cluster's duties (silent sources,
    /// Alertmanager silences) holds them without renewing; another node
    /// takes over within this time after it dies.
    #[serde(with = "humantime_serde")]
    pub duty_lease: Duration,
    /// The same, per Alertmanager (by NAME), where its alerts need others
    /// (`[alertmanager_silence_labels_for] am1 = ["alertname", "cluster"]`).
    pub alertmanager_silence_labels_for: BTreeMap<String, Vec<String>>,
    /// How often silences and the alerts of acknowledged alarms are checked.
    #[serde(with = "humantime_serde")]
    pub alertmanager_poll: Duration,
    /// How long an acknowledged alarm's alert must be missing from its
    /// Alertmanager before the alarm resolves (longer than Prometheus takes
    /// to send its alerts again to a restarted Alertmanager).
    #[serde(with = "humantime_serde")]
    pub alertmanager_resolve_after: Duration,
    /// How long an acknowledgement's silence lasts before it is extended
    /// (when a sixth of it is left).
    #[serde(with = "humantime_serde")]
    pub alertmanager_ack_span: Duration,
    /// Alarm rules (`[[rule]]` tables), evaluated for every source's
    /// samples; see [`crate::rules`]. Default: CPU, memory and disk above 90%.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// Prometheus exporters the collector reads (`[[scrape]]` tables, as
    /// in `telltale-agent`: docs/exporters.md); needs `collector`.
    #[serde(rename = "scrape")]
    pub scrapes: Vec<telltale_agent::scrape::ScrapeSpec>,
    /// The `--config` file this was read from, read again on SIGHUP for its
    /// rules.
    #[serde(skip)]
    pub config_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            api_key: None,
            publish_keys: Vec::new(),
            token_secret: None,
            allow_anonymous: false,
            history_size: 1000,
            history_ttl: Duration::from_secs(300),
            max_message_size: 64 * 1024,
            client_queue_bytes: 1024 * 1024,
            collector: false,
            collector_interval: Duration::from_secs(1),
            allowed_origins: Vec::new(),
            allow_any_origin: false,
            web: false,
            namespaces: BTreeMap::from([
                ("metrics".to_owned(), Namespace::readable()),
                ("alarms".to_owned(), Namespace::readable()),
            ]),
            anonymous_ack: false,
            allowed_hosts: Vec::new(),
            tls_cert: None,
            tls_key: None,
            max_connections: 100_000,
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(8),
            handshake_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            node_name: hostname::get()
                .ok()
                .and_then(|name| name.into_string().ok())
                .unwrap_or_else(|| "telltale".into()),
            connect_timeout: Duration::from_secs(5),
            max_pending_connections: 1000,
            max_connections_per_ip: 0,
            max_http_connections: 1000,
            body_read_timeout: Duration::from_secs(10),
            api_body_limit: None,
            history_meta_ttl: Duration::from_secs(3600),
            max_recovery: 500,
            client_command_rate: 100,
            client_command_burst: 200,
            max_metrics_per_source: 1000,
            catalog_forget_after: Duration::from_secs(24 * 3600),
            min_stale_after: Duration::from_secs(15),
            silent_severity: telltale_protocol::Severity::Critical,
            alert_severity: BTreeMap::new(),
            grafana_secret: None,
            alert_title: None,
            alertmanagers: Vec::new(),
            alertmanager_silence_labels: vec!["alertname".into(), "instance".into()],
            redis: Vec::new(),
            redis_prefix: "telltale".into(),
            duty_lease: Duration::from_secs(5),
            alertmanager_silence_labels_for: BTreeMap::new(),
            alertmanager_poll: Duration::from_secs(5),
            alertmanager_resolve_after: Duration::from_secs(90),
            alertmanager_ack_span: Duration::from_secs(3600),
            rules: crate::rules::default_rules(),
            scrapes: Vec::new(),
            config_path: None,
        }
    }
}

/// A setting that cannot be used; the message names the flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// The certificate and key files when serving TLS; both or neither.
    pub fn tls_files(&self) -> Result<Option<(&Path, &Path)>, ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError(
                "--tls-cert needs --tls-key (the certificate's private key, PEM)".into(),
            )),
            (None, Some(_)) => Err(ConfigError(
                "--tls-key needs --tls-cert (the certificate chain, PEM)".into(),
            )),
        }
    }

    /// Largest HTTP API request body.
    pub fn api_body_limit(&self) -> usize {
        self.api_body_limit.unwrap_or(self.max_message_size)
    }

    /// Largest single reply (or recovery) a client is sent: the queue less
    /// room for one message, so a reply alone never closes a client as slow.
    pub fn reply_budget(&self) -> usize {
        (self.client_queue_bytes / 2).max(self.client_queue_bytes - self.max_message_size)
    }

    /// Merges defaults, an optional TOML file and `overrides` (flags and
    /// environment, already parsed), then checks the result.
    pub fn load(file: Option<&PathBuf>, overrides: impl Serialize) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "--config: file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let config: Config = figment
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| match crate::rules::file_error(&e) {
                Some(rule) => ConfigError(format!("--config {}: {rule}", display(file))),
                None => ConfigError(format!("--config {}: {e}", display(file))),
            })?;
        config.validate()?;
        Ok(Config {
            config_path: file.cloned(),
            ..config
        })
    }

    /// Checks every value; the error names the flag to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rules: [(bool, &str, String); 17] = [
            (
                self.history_size == 0,
                "--history-size",
                "must be at least 1".into(),
            ),
            (
                self.history_ttl.is_zero(),
                "--history-ttl",
                "must be longer than 0s".into(),
            ),
            (
                self.max_message_size < 1024,
                "--max-message-size",
                "must be at least 1024 bytes".into(),
            ),
            (
                self.client_queue_bytes < self.max_message_size,
                "--client-queue-bytes",
                format!(
                    "must be at least --max-message-size ({})",
                    self.max_message_size
                ),
            ),
            (
                self.max_connections == 0,
                "--max-connections",
                "must be at least 1".into(),
            ),
            (
                self.ping_interval < Duration::from_secs(1),
                "--ping-interval",
                "must be at least 1s".into(),
            ),
            (
                self.pong_timeout.is_zero(),
                "--pong-timeout",
                "must be longer than 0s".into(),
            ),
            (
                self.collector_interval < Duration::from_millis(100),
                "--collector-interval",
                "must be at least 100ms".into(),
            ),
            (
                self.connect_timeout.is_zero(),
                "--connect-timeout",
                "must be longer than 0s".into(),
            ),
            (
                self.max_pending_connections == 0,
                "--max-pending-connections",
                "must be at least 1".into(),
            ),
            (
                self.max_http_connections == 0,
                "--max-http-connections",
                "must be at least 1".into(),
            ),
            (
                self.body_read_timeout.is_zero() || self.handshake_timeout.is_zero(),
                "--body-read-timeout/--handshake-timeout",
                "must be longer than 0s".into(),
            ),
            (
                self.api_body_limit.is_some_and(|n| n < 1024),
                "--api-body-limit",
                "must be at least 1024 bytes".into(),
            ),
            (
                self.history_meta_ttl < self.history_ttl,
                "--history-meta-ttl",
                format!(
                    "must be at least --history-ttl ({})",
                    humantime::format_duration(self.history_ttl)
                ),
            ),
            (
                self.client_command_rate == 0 || self.client_command_burst == 0,
                "--client-command-rate/--client-command-burst",
                "must be at least 1".into(),
            ),
            (
                self.max_metrics_per_source == 0,
                "--max-metrics-per-source",
                "must be at least 1".into(),
            ),
            (
                self.token_secret.as_deref() == Some(""),
                "--token-secret",
                "must not be empty".into(),
            ),
        ];
        if let Some((_, flag, why)) = rules.into_iter().find(|(bad, _, _)| *bad) {
            return Err(ConfigError(format!("{flag} {why}")));
        }
        if self.duty_lease < Duration::from_millis(300) {
            return Err(ConfigError(
                "--duty-lease must be at least 300ms (it is renewed every third of it)".into(),
            ));
        }
        if self.redis_prefix.is_empty() || self.redis_prefix.contains(char::is_whitespace) {
            return Err(ConfigError(
                "--redis-prefix must be a non-empty name without spaces, e.g. telltale".into(),
            ));
        }
        for url in &self.redis {
            if !(url.starts_with("redis://") || url.starts_with("unix://")) {
                return Err(ConfigError(format!(
                    "--redis {url:?}: expected redis://HOST:PORT[/DB] (or unix:///path/to/redis.sock)"
                )));
            }
        }
        if self.min_stale_after < Duration::from_millis(100) {
            return Err(ConfigError(
                "--min-stale-after must be at least 100ms (a source is declared silent after \
                 3 of its intervals, never sooner than this)"
                    .into(),
            ));
        }
        for spec in &self.alertmanagers {
            crate::silences::Target::parse(spec).map_err(ConfigError)?;
        }
        if self.alertmanager_ack_span < Duration::from_secs(1) {
            return Err(ConfigError(
                "alertmanager_ack_span must be at least 1s".into(),
            ));
        }
        if let Some((name, _)) =
            (self.alertmanager_silence_labels_for.iter()).find(|(_, l)| l.is_empty())
        {
            return Err(ConfigError(format!(
                "alertmanager_silence_labels_for.{name} is empty: a silence needs at least one label"
            )));
        }
        if self.alertmanager_silence_labels.is_empty() {
            return Err(ConfigError(
                "alertmanager_silence_labels is empty: a silence needs at least one label, e.g. [\"alertname\", \"instance\"]".into(),
            ));
        }
        if self.grafana_secret.as_deref() == Some("") {
            return Err(ConfigError(
                "--grafana-secret must not be empty: give the contact point's HMAC secret, or \
                 leave the flag out"
                    .into(),
            ));
        }
        if self.api_key.as_deref() == Some("") {
            return Err(ConfigError("--api-key must not be empty".into()));
        }
        if self.publish_keys.iter().any(String::is_empty) {
            return Err(ConfigError(
                "--publish-key must not be empty: give each key a value, or leave the flag out"
                    .into(),
            ));
        }
        if let Some(api_key) = &self.api_key {
            if self.publish_keys.contains(api_key) {
                return Err(ConfigError(
                    "--publish-key must differ from --api-key (the admin key may do everything): \
                     pick another publish key"
                        .into(),
                ));
            }
        }
        if let Some(origin) = self.allowed_origins.iter().find(|o| !o.contains("://")) {
            return Err(ConfigError(format!(
                "--allowed-origin {origin:?} must be a full origin such as https://example.com"
            )));
        }
        if let Some(host) = self.allowed_hosts.iter().find(|h| !is_host_name(h)) {
            return Err(ConfigError(format!(
                "--allowed-host {host:?} must be a host name such as hub.example or an IP \
                 (no scheme, port or wildcard), or * for any"
            )));
        }
        self.tls_files()?;
        if self.web {
            crate::web::check_built().map_err(ConfigError)?;
        }
        crate::permissions::check_rules(&self.namespaces).map_err(ConfigError)?;
        RuleSet::compile(&self.rules)?;
        for (n, scrape) in self.scrapes.iter().enumerate() {
            scrape.check(n + 1).map_err(ConfigError)?;
        }
        if !self.scrapes.is_empty() && !self.collector {
            return Err(ConfigError(
                "[[scrape]] tables are read by the collector: add --collector (or collector = true)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// `*`, an IP literal, or a bare host name (what `Host` carries minus the
/// port).
fn is_host_name(host: &str) -> bool {
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host == "*"
        || ip.parse::<std::net::IpAddr>().is_ok()
        || crate::host::hostname(host) == Some(host)
}

fn display(file: Option<&PathBuf>) -> String {
    file.map(|p| p.display().to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn scrape_tables_need_the_collector_and_a_sane_interval() {
        let spec = |interval: &str| {
            serde_json::from_value(serde_json::json!({
                "url": "http://127.0.0.1:9100/metrics", "interval": interval,
            }))
            .unwrap()
        };
        let config = Config {
            scrapes: vec![spec("5s")],
            ..Config::default()
        };
        assert!(config.validate().unwrap_err().0.contains("--collector"));
        let config = Config {
            collector: true,
            ..config
        };
        config.validate().unwrap();
        let config = Config {
            scrapes: vec![spec("100ms")],
            ..config
        };
        let err = config.validate().unwrap_err().0;
        assert!(err.contains("interval must be at least 1s"), "{err}");
    }

    #[test]
    fn bad_value_names_its_flag() {
        let config = Config {
            history_size: 0,
            ..Config::default()
        };
        assert!(config.validate().unwrap_err().0.contains("--history-size"));
        let config = Config {
            client_queue_bytes: 10,
            ..Config::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .0
            .contains("--client-queue-bytes"));
    }

    #[test]
    fn publish_keys_are_not_empty_and_not_the_api_key() {
        let keys = |api_key: Option<&str>, publish_keys: &[&str]| Config {
            api_key: api_key.map(Into::into),
            publish_keys: publish_keys.iter().map(|k| k.to_string()).collect(),
            ..Config::default()
        };
        keys(Some("admin"), &["pub-1", "pub-2"]).validate().unwrap();
        keys(None, &["pub-1"]).validate().unwrap();
        let empty = keys(Some("admin"), &["pub-1", ""]).validate().unwrap_err();
        assert!(
            empty.0.contains("--publish-key must not be empty"),
            "{empty}"
        );
        let same = keys(Some("admin"), &["admin"]).validate().unwrap_err();
        assert!(same.0.contains("must differ from --api-key"), "{same}");
    }

    #[test]
    fn tls_files_go_together_and_hosts_are_names() {
        let half = Config {
            tls_cert: Some("/etc/hub/cert.pem".into()),
            ..Config::default()
        };
        assert!(half.validate().unwrap_err().0.contains("--tls-key"));
        let half = Config {
            tls_key: Some("/etc/hub/key.pem".into()),
            ..Config::default()
        };
        assert!(half.validate().unwrap_err().0.contains("--tls-cert"));
        let url = Config {
            allowed_hosts: vec!["https://hub.example/".into()],
            ..Config::default()
        };
        assert!(url.validate().unwrap_err().0.contains("--allowed-host"));
        for bad in ["hub.example:8000", "*.example", ""] {
            let config = Config {
                allowed_hosts: vec![bad.into()],
                ..Config::default()
            };
            assert!(config.validate().is_err(), "{bad}");
        }
        let good = Config {
            allowed_hosts: vec![
                "hub.example".into(),
                "::1".into(),
                "[::1]".into(),
                "*".into(),
            ],
            ..Config::default()
        };
        good.validate().unwrap();
    }

    #[test]
    fn alert_severities_and_the_grafana_secret_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("telltale-alerts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        let none = BTreeMap::<String, String>::new();
        std::fs::write(
            &path,
            "grafana_secret = \"s\"\n[alert_severity]\npage = \"critical\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), &none).unwrap();
        assert_eq!(
            config.alert_severity["page"],
            telltale_protocol::Severity::Critical
        );
        assert_eq!(config.grafana_secret.as_deref(), Some("s"));
        std::fs::write(&path, "[alert_severity]\npage = \"loud\"\n").unwrap();
        let err = Config::load(Some(&path), &none).unwrap_err();
        assert!(err.0.contains("alert_severity"), "{err}");
        let empty = Config {
            grafana_secret: Some(String::new()),
            ..Config::default()
        };
        assert!(empty.validate().unwrap_err().0.contains("--grafana-secret"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn toml_file_is_read_and_overrides_win() {
        let dir = std::env::temp_dir().join(format!("telltale-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        std::fs::write(
            &path,
            "history_size = 5\nhistory_ttl = \"2m\"\nlisten = \"127.0.0.1:9\"\nweb = true\n",
        )
        .unwrap();
        #[derive(Serialize)]
        struct Flags {
            listen: &'static str,
        }
        let config = Config::load(
            Some(&path),
            Flags {
                listen: "127.0.0.1:7",
            },
        )
        .unwrap();
        assert_eq!(config.history_size, 5);
        // Needs ui/dist (built by `make ui`): web = true refuses to start
        // without it.
        assert!(config.web);
        assert_eq!(config.history_ttl, Duration::from_secs(120));
        assert_eq!(config.listen.port(), 7);
        std::fs::write(&path, "histroy_size = 5\n").unwrap();
        let err = Config::load(
            Some(&path),
            Flags {
                listen: "127.0.0.1:7",
            },
        )
        .unwrap_err();
        assert!(err.0.contains("histroy_size"), "{err}");
    }
}
