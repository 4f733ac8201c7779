//! One WebSocket connection: read commands, answer them, keep the heartbeat.
//!
//! The read half is always polled (pongs and close frames must get through
//! even while the client is slow to read); the write half is drained by
//! [`writer::write_loop`] in a task of its own, so that a delivery wakes the
//! writer alone. (Joined in one task, every delivery polled the read half
//! too: a read attempt that zeroes tungstenite's read buffer, the timers
//! and the tokens. That was half of the hub's CPU per delivery.)

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use telltale_protocol::codes::{CLOSE_INVALID_PAYLOAD, CLOSE_MESSAGE_TOO_BIG};
use telltale_protocol::command::{ConnectRequest, SubscribeRequest};
use telltale_protocol::reply::{
    ConnectResult, Empty, PresenceResult, RefreshResult, RpcResult, SubscribeResult,
};
use telltale_protocol::{Command, Disconnect, ErrorCode, Method, Reply, ReplyError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::task::AbortOnDropHandle;

use crate::admission::{ConnectionSlot, PendingPermit, STALE};
use crate::auth::Credentials;
use crate::hub::Connection;
use crate::node::{Node, PublishOptions};
use crate::permissions::{Access, Action};
use crate::rate_limit::TokenBucket;
use crate::rpc;
use crate::writer::{self, ClientQueue};

/// Most channels one connection may subscribe to.
const MAX_CHANNELS: usize = 512;
/// Grace after a token's expiry before the connection is closed (3005).
const EXPIRED_CLOSE_DELAY: Duration = Duration::from_secs(25);
/// How long to keep reading after a close, so the close frame reaches the
/// client instead of being lost to a TCP reset.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// Serves one upgraded WebSocket until it closes.
pub fn serve<S>(node: Node, ws: WebSocketStream<S>) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Split before the future is made: an async fn keeps its arguments for
    // as long as it runs, and the stream's halves hold it already.
    let (sink, stream) = ws.split();
    serve_halves(node, sink, stream)
}

async fn serve_halves<S>(
    node: Node,
    sink: SplitSink<WebSocketStream<S>, Message>,
    mut stream: SplitStream<WebSocketStream<S>>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let metrics = &node.local().metrics;
    let _open = OpenSocket::count(&metrics.connections);
    let (queue, rx) = ClientQueue::new(node.config().client_queue_bytes);
    let pending = node.admission().admit_pending(queue.clone());
    let mut session = Session::new(node.clone(), queue.clone(), pending);
    let write_timeout = node.config().write_timeout;
    // Aborted if this session is dropped half way (e.g. at runtime shutdown).
    let writer = AbortOnDropHandle::new(tokio::spawn({
        let (node, queue) = (node.clone(), queue.clone());
        let mut sink = sink;
        async move {
            let _close = CloseWhenDone(&queue);
            let metrics = &node.local().metrics;
            writer::write_loop(&mut sink, rx, &queue, write_timeout, metrics).await;
            sink
        }
    }));
    // Each loop ends once the queue closes, and each closes it when it
    // ends on its own (a client's close, a failed write).
    session.read_loop(&mut stream).await;
    let sink = writer.await;
    drop(session);
    let reason = queue.reason().unwrap_or(Disconnect::CONNECTION_CLOSED);
    metrics.record_disconnect(reason.code);
    // When the server closed, the client may still be sending; reading it
    // lets the close frame arrive instead of being lost to a TCP reset. When
    // the client closed, its close is answered and there is nothing to wait for.
    if reason != Disconnect::CONNECTION_CLOSED {
        // (No sink after a writer that panicked.) Boxed: only a session
        // that is closing pays for the reunited socket and the timer.
        if let Ok(sink) = sink {
            Box::pin(drain(sink, stream)).await;
        }
    }
}

/// What a session's one timer waits for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Due {
    Ping,
    Close(Disconnect),
}

/// Closes the queue when the writer ends, whatever ends it (a panic too),
/// so the read loop does not outlive it.
struct CloseWhenDone<'a>(&'a ClientQueue);

