//! The Redis broker: several hub nodes share history, fan-out, the active
//! alarms, the source catalog and the duties lease through Redis.
//!
//! - A publication is one Lua script ([`publish.lua`](redis/publish.lua)):
//!   the next offset from the channel's meta hash, an entry in its history
//!   stream (ids are offsets, length capped at the history size, TTL
//!   refreshed), what it changes in the shared state, and a `PUBLISH` to
//!   the channel's fan-out. Offsets and epochs are the same on every node,
//!   so a client that reconnects to another node recovers what it missed.
//! - A channel without meta (new, expired, or lost with Redis's data) gets
//!   a fresh epoch: clients holding the old one get `recovered: false`.
//! - Each node listens (pub/sub) only to channels with local subscribers,
//!   and gives a channel up once it had none for a while ([`fanout`]).
//! - With several `--redis` servers, channels are sharded by a stable hash
//!   of their name ([`keys`]); the alarms and the lease live on the shard of
//!   `alarms`.
//! - Redis unreachable: calls fail at once with [`BrokerError::Unavailable`]
//!   (error 108, HTTP 503) and connected clients stay; the connections come
//!   back by themselves.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use telltale_protocol::command::StreamPosition;
use telltale_protocol::{Alarm, Publication, ALARMS_CHANNEL};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{
    Broker, BrokerError, Effects, HistoryPage, HistoryQuery, PublicationHandler, Published,
    Recovery, SharedSource, SweepReport,
};
use crate::alarms::{merged, Acknowledgement};
use crate::catalog::Activity;
use crate::history::{new_epoch, HistoryLimits};
use crate::Config;

pub mod fanout;
pub mod keys;

use fanout::{Fanout, Listen};
use keys::{home_shard, shard_of, Keys};

/// Gaps between samples kept per source to estimate its interval.
const GAPS_KEPT: usize = 5;
/// Longest wait for one Redis command; beyond it the call is unavailable.
const RESPONSE_WITHIN: Duration = Duration::from_secs(2);
/// Longest wait to open a connection to Redis.
const CONNECT_WITHIN: Duration = Duration::from_secs(2);

/// History, fan-out and shared state in Redis.
pub struct RedisBroker {
    shards: Vec<Shard>,
    keys: Keys,
    reader: Reader,
    publish: Arc<Script>,
    lease: Script,
    release: Script,
    forget: Script,
    generation: Script,
    /// Stops the fan-out tasks when the broker goes.
    stop: CancellationToken,
}

/// One Redis server.
struct Shard {
    conn: ConnectionManager,
    listen: mpsc::Sender<Listen>,
    up: Arc<AtomicBool>,
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RedisBroker {
    /// Connects to every `config.redis` server and starts their fan-out,
    /// delivering to `handler`. Fails, naming the server, when one cannot
    /// be reached.
    pub async fn connect(
        config: &Config,
        limits: HistoryLimits,
        handler: Arc<dyn PublicationHandler>,
    ) -> anyhow::Result<Self> {
        let keys = Keys::new(&config.redis_prefix);
        let reader = Reader {
            keys: keys.clone(),
            script: Arc::new(Script::new(concat!(
                include_str!("redis/epoch.lua"),
                include_str!("redis/read.lua")
            ))),
            limits,
        };
        let stop = CancellationToken::new();
        let mut shards = Vec::new();
        for url in &config.redis {
            let shard = Shard::connect(url, &keys, &reader, handler.clone(), &stop).await?;
            shards.push(shard);
        }
        Ok(Self {
            shards,
            keys,
            reader,
            publish: Arc::new(Script::new(concat!(
                include_str!("redis/epoch.lua"),
                include_str!("redis/publish.lua")
            ))),
            lease: Script::new(include_str!("redis/lease.lua")),
            release: Script::new(include_str!("redis/release.lua")),
            forget: Script::new(include_str!("redis/forget.lua")),
            generation: Script::new(include_str!("redis/generation.lua")),
            stop,
        })
    }

    fn shard(&self, channel: &str) -> &Shard {
        &self.shards[shard_of(channel, self.shards.len())]
    }

    fn home(&self) -> &Shard {
        &self.shards[home_shard(self.shards.len())]
    }
}

impl Shard {
    async fn connect(
        url: &str,
        keys: &Keys,
        reader: &Reader,
        handler: Arc<dyn PublicationHandler>,
        stop: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .with_context(|| format!("--redis {url}: not a redis URL (redis://HOST:PORT[/DB])"))?;
        let settings = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_WITHIN)
            .set_response_timeout(RESPONSE_WITHIN)
            .set_number_of_retries(2)
            .set_max_delay(2_000);
        let conn = ConnectionManager::new_with_config(client.clone(), settings)
            .await
            .with_context(|| {
                format!(
                    "--redis {url}: cannot reach Redis; start redis-server there or fix the URL"
                )
            })?;
        let up = Arc::new(AtomicBool::new(true));
        let (listen, requests) = mpsc::channel(256);
        let fanout = Fanout::new(
            client,
            conn.clone(),
            keys.clone(),
            reader.clone(),
            handler,
            up.clone(),
        );
        tokio::spawn(fanout.run(requests, stop.clone()));
        Ok(Self { conn, listen, up })
    }

