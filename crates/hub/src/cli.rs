//! Command-line flags of `telltale-hub`; each has an environment variable.
//!
//! Every field is optional so that only what was given overrides the TOML
//! file and the defaults (see [`crate::Config::load`]). Without a subcommand
//! the hub runs; `telltale-hub token` prints a connection token instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::auth::{mint, now_secs, TokenCaps, TokenClaims};
use crate::config::{Config, ConfigError};
use crate::permissions::CAPS;

/// telltale-hub: a realtime push server speaking the Centrifugo client
/// protocol (JSON) and HTTP API.
///
/// Settings come from defaults, then the optional --config TOML file (keys are
/// the flag names with underscores, e.g. history_size = 500), then environment
/// variables, then flags. Durations accept forms like 300s, 5m, 1h.
#[derive(Debug, Default, Parser, Serialize)]
#[command(name = "telltale-hub", version)]
pub struct Args {
    /// What to do instead of running the hub.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Command>,

    /// TOML file with settings.
    #[arg(long, env = "TELLTALE_HUB_CONFIG", value_name = "FILE", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Check a TOML config file (alarm rules included) and exit without
    /// serving: prints "FILE: ok (N rules, M namespaces)" and exits 0, or
    /// the error and exits 2.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub check_config: Option<PathBuf>,

    /// Address for WebSocket (/connection/websocket) and HTTP (/api, /metrics,
    /// /healthz) [default: 127.0.0.1:8000]
    #[arg(long, env = "TELLTALE_HUB_LISTEN", value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,

    /// Key for the HTTP server API (header X-API-Key or Authorization: apikey
    /// KEY). Without one the API answers 401.
    #[arg(
        long,
        env = "TELLTALE_HUB_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,

