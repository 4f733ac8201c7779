//! The connection task: dial, `connect`, run the session, reconnect.
//!
//! One task owns the socket and all state; [`crate::Client`] handles talk to
//! it over an unbounded command channel, and it talks back through the event
//! queue and a `watch` of the [`State`]. It never waits for the application.
//!
//! ```text
//! Connecting ──connect reply──▶ Connected ──frame loop──▶ (session ends)
//!     ▲                                                        │
//!     │        reconnect: Disconnected{reconnect} → Reconnecting{delay}
//!     └────────────────────────────────────────────────────────┘
//!              terminal: Disconnected{reconnect: false} → idle until
//!              Client::reconnect() (or until every handle is dropped)
//! ```
//!
//! A session ends on: a close frame or `disconnect` push (its code decides:
//! see `docs/protocol.md`), a failed `connect` reply, a transport error, the
//! watchdog ([`code::NO_PING`]), a live offset gap
//! ([`code::INSUFFICIENT_STATE`]), or a command (`close`, `reconnect`).
//!
//! # When the backoff starts over
//!
//! Not when a `connect` reply arrives, but when a session ends after having
//! been connected for at least [`Options::stable_after`] (default 10 s). A
//! hub can accept `connect` and close at once, every time: a reply larger
//! than its per-client queue (3008), a rate limit (3013), an overloaded or
//! restarting node, a proxy that drops the link. If every accepted connect
//! reset the backoff, such a hub would be re-dialed in a tight loop at the
//! minimum delay. Instead, a session that ends sooner counts as one more
//! failed attempt: the attempt number keeps growing and so does the delay,
//! up to [`crate::BackoffConfig::max`]; the `Disconnected` state carries the
//! close code and reason, and `Reconnecting` the attempt and the (growing)
//! delay. A session that lasted longer starts again from the minimum delay
//! and attempt 1.
//!
//! The rule is time alone, not "received something beyond the `connect` and
//! `subscribe` replies": the failing sessions above end before anything else
//! could arrive anyway, while a healthy but quiet connection (no
//! publications, a hub that does not ping) would otherwise never count as
//! healthy. Time alone bounds the rate of attempts against a hub that keeps
//! closing accepted connections: when it closes sooner than `stable_after`
//! the delays grow as if the attempts had failed (jittered up to
//! `backoff.max`); when it closes later, there is at most one attempt per
//! `stable_after` plus a short delay.
//! `Client::reconnect` and leaving a terminal state start over too.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use telltale_protocol::command::{ChannelRequest, Command, ConnectRequest};
use telltale_protocol::reply::ConnectResult;
use telltale_protocol::{frame, Disconnect, ErrorCode, Reply, ReplyError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::backoff::Backoff;
use crate::queue::EventSender;
use crate::rpc::{Calls, Request};
use crate::subscription::{StreamBroken, Subscriptions};
use crate::watchdog::Watchdog;
use crate::{code, Endpoint, Error, Event, Options, State};

/// What a [`crate::Client`] asks of the connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    Subscribe(String),
    Unsubscribe(String),
    Call(Box<Request>),
    SetToken(String),
    Reconnect,
    Close,
}

/// A byte stream the WebSocket runs over (TCP, or an in-memory pipe in tests).
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed [`Io`].
pub(crate) type BoxIo = Box<dyn Io>;

/// Opens the byte stream to an endpoint.
pub(crate) type Dialer =
    Arc<dyn Fn(&Endpoint) -> Pin<Box<dyn Future<Output = io::Result<BoxIo>> + Send>> + Send + Sync>;

/// Dials over TCP.
pub(crate) fn tcp_dialer() -> Dialer {
    Arc::new(|endpoint: &Endpoint| {
        let (host, port) = (endpoint.host().to_string(), endpoint.port());
        Box::pin(async move {
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream) as BoxIo)
        })
    })
}

type Ws = WebSocketStream<BoxIo>;

