//! One shard's fan-out: the pub/sub connection that brings every node the
//! publications of the channels its clients are subscribed to.
//!
//! A single task per shard owns the connection and what it listens to, so
//! that subscribing, delivering and giving up idle channels never race.
//! It remembers the last position delivered per channel: after the
//! connection is lost it subscribes again and delivers what was published
//! meanwhile from history, or, when that is gone (Redis restarted without
//! its data), tells the channel's subscribers to recover.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use telltale_protocol::command::StreamPosition;
use telltale_protocol::Publication;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::keys::Keys;
use super::Reader;
use crate::broker::{BrokerError, PublicationHandler};

/// How often idle channels are given up and the meta of listened ones kept
/// alive; a channel is given up after two checks without subscribers.
const IDLE_CHECK: Duration = Duration::from_secs(10);
/// Longest wait for Redis to answer a (un)subscribe or a connect.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);
/// Reconnect delays: doubled after each failure, up to the max.
const RECONNECT_MIN: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Asks the fan-out task to listen to a channel; answered once Redis
/// confirmed the subscription.
pub struct Listen {
    /// The hub channel.
    pub channel: String,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<(), BrokerError>>,
}

/// The state of one shard's fan-out task.
pub struct Fanout {
    /// Opens the pub/sub connection.
    pub client: redis::Client,
    /// For history reads when catching up.
    pub conn: ConnectionManager,
    /// Key names.
    pub keys: Keys,
    /// Reads positions and history.
    pub reader: Reader,
    /// This node's delivery.
    pub handler: Arc<dyn PublicationHandler>,
    /// Whether the shard answers, shared with the broker.
    pub up: Arc<AtomicBool>,
    /// The last position delivered per listened channel (`None`: unknown).
    listening: HashMap<String, Option<StreamPosition>>,
    /// Listened channels that had no subscriber at the last idle check.
    idle: HashSet<String>,
}

/// Why serving a connection stopped.
enum Stopped {
    Shutdown,
    Lost,
}

impl Fanout {
    /// A fan-out task's state, listening to nothing yet.
    pub fn new(
        client: redis::Client,
        conn: ConnectionManager,
        keys: Keys,
        reader: Reader,
        handler: Arc<dyn PublicationHandler>,
        up: Arc<AtomicBool>,
    ) -> Self {
        Self {
            client,
            conn,
            keys,
            reader,
            handler,
            up,
            listening: HashMap::new(),
            idle: HashSet::new(),
        }
    }

    /// Serves `requests` until `shutdown`, reconnecting with backoff.
    pub async fn run(mut self, mut requests: mpsc::Receiver<Listen>, shutdown: CancellationToken) {
        let mut backoff = RECONNECT_MIN;
        let mut lost = false;
        loop {
            match self.connect().await {
                Ok((sink, stream)) => {
                    backoff = RECONNECT_MIN;
                    if lost {
                        tracing::info!("redis pub/sub connection back; catching up");
                        self.catch_up().await;
                    }
                    self.up.store(true, Ordering::Relaxed);
                    let stopped = self.serve(sink, stream, &mut requests, &shutdown).await;
                    if let Stopped::Shutdown = stopped {
                        return;
                    }
                    tracing::warn!("redis pub/sub connection lost; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach redis for pub/sub; retrying in {backoff:?}")
                }
            }
            self.up.store(false, Ordering::Relaxed);
            lost = true;
            if !refuse_until(&mut requests, &shutdown, backoff).await {
                return;
            }
            backoff = (backoff * 2).min(RECONNECT_MAX);
        }
    }

    /// Opens the pub/sub connection and subscribes to every listened channel.
    async fn connect(&mut self) -> Result<(PubSubSink, PubSubStream), BrokerError> {
        let pubsub = tokio::time::timeout(ANSWER_WITHIN, self.client.get_async_pubsub())
            .await
            .map_err(|_| unavailable("connect timed out"))?
            .map_err(|e| unavailable(&e.to_string()))?;
        let (mut sink, stream) = pubsub.split();
        for channel in self.listening.keys() {
            subscribe(&mut sink, &self.keys.fanout(channel)).await?;
        }
        Ok((sink, stream))
    }