    /// Key for the HTTP server API that may only publish and broadcast on
    /// metrics:* and alarms (repeatable, or comma separated in the
    /// environment): for agents and scripts that feed the hub. Any other
    /// method or channel is answered 403.
    #[arg(
        long = "publish-key",
        env = "TELLTALE_HUB_PUBLISH_KEYS",
        value_delimiter = ',',
        value_name = "KEY",
        hide_env_values = true
    )]
    #[serde(rename = "publish_keys", skip_serializing_if = "Vec::is_empty")]
    pub publish_keys: Vec<String>,

    /// Secret of Grafana's webhook HMAC signature (the contact point's
    /// "HMAC signature" secret): POST /api/grafana then requires a valid
    /// X-Grafana-Alerting-Signature instead of an API key.
    #[arg(
        long,
        env = "TELLTALE_HUB_GRAFANA_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grafana_secret: Option<String>,

    /// Alertmanager that acknowledgements go out to, as NAME=URL
    /// (repeatable): acknowledging an alarm received with
    /// /api/alertmanager?receiver=NAME creates a silence there until the
    /// alarm resolves.
    #[arg(
        long = "alertmanager",
        env = "TELLTALE_HUB_ALERTMANAGERS",
        value_delimiter = ',',
        value_name = "NAME=URL"
    )]
    #[serde(rename = "alertmanagers", skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<String>,

    /// Redis server shared by several hub nodes, as redis://HOST:PORT[/DB]
    /// (repeatable: channels are sharded over the servers by a stable hash
    /// of their name). History, fan-out, alarms and the source catalog then
    /// live in Redis, so the nodes act as one behind any TCP load balancer.
    #[arg(
        long = "redis",
        env = "TELLTALE_REDIS",
        value_delimiter = ',',
        value_name = "URL",
        hide_env_values = true
    )]
    #[serde(rename = "redis", skip_serializing_if = "Vec::is_empty")]
    pub redis: Vec<String>,

    /// Prefix of every Redis key and pub/sub channel of this cluster, so
    /// several clusters can share one Redis [default: telltale]
    #[arg(long, env = "TELLTALE_HUB_REDIS_PREFIX", value_name = "PREFIX")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_prefix: Option<String>,

    /// With --redis: how long the node running the cluster's duties (silent
    /// sources, Alertmanager silences) holds them without renewing; another
    /// node takes over within this time after it dies [default: 5s]
    #[arg(long, env = "TELLTALE_HUB_DUTY_LEASE", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub duty_lease: Option<Duration>,

    /// HMAC secret that signs connection JWTs (HS256/HS384/HS512).
    #[arg(
        long,
        env = "TELLTALE_HUB_TOKEN_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        global = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<String>,

    /// Accept connections without a token. Only on a trusted network.
    #[arg(long, env = "TELLTALE_HUB_ALLOW_ANONYMOUS", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_anonymous: Option<bool>,

    /// Publications kept per channel for recovery [default: 1000]
    #[arg(long, env = "TELLTALE_HUB_HISTORY_SIZE", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_size: Option<usize>,

    /// How long publications are kept for recovery [default: 300s]
    #[arg(long, env = "TELLTALE_HUB_HISTORY_TTL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub history_ttl: Option<Duration>,

    /// Largest inbound WebSocket message in bytes; larger closes with 1009
    /// [default: 65536]
    #[arg(long, env = "TELLTALE_HUB_MAX_MESSAGE_SIZE", value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<usize>,

    /// Outbound bytes queued per client; a client that falls this far behind is
    /// disconnected with 3008 "slow" [default: 1048576]
    #[arg(long, env = "TELLTALE_HUB_CLIENT_QUEUE_BYTES", value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_queue_bytes: Option<usize>,

    /// Publish this machine's CPU, memory, network, disk and load on
    /// metrics:<hostname>; the alarm rules ([[rule]] in --config) watch it
    /// like any source. It also reads the Prometheus exporters of the
    /// [[scrape]] tables in --config (docs/exporters.md).
    #[arg(long, env = "TELLTALE_HUB_COLLECTOR", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collector: Option<bool>,

    /// How often the collector samples [default: 1s]
    #[arg(long, env = "TELLTALE_HUB_COLLECTOR_INTERVAL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub collector_interval: Option<Duration>,

    /// Browser origin allowed to connect, e.g. https://app.example.com
    /// (repeatable). The hub's own host is always allowed.
    #[arg(
        long = "allowed-origin",
        env = "TELLTALE_HUB_ALLOWED_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    #[serde(rename = "allowed_origins", skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,

    /// Serve the web UI at / (http://<listen>/), so a browser can watch
    /// this hub's graphs and alarms; its page connects back to this hub.
    /// Off unless given: the page is open to anyone who can reach the hub.
    #[arg(long, env = "TELLTALE_HUB_WEB", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<bool>,

    /// Accept WebSocket connections from any browser origin.
    #[arg(long, env = "TELLTALE_HUB_ALLOW_ANY_ORIGIN", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_any_origin: Option<bool>,

    /// Let connections without a token acknowledge and silence alarms; their
    /// acks are recorded as "<name> (unverified)". Only for a loopback hub
    /// with one user.
    #[arg(long, env = "TELLTALE_HUB_ANONYMOUS_ACK", num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anonymous_ack: Option<bool>,

    /// Host name the hub answers to in the Host header (repeatable; * for
    /// any), besides the listen address, localhost forms on loopback and IP
    /// literals on 0.0.0.0 or [::], which are always accepted. Other names
    /// are answered 403, which stops DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "TELLTALE_HUB_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    #[serde(rename = "allowed_hosts", skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,

    /// PEM certificate chain: serve wss:// and https:// (needs --tls-key).
    /// Both files are read again on SIGHUP.
    #[arg(long, env = "TELLTALE_HUB_TLS_CERT", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for --tls-cert.
    #[arg(long, env = "TELLTALE_HUB_TLS_KEY", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,

    /// Most simultaneous WebSocket connections; more are closed with 3504
    /// [default: 100000]
    #[arg(long, env = "TELLTALE_HUB_MAX_CONNECTIONS", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,

    /// Server ping interval sent to clients [default: 25s]
    #[arg(long, env = "TELLTALE_HUB_PING_INTERVAL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub ping_interval: Option<Duration>,

    /// Time a client has to answer a ping before 3012 "no pong" [default: 8s]
    #[arg(long, env = "TELLTALE_HUB_PONG_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub pong_timeout: Option<Duration>,

    /// Time allowed to receive an HTTP request's headers (the WebSocket
    /// upgrade included); an idle keep-alive connection is closed after it too
    /// [default: 10s]
    #[arg(long, env = "TELLTALE_HUB_HANDSHAKE_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub handshake_timeout: Option<Duration>,

    /// Time allowed for one write to a client before 3009 [default: 10s]
    #[arg(long, env = "TELLTALE_HUB_WRITE_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub write_timeout: Option<Duration>,

    /// Node name in /api/info and logs [default: hostname]
    #[arg(long, env = "TELLTALE_HUB_NODE_NAME", value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Time an upgraded socket has to send `connect` before it is closed with
    /// 3502 [default: 5s]
    #[arg(long, env = "TELLTALE_HUB_CONNECT_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub connect_timeout: Option<Duration>,

    /// Most sockets that have not completed `connect`; they do not count
    /// toward --max-connections, and past this budget the oldest is closed with
    /// 3502 [default: 1000]
    #[arg(long, env = "TELLTALE_HUB_MAX_PENDING_CONNECTIONS", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pending_connections: Option<usize>,

    /// Most connections (HTTP and WebSocket) from one IP address; more are
    /// answered 429. 0 = no limit [default: 0]
    #[arg(long, env = "TELLTALE_HUB_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_ip: Option<usize>,

    /// Most simultaneous HTTP connections that are not WebSockets (API,
    /// /metrics, /healthz); more are answered 503 [default: 1000]
    #[arg(long, env = "TELLTALE_HUB_MAX_HTTP_CONNECTIONS", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_http_connections: Option<usize>,

    /// Time allowed to receive an HTTP request body; slower is answered 408
    /// [default: 10s]
    #[arg(long, env = "TELLTALE_HUB_BODY_READ_TIMEOUT", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub body_read_timeout: Option<Duration>,

    /// Largest HTTP API request body in bytes, checked after the API key;
    /// larger is answered 413 [default: --max-message-size]
    #[arg(long, env = "TELLTALE_HUB_API_BODY_LIMIT", value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_body_limit: Option<usize>,

    /// A channel with no subscriber and no publication for this long forgets
    /// its stream position (epoch and offsets) [default: 1h]
    #[arg(long, env = "TELLTALE_HUB_HISTORY_META_TTL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub history_meta_ttl: Option<Duration>,

    /// Most publications one recovery returns; a client that missed more gets
    /// `recovered: false` and resyncs [default: 500]
    #[arg(long, env = "TELLTALE_HUB_MAX_RECOVERY", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_recovery: Option<usize>,

    /// Commands per second each connection may send; more get error 111, and
    /// a client that keeps going is closed with 3013 [default: 100]
    #[arg(long, env = "TELLTALE_HUB_CLIENT_COMMAND_RATE", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_command_rate: Option<u32>,

    /// Commands a connection may send in one burst [default: 200]
    #[arg(long, env = "TELLTALE_HUB_CLIENT_COMMAND_BURST", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_command_burst: Option<u32>,

    /// Most metric names one source may publish; a sample adding more is
    /// refused with error 106 [default: 1000]
    #[arg(long, env = "TELLTALE_HUB_MAX_METRICS_PER_SOURCE", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_metrics_per_source: Option<usize>,

    /// A source with no sample for this long leaves the catalog [default: 24h]
    #[arg(long, env = "TELLTALE_HUB_CATALOG_FORGET_AFTER", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub catalog_forget_after: Option<Duration>,

    /// A source that published and then stops raises the alarm
    /// <source>/silent after 3 times its observed interval between samples,
    /// but never sooner than this; it resolves on the source's next sample
    /// [default: 15s]
    #[arg(long, env = "TELLTALE_HUB_MIN_STALE_AFTER", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_duration")]
    pub min_stale_after: Option<Duration>,

    /// Severity of <source>/silent alarms: info, warning or critical
    /// [default: critical]
    #[arg(long, env = "TELLTALE_HUB_SILENT_SEVERITY", value_name = "SEVERITY", value_parser = parse_severity)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub silent_severity: Option<telltale_protocol::Severity>,
}

