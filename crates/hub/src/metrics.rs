//! Prometheus metrics of one node, served on `/metrics`.
//!
//! Each node has its own registry (not the global one) so that several hubs
//! in one process, as in tests or the desktop app, do not mix their figures.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The `action` labels of `permission_denied_total`.
pub const PERMISSION_ACTIONS: [&str; 8] = [
    "subscribe",
    "history",
    "presence",
    "publish",
    "ack",
    "silence",
    "rpc",
    // HTTP API requests of a `--publish-key` outside its scope (403).
    "api",
];

/// The `outcome` labels of `web_requests_total`.
pub const WEB_OUTCOMES: [&str; 3] = ["served", "not_modified", "not_found"];

/// Counters and gauges of a node.
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections (connected or not yet).
    pub connections: IntGauge,
    /// Active subscriptions.
    pub subscriptions: IntGauge,
    /// Commands received from clients.
    pub messages_in: IntCounter,
    /// JSON objects written to clients (replies, pushes, pings).
    pub messages_out: IntCounter,
    /// Bytes received from clients.
    pub bytes_in: IntCounter,
    /// Bytes written to clients.
    pub bytes_out: IntCounter,
    /// Disconnects by code.
    pub disconnects: IntCounterVec,
    /// Clients disconnected because their queue overflowed (3008).
    pub slow_disconnects: IntCounter,
    /// Publications accepted.
    pub publications: IntCounter,
    /// Time to run one publish through the broker, in seconds.
    pub publish_latency: Histogram,
    /// Commands refused with 111 for a connection's rate.
    pub rate_limited: IntCounter,
    /// Connections and requests refused by a budget, by reason.
    pub refusals: IntCounterVec,
    /// Client commands refused with 103, by action.
    pub permission_denied: IntCounterVec,
    /// Sockets that have not completed `connect`.
    pub pending_connections: IntGauge,
    /// Channels whose stream (epoch, offsets, history) is held in memory.
    pub streams: IntGauge,
    /// Publications held in history, all channels together.
    pub history_publications: IntGauge,
    /// Sources in the catalog.
    pub catalog_sources: IntGauge,
    /// Sources whose `<source>/silent` alarm is firing.
    pub silent_sources: IntGauge,
    /// 1 while the broker's backend answers (always with memory), 0 while
    /// Redis cannot be reached.
    pub broker_up: IntGauge,
    /// Broker calls that failed because Redis could not be reached.
    pub broker_errors: IntCounter,
    /// 1 while this node runs the cluster's duties (the lease).
    pub duties_held: IntGauge,
    /// Alerts received from Alertmanager and Grafana, by sender and
    /// outcome (`firing`, `resolved`, `unchanged`, `error`).
    pub alerts_received: IntCounterVec,
    /// Requests of the web UI's routes (`--web`), by outcome (`served`,
    /// `not_modified`, `not_found`).
    pub web_requests: IntCounterVec,
}

