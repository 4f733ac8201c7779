//! The node: one hub process. Everything published goes through
//! [`Node::publish`] into the broker, whoever publishes (HTTP API, a
//! client, the collector, an alarm ack); the broker hands each publication
//! back to [`Local`] for delivery to this node's subscribers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use telltale_protocol::api::{NodeInfo, PublishResult};
use telltale_protocol::command::{StreamPosition, SubscribeRequest};
use telltale_protocol::reply::{ClientInfo, HistoryResult, SubscribeResult};
use telltale_protocol::{
    Alarm, Disconnect, ErrorCode, MetricSample, Publication, RawJson, ReplyError, ALARMS_CHANNEL,
    METRICS_PREFIX,
};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::broker::memory::MemoryBroker;
use crate::broker::redis::RedisBroker;
use crate::broker::{
    Broker, Effects, HistoryQuery, PublicationHandler, Published, SharedSource, SourceSample,
    SweepReport,
};
use crate::catalog::{Recorded, SourceCatalog};
use crate::config::ConfigError;
use crate::history::HistoryLimits;
use crate::hub::{Connection, Hub};
use crate::metrics::Metrics;
use crate::permissions::{Access, Action, Permissions, Refusal};
use crate::rules::{RuleEngine, RuleSet};
use crate::{channel, Config};

/// Options of one publish.
#[derive(Debug, Default, Clone)]
pub struct PublishOptions {
    /// The publishing client, for client publications.
    pub info: Option<ClientInfo>,
    /// Tags to attach.
    pub tags: Option<std::collections::HashMap<String, String>>,
    /// Do not keep in history.
    pub skip_history: bool,
}

/// A hub node; cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    uid: String,
    started: Instant,
    local: Arc<Local>,
    broker: Box<dyn Broker>,
    auth: Authenticator,
    permissions: Permissions,
    shutdown: CancellationToken,
    sessions: TaskTracker,
    admission: Arc<Admission>,
    next_connection: AtomicU64,
    rules: RuleEngine,
    /// Whether this node runs the cluster's duties now (see
    /// [`crate::lease`]); always with the memory broker.
    duties: tokio::sync::watch::Sender<bool>,
    /// Counts the times the shared state was lost.
    losses: tokio::sync::watch::Sender<u64>,
}

/// This node's side of delivery: subscribers, what it saw of the sources,
/// its metrics.
#[derive(Default)]
pub struct Local {
    /// Subscriptions and connections.
    pub hub: Hub,
    /// The sources whose samples went through this node: their metric
    /// names are checked against `--max-metrics-per-source` here. With the
    /// memory broker it is the whole catalog.
    pub catalog: Arc<SourceCatalog>,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Serializes Alertmanager and Grafana webhooks (see
    /// [`crate::alert_ingest`]).
    pub ingest: crate::alert_ingest::IngestLock,
}

/// `{"push":{"channel":..,"pub":..}}`, serialized without copying the data.
#[derive(Serialize)]
struct PushFrame<'a> {
    push: PushBody<'a>,
}

#[derive(Serialize)]
struct PushBody<'a> {
    channel: &'a str,
    #[serde(rename = "pub")]
    publication: &'a Publication,
}

impl PublicationHandler for Local {
    fn handle_publication(&self, channel: &str, publication: Arc<Publication>) {
        // Serialized once; every subscriber's queue shares these bytes.
        let frame = PushFrame {
            push: PushBody {
                channel,
                publication: &publication,
            },
        };
        let frame = serde_json::to_string(&frame).expect("publications serialize");
        let frame = Utf8Bytes::from(frame);
        self.hub.broadcast(channel, publication.offset, &frame);
    }

    fn wants(&self, channel: &str) -> bool {
        self.hub.has_subscribers(channel)
    }

    fn handle_gap(&self, channel: &str) {
        tracing::warn!(
            channel,
            "publications lost by the broker: subscribers recover"
        );
        self.hub
            .disconnect_subscribers(channel, Disconnect::INSUFFICIENT_STATE);
    }
}

impl Node {
    /// A node with the in-memory broker: the only node.
    pub fn new(config: Config) -> Self {
        let local = Arc::new(Local::default());
        let broker = MemoryBroker::new(limits(&config), local.clone(), local.catalog.clone());
        Self::with_broker(config, local, Box::new(broker))
    }