impl Args {
    /// The final configuration: defaults < file < environment and flags.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        Config::load(self.config.as_ref(), &self)
    }

    /// `--check-config FILE`: the file read as the hub would read it (with
    /// the other flags and environment), checked; the one-line verdict.
    pub fn check_config(&self, file: &std::path::Path) -> Result<String, ConfigError> {
        let config = Config::load(Some(&file.to_owned()), self).map_err(|e| {
            // Errors reading the file already name it.
            match e.0.starts_with("--config") {
                true => e,
                false => ConfigError(format!("{}: {e}", file.display())),
            }
        })?;
        Ok(format!(
            "{}: ok ({} rules, {} namespaces)",
            file.display(),
            config.rules.len(),
            config.namespaces.len()
        ))
    }
}

/// Subcommands; without one the hub runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a connection token (JWT) signed with the hub's --token-secret
    /// (also read from TELLTALE_HUB_TOKEN_SECRET or the --config file), on
    /// one line of stdout. Example: telltale-hub token --user alice
    /// --channels 'metrics:*,alarms' --caps ack,silence
    Token(TokenArgs),
}

/// What `telltale-hub token` puts in the token.
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The user (the token's `sub`); acknowledgements are recorded under it.
    #[arg(long, value_name = "USER")]
    pub user: String,

    /// How long the token is valid; 0s for a token that never expires.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub ttl: Duration,

    /// Glob patterns of the channels the token may subscribe to (the
    /// `channels` claim), comma separated, e.g. 'metrics:web-*,alarms'.
    /// Without it the namespace rules alone decide.
    #[arg(long, value_delimiter = ',', value_name = "PATTERN")]
    pub channels: Vec<String>,

    /// Capabilities (the `telltale.caps` claim), comma separated: ack lets
    /// the token acknowledge alarms, silence lets it silence them.
    #[arg(long, value_delimiter = ',', value_name = "CAP")]
    pub caps: Vec<String>,
}

