//! Dialing: the token, the byte stream, the WebSocket upgrade and the
//! `connect` handshake (its command, and what its reply means).
//!
//! The byte stream comes from a [`Dialer`], so that TLS (or an in-memory
//! pipe in tests) plugs in without touching the rest of the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use telltale_protocol::command::{Command, ConnectRequest};
use telltale_protocol::reply::ConnectResult;
use telltale_protocol::{ErrorCode, ReplyError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::WebSocketStream;

use super::session::Session;
use super::{encode, After, Connection, End};
use crate::{code, Endpoint, Error, Event, State};

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

/// Dials `wss://` endpoints with `tls` and `ws://` ones over plain TCP, for
/// a client whose URLs mix both (see [`crate::Options::fallbacks`]).
pub(crate) fn dialer_by_scheme(tls: Dialer) -> Dialer {
    let tcp = tcp_dialer();
    Arc::new(move |endpoint: &Endpoint| {
        if endpoint.is_tls() {
            tls(endpoint)
        } else {
            tcp(endpoint)
        }
    })
}

/// The WebSocket of one session.
pub(super) type Ws = WebSocketStream<BoxIo>;

impl Connection {
    /// One attempt: token, dial, handshake, then the session.
    pub(super) async fn attempt(&mut self) -> End {
        let deadline = Instant::now() + self.options.connect_timeout;
        if let Some(source) = self.options.token_source.clone() {
            if self.need_token || self.token.is_empty() || source.every_connect() {
                match self
                    .offline_until(deadline, source.fetch(), "fetching a token")
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
        let endpoint = self.options.endpoint_for(self.next_endpoint).clone();
        // Whatever becomes of this attempt, the next one dials the next URL
        // (see `Options::fallbacks`).
        self.next_endpoint = (self.next_endpoint + 1) % self.options.endpoints().count();
        tracing::debug!(url = %endpoint, "dialing");
        let dial = (self.dialer)(&endpoint);
        let url = endpoint.as_str().to_string();
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
    pub(super) fn first_frame(&mut self, connect_id: u32) -> String {
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

    pub(super) fn connect_failed(&mut self, error: ReplyError) -> End {
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

    pub(super) async fn on_connected(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        result: ConnectResult,
    ) -> Result<(), End> {
        session.connected = true;
        session.pong = result.pong;
        let ping = (result.ping > 0).then(|| Duration::from_secs(result.ping.into()));
        session.watchdog.arm(ping, self.options.ping_allowance);
        session.refresh.arm(result.expires, result.ttl);
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