    /// A node with the broker `config` asks for: Redis with `--redis`,
    /// else memory. Fails when Redis cannot be reached at start.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        if config.redis.is_empty() {
            return Ok(Self::new(config));
        }
        let local = Arc::new(Local::default());
        let broker = RedisBroker::connect(&config, limits(&config), local.clone()).await?;
        Ok(Self::with_broker(config, local, Box::new(broker)))
    }

    fn with_broker(config: Config, local: Arc<Local>, broker: Box<dyn Broker>) -> Self {
        let auth = Authenticator::new(config.token_secret.as_deref(), config.allow_anonymous);
        // Config::load checks the rules; a Config built in code may not be.
        let rules = RuleSet::compile(&config.rules).unwrap_or_else(|e| {
            tracing::error!("{e}; running without alarm rules");
            RuleSet::default()
        });
        Self {
            inner: Arc::new(Inner {
                uid: uuid::Uuid::new_v4().to_string(),
                started: Instant::now(),
                local,
                broker,
                auth,
                permissions: Permissions::new(config.namespaces.clone()),
                shutdown: CancellationToken::new(),
                sessions: TaskTracker::new(),
                admission: Arc::new(Admission::new(&config)),
                next_connection: AtomicU64::new(1),
                rules: RuleEngine::new(rules),
                duties: tokio::sync::watch::Sender::new(config.redis.is_empty()),
                losses: tokio::sync::watch::Sender::new(0),
                config,
            }),
        }
    }

    /// The node's settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Subscribers, alarms, catalog and metrics of this node.
    pub fn local(&self) -> &Local {
        &self.inner.local
    }

    /// Connection token verifier.
    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// Whether several nodes share this node's broker (Redis).
    pub fn is_clustered(&self) -> bool {
        !self.inner.config.redis.is_empty()
    }

    /// This node's unique id (`/api/info`'s `uid`), its name in the lease.
    pub fn uid(&self) -> &str {
        &self.inner.uid
    }

    /// The broker, for the lease and the duties.
    pub fn broker(&self) -> &dyn Broker {
        &*self.inner.broker
    }

    /// Whether this node runs the cluster's duties now.
    pub fn holds_duties(&self) -> bool {
        *self.inner.duties.borrow()
    }

    /// Follows whether this node runs the cluster's duties.
    pub fn duties(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.duties.subscribe()
    }

    /// Says whether this node runs the cluster's duties (the lease's task).
    pub fn set_duties(&self, held: bool) {
        self.inner.duties.send_if_modified(|now| {
            let changed = *now != held;
            *now = held;
            changed
        });
    }

    /// The shared state was lost (Redis restarted empty): rule states start
    /// over, so the next samples raise again what is still true, and the
    /// silent-source watch is told ([`Node::state_losses`]).
    pub fn forget_derived_state(&self) {
        self.inner.rules.reset();
        self.inner.losses.send_modify(|n| *n += 1);
    }

    /// Changes each time the shared state was lost.
    pub fn state_losses(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.losses.subscribe()
    }

    /// The active alarms, most severe first, then newest first.
    pub async fn active_alarms(&self) -> Result<Vec<Alarm>, ReplyError> {
        let mut alarms = self.inner.broker.active_alarms().await?;
        crate::alarms::sort(&mut alarms);
        Ok(alarms)
    }

    /// One active alarm.
    pub async fn alarm(&self, id: &str) -> Result<Option<Alarm>, ReplyError> {
        Ok(self.inner.broker.alarm(id).await?)
    }

    /// See [`Broker::claim_alarm_change`].
    pub async fn claim_alarm_change(
        &self,
        id: &str,
        interval: std::time::Duration,
    ) -> Result<bool, ReplyError> {
        Ok(self.inner.broker.claim_alarm_change(id, interval).await?)
    }

    /// Every known source, from every node, in name order.
    pub async fn sources(&self) -> Result<Vec<SharedSource>, ReplyError> {
        Ok(self.inner.broker.sources().await?)
    }

    /// The alarm rules and their state.
    pub fn rules(&self) -> &RuleEngine {
        &self.inner.rules
    }

    /// Reads the `--config` file again and swaps in its alarm rules,
    /// keeping the state of rules whose name is unchanged. `Ok(None)`
    /// without a config file; on error the rules in use stay.
    pub async fn reload_rules(&self) -> Result<Option<usize>, ConfigError> {
        let Some(path) = &self.inner.config.config_path else {
            return Ok(None);
        };
        // Only the file: flags and environment do not set rules.
        let no_overrides = std::collections::BTreeMap::<String, String>::new();
        let config = Config::load(Some(path), no_overrides)?;
        let rules = RuleSet::compile(&config.rules)?;
        let n = rules.len();
        for alarm in self.inner.rules.replace(rules) {
            self.publish_alarm(&alarm).await;
        }
        Ok(Some(n))
    }

    /// The namespace rules clients are held to.
    pub fn permissions(&self) -> &Permissions {
        &self.inner.permissions
    }

    /// Whether a client with `access` may do `action` on `channel`; a
    /// refusal is counted and becomes error 103.
    pub fn permit(&self, access: &Access, action: Action, channel: &str) -> Result<(), ReplyError> {
        self.inner
            .permissions
            .check(access, action, channel)
            .map_err(|refusal| self.refuse(action.label(), refusal))
    }

    /// Counts a permission refusal of `action` (a label of
    /// `permission_denied_total`) and turns it into error 103.
    pub fn refuse(&self, action: &str, refusal: Refusal) -> ReplyError {
        self.inner.local.metrics.deny(action);
        refusal.into()
    }

    /// Cancelled when the node shuts down.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Tracks session tasks so shutdown can wait for them.
    pub fn sessions(&self) -> &TaskTracker {
        &self.inner.sessions
    }

    /// A fresh node-local connection id.
    pub fn next_connection_id(&self) -> u64 {
        self.inner.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// The connection budgets.
    pub fn admission(&self) -> &Arc<Admission> {
        &self.inner.admission
    }

    /// Frees expired history, forgets idle channels and idle sources, and
    /// updates the gauges that count them.
    pub fn sweep(&self) -> SweepReport {
        let local = &self.inner.local;
        let report = self
            .inner
            .broker
            .sweep(&|channel| local.hub.has_subscribers(channel));
        local
            .catalog
            .forget_idle(self.inner.config.catalog_forget_after);
        self.inner
            .rules
            .forget_idle(self.inner.config.catalog_forget_after);
        let metrics = &local.metrics;
        metrics.streams.set(report.streams as i64);
        metrics.history_publications.set(report.publications as i64);
        metrics.catalog_sources.set(local.catalog.len() as i64);
        report
    }

    /// Sources that nobody heard from for `--catalog-forget-after` leave
    /// the shared catalog (with the memory broker, [`Node::sweep`] did it).
    /// Every node may do it: forgetting twice is forgetting once.
    pub async fn forget_idle_sources(&self) {
        if !self.is_clustered() {
            return;
        }
        let age = self.inner.config.catalog_forget_after;
        if let Err(e) = self.inner.broker.forget_sources(age).await {
            tracing::warn!(error = %e, "could not forget idle sources");
        }
    }

    /// The Prometheus text for `/metrics`, with the gauges read now.
    pub fn render_metrics(&self) -> String {
        let local = &self.inner.local;
        let metrics = &local.metrics;
        metrics
            .pending_connections
            .set(self.inner.admission.pending() as i64);
        metrics.catalog_sources.set(local.catalog.len() as i64);
        metrics.broker_up.set(self.inner.broker.is_up() as i64);
        metrics.render()
    }

    /// Starts shutting down: every client is told 3001 so SDKs reconnect.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.local.hub.disconnect_all(Disconnect::SHUTDOWN);
        self.inner.sessions.close();
    }

    /// Publishes `data` on `channel`: the one publish path. A sample on
    /// `metrics:<source>` is then evaluated against the alarm rules, and
    /// their transitions are published on `alarms` (after the sample, so a
    /// subscriber to both sees the cause first).
    pub async fn publish(
        &self,
        channel: &str,
        data: RawJson,
        options: PublishOptions,
    ) -> Result<PublishResult, ReplyError> {
        let source = channel.strip_prefix(METRICS_PREFIX);
        // Parsed before `data` moves into the publication. The catalog
        // parses the same text for its names only; a sample that is not
        // all numbers is not evaluated.
        let sample = source
            .filter(|_| !self.inner.rules.is_empty())
            .and_then(|_| serde_json::from_str::<MetricSample>(data.get()).ok());
        let published = self.publish_one(channel, data, options).await?;
        if let (Some(source), Some(sample)) = (source, sample) {
            if published.source_moved {
                // Another node evaluated this source meanwhile: what this
                // node remembers of it may be out of date.
                self.inner.rules.forget(source);
            }
            self.adopt_rule_state(source).await;
            let now = tokio::time::Instant::now();
            for alarm in self.inner.rules.observe(source, &sample.values, now) {
                self.publish_alarm(&alarm).await;
            }
        }
        Ok(PublishResult {
            offset: published.position.offset,
            epoch: published.position.epoch,
        })
    }

    /// With several nodes, a source's samples may have gone through another
    /// node until now (its agent reconnected here): the rules take over the
    /// alarms that node raised, so they resolve here and do not fire twice.
    async fn adopt_rule_state(&self, source: &str) {
        let rules = &self.inner.rules;
        if !self.is_clustered() || rules.knows(source) {
            return;
        }
        match self.inner.broker.active_alarms().await {
            Ok(alarms) => {
                let own = alarms.iter().filter(|a| a.source == source);
                rules.adopt(source, own, tokio::time::Instant::now());
            }
            Err(e) => {
                tracing::warn!(source, error = %e, "cannot read the alarms to evaluate rules")
            }
        }
    }

    /// Publishes a rule's transition on `alarms`.
    async fn publish_alarm(&self, alarm: &Alarm) {
        let data = serde_json::value::to_raw_value(alarm).expect("alarms serialize");
        if let Err(e) = self
            .publish_one(ALARMS_CHANNEL, data, PublishOptions::default())
            .await
        {
            tracing::warn!(id = alarm.id, error = %e, "could not publish a rule's alarm");
        }
    }

    /// Publishes one publication, without evaluating rules.
    async fn publish_one(
        &self,
        channel: &str,
        data: RawJson,
        options: PublishOptions,
    ) -> Result<Published, ReplyError> {
        channel::check(channel)?;
        // Nothing larger than a client may send reaches subscribers: a push
        // bigger than their queue would close them all as slow, and again
        // every time they recover past it.
        let limit = self.inner.config.max_message_size;
        if data.get().len() > limit {
            return Err(ReplyError::with_message(
                ErrorCode::LimitExceeded,
                format!(
                    "limit exceeded: publication data is {} bytes, more than --max-message-size ({limit})",
                    data.get().len()
                ),
            ));
        }
        let alarm = match channel {
            ALARMS_CHANNEL => Some(serde_json::from_str::<Alarm>(data.get()).map_err(|e| {
                ReplyError::with_message(
                    ErrorCode::BadRequest,
                    format!("data on `alarms` must be an Alarm: {e}"),
                )
            })?),
            _ => None,
        };
        let max_metrics = self.inner.config.max_metrics_per_source;
        let recorded = self
            .inner
            .local
            .catalog
            .record(channel, data.get(), max_metrics)?;
        let source = channel.strip_prefix(METRICS_PREFIX);
        let effects = Effects {
            alarm: alarm.as_ref(),
            source: match (&recorded, source) {
                (Recorded::NotASample, _) | (_, None) => None,
                (Recorded::Unchanged, Some(name)) => Some(SourceSample {
                    name,
                    new_names: None,
                    evaluator: &self.inner.uid,
                }),
                (Recorded::NewNames(names), Some(name)) => Some(SourceSample {
                    name,
                    new_names: Some(names),
                    evaluator: &self.inner.uid,
                }),
            },
        };
        let publication = Publication {
            data: single_line(data)?,
            offset: 0,
            info: options.info,
            tags: options.tags,
        };
        let started = Instant::now();
        let published = self
            .inner
            .broker
            .publish(channel, publication, options.skip_history, effects)
            .await
            .inspect_err(|_| self.inner.local.metrics.broker_errors.inc())?;
        let metrics = &self.inner.local.metrics;
        metrics
            .publish_latency
            .observe(started.elapsed().as_secs_f64());
        metrics.publications.inc();
        Ok(published)
    }

    /// Subscribes `connection` to a channel and prepares the reply,
    /// recovering missed publications when asked. The subscriber stays
    /// pending: queue the reply, then call [`Node::activate`] with the
    /// returned offset.
    pub async fn subscribe(
        &self,
        connection: &Arc<Connection>,
        request: &SubscribeRequest,
    ) -> Result<(SubscribeResult, u64), ReplyError> {
        let channel = request.channel.as_str();
        channel::check(channel)?;
        let hub = &self.inner.local.hub;
        hub.add_pending(channel, connection.clone());
        let result = match self.inner.broker.listen(channel).await {
            Ok(()) => self.subscribe_result(request).await,
            Err(e) => Err(e.into()),
        };
        if result.is_err() {
            hub.remove(channel, connection.id);
        }
        result
    }

    async fn subscribe_result(
        &self,
        request: &SubscribeRequest,
    ) -> Result<(SubscribeResult, u64), ReplyError> {
        let channel = request.channel.as_str();
        let broker = &self.inner.broker;
        let mut result = SubscribeResult {
            recoverable: true,
            positioned: true,
            was_recovering: request.recover,
            ..SubscribeResult::default()
        };
        let top = if request.recover {
            let since = StreamPosition {
                offset: request.offset,
                epoch: request.epoch.clone(),
            };
            let recovery = broker.recover(channel, &since).await?;
            match recovery.publications.filter(|p| self.fits_recovery(p)) {
                Some(publications) => {
                    result.recovered = true;
                    result.offset = request.offset;
                    result.publications = publications.iter().map(|p| (**p).clone()).collect();
                }
                None if request.flag & SubscribeRequest::FLAG_REJECT_UNRECOVERED != 0 => {
                    return Err(ErrorCode::UnrecoverablePosition.into());
                }
                None => result.offset = recovery.position.offset,
            }
            result.epoch = recovery.position.epoch;
            recovery.position.offset
        } else {
            let page = broker.history(channel, HistoryQuery::default()).await?;
            result.offset = page.position.offset;
            result.epoch = page.position.epoch;
            page.position.offset
        };
        Ok((result, top))
    }

    /// Whether a recovery can be sent whole: at most `--max-recovery`
    /// publications and within what a client's queue holds. Otherwise the
    /// client is told `recovered: false` and resyncs, instead of being closed
    /// as slow and reconnecting into the same recovery.
    fn fits_recovery(&self, publications: &[Arc<Publication>]) -> bool {
        let config = &self.inner.config;
        let bytes: usize = publications.iter().map(|p| p.data.get().len() + 64).sum();
        publications.len() <= config.max_recovery && bytes <= config.reply_budget()
    }

    /// Makes a pending subscriber live once its reply is queued.
    pub fn activate(&self, channel: &str, connection: &Connection, covered: u64) {
        self.inner
            .local
            .hub
            .activate(channel, connection.id, covered);
    }

    /// Removes a subscription.
    pub fn unsubscribe(&self, channel: &str, connection: &Connection) {
        self.inner.local.hub.remove(channel, connection.id);
    }

    /// Reads a channel's history.
    pub async fn history(
        &self,
        channel: &str,
        limit: i32,
        since: Option<StreamPosition>,
        reverse: bool,
    ) -> Result<HistoryResult, ReplyError> {
        channel::check(channel)?;
        let limit = match limit {
            l if l < 0 => self.inner.config.history_size,
            l => l as usize,
        };
        let query = HistoryQuery {
            limit,
            since,
            reverse,
        };
        let page = self.inner.broker.history(channel, query).await?;
        Ok(HistoryResult {
            publications: page.publications.iter().map(|p| (**p).clone()).collect(),
            epoch: page.position.epoch,
            offset: page.position.offset,
        })
    }

    /// This node as `/api/info` shows it.
    pub fn info(&self) -> NodeInfo {
        let hub = &self.inner.local.hub;
        let channels = hub.channel_counts();
        NodeInfo {
            uid: self.inner.uid.clone(),
            name: self.inner.config.node_name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            num_clients: hub.num_connections() as u32,
            num_users: hub.num_users() as u32,
            num_channels: channels.len() as u32,
            num_subs: channels.values().sum::<usize>() as u32,
            uptime: self.inner.started.elapsed().as_secs() as u32,
        }
    }
}

/// The history bounds of `config`.
fn limits(config: &Config) -> HistoryLimits {
    HistoryLimits {
        size: config.history_size,
        ttl: config.history_ttl,
        meta_ttl: config.history_meta_ttl,
    }
}

/// Publications travel inside newline-separated frames, so their data must
/// be on one line.
fn single_line(data: RawJson) -> Result<RawJson, ReplyError> {
    let bad = |e: serde_json::Error| {
        ReplyError::with_message(ErrorCode::BadRequest, format!("data: {e}"))
    };
    match telltale_protocol::frame::single_line(data.get()).map_err(bad)? {
        std::borrow::Cow::Borrowed(_) => Ok(data),
        std::borrow::Cow::Owned(line) => {
            serde_json::value::RawValue::from_string(line).map_err(bad)
        }
    }
}