    /// A connection for one call.
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Records the outcome of a call in the shard's health.
    fn checked<T>(&self, result: redis::RedisResult<T>) -> Result<T, BrokerError> {
        match result {
            Ok(value) => {
                self.up.store(true, Ordering::Relaxed);
                Ok(value)
            }
            Err(e) => {
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                    self.up.store(false, Ordering::Relaxed);
                }
                Err(unavailable(e))
            }
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(format!("redis: {e}"))
}

/// Reads positions and history with read.lua; shared with the fan-out.
#[derive(Clone)]
pub struct Reader {
    keys: Keys,
    script: Arc<Script>,
    limits: HistoryLimits,
}

/// Part of a channel's history and its position.
pub struct Page {
    /// Current epoch and top offset.
    pub position: StreamPosition,
    /// The entries read, in the order asked.
    pub publications: Vec<Arc<Publication>>,
}

impl Page {
    /// Whether this page, read after `last`, holds every publication since
    /// (same epoch, nothing trimmed away).
    pub fn continues(&self, last: &StreamPosition) -> bool {
        let same_epoch = last.epoch.is_empty() || last.epoch == self.position.epoch;
        if !same_epoch || last.offset > self.position.offset {
            return false;
        }
        let missing = self.position.offset - last.offset;
        let first = self.publications.first().map(|p| p.offset);
        missing == 0
            || (first == Some(last.offset + 1) && self.publications.len() as u64 == missing)
    }
}

type Entry = (String, Vec<(String, String)>);

impl Reader {
    /// Reads `limit` entries after (before, when `reverse`) `from`.
    async fn read(
        &self,
        conn: &mut ConnectionManager,
        channel: &str,
        from: Option<u64>,
        limit: usize,
        reverse: bool,
    ) -> redis::RedisResult<Page> {
        let (top, epoch, entries): (u64, String, Vec<Entry>) = self
            .script
            .key(self.keys.stream(channel))
            .key(self.keys.meta(channel))
            .arg(new_epoch())
            .arg(self.limits.meta_ttl.as_millis() as u64)
            .arg(from.map(|o| o.to_string()).unwrap_or_default())
            .arg(limit)
            .arg(if reverse { "1" } else { "0" })
            .invoke_async(conn)
            .await?;
        let publications = entries.into_iter().filter_map(entry).collect();
        Ok(Page {
            position: StreamPosition { offset: top, epoch },
            publications,
        })
    }

    /// A channel's position (creating its epoch if it has none).
    pub async fn position(
        &self,
        conn: &mut ConnectionManager,
        channel: &str,
    ) -> redis::RedisResult<StreamPosition> {
        Ok(self.read(conn, channel, None, 0, false).await?.position)
    }

    /// Everything history holds after `offset`.
    pub async fn after(
        &self,
        conn: &mut ConnectionManager,
        channel: &str,
        offset: u64,
    ) -> redis::RedisResult<Page> {
        let all = self.limits.size + 1;
        self.read(conn, channel, Some(offset), all, false).await
    }