/// What happens after a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Wait a backoff delay, then connect again.
    Reconnect,
    /// Connect again at once (`Client::reconnect`).
    ReconnectNow,
    /// Give up until `Client::reconnect`.
    Terminal,
    /// `Client::close`: stop the task.
    Close,
    /// Every `Client` handle is gone: stop the task.
    Exit,
}

/// Why and how a session ended.
#[derive(Debug)]
struct End {
    code: u16,
    reason: String,
    after: After,
}

impl End {
    fn new(code: u16, reason: impl Into<String>, after: After) -> Self {
        Self {
            code,
            reason: reason.into(),
            after,
        }
    }

    fn transport(reason: impl Into<String>) -> Self {
        Self::new(code::TRANSPORT_CLOSED, reason, After::Reconnect)
    }

    /// A server close code or `disconnect` push: its code decides (docs/protocol.md).
    fn server(code: u32, reason: impl Into<String>) -> Self {
        let code = u16::try_from(code).unwrap_or(u16::MAX);
        let after = if Disconnect::reconnect(code) {
            After::Reconnect
        } else {
            After::Terminal
        };
        Self::new(code, reason, after)
    }

    fn broken(broken: StreamBroken) -> Self {
        Self::new(
            code::INSUFFICIENT_STATE,
            format!(
                "insufficient state: {} expected offset {}, got {}",
                broken.channel, broken.expected, broken.got
            ),
            After::Reconnect,
        )
    }
}

/// What a command means while there is no session.
enum Offline {
    /// Connect now.
    Go,
    Close,
    Exit,
}

/// Per-session state.
struct Session {
    connect_id: u32,
    connected: bool,
    pong: bool,
    watchdog: Watchdog,
}

/// The connection task's state.
pub(crate) struct Connection {
    options: Options,
    dialer: Dialer,
    commands: mpsc::UnboundedReceiver<Cmd>,
    events: EventSender,
    state: watch::Sender<State>,
    subs: Subscriptions,
    calls: Calls,
    backoff: Backoff,
    next_id: u32,
    /// Connection attempts since the last stable session (see the module
    /// docs), `Client::reconnect` or the start.
    attempts: u32,
    /// When the current session got its `connect` reply.
    connected_at: Option<Instant>,
    token: String,
    need_token: bool,
}

impl Connection {
    pub(crate) fn new(
        options: Options,
        dialer: Dialer,
        commands: mpsc::UnboundedReceiver<Cmd>,
        events: EventSender,
        state: watch::Sender<State>,
    ) -> Self {
        Self {
            subs: Subscriptions::new(options.backoff),
            backoff: Backoff::new(options.backoff),
            token: options.token.clone(),
            options,
            dialer,
            commands,
            events,
            state,
            calls: Calls::default(),
            next_id: 0,
            attempts: 0,
            connected_at: None,
            need_token: false,
        }
    }