    async fn serve(
        &mut self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        requests: &mut mpsc::Receiver<Listen>,
        shutdown: &CancellationToken,
    ) -> Stopped {
        let mut idle_check = tokio::time::interval(IDLE_CHECK);
        idle_check.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Stopped::Shutdown,
                request = requests.recv() => match request {
                    None => return Stopped::Shutdown,
                    Some(request) => {
                        if !self.listen(&mut sink, request).await {
                            return Stopped::Lost;
                        }
                    }
                },
                message = stream.next() => match message {
                    None => return Stopped::Lost,
                    Some(message) => self.deliver(&message),
                },
                _ = idle_check.tick() => {
                    if !self.check_idle(&mut sink).await {
                        return Stopped::Lost;
                    }
                }
            }
        }
    }

    /// Subscribes to a channel not listened to yet; `false` when the
    /// connection failed.
    async fn listen(&mut self, sink: &mut PubSubSink, request: Listen) -> bool {
        let Listen { channel, reply } = request;
        self.idle.remove(&channel);
        if self.listening.contains_key(&channel) {
            let _ = reply.send(Ok(()));
            return true;
        }
        if let Err(e) = subscribe(sink, &self.keys.fanout(&channel)).await {
            let _ = reply.send(Err(e));
            return false;
        }
        // Publications from here on arrive on the connection; those up to
        // this position are the subscriber's to read from history.
        let position = self.reader.position(&mut self.conn, &channel).await.ok();
        self.listening.insert(channel, position);
        let _ = reply.send(Ok(()));
        true
    }

    /// Hands one message to this node's subscribers, in offset order, once.
    fn deliver(&mut self, message: &redis::Msg) {
        let Some(channel) = self.keys.channel_of(message.get_channel_name()) else {
            return;
        };
        let Some(last) = self.listening.get_mut(channel) else {
            return;
        };
        let Some((position, publication)) = parse(message.get_payload_bytes()) else {
            tracing::warn!(channel, "unreadable publication from redis; skipped");
            return;
        };
        match last {
            Some(last) if last.epoch == position.epoch && position.offset <= last.offset => return,
            Some(last) if last.epoch != position.epoch || position.offset > last.offset + 1 => {
                self.handler.handle_gap(channel)
            }
            _ => {}
        }
        *last = Some(position);
        self.handler
            .handle_publication(channel, Arc::new(publication));
    }

    /// After the connection came back: delivers what was published while
    /// it was lost, or has the subscribers recover by themselves.
    async fn catch_up(&mut self) {
        let channels: Vec<String> = self.listening.keys().cloned().collect();
        for channel in channels {
            let last = self.listening.get(&channel).cloned().flatten();
            let page = match &last {
                Some(last) => (self.reader)
                    .after(&mut self.conn, &channel, last.offset)
                    .await
                    .map_err(|e| unavailable(&e.to_string())),
                None => Err(unavailable("no position")),
            };
            let position = match (page, last) {
                (Ok(page), Some(last)) if page.continues(&last) => {
                    for publication in page.publications {
                        self.handler.handle_publication(&channel, publication);
                    }
                    Some(page.position)
                }
                (page, _) => {
                    self.handler.handle_gap(&channel);
                    page.ok().map(|p| p.position)
                }
            };
            self.listening.insert(channel, position);
        }
    }

    /// Gives up channels without subscribers for two checks, and keeps the
    /// meta of the others alive; `false` when the connection failed.
    async fn check_idle(&mut self, sink: &mut PubSubSink) -> bool {
        let mut wanted = Vec::new();
        let mut gone = Vec::new();
        for channel in self.listening.keys() {
            if self.handler.wants(channel) {
                self.idle.remove(channel);
                wanted.push(channel.clone());
            } else if !self.idle.insert(channel.clone()) {
                gone.push(channel.clone());
            }
        }
        for channel in gone {
            self.idle.remove(&channel);
            self.listening.remove(&channel);
            let name = self.keys.fanout(&channel);
            match tokio::time::timeout(ANSWER_WITHIN, sink.unsubscribe(&name)).await {
                Ok(Ok(())) => {}
                _ => return false,
            }
        }
        self.reader.keep_alive(&mut self.conn, &wanted).await;
        true
    }
}

/// Answers listen requests with "unavailable" for `wait`; `false` on
/// shutdown.
async fn refuse_until(
    requests: &mut mpsc::Receiver<Listen>,
    shutdown: &CancellationToken,
    wait: Duration,
) -> bool {
    let until = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return false,
            _ = tokio::time::sleep_until(until) => return true,
            request = requests.recv() => match request {
                None => return false,
                Some(request) => {
                    let _ = request.reply.send(Err(unavailable("reconnecting to redis")));
                }
            },
        }
    }
}

async fn subscribe(sink: &mut PubSubSink, name: &str) -> Result<(), BrokerError> {
    tokio::time::timeout(ANSWER_WITHIN, sink.subscribe(name))
        .await
        .map_err(|_| unavailable("subscribe timed out"))?
        .map_err(|e| unavailable(&e.to_string()))
}

fn unavailable(why: &str) -> BrokerError {
    BrokerError::Unavailable(format!("redis: {why}"))
}

/// `<offset> <epoch> <publication JSON>`, as publish.lua sends it.
fn parse(payload: &[u8]) -> Option<(StreamPosition, Publication)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (offset, rest) = text.split_once(' ')?;
    let (epoch, json) = rest.split_once(' ')?;
    let offset: u64 = offset.parse().ok()?;
    let mut publication: Publication = serde_json::from_str(json).ok()?;
    publication.offset = offset;
    let position = StreamPosition {
        offset,
        epoch: epoch.to_owned(),
    };
    Some((position, publication))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_publish_lua_sends() {
        let (position, publication) = parse(br#"7 ab12 {"data":{"x":1}}"#).unwrap();
        assert_eq!((position.offset, position.epoch.as_str()), (7, "ab12"));
        assert_eq!(publication.offset, 7);
        assert_eq!(publication.data.get(), r#"{"x":1}"#);
        assert!(parse(b"7 ab12").is_none());
        assert!(parse(b"x ab12 {}").is_none());
    }
}