impl Drop for CloseWhenDone<'_> {
    fn drop(&mut self) {
        // The first reason wins: after a normal end this changes nothing.
        self.0.disconnect(Disconnect::WRITE_ERROR);
    }
}

/// When a session with `credentials` is closed for expiry (token expiry plus
/// a grace period), and `(expires, ttl)` for its replies, at unix time `now`.
///
/// Any claim is safe: a deadline too far to represent means no timer, and
/// the reported ttl saturates at `u32::MAX` seconds (136 years) instead of
/// wrapping.
pub fn expiry(credentials: &Credentials, now: u64) -> (Option<Instant>, bool, u32) {
    let Some(left) = credentials.time_left(now) else {
        return (None, false, 0);
    };
    let deadline = Instant::now().checked_add(left.saturating_add(EXPIRED_CLOSE_DELAY));
    (
        deadline,
        true,
        u32::try_from(left.as_secs()).unwrap_or(u32::MAX),
    )
}

/// Reads and discards what the client still sends until it closes, for at
/// most [`CLOSE_DRAIN`].
async fn drain<S>(
    sink: SplitSink<WebSocketStream<S>, Message>,
    stream: SplitStream<WebSocketStream<S>>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut ws) = sink.reunite(stream) else {
        return;
    };
    let socket = ws.get_mut();
    // On the heap, and only now: an array here would make every session's
    // future (what an idle connection costs) 4 KiB larger.
    let mut buf = vec![0u8; 4096];
    let _ = tokio::time::timeout(CLOSE_DRAIN, async {
        while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Counts an open socket in a gauge for as long as it lives, however the
/// session ends.
struct OpenSocket<'a>(&'a prometheus::IntGauge);

impl<'a> OpenSocket<'a> {
    fn count(gauge: &'a prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for OpenSocket<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct Session {
    node: Node,
    queue: Arc<ClientQueue>,
    connection: Option<Arc<Connection>>,
    channels: HashSet<String>,
    pong_deadline: Option<Instant>,
    expires_at: Option<Instant>,
    /// Held until `connect` succeeds: the socket counts as pending.
    pending: Option<PendingPermit>,
    /// Held from `connect` on: the socket counts as connected.
    slot: Option<ConnectionSlot>,
    commands: TokenBucket,
    /// Commands refused in a row for the rate; past the burst, 3013.
    refused_in_row: u32,
}

/// Whatever ends a session (a close, an error, a panic), it leaves the
/// node's registry and gives its slot back.
impl Drop for Session {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Session {
    fn new(node: Node, queue: Arc<ClientQueue>, pending: PendingPermit) -> Self {
        let config = node.config();
        let commands = TokenBucket::new(config.client_command_rate, config.client_command_burst);
        Self {
            node,
            queue,
            connection: None,
            channels: HashSet::new(),
            pong_deadline: None,
            expires_at: None,
            pending: Some(pending),
            slot: None,
            commands,
            refused_in_row: 0,
        }
    }

    async fn read_loop<R>(&mut self, stream: &mut R)
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin,
    {
        // Two durations, not a clone of the whole config: whatever this
        // future holds, every idle connection holds.
        let (connect_timeout, ping_interval) = {
            let config = self.node.config();
            (config.connect_timeout, config.ping_interval)
        };
        let connect_deadline = Instant::now() + connect_timeout;
        let mut next_ping = Instant::now() + ping_interval;
        let queue = self.queue.clone();
        let shutdown = self.node.shutdown_token().clone();
        loop {
            let connected = self.connection.is_some();
            // One timer for whatever is due first: no allocation for an
            // interval, one timer entry per idle connection.
            let (at, due) = self.next_due(connected, connect_deadline, next_ping);
            tokio::select! {
                biased;
                _ = queue.closing().cancelled() => return,
                _ = shutdown.cancelled() => return self.close(Disconnect::SHUTDOWN),
                message = stream.next() => {
                    // Boxed: handling a command (a subscribe that reads the
                    // broker's history) is a large future, and inline it
                    // would make every idle session that large.
                    if let Err(reason) = Box::pin(self.on_message(message)).await {
                        return self.close(reason);
                    }
                }
                _ = sleep_until(at) => match due {
                    Due::Ping => {
                        self.ping();
                        next_ping = Instant::now() + ping_interval;
                    }
                    Due::Close(reason) => return self.close(reason),
                },
            }
        }
    }

    /// What is due first, and when: a close (no `connect` in time, no pong
    /// in time, the token's expiry) or, once connected, the next ping. A
    /// close wins a tie: a ping just before it is no use.
    fn next_due(&self, connected: bool, connect: Instant, ping: Instant) -> (Instant, Due) {
        let closes = [
            (!connected).then_some((connect, Due::Close(STALE))),
            (self.pong_deadline).map(|at| (at, Due::Close(Disconnect::NO_PONG))),
            (self.expires_at).map(|at| (at, Due::Close(Disconnect::EXPIRED))),
        ];
        let ping = connected.then_some((ping, Due::Ping));
        let first = closes.into_iter().chain([ping]).flatten();
        // Never empty: the connect deadline before `connect`, pings after.
        first
            .min_by_key(|(at, _)| *at)
            .unwrap_or((connect, Due::Close(STALE)))
    }

    fn close(&self, reason: Disconnect) {
        self.queue.disconnect(reason);
    }

    fn ping(&mut self) {
        self.queue.push(Utf8Bytes::from_static("{}"));
        if self.pong_deadline.is_none() {
            self.pong_deadline = Some(Instant::now() + self.node.config().pong_timeout);
        }
    }

    /// Handles one WebSocket message; `Err` closes the connection.
    async fn on_message(
        &mut self,
        message: Option<Result<Message, WsError>>,
    ) -> Result<(), Disconnect> {
        match message {
            Some(Ok(Message::Text(text))) => {
                let metrics = &self.node.local().metrics;
                metrics.bytes_in.inc_by(text.len() as u64);
                self.on_frame(text.as_str()).await
            }
            Some(Ok(Message::Binary(_))) => Err(Disconnect::new(3506, "inappropriate protocol")),
            Some(Ok(Message::Close(_))) | None => Err(Disconnect::CONNECTION_CLOSED),
            Some(Ok(_)) => Ok(()), // WebSocket ping/pong frames: tungstenite answers them.
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
                Err(Disconnect::new(CLOSE_MESSAGE_TOO_BIG, "message too big"))
            }
            Some(Err(WsError::Utf8(_))) => {
                Err(Disconnect::new(CLOSE_INVALID_PAYLOAD, "invalid UTF-8"))
            }
            Some(Err(WsError::Protocol(_))) => Err(Disconnect::new(1002, "protocol error")),
            Some(Err(_)) => Err(Disconnect::CONNECTION_CLOSED),
        }
    }

    /// Runs the commands of one frame in order.
    async fn on_frame(&mut self, frame: &str) -> Result<(), Disconnect> {
        let mut lines = telltale_protocol::frame::lines(frame).peekable();
        if lines.peek().is_none() {
            return Err(Disconnect::BAD_REQUEST);
        }
        for line in lines {
            let command: Command =
                serde_json::from_str(line).map_err(|_| Disconnect::BAD_REQUEST)?;
            self.node.local().metrics.messages_in.inc();
            let id = command.id;
            let method = command.into_method();
            if let Err(refusal) = self.admit_command(&method) {
                self.send(&Reply::error(id, refusal?));
                continue;
            }
            let reply = match &self.connection {
                None => self.before_connect(id, method).await?,
                Some(connection) => self.after_connect(connection.clone(), id, method).await?,
            };
            if let Some(reply) = reply {
                let _ = self.send_reply(&reply);
            }
        }
        Ok(())
    }

    /// Charges a command to the connection's rate. `Err(Ok(error))` refuses
    /// it with 111; `Err(Err(close))` ends a client that keeps going.
    fn admit_command(&mut self, method: &Method) -> Result<(), Result<ReplyError, Disconnect>> {
        let cost = match method {
            Method::Pong => return Ok(()),
            // An ack or silence is published to everyone and kept in the
            // alarms history: it costs double.
            Method::Rpc(rpc) if rpc::changes_alarms(&rpc.method) => 2,
            _ => 1,
        };
        if self.commands.take(cost) {
            self.refused_in_row = 0;
            return Ok(());
        }
        self.refused_in_row += 1;
        self.node.local().metrics.rate_limited.inc();
        if self.refused_in_row > self.node.config().client_command_burst {
            return Err(Err(Disconnect::TOO_MANY_REQUESTS));
        }
        let config = self.node.config();
        let message = format!(
            "too many requests: at most {}/s (burst {}); retry in {} ms",
            config.client_command_rate,
            config.client_command_burst,
            self.commands.wait_for(cost).as_millis().max(1)
        );
        Err(Ok(ReplyError::with_message(
            ErrorCode::TooManyRequests,
            message,
        )))
    }

    fn send(&self, reply: &impl Serialize) {
        let text = serde_json::to_string(reply).expect("replies serialize");
        self.queue.push(text.into());
    }

    /// Queues a reply; one larger than the client's queue could hold is
    /// replaced by error 106, so a reply never closes a client as slow (it
    /// would reconnect and ask again, for ever).
    /// Returns whether the reply went out as it was.
    fn send_reply(&self, reply: &Reply) -> bool {
        let text = serde_json::to_string(reply).expect("replies serialize");
        let budget = self.node.config().reply_budget();
        if text.len() <= budget {
            self.queue.push(text.into());
            return true;
        }
        let message = format!(
            "limit exceeded: the reply would be {} bytes, more than this connection may be sent at once ({budget}); ask for less (e.g. a smaller history limit)",
            text.len()
        );
        self.send(&Reply::error(
            reply.id,
            ReplyError::with_message(ErrorCode::LimitExceeded, message),
        ));
        false
    }

    async fn before_connect(
        &mut self,
        id: u32,
        method: Method,
    ) -> Result<Option<Reply>, Disconnect> {
        match method {
            Method::Connect(request) => self.connect(id, request).await,
            Method::Pong => Ok(None),
            _ => Err(Disconnect::BAD_REQUEST),
        }
    }

    async fn connect(
        &mut self,
        id: u32,
        request: ConnectRequest,
    ) -> Result<Option<Reply>, Disconnect> {
        let credentials = match self.node.auth().verify(&request.token) {
            Ok(credentials) => credentials,
            Err(e) => return e.outcome().map(|error| Some(Reply::error(id, error))),
        };
        // Only now, with a credential, does the socket take a connection
        // slot and leave the pending budget.
        let slot = self.node.admission().take_slot();
        self.slot = Some(slot.ok_or(Disconnect::CONNECTION_LIMIT)?);
        self.pending = None;
        let connection = Arc::new(Connection {
            id: self.node.next_connection_id(),
            client: uuid::Uuid::new_v4().to_string(),
            user: credentials.user.clone(),
            access: Access::new(&credentials),
            queue: self.queue.clone(),
        });
        self.node.local().hub.register(connection.clone());
        self.connection = Some(connection.clone());
        let (expires, ttl) = self.set_expiry(&credentials);
        // No server-side subscriptions: Centrifugo subscribes a connection to
        // the channels of its token's `channels` claim, but Telltale reads
        // that claim as a permission list (glob patterns, see
        // `permissions`), so `subs` stays empty and the client subscribes.
        let config = self.node.config();
        let _ = self.send_reply(&Reply {
            id,
            connect: Some(ConnectResult {
                client: connection.client.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                expires,
                ttl,
                subs: HashMap::new(),
                ping: config.ping_interval.as_secs() as u32,
                pong: true,
            }),
            ..Reply::default()
        });
        Ok(None)
    }

    /// Arms the expiry timer; returns `(expires, ttl)` for the reply.
    fn set_expiry(&mut self, credentials: &Credentials) -> (bool, u32) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let (deadline, expires, ttl) = expiry(credentials, now);
        self.expires_at = deadline;
        (expires, ttl)
    }

    fn track(&mut self, channel: String) {
        if self.channels.insert(channel) {
            self.node.local().metrics.subscriptions.inc();
        }
    }

    async fn after_connect(
        &mut self,
        connection: Arc<Connection>,
        id: u32,
        method: Method,
    ) -> Result<Option<Reply>, Disconnect> {
        let mut reply = Reply {
            id,
            ..Reply::default()
        };
        let outcome: Result<(), ReplyError> = match method {
            Method::Connect(_) => return Err(Disconnect::BAD_REQUEST),
            Method::Pong => {
                self.pong_deadline = None;
                return Ok(None);
            }
            Method::Send(_) => return Ok(None),
            Method::Subscribe(request) => {
                return Ok(self.subscribe(&connection, id, request).await)
            }
            Method::Unsubscribe(request) => {
                if self.channels.remove(&request.channel) {
                    self.node.unsubscribe(&request.channel, &connection);
                    self.node.local().metrics.subscriptions.dec();
                }
                reply.unsubscribe = Some(Empty {});
                Ok(())
            }
            Method::Publish(request) => self
                .publish(&connection, request)
                .await
                .map(|_| reply.publish = Some(Empty {})),
            Method::History(request) => self
                .history(&connection, request)
                .await
                .map(|history| reply.history = Some(history)),
            Method::Rpc(request) => rpc::call(
                &self.node,
                connection.caller(),
                &request.method,
                request.data.as_deref(),
            )
            .await
            .map(|data| reply.rpc = Some(RpcResult { data: Some(data) })),
            Method::Presence(request) => self
                .permit(&connection, Action::Presence, &request.channel)
                .map(|()| {
                    let presence = self.node.local().hub.presence(&request.channel);
                    reply.presence = Some(PresenceResult { presence });
                }),
            Method::PresenceStats(request) => self
                .permit(&connection, Action::Presence, &request.channel)
                .map(|()| {
                    let stats = self.node.local().hub.presence_stats(&request.channel);
                    reply.presence_stats = Some(stats);
                }),
            Method::Refresh(request) => return self.refresh(&connection, id, &request.token),
            Method::Unknown => Err(ErrorCode::MethodNotFound.into()),
        };
        Ok(Some(match outcome {
            Ok(()) => reply,
            Err(error) => Reply::error(id, error),
        }))
    }

    async fn subscribe(
        &mut self,
        connection: &Arc<Connection>,
        id: u32,
        request: SubscribeRequest,
    ) -> Option<Reply> {
        if self.channels.contains(&request.channel) {
            return Some(Reply::error(id, ErrorCode::AlreadySubscribed.into()));
        }
        if self.channels.len() >= MAX_CHANNELS {
            let message = format!("limit exceeded: at most {MAX_CHANNELS} channels per connection");
            return Some(Reply::error(
                id,
                ReplyError::with_message(ErrorCode::LimitExceeded, message),
            ));
        }
        // Before the broker is touched: a refused recovery reads nothing.
        if let Err(refusal) = self.permit(connection, Action::Subscribe, &request.channel) {
            return Some(Reply::error(id, refusal));
        }
        match self.node.subscribe(connection, &request).await {
            Ok((result, covered)) => {
                if self.send_subscribed(id, result) {
                    self.node.activate(&request.channel, connection, covered);
                    self.track(request.channel);
                } else {
                    self.node.unsubscribe(&request.channel, connection);
                }
                None
            }
            Err(error) => Some(Reply::error(id, error)),
        }
    }

    fn send_subscribed(&self, id: u32, result: SubscribeResult) -> bool {
        self.send_reply(&Reply {
            id,
            subscribe: Some(result),
            ..Reply::default()
        })
    }

    async fn publish(
        &self,
        connection: &Connection,
        request: telltale_protocol::command::PublishRequest,
    ) -> Result<(), ReplyError> {
        self.permit(connection, Action::Publish, &request.channel)?;
        let options = PublishOptions {
            info: Some(connection.info()),
            ..PublishOptions::default()
        };
        self.node
            .publish(&request.channel, request.data, options)
            .await
            .map(|_| ())
    }

    async fn history(
        &self,
        connection: &Connection,
        request: telltale_protocol::command::HistoryRequest,
    ) -> Result<telltale_protocol::reply::HistoryResult, ReplyError> {
        self.permit(connection, Action::History, &request.channel)?;
        self.node
            .history(
                &request.channel,
                request.limit,
                request.since,
                request.reverse,
            )
            .await
    }

    /// Checks a channel command against the namespace rules. The name is
    /// checked first, so a malformed one gets the same error whatever the
    /// rules are.
    fn permit(
        &self,
        connection: &Connection,
        action: Action,
        channel: &str,
    ) -> Result<(), ReplyError> {
        crate::channel::check(channel)?;
        self.node.permit(&connection.access, action, channel)
    }

    fn refresh(
        &mut self,
        connection: &Connection,
        id: u32,
        token: &str,
    ) -> Result<Option<Reply>, Disconnect> {
        let credentials = match self.node.auth().verify(token) {
            Ok(credentials) if credentials.user == connection.user => credentials,
            Ok(_) => return Err(Disconnect::INVALID_TOKEN),
            Err(e) => return e.outcome().map(|error| Some(Reply::error(id, error))),
        };
        let (expires, ttl) = self.set_expiry(&credentials);
        Ok(Some(Reply {
            id,
            refresh: Some(RefreshResult {
                client: connection.client.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                expires,
                ttl,
            }),
            ..Reply::default()
        }))
    }

    /// Unregisters the connection and its subscriptions.
    fn finish(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let count = self.channels.len() as i64;
        self.node
            .local()
            .hub
            .unregister(&connection, self.channels.drain());
        self.node.local().metrics.subscriptions.sub(count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Whatever a session's future holds, every idle connection holds: a
    /// command's handling (boxed) or a clone of the config in it once made
    /// it 5 KiB.
    #[tokio::test]
    async fn an_idle_session_holds_little() {
        let node = Node::connect(Config::default()).await.unwrap();
        let (socket, _client) = tokio::io::duplex(64);
        let ws = WebSocketStream::from_raw_socket(socket, Role::Server, None).await;
        let session = serve(node, ws);
        let size = std::mem::size_of_val(&session);
        assert!(size <= 1024, "a session's future is {size} bytes");
    }

    #[tokio::test]
    async fn the_one_timer_waits_for_whatever_is_due_first() {
        let node = Node::connect(Config::default()).await.unwrap();
        let (queue, _rx) = ClientQueue::new(1000);
        let pending = node.admission().admit_pending(queue.clone());
        let mut session = Session::new(node, queue, pending);
        let now = Instant::now();
        let [connect, ping] = [10, 20].map(|s| now + Duration::from_secs(s));
        // Before `connect`: its deadline, and no pings.
        assert_eq!(
            session.next_due(false, connect, now),
            (connect, Due::Close(STALE))
        );
        // Connected: the next ping ...
        assert_eq!(session.next_due(true, connect, ping), (ping, Due::Ping));
        // ... unless a close comes first, or at the same time.
        session.expires_at = Some(now + Duration::from_secs(30));
        session.pong_deadline = Some(now + Duration::from_secs(5));
        let no_pong = (
            now + Duration::from_secs(5),
            Due::Close(Disconnect::NO_PONG),
        );
        assert_eq!(session.next_due(true, connect, ping), no_pong);
        session.pong_deadline = None;
        session.expires_at = Some(ping);
        let expired = (ping, Due::Close(Disconnect::EXPIRED));
        assert_eq!(session.next_due(true, connect, ping), expired);
    }
}