impl TokenArgs {
    /// The signed token, with the secret of `config`.
    pub fn mint(&self, config: &Config) -> Result<String, ConfigError> {
        let secret = config.token_secret.as_deref().ok_or_else(|| {
            ConfigError(
                "token: no secret to sign with; pass --token-secret, set TELLTALE_HUB_TOKEN_SECRET, or set token_secret in the --config file (the secret the hub runs with)".into(),
            )
        })?;
        Ok(mint(&self.claims(now_secs())?, secret))
    }

    /// The claims of the token, checked, as of unix time `now`.
    pub fn claims(&self, now: u64) -> Result<TokenClaims, ConfigError> {
        if self.user.trim().is_empty() {
            return Err(ConfigError(
                "token: --user must not be empty (it is the token's sub)".into(),
            ));
        }
        if let Some((pattern, e)) = self
            .channels
            .iter()
            .find_map(|p| glob::Pattern::new(p).err().map(|e| (p, e)))
        {
            return Err(ConfigError(format!(
                "token: --channels {pattern:?} is not a valid glob pattern: {e}"
            )));
        }
        if let Some(cap) = self.caps.iter().find(|c| !CAPS.contains(&c.as_str())) {
            return Err(ConfigError(format!(
                "token: --caps {cap:?} is not a capability (known: {})",
                CAPS.join(", ")
            )));
        }
        Ok(TokenClaims {
            sub: self.user.clone(),
            exp: (!self.ttl.is_zero()).then(|| now.saturating_add(self.ttl.as_secs().max(1))),
            channels: self.channels.clone(),
            telltale: TokenCaps {
                caps: self.caps.clone(),
            },
        })
    }
}

/// `info`, `warning` or `critical`, as alarms spell them.
fn parse_severity(text: &str) -> Result<telltale_protocol::Severity, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("{text:?} is not a severity: use info, warning or critical"))
}

