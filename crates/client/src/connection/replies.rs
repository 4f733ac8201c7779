//! Reply and push dispatch: what each frame from the server means.

use telltale_protocol::{frame, Reply};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::dial::Ws;
use super::session::Session;
use super::{After, Connection, End};
use crate::code;

impl Connection {
    pub(super) async fn on_message(
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
            if session.refresh.is_reply(id) {
                return self.on_refresh_reply(session, reply);
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
}

fn truncate(line: &str) -> &str {
    match line.char_indices().nth(80) {
        Some((at, _)) => &line[..at],
        None => line,
    }
}