    /// Runs until `close()` or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            self.attempts += 1;
            self.set_state(State::Connecting {
                attempt: self.attempts,
            });
            let end = self.attempt().await;
            let up = self.connected_at.take().map(|at| at.elapsed());
            tracing::debug!(code = end.code, reason = %end.reason, after = ?end.after, ?up, "session ended");
            self.after_session(up, &end);
            self.subs.on_disconnect();
            self.calls.fail_inflight(&Error::Disconnected {
                code: end.code,
                reason: end.reason.clone(),
            });
            let closed = Error::Closed {
                code: end.code,
                reason: end.reason.clone(),
            };
            let reconnect = matches!(end.after, After::Reconnect | After::ReconnectNow);
            if end.after != After::Exit {
                self.set_state(State::Disconnected {
                    code: end.code,
                    reason: end.reason.clone(),
                    reconnect,
                });
            }
            let next = match end.after {
                After::Exit | After::Close => {
                    self.calls.fail_all(&closed);
                    return;
                }
                After::Terminal => {
                    self.calls.fail_all(&closed);
                    self.offline(None, Some(&closed)).await
                }
                After::ReconnectNow => Offline::Go,
                After::Reconnect => {
                    let delay = self.backoff.next_delay();
                    self.set_state(State::Reconnecting {
                        attempt: self.attempts + 1,
                        delay,
                    });
                    self.offline(Some(Instant::now() + delay), None).await
                }
            };
            match next {
                Offline::Go => {
                    if end.after != After::Reconnect {
                        self.backoff.reset();
                        self.attempts = 0;
                    }
                }
                Offline::Close => {
                    self.calls.fail_all(&Error::Closed {
                        code: code::CLOSE_CALLED,
                        reason: "disconnect called".into(),
                    });
                    self.set_state(State::Disconnected {
                        code: code::CLOSE_CALLED,
                        reason: "disconnect called".into(),
                        reconnect: false,
                    });
                    return;
                }
                Offline::Exit => return,
            }
        }
    }

    /// Starts the backoff over after a session that was connected for at
    /// least `stable_after`; after a shorter one (or none) the attempt
    /// count and the delays keep growing (see the module docs).
    fn after_session(&mut self, up: Option<Duration>, end: &End) {
        let Some(up) = up else { return };
        let stable_after = self.options.stable_after;
        if up >= stable_after {
            self.backoff.reset();
            self.attempts = 0;
        } else if end.after == After::Reconnect {
            tracing::debug!(
                code = end.code,
                reason = %end.reason,
                ?up,
                ?stable_after,
                attempt = self.attempts,
                "closed before the connection was stable: backing off further"
            );
        }
    }

    fn set_state(&self, state: State) {
        tracing::debug!(%state, "state");
        self.state.send_replace(state.clone());
        self.events.send(Event::State(state));
    }

    fn emit(&self, events: Vec<Event>) {
        for event in events {
            self.events.send(event);
        }
    }

    fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        self.next_id
    }

    /// Handles commands while there is no session, until `until` passes
    /// (or forever when `None`). `terminal` fails calls instead of queueing.
    async fn offline(&mut self, until: Option<Instant>, terminal: Option<&Error>) -> Offline {
        loop {
            let command = match until {
                Some(at) => tokio::select! {
                    command = self.commands.recv() => command,
                    _ = sleep_until(at) => return Offline::Go,
                },
                None => self.commands.recv().await,
            };
            if let Some(outcome) = self.on_offline_command(command, terminal) {
                return outcome;
            }
        }
    }

    fn on_offline_command(
        &mut self,
        command: Option<Cmd>,
        terminal: Option<&Error>,
    ) -> Option<Offline> {
        let Some(command) = command else {
            return Some(Offline::Exit);
        };
        match command {
            Cmd::Subscribe(channel) => {
                self.subs.add(&channel);
            }
            Cmd::Unsubscribe(channel) => self.unsubscribed(&channel),
            Cmd::Call(request) => match terminal {
                Some(error) => {
                    let _ = request.reply.send(Err(error.clone()));
                }
                None => self.calls.queue(*request),
            },
            Cmd::SetToken(token) => self.token = token,
            Cmd::Reconnect => {
                self.backoff.reset();
                self.attempts = 0;
                return Some(Offline::Go);
            }
            Cmd::Close => return Some(Offline::Close),
        }
        None
    }

    fn unsubscribed(&mut self, channel: &str) {
        if self.subs.remove(channel) {
            self.events.send(Event::Unsubscribed {
                channel: channel.to_string(),
                code: 0,
                reason: "unsubscribe called".into(),
            });
        }
    }

    /// Runs `work` while serving commands, bounded by `deadline`.
    async fn offline_until<F: Future>(
        &mut self,
        deadline: Instant,
        work: F,
        what: &str,
    ) -> Result<F::Output, End> {
        tokio::pin!(work);
        loop {
            let command = tokio::select! {
                output = &mut work => return Ok(output),
                _ = sleep_until(deadline) => {
                    return Err(End::transport(format!(
                        "connect timeout: {what} took longer than {:?}",
                        self.options.connect_timeout
                    )))
                }
                command = self.commands.recv() => command,
            };
            let command = match command {
                Some(Cmd::Reconnect) => continue, // already connecting
                other => other,
            };
            match self.on_offline_command(command, None) {
                Some(Offline::Close) => {
                    return Err(End::new(
                        code::CLOSE_CALLED,
                        "disconnect called",
                        After::Close,
                    ))
                }
                Some(Offline::Exit) => {
                    return Err(End::new(code::CLOSE_CALLED, "client dropped", After::Exit))
                }
                Some(Offline::Go) | None => {}
            }
        }
    }

    /// One attempt: token, dial, handshake, then the session.
    async fn attempt(&mut self) -> End {
        let deadline = Instant::now() + self.options.connect_timeout;
        if let Some(source) = self.options.token_source.clone() {
            if self.need_token || self.token.is_empty() {
                match self
                    .offline_until(deadline, source(), "fetching a token")
                    .await
                {
                    Ok(Ok(token)) => {
                        self.token = token;
                        self.need_token = false;
                    }
                    Ok(Err(why)) => {
                        let reason = format!("token source failed: {why}");
                        self.events.send(Event::Error(Error::Token(why)));
                        return End::new(code::TOKEN_UNAVAILABLE, reason, After::Reconnect);
                    }
                    Err(end) => return end,
                }
            }
        }
        let dial = (self.dialer)(&self.options.endpoint);
        let url = self.options.endpoint.as_str().to_string();
        let config = WebSocketConfig::default()
            .max_message_size(Some(self.options.max_message_size))
            .max_frame_size(Some(self.options.max_message_size));
        let handshake = async move {
            let io = dial.await.map_err(|e| format!("dial {url}: {e}"))?;
            let (ws, _response) =
                tokio_tungstenite::client_async_with_config(url.as_str(), io, Some(config))
                    .await
                    .map_err(|e| format!("WebSocket handshake with {url}: {e}"))?;
            Ok::<Ws, String>(ws)
        };
        match self
            .offline_until(deadline, handshake, "the WebSocket handshake")
            .await
        {
            Ok(Ok(ws)) => self.session(ws, deadline).await,
            Ok(Err(why)) => End::transport(why),
            Err(end) => end,
        }
    }

    /// The `connect` command and the subscribes, in one frame.
    fn first_frame(&mut self, connect_id: u32) -> String {
        let connect = Command {
            id: connect_id,
            connect: Some(ConnectRequest {
                token: self.token.clone(),
                name: self.options.name.clone(),
                version: self.options.version.clone(),
                ..ConnectRequest::default()
            }),
            ..Command::default()
        };
        let mut lines = vec![encode(&connect)];
        lines.extend(self.subscribe_lines());
        lines.join("\n")
    }

    /// Subscribe commands for every subscription not sent yet.
    fn subscribe_lines(&mut self) -> Vec<String> {
        let next_id = &mut self.next_id;
        self.subs
            .requests_due(Instant::now(), || {
                *next_id = next_id.checked_add(1).unwrap_or(1);
                *next_id
            })
            .into_iter()
            .map(|(id, request)| {
                encode(&Command {
                    id,
                    subscribe: Some(request),
                    ..Command::default()
                })
            })
            .collect()
    }

    async fn write(&self, ws: &mut Ws, text: String) -> Result<(), End> {
        match timeout(self.options.write_timeout, ws.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::transport(format!("write failed: {e}"))),
            Err(_) => Err(End::transport(format!(
                "write timeout: a write took longer than {:?}",
                self.options.write_timeout
            ))),
        }
    }

    async fn send_subscribes(&mut self, ws: &mut Ws) -> Result<(), End> {
        let lines = self.subscribe_lines();
        if lines.is_empty() {
            return Ok(());
        }
        self.write(ws, lines.join("\n")).await
    }

    async fn send_call(&mut self, ws: &mut Ws, request: Request) -> Result<(), End> {
        if request.reply.is_closed() {
            return Ok(());
        }
        let mut command = request.command;
        command.id = self.next_id();
        match serde_json::to_string(&command) {
            Ok(text) => {
                self.calls.sent(command.id, request.reply);
                self.write(ws, text).await
            }
            Err(e) => {
                let _ = request.reply.send(Err(Error::Encode(e.to_string())));
                Ok(())
            }
        }
    }

    /// Closes the socket politely, without waiting long for a dead peer.
    async fn close_socket(ws: &mut Ws, reason: &str) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: reason.to_string().into(),
        };
        let _ = timeout(Duration::from_secs(1), ws.close(Some(frame))).await;
    }

    async fn session(&mut self, mut ws: Ws, deadline: Instant) -> End {
        let connect_id = self.next_id();
        let first = self.first_frame(connect_id);
        if let Err(end) = self.write(&mut ws, first).await {
            return end;
        }
        let mut session = Session {
            connect_id,
            connected: false,
            pong: false,
            watchdog: Watchdog::disabled(),
        };
        let handshake = sleep_until(deadline);
        tokio::pin!(handshake);
        let mut purge = tokio::time::interval(Duration::from_secs(1));
        purge.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let retry_at = self.subs.next_retry().filter(|_| session.connected);
            tokio::select! {
                message = ws.next() => {
                    let message = match message {
                        Some(Ok(message)) => message,
                        Some(Err(e)) => return End::transport(format!("transport error: {e}")),
                        None => return End::transport("the server closed the connection without a close frame"),
                    };
                    session.watchdog.feed();
                    if let Err(end) = self.on_message(&mut ws, &mut session, message).await {
                        return end;
                    }
                }
                command = self.commands.recv() => {
                    if let Err(end) = self.on_command(&mut ws, &mut session, command).await {
                        return end;
                    }
                }
                _ = session.watchdog.expired() => {
                    let limit = session.watchdog.limit().unwrap_or_default();
                    return End::new(
                        code::NO_PING,
                        format!("no ping: no frame from the server for {:.1}s", limit.as_secs_f64()),
                        After::Reconnect,
                    );
                }
                _ = &mut handshake, if !session.connected => {
                    return End::transport(format!(
                        "connect timeout: no connect reply within {:?}",
                        self.options.connect_timeout
                    ));
                }
                _ = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                    if let Err(end) = self.send_subscribes(&mut ws).await {
                        return end;
                    }
                }
                _ = purge.tick() => self.calls.purge(),
            }
        }
    }

    async fn on_command(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        command: Option<Cmd>,
    ) -> Result<(), End> {
        match command {
            None => {
                Self::close_socket(ws, "client dropped").await;
                Err(End::new(code::CLOSE_CALLED, "client dropped", After::Exit))
            }
            Some(Cmd::Subscribe(channel)) => {
                if self.subs.add(&channel) {
                    self.send_subscribes(ws).await?;
                }
                Ok(())
            }
            Some(Cmd::Unsubscribe(channel)) => {
                if self.subs.remove(&channel) {
                    self.unsubscribed_sent(ws, channel).await?;
                }
                Ok(())
            }
            Some(Cmd::Call(request)) if session.connected => self.send_call(ws, *request).await,
            Some(Cmd::Call(request)) => {
                self.calls.queue(*request);
                Ok(())
            }
            Some(Cmd::SetToken(token)) => {
                self.token = token;
                Ok(())
            }
            Some(Cmd::Reconnect) => {
                Self::close_socket(ws, "reconnect called").await;
                Err(End::new(
                    code::RECONNECT_CALLED,
                    "reconnect called",
                    After::ReconnectNow,
                ))
            }
            Some(Cmd::Close) => {
                Self::close_socket(ws, "disconnect called").await;
                Err(End::new(
                    code::CLOSE_CALLED,
                    "disconnect called",
                    After::Close,
                ))
            }
        }
    }

    async fn unsubscribed_sent(&mut self, ws: &mut Ws, channel: String) -> Result<(), End> {
        self.events.send(Event::Unsubscribed {
            channel: channel.clone(),
            code: 0,
            reason: "unsubscribe called".into(),
        });
        let command = Command {
            id: self.next_id(),
            unsubscribe: Some(ChannelRequest { channel }),
            ..Command::default()
        };
        self.write(ws, encode(&command)).await
    }

    async fn on_message(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        message: Message,
    ) -> Result<(), End> {
        match message {
            Message::Text(text) => {
                for line in frame::lines(&text) {
                    let reply: Reply = serde_json::from_str(line).map_err(|e| {
                        End::new(
                            code::BAD_PROTOCOL,
                            format!("bad protocol: cannot decode {:?}: {e}", truncate(line)),
                            After::Reconnect,
                        )
                    })?;
                    self.on_reply(ws, session, reply).await?;
                }
                Ok(())
            }
            Message::Close(Some(frame)) => Err(End::server(
                u16::from(frame.code).into(),
                frame.reason.as_str(),
            )),
            Message::Close(None) => Err(End::server(1005, "closed without a code")),
            Message::Binary(_) => Err(End::new(
                code::BAD_PROTOCOL,
                "bad protocol: binary frame on a JSON connection",
                After::Reconnect,
            )),
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
        }
    }

    async fn on_reply(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        reply: Reply,
    ) -> Result<(), End> {
        let id = reply.id;
        if id != 0 {
            if id == session.connect_id {
                return match reply.error {
                    Some(error) => Err(self.connect_failed(error)),
                    None => {
                        self.on_connected(ws, session, reply.connect.unwrap_or_default())
                            .await
                    }
                };
            }
            if self.subs.is_pending(id) {
                let result = match reply.error {
                    Some(error) => Err(error),
                    None => Ok(reply.subscribe.unwrap_or_default()),
                };
                let mut out = Vec::new();
                let outcome = self.subs.on_reply(id, result, Instant::now(), &mut out);
                self.emit(out);
                return outcome.map_err(End::broken);
            }
            self.calls.resolve(id, reply);
            return Ok(());
        }
        if let Some(push) = reply.push {
            let mut out = Vec::new();
            if let Some(publication) = push.publication {
                let outcome = self
                    .subs
                    .on_publication(&push.channel, publication, &mut out);
                self.emit(out);
                return outcome.map_err(End::broken);
            }
            if let Some(unsubscribe) = push.unsubscribe {
                self.subs
                    .on_unsubscribe_push(&push.channel, unsubscribe, &mut out);
                self.emit(out);
                return self.send_subscribes(ws).await;
            }
            if let Some(disconnect) = push.disconnect {
                return Err(End::server(disconnect.code, disconnect.reason));
            }
            return Ok(());
        }
        if reply.error.is_some() {
            tracing::debug!(?reply.error, "error without an id");
            return Ok(());
        }
        // A ping.
        if session.pong {
            self.write(ws, "{}".to_string()).await?;
        }
        Ok(())
    }

    fn connect_failed(&mut self, error: ReplyError) -> End {
        let after = if error.code < 100 || error.temporary {
            After::Reconnect
        } else if error.code == ErrorCode::TokenExpired.code()
            && self.options.token_source.is_some()
        {
            self.need_token = true;
            After::Reconnect
        } else {
            After::Terminal
        };
        let code = u16::try_from(error.code).unwrap_or(u16::MAX);
        End::new(code, format!("connect refused: {}", error.message), after)
    }

    async fn on_connected(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        result: ConnectResult,
    ) -> Result<(), End> {
        session.connected = true;
        session.pong = result.pong;
        let ping = (result.ping > 0).then(|| Duration::from_secs(result.ping.into()));
        session.watchdog.arm(ping, self.options.ping_allowance);
        // Not a reset of the backoff yet: that waits until the session has
        // lasted `stable_after` (see `after_session`).
        self.connected_at = Some(Instant::now());
        if !result.subs.is_empty() {
            tracing::debug!(channels = ?result.subs.keys().collect::<Vec<_>>(), "server-side subscriptions");
        }
        self.set_state(State::Connected {
            client: result.client,
            ping,
        });
        for request in self.calls.take_queued() {
            self.send_call(ws, request).await?;
        }
        Ok(())
    }
}

fn encode(command: &Command) -> String {
    serde_json::to_string(command).expect("commands always serialize")
}

fn truncate(line: &str) -> &str {
    match line.char_indices().nth(80) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}

#[cfg(test)]
mod tests;