    /// Keeps the meta (epoch, offset) of channels with subscribers from
    /// expiring while nothing is published on them.
    pub async fn keep_alive(&self, conn: &mut ConnectionManager, channels: &[String]) {
        if channels.is_empty() {
            return;
        }
        let ttl = self.limits.meta_ttl.as_millis() as i64;
        let mut pipe = redis::pipe();
        for channel in channels {
            pipe.pexpire(self.keys.meta(channel), ttl).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(conn).await {
            tracing::debug!(error = %e, "could not keep channel meta alive");
        }
    }
}

/// A stream entry `("<offset>-0", ["p", json])` as a publication.
fn entry((id, fields): Entry) -> Option<Arc<Publication>> {
    let offset = id.split_once('-')?.0.parse().ok()?;
    let (_, json) = fields.into_iter().find(|(name, _)| name == "p")?;
    let mut publication: Publication = serde_json::from_str(&json).ok()?;
    publication.offset = offset;
    Some(Arc::new(publication))
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        skip_history: bool,
        effects: Effects<'_>,
    ) -> Result<Published, BrokerError> {
        let shard = self.shard(channel);
        let json = serde_json::to_string(&publication).expect("publications serialize");
        let limits = self.reader.limits;
        let mut call = self.publish.key(self.keys.stream(channel));
        call.key(self.keys.meta(channel))
            .arg(self.keys.fanout(channel))
            .arg(json)
            .arg(limits.size)
            .arg(limits.ttl.as_millis().max(1) as u64)
            .arg(limits.meta_ttl.as_millis().max(1) as u64)
            .arg(new_epoch())
            .arg(if skip_history { "1" } else { "0" });
        match (effects.alarm, effects.source) {
            (Some(alarm), _) if channel == ALARMS_CHANNEL => {
                let ack = Acknowledgement {
                    by: alarm.by.clone(),
                    comment: alarm.comment.clone(),
                };
                let state = serde_json::to_value(alarm.state).expect("states serialize");
                call.key(self.keys.alarms())
                    .key(self.keys.acks())
                    .key(self.keys.silences())
                    .arg("alarm")
                    .arg(&alarm.id)
                    .arg(state.as_str().unwrap_or_default())
                    .arg(serde_json::to_string(alarm).expect("alarms serialize"))
                    .arg(serde_json::to_string(&ack).expect("acks serialize"))
                    .arg(
                        alarm
                            .silenced_until
                            .map(|t| t.to_string())
                            .unwrap_or_default(),
                    );
            }
            (_, Some(source)) => {
                let names = source
                    .new_names
                    .map(|names| serde_json::to_string(names).expect("names serialize"));
                call.key(self.keys.sources())
                    .key(self.keys.names())
                    .key(self.keys.evaluators())
                    .arg("sample")
                    .arg(source.name)
                    .arg(names.unwrap_or_default())
                    .arg(GAPS_KEPT)
                    .arg(source.evaluator);
            }
            _ => {
                call.arg("");
            }
        }
        let (offset, epoch, moved): (u64, String, u8) =
            shard.checked(call.invoke_async(&mut shard.conn()).await)?;
        Ok(Published {
            position: StreamPosition { offset, epoch },
            source_moved: moved == 1,
        })
    }