/// Serializes an optional duration the way the TOML file writes it ("300s").
mod opt_duration {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(
        value: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_override_defaults() {
        let args = Args::try_parse_from([
            "telltale-hub",
            "--listen",
            "127.0.0.1:0",
            "--allow-anonymous",
            "--history-ttl",
            "90s",
            "--allowed-origin",
            "https://a.example",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert!(config.allow_anonymous);
        assert_eq!(config.history_ttl, Duration::from_secs(90));
        assert_eq!(config.allowed_origins, ["https://a.example"]);
        assert_eq!(config.history_size, 1000);
    }

    #[test]
    fn publish_keys_repeat_and_reach_the_config() {
        let args = Args::try_parse_from([
            "telltale-hub",
            "--api-key",
            "admin",
            "--publish-key",
            "pub-1",
            "--publish-key",
            "pub-2,pub-3",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.publish_keys, ["pub-1", "pub-2", "pub-3"]);
        let args =
            Args::try_parse_from(["telltale-hub", "--api-key", "k", "--publish-key", "k"]).unwrap();
        assert!(args.into_config().unwrap_err().0.contains("--publish-key"));
    }

    #[test]
    fn the_grafana_secret_flag_reaches_the_config() {
        let config = Args::try_parse_from(["telltale-hub", "--grafana-secret", "gf"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.grafana_secret.as_deref(), Some("gf"));
        let none = Args::try_parse_from(["telltale-hub"]).unwrap();
        assert_eq!(none.into_config().unwrap().grafana_secret, None);
    }

    #[test]
    fn the_web_ui_is_off_unless_asked_for() {
        let off = Args::try_parse_from(["telltale-hub"]).unwrap();
        assert!(!off.into_config().unwrap().web);
        // Needs ui/dist (built by `make ui`): --web refuses to start without it.
        let on = Args::try_parse_from(["telltale-hub", "--web"]).unwrap();
        assert!(on.into_config().unwrap().web);
        let off = Args::try_parse_from(["telltale-hub", "--web", "false"]).unwrap();
        assert!(!off.into_config().unwrap().web);
    }

    #[test]
    fn silent_source_flags_reach_the_config() {
        let config = Args::try_parse_from(["telltale-hub"])
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.min_stale_after, Duration::from_secs(15));
        assert_eq!(
            config.silent_severity,
            telltale_protocol::Severity::Critical
        );
        let args = Args::try_parse_from([
            "telltale-hub",
            "--min-stale-after",
            "1s",
            "--silent-severity",
            "warning",
        ])
        .unwrap();
        let config = args.into_config().unwrap();
        assert_eq!(config.min_stale_after, Duration::from_secs(1));
        assert_eq!(config.silent_severity, telltale_protocol::Severity::Warning);
        let err = Args::try_parse_from(["telltale-hub", "--silent-severity", "loud"]).unwrap_err();
        assert!(
            err.to_string().contains("info, warning or critical"),
            "{err}"
        );
        let args = Args::try_parse_from(["telltale-hub", "--min-stale-after", "0s"]).unwrap();
        let err = args.into_config().unwrap_err();
        assert!(err.0.contains("--min-stale-after"), "{err}");
    }

    #[test]
    fn token_subcommand_takes_the_secret_before_or_after_it() {
        let args = Args::try_parse_from([
            "telltale-hub",
            "token",
            "--user",
            "alice",
            "--channels",
            "metrics:*,alarms",
            "--caps",
            "ack,silence",
            "--token-secret",
            "s",
        ])
        .unwrap();
        let Some(Command::Token(token)) = &args.command else {
            panic!("no token subcommand: {args:?}")
        };
        let claims = token.claims(100).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.exp, Some(3700));
        assert_eq!(claims.channels, ["metrics:*", "alarms"]);
        assert_eq!(claims.telltale.caps, ["ack", "silence"]);
        let config = args.into_config().unwrap();
        assert_eq!(config.token_secret.as_deref(), Some("s"));

        let args = Args::try_parse_from([
            "telltale-hub",
            "--token-secret",
            "s",
            "token",
            "--user",
            "b",
        ])
        .unwrap();
        assert!(matches!(args.command, Some(Command::Token(_))));
    }

    #[test]
    fn token_subcommand_says_what_is_wrong() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["telltale-hub", "token", "--user", "alice"];
            argv.extend_from_slice(extra);
            let args = Args::try_parse_from(argv).unwrap();
            let Some(Command::Token(token)) = args.command else {
                panic!("no token subcommand")
            };
            token
        };
        let no_secret = parse(&[]).mint(&Config::default()).unwrap_err();
        assert!(no_secret.0.contains("--token-secret"), "{no_secret}");
        let bad_cap = parse(&["--caps", "admin"]).claims(0).unwrap_err();
        assert!(bad_cap.0.contains("known: ack, silence"), "{bad_cap}");
        let bad_glob = parse(&["--channels", "[x"]).claims(0).unwrap_err();
        assert!(bad_glob.0.contains("--channels"), "{bad_glob}");
        assert_eq!(parse(&["--ttl", "0s"]).claims(5).unwrap().exp, None);
    }

    #[test]
    fn bad_flag_value_is_refused_naming_the_flag() {
        let err = Args::try_parse_from(["telltale-hub", "--history-size", "lots"]).unwrap_err();
        assert!(err.to_string().contains("--history-size"), "{err}");
        let args = Args::try_parse_from(["telltale-hub", "--max-message-size", "10"]).unwrap();
        assert!(args
            .into_config()
            .unwrap_err()
            .0
            .contains("--max-message-size"));
    }
}