impl Metrics {
    /// Fresh metrics in a registry of their own.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("telltale_hub".into()), None)
            .expect("static prefix is valid");
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("static metric");
            registry
                .register(Box::new(c.clone()))
                .expect("unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("static metric");
            registry
                .register(Box::new(g.clone()))
                .expect("unique metric");
            g
        };
        let disconnects = IntCounterVec::new(
            Opts::new("disconnects_total", "Disconnects by close code"),
            &["code"],
        )
        .expect("static metric");
        registry
            .register(Box::new(disconnects.clone()))
            .expect("unique metric");
        let publish_latency = Histogram::with_opts(
            HistogramOpts::new(
                "publish_duration_seconds",
                "Time to publish through the broker",
            )
            .buckets(vec![
                0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5,
            ]),
        )
        .expect("static metric");
        registry
            .register(Box::new(publish_latency.clone()))
            .expect("unique metric");
        let refusals = IntCounterVec::new(
            Opts::new(
                "refusals_total",
                "Connections and requests refused by a budget, by reason",
            ),
            &["reason"],
        )
        .expect("static metric");
        registry
            .register(Box::new(refusals.clone()))
            .expect("unique metric");
        let permission_denied = IntCounterVec::new(
            Opts::new(
                "permission_denied_total",
                "Client commands refused with 103 (permission denied) and API requests of a publish key refused with 403, by action",
            ),
            &["action"],
        )
        .expect("static metric");
        registry
            .register(Box::new(permission_denied.clone()))
            .expect("unique metric");
        let alerts_received = IntCounterVec::new(
            Opts::new(
                "alerts_received_total",
                "Alerts received on /api/alertmanager and /api/grafana, by sender and outcome \
                 (firing, resolved: published; unchanged: a repeat; error: not published)",
            ),
            &["sender", "outcome"],
        )
        .expect("static metric");
        registry
            .register(Box::new(alerts_received.clone()))
            .expect("unique metric");
        let web_requests = IntCounterVec::new(
            Opts::new(
                "web_requests_total",
                "Requests of the web UI's page and files, by outcome (served, not_modified: \
                 304 to the browser's cached copy, not_found)",
            ),
            &["outcome"],
        )
        .expect("static metric");
        registry
            .register(Box::new(web_requests.clone()))
            .expect("unique metric");
        for outcome in WEB_OUTCOMES {
            web_requests.with_label_values(&[outcome]);
        }
        // Every action shows from the start (at 0), so a dashboard or an
        // alert on the rate does not wait for the first refusal.
        for action in PERMISSION_ACTIONS {
            permission_denied.with_label_values(&[action]);
        }
        Self {
            alerts_received,
            web_requests,
            permission_denied,
            rate_limited: counter(
                "rate_limited_total",
                "Commands refused with 111 for a connection's rate",
            ),
            refusals,
            pending_connections: gauge(
                "pending_connections",
                "Sockets that have not completed connect",
            ),
            streams: gauge(
                "streams",
                "Channels whose stream (epoch, offsets, history) is held in memory",
            ),
            history_publications: gauge(
                "history_publications",
                "Publications held in history, all channels together",
            ),
            catalog_sources: gauge("catalog_sources", "Sources in the catalog"),
            silent_sources: gauge(
                "silent_sources",
                "Sources whose <source>/silent alarm is firing (no sample for their stale_after)",
            ),
            broker_up: gauge(
                "broker_up",
                "1 while the broker's backend answers (always with memory), 0 while Redis cannot be reached",
            ),
            broker_errors: counter(
                "broker_errors_total",
                "Publishes refused because the broker (Redis) could not be reached",
            ),
            duties_held: gauge(
                "duties_held",
                "1 while this node runs the cluster's duties (silent sources, Alertmanager silences)",
            ),
            connections: gauge("connections", "Open WebSocket connections"),
            subscriptions: gauge("subscriptions", "Active subscriptions"),
            messages_in: counter("messages_in_total", "Commands received from clients"),
            messages_out: counter("messages_out_total", "JSON objects written to clients"),
            bytes_in: counter("bytes_in_total", "Bytes received from clients"),
            bytes_out: counter("bytes_out_total", "Bytes written to clients"),
            slow_disconnects: counter(
                "slow_disconnects_total",
                "Clients disconnected as too slow (3008)",
            ),
            publications: counter("publications_total", "Publications accepted"),
            disconnects,
            publish_latency,
            registry,
        }
    }

    /// Records one coalesced write.
    pub fn record_out(&self, messages: usize, bytes: usize) {
        self.messages_out.inc_by(messages as u64);
        self.bytes_out.inc_by(bytes as u64);
    }

    /// Records why a connection closed.
    pub fn record_disconnect(&self, code: u16) {
        self.disconnects
            .with_label_values(&[&code.to_string()])
            .inc();
        if code == telltale_protocol::Disconnect::SLOW.code {
            self.slow_disconnects.inc();
        }
    }

    /// Counts one permission refusal (error 103) of `action`, one of
    /// [`PERMISSION_ACTIONS`].
    pub fn deny(&self, action: &str) {
        self.permission_denied.with_label_values(&[action]).inc();
    }

    /// Counts one request of the web UI by outcome, one of
    /// [`WEB_OUTCOMES`].
    pub fn web_request(&self, outcome: &str) {
        self.web_requests.with_label_values(&[outcome]).inc();
    }

    /// Counts one refusal by a budget.
    pub fn refuse(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