    async fn listen(&self, channel: &str) -> Result<(), BrokerError> {
        let (reply, answer) = oneshot::channel();
        let request = Listen {
            channel: channel.to_owned(),
            reply,
        };
        let gone = || BrokerError::Unavailable("redis: the fan-out task stopped".into());
        self.shard(channel)
            .listen
            .send(request)
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn history(
        &self,
        channel: &str,
        query: HistoryQuery,
    ) -> Result<HistoryPage, BrokerError> {
        let shard = self.shard(channel);
        let limit = query.limit.min(self.reader.limits.size);
        let from = query.since.as_ref().map(|s| s.offset);
        let page = self
            .reader
            .read(&mut shard.conn(), channel, from, limit, query.reverse)
            .await;
        let page = shard.checked(page)?;
        if let Some(since) = &query.since {
            if !since.epoch.is_empty() && since.epoch != page.position.epoch {
                return Err(BrokerError::UnrecoverablePosition);
            }
        }
        Ok(HistoryPage {
            publications: page.publications,
            position: page.position,
        })
    }

    async fn recover(
        &self,
        channel: &str,
        since: &StreamPosition,
    ) -> Result<Recovery, BrokerError> {
        let shard = self.shard(channel);
        let page = self
            .reader
            .after(&mut shard.conn(), channel, since.offset)
            .await;
        let page = shard.checked(page)?;
        let complete = page.continues(since);
        Ok(Recovery {
            publications: complete.then_some(page.publications),
            position: page.position,
        })
    }

    fn sweep(&self, _in_use: &dyn Fn(&str) -> bool) -> SweepReport {
        // Redis expires history by itself; the fan-out gives idle channels
        // up on its own clock.
        SweepReport::default()
    }

    async fn active_alarms(&self) -> Result<Vec<Alarm>, BrokerError> {
        let home = self.home();
        let (alarms, acks, silences): Hashes = home.checked(
            redis::pipe()
                .atomic()
                .hgetall(self.keys.alarms())
                .hgetall(self.keys.acks())
                .hgetall(self.keys.silences())
                .query_async(&mut home.conn())
                .await,
        )?;
        Ok((alarms.into_iter())
            .filter_map(|(id, json)| active_alarm(&id, &json, &acks, &silences))
            .collect())
    }

    async fn alarm(&self, id: &str) -> Result<Option<Alarm>, BrokerError> {
        let home = self.home();
        let (alarm, ack, silence): (Option<String>, Option<String>, Option<String>) = home
            .checked(
                redis::pipe()
                    .atomic()
                    .hget(self.keys.alarms(), id)
                    .hget(self.keys.acks(), id)
                    .hget(self.keys.silences(), id)
                    .query_async(&mut home.conn())
                    .await,
            )?;
        let acks = ack.map(|a| (id.to_owned(), a)).into_iter().collect();
        let silences = silence.map(|s| (id.to_owned(), s)).into_iter().collect();
        Ok(alarm.and_then(|json| active_alarm(id, &json, &acks, &silences)))
    }

    async fn claim_alarm_change(&self, id: &str, interval: Duration) -> Result<bool, BrokerError> {
        let home = self.home();
        let set: Option<String> = home.checked(
            redis::cmd("SET")
                .arg(self.keys.change(id))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(interval.as_millis().max(1) as u64)
                .query_async(&mut home.conn())
                .await,
        )?;
        Ok(set.is_some())
    }

    async fn sources(&self) -> Result<Vec<SharedSource>, BrokerError> {
        let mut all = BTreeMap::new();
        for shard in &self.shards {
            let (time, activity, names): (Vec<String>, Hash, Hash) = shard.checked(
                redis::pipe()
                    .atomic()
                    .cmd("TIME")
                    .hgetall(self.keys.sources())
                    .hgetall(self.keys.names())
                    .query_async(&mut shard.conn())
                    .await,
            )?;
            let now = redis_ms(&time);
            for (name, entry) in activity {
                let metrics = (names.get(&name))
                    .and_then(|json| serde_json::from_str(json).ok())
                    .unwrap_or_default();
                if let Some(source) = shared_source(name.clone(), &entry, metrics, now) {
                    all.insert(name, source);
                }
            }
        }
        Ok(all.into_values().collect())
    }

    async fn forget_sources(&self, age: Duration) -> Result<usize, BrokerError> {
        let mut forgotten = 0;
        for shard in &self.shards {
            let n: usize = shard.checked(
                self.forget
                    .key(self.keys.sources())
                    .key(self.keys.names())
                    .key(self.keys.evaluators())
                    .arg(age.as_millis() as u64)
                    .invoke_async(&mut shard.conn())
                    .await,
            )?;
            forgotten += n;
        }
        Ok(forgotten)
    }

    async fn claim_duties(&self, holder: &str, ttl: Duration) -> Result<bool, BrokerError> {
        let home = self.home();
        let held: i64 = home.checked(
            self.lease
                .key(self.keys.lease())
                .arg(holder)
                .arg(ttl.as_millis().max(1) as u64)
                .invoke_async(&mut home.conn())
                .await,
        )?;
        Ok(held == 1)
    }

    async fn generation(&self) -> Result<String, BrokerError> {
        let home = self.home();
        home.checked(
            self.generation
                .key(self.keys.generation())
                .arg(new_epoch())
                .invoke_async(&mut home.conn())
                .await,
        )
    }

    async fn release_duties(&self, holder: &str) -> Result<(), BrokerError> {
        let home = self.home();
        let _: i64 = home.checked(
            self.release
                .key(self.keys.lease())
                .arg(holder)
                .invoke_async(&mut home.conn())
                .await,
        )?;
        Ok(())
    }

    fn is_up(&self) -> bool {
        self.shards.iter().all(|s| s.up.load(Ordering::Relaxed))
    }
}

type Hash = HashMap<String, String>;
type Hashes = (Hash, Hash, Hash);

/// An active alarm from its last transition, acknowledgement and silence.
fn active_alarm(id: &str, json: &str, acks: &Hash, silences: &Hash) -> Option<Alarm> {
    let last: Alarm = serde_json::from_str(json).ok()?;
    let ack = acks.get(id).and_then(|a| serde_json::from_str(a).ok());
    let silenced_until = silences.get(id).and_then(|s| s.parse().ok());
    Some(merged(last, ack, silenced_until))
}

/// Redis's `TIME` in unix ms.
fn redis_ms(time: &[String]) -> i64 {
    let secs: i64 = time.first().and_then(|s| s.parse().ok()).unwrap_or(0);
    let micros: i64 = time.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    secs * 1000 + micros / 1000
}

/// A source from its activity entry (`"<last ms> <gaps ms>..."`) as of
/// Redis time `now`.
fn shared_source(
    name: String,
    entry: &str,
    metrics: Vec<String>,
    now: i64,
) -> Option<SharedSource> {
    let mut words = entry.split_whitespace().map(|w| w.parse::<i64>().ok());
    let last_seen = words.next()??;
    let mut gaps: Vec<i64> = words.flatten().collect();
    gaps.sort_unstable();
    let interval = gaps
        .get(gaps.len().saturating_sub(1) / 2)
        .map(|&ms| Duration::from_millis(ms.max(0) as u64));
    let ago = Duration::from_millis((now - last_seen).max(0) as u64);
    let received = tokio::time::Instant::now()
        .checked_sub(ago)
        .unwrap_or_else(tokio::time::Instant::now);
    Some(SharedSource {
        name,
        metrics,
        last_seen,
        activity: Activity { received, interval },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_entry_gives_its_median_interval() {
        let source = shared_source("a".into(), "10000 1000 3000 2000", vec![], 12_000).unwrap();
        assert_eq!(source.last_seen, 10_000);
        assert_eq!(source.activity.interval, Some(Duration::from_millis(2000)));
        let once = shared_source("b".into(), "10000", vec![], 12_000).unwrap();
        assert_eq!(once.activity.interval, None);
        assert!(shared_source("c".into(), "x", vec![], 0).is_none());
    }

    #[test]
    fn a_page_continues_only_without_holes() {
        let publication = |offset| {
            Arc::new(Publication {
                data: serde_json::value::RawValue::from_string("1".into()).unwrap(),
                offset,
                info: None,
                tags: None,
            })
        };
        let at = |offset, epoch: &str| StreamPosition {
            offset,
            epoch: epoch.into(),
        };
        let page = Page {
            position: at(5, "e"),
            publications: vec![publication(4), publication(5)],
        };
        assert!(page.continues(&at(3, "e")));
        assert!(!page.continues(&at(2, "e")), "offset 3 is gone");
        assert!(!page.continues(&at(3, "other")));
        assert!(!page.continues(&at(6, "e")));
    }
}
