//! The session: the frame loop of one connected socket, and what a
//! command means while it runs.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use telltale_protocol::command::{ChannelRequest, Command};
use tokio::time::{sleep_until, timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::dial::Ws;
use super::refresh::Refresh;
use super::{encode, After, Cmd, Connection, End};
use crate::rpc::Request;
use crate::watchdog::Watchdog;
use crate::{code, Error, Event};

/// Per-session state.
pub(super) struct Session {
    pub(super) connect_id: u32,
    pub(super) connected: bool,
    pub(super) pong: bool,
    pub(super) watchdog: Watchdog,
    pub(super) refresh: Refresh,
}

impl Connection {
    /// Subscribe commands for every subscription not sent yet.
    pub(super) fn subscribe_lines(&mut self) -> Vec<String> {
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

    pub(super) async fn write(&self, ws: &mut Ws, text: String) -> Result<(), End> {
        match timeout(self.options.write_timeout, ws.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::transport(format!("write failed: {e}"))),
            Err(_) => Err(End::transport(format!(
                "write timeout: a write took longer than {:?}",
                self.options.write_timeout
            ))),
        }
    }

    pub(super) async fn send_subscribes(&mut self, ws: &mut Ws) -> Result<(), End> {
        let lines = self.subscribe_lines();
        if lines.is_empty() {
            return Ok(());
        }
        self.write(ws, lines.join("\n")).await
    }

    pub(super) async fn send_call(&mut self, ws: &mut Ws, request: Request) -> Result<(), End> {
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

    pub(super) async fn session(&mut self, mut ws: Ws, deadline: Instant) -> End {
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
            refresh: Refresh::new(self.options.token_source.clone(), self.options.backoff),
        };
        let handshake = sleep_until(deadline);
        tokio::pin!(handshake);
        let mut purge = tokio::time::interval(Duration::from_secs(1));
        purge.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let retry_at = self.subs.next_retry().filter(|_| session.connected);
            let refresh_at = session.refresh.due();
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
                _ = sleep_until(refresh_at.unwrap_or_else(Instant::now)), if refresh_at.is_some() => {
                    session.refresh.start();
                }
                token = session.refresh.fetched(), if session.refresh.is_fetching() => {
                    if let Err(end) = self.on_refresh_token(&mut ws, &mut session, token).await {
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
}
