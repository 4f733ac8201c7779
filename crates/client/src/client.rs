//! The [`Client`] handle: cheap to clone, every call bounded by a timeout.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use telltale_protocol::command::{Command, HistoryRequest, PublishRequest, RpcRequest};
use telltale_protocol::payload::{
    ActiveAlarms, AlarmId, AlarmReply, Catalog, CatalogRequest, SilenceRequest, RPC_ALARMS_ACK,
    RPC_ALARMS_ACTIVE, RPC_ALARMS_SILENCE, RPC_CATALOG,
};
use telltale_protocol::{Alarm, RawJson, Reply};
use tokio::sync::{mpsc, oneshot, watch};

use crate::connection::{dialer_by_scheme, tcp_dialer, Cmd, Connection, Dialer};
use crate::rpc::Request;

/// Most pages [`Client::catalog`] reads: a bound on a hub that pages
/// forever; a page holds hundreds of sources.
pub const MAX_CATALOG_PAGES: usize = 100;
use crate::{queue, Error, Events, History, HistoryQuery, Options, Publication, State};

/// A dialer whose every attempt fails with `why` (a TLS setup that cannot
/// work), so the state says why instead of the client panicking.
fn failing_dialer(why: String) -> Dialer {
    std::sync::Arc::new(move |_: &crate::Endpoint| {
        let why = why.clone();
        Box::pin(async move { Err(std::io::Error::other(why)) })
    })
}

/// A handle to one resilient connection to a hub.
///
/// Clones share the connection. It lives while any handle exists (or until
/// [`Client::close`]); it reconnects by itself, re-subscribes and recovers
/// missed publications. What happens is reported on the [`Events`] stream
/// returned with the first handle.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Cmd>,
    state: watch::Receiver<State>,
    call_timeout: Duration,
}

impl Client {
    /// Starts connecting with `options`. Must be called within a Tokio
    /// runtime (it spawns the connection task).
    ///
    /// A `wss://` endpoint is dialed over TLS with the system's certificate
    /// authorities and [`Options::ca_file`]. Check [`Options::tls_config`]
    /// first to report a bad CA file at start: here it can only become the
    /// reason every attempt at a `wss://` endpoint fails.
    pub fn new(options: Options) -> (Client, Events) {
        let dialer = match options.tls_config() {
            Ok(None) => tcp_dialer(),
            Ok(Some(config)) => dialer_by_scheme(crate::tls::tls_dialer(config)),
            Err(e) => dialer_by_scheme(failing_dialer(e.to_string())),
        };
        Self::with_dialer(options, dialer)
    }

    /// Starts connecting to `url` with default options.
    pub fn connect(url: &str) -> Result<(Client, Events), Error> {
        Ok(Self::new(Options::new(url)?))
    }

    pub(crate) fn with_dialer(options: Options, dialer: Dialer) -> (Client, Events) {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(State::Connecting { attempt: 1 });
        let (events_tx, events) = queue::channel(options.event_capacity);
        let call_timeout = options.call_timeout;
        let connection = Connection::new(options, dialer, commands_rx, events_tx, state_tx);
        tokio::spawn(connection.run());
        (
            Client {
                commands,
                state,
                call_timeout,
            },
            events,
        )
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state.borrow().clone()
    }

    /// A receiver that sees every state change (latest value only).
    pub fn watch_state(&self) -> watch::Receiver<State> {
        self.state.clone()
    }

    /// Waits until connected, at most `timeout`. Fails with
    /// [`Error::Closed`] as soon as the state is terminal.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), Error> {
        let mut state = self.state.clone();
        let wait = async {
            loop {
                {
                    let current = state.borrow_and_update();
                    match &*current {
                        State::Connected { .. } => return Ok(()),
                        State::Disconnected {
                            code,
                            reason,
                            reconnect: false,
                        } => {
                            return Err(Error::Closed {
                                code: *code,
                                reason: reason.clone(),
                            })
                        }
                        _ => {}
                    }
                }
                if state.changed().await.is_err() {
                    return Err(self.closed());
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Err(Error::Timeout(timeout)))
    }

    /// A handle whose calls use `timeout` instead of
    /// [`Options::call_timeout`].
    pub fn with_call_timeout(&self, timeout: Duration) -> Client {
        Client {
            call_timeout: timeout,
            ..self.clone()
        }
    }

    /// Subscribes to `channel`, now and after every reconnect. The outcome
    /// arrives as [`crate::Event::Subscribed`] (or `Unsubscribed` with an
    /// error code). Subscribing twice is harmless.
    pub fn subscribe(&self, channel: impl Into<String>) -> Result<(), Error> {
        self.command(Cmd::Subscribe(channel.into()))
    }

    /// Stops receiving `channel`.
    pub fn unsubscribe(&self, channel: impl Into<String>) -> Result<(), Error> {
        self.command(Cmd::Unsubscribe(channel.into()))
    }

    /// Replaces the token used by the next connect (a token file, when
    /// one is the token source, is read at every connect instead).
    pub fn set_token(&self, token: impl Into<String>) -> Result<(), Error> {
        self.command(Cmd::SetToken(token.into()))
    }

    /// Reconnects now: drops the current connection (or skips the backoff
    /// wait, or leaves a terminal state). Use after a network change or a
    /// resume from sleep.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.command(Cmd::Reconnect)
    }

    /// Disconnects for good: pending calls fail with [`Error::Closed`] and
    /// the event stream ends.
    pub fn close(&self) {
        let _ = self.commands.send(Cmd::Close);
    }

    /// Calls the server method `method` with `data`; returns the result data
    /// (`null` when the method returns none).
    pub async fn rpc(&self, method: &str, data: &impl Serialize) -> Result<RawJson, Error> {
        let data = raw(data)?;
        let command = Command {
            rpc: Some(RpcRequest {
                method: method.to_string(),
                data: Some(data),
            }),
            ..Command::default()
        };
        let reply = self.call(command).await?;
        let result = reply.rpc.ok_or_else(|| unexpected("rpc"))?;
        Ok(result
            .data
            .unwrap_or_else(|| raw(&()).expect("null serializes")))
    }

    /// [`Client::rpc`], decoding the result into `T`.
    pub async fn rpc_as<T: DeserializeOwned>(
        &self,
        method: &str,
        data: &impl Serialize,
    ) -> Result<T, Error> {
        let result = self.rpc(method, data).await?;
        serde_json::from_str(result.get()).map_err(|e| Error::Decode(format!("{method}: {e}")))
    }

    /// The active alarms (`alarms.active`): the state to reload after a
    /// [`crate::Event::Gap`] on `alarms`.
    pub async fn active_alarms(&self) -> Result<Vec<Alarm>, Error> {
        let active: ActiveAlarms = self
            .rpc_as(RPC_ALARMS_ACTIVE, &serde_json::json!({}))
            .await?;
        Ok(active.alarms)
    }

    /// Acknowledges alarm `id` (`alarms.ack`); the ack is also published on
    /// `alarms`.
    pub async fn ack_alarm(&self, id: &str) -> Result<Alarm, Error> {
        self.ack_alarm_as(id, None).await
    }

    /// Acknowledges alarm `id` naming who does it (`by`), which the hub uses
    /// when this connection is anonymous (its token's user wins otherwise).
    pub async fn ack_alarm_as(&self, id: &str, by: Option<&str>) -> Result<Alarm, Error> {
        self.ack_alarm_with(id, by, None).await
    }

    /// [`Client::ack_alarm_as`] with a comment for the others ("restarting
    /// the db"), published with the ack and kept on the alarm until it
    /// resolves. The hub refuses one longer than
    /// [`MAX_ACK_COMMENT_CHARS`](telltale_protocol::payload::MAX_ACK_COMMENT_CHARS)
    /// characters; a blank one counts as none.
    pub async fn ack_alarm_with(
        &self,
        id: &str,
        by: Option<&str>,
        comment: Option<&str>,
    ) -> Result<Alarm, Error> {
        let request = AlarmId {
            id: id.into(),
            by: by.map(str::to_owned),
            comment: comment.map(str::to_owned),
        };
        let reply: AlarmReply = self.rpc_as(RPC_ALARMS_ACK, &request).await?;
        Ok(reply.alarm)
    }

    /// Silences alarm `id` until `until` (unix milliseconds).
    pub async fn silence_alarm(&self, id: &str, until: i64) -> Result<Alarm, Error> {
        let request = SilenceRequest {
            id: id.into(),
            until,
        };
        let reply: AlarmReply = self.rpc_as(RPC_ALARMS_SILENCE, &request).await?;
        Ok(reply.alarm)
    }

    /// Known metric sources and their metric names (`catalog`).
    ///
    /// The hub answers in pages that fit the connection's queue; this
    /// follows them (at most [`MAX_CATALOG_PAGES`]) and returns every source.
    pub async fn catalog(&self) -> Result<Catalog, Error> {
        let mut catalog = Catalog::default();
        let mut offset = 0;
        for _ in 0..MAX_CATALOG_PAGES {
            let request = CatalogRequest {
                offset,
                limit: None,
            };
            let page: Catalog = self.rpc_as(RPC_CATALOG, &request).await?;
            catalog.sources.extend(page.sources);
            match page.next_offset.filter(|next| *next > offset) {
                Some(next) if page.truncated => offset = next,
                _ => return Ok(catalog),
            }
        }
        catalog.truncated = true;
        catalog.next_offset = Some(offset);
        Ok(catalog)
    }

    /// Reads `channel`'s history.
    pub async fn history(&self, channel: &str, query: HistoryQuery) -> Result<History, Error> {
        let command = Command {
            history: Some(HistoryRequest {
                channel: channel.to_string(),
                limit: query.limit,
                since: query.since,
                reverse: query.reverse,
            }),
            ..Command::default()
        };
        let reply = self.call(command).await?;
        let result = reply.history.ok_or_else(|| unexpected("history"))?;
        Ok(History {
            publications: result
                .publications
                .into_iter()
                .map(|p| Publication::new(channel.to_string(), p.offset, p.data))
                .collect(),
            epoch: result.epoch,
            offset: result.offset,
        })
    }

    /// Publishes `data` on `channel` (the hub refuses with error 103 unless
    /// the channel's namespace has `publish = true`).
    pub async fn publish(&self, channel: &str, data: &impl Serialize) -> Result<(), Error> {
        let command = Command {
            publish: Some(PublishRequest {
                channel: channel.to_string(),
                data: raw(data)?,
            }),
            ..Command::default()
        };
        let reply = self.call(command).await?;
        reply
            .publish
            .map(|_| ())
            .ok_or_else(|| unexpected("publish"))
    }

    /// Sends `command` and waits for its reply, at most the call timeout.
    async fn call(&self, command: Command) -> Result<Reply, Error> {
        let (reply, outcome) = oneshot::channel();
        self.command(Cmd::Call(Box::new(Request { command, reply })))?;
        let reply = match tokio::time::timeout(self.call_timeout, outcome).await {
            Err(_) => return Err(Error::Timeout(self.call_timeout)),
            Ok(Err(_)) => return Err(self.closed()),
            Ok(Ok(result)) => result?,
        };
        match reply.error {
            Some(error) => Err(Error::Server(error)),
            None => Ok(reply),
        }
    }

    fn command(&self, command: Cmd) -> Result<(), Error> {
        self.commands.send(command).map_err(|_| self.closed())
    }

    fn closed(&self) -> Error {
        match &*self.state.borrow() {
            State::Disconnected { code, reason, .. } => Error::Closed {
                code: *code,
                reason: reason.clone(),
            },
            _ => Error::Closed {
                code: crate::code::CLOSE_CALLED,
                reason: "client stopped".into(),
            },
        }
    }
}

fn raw(data: &impl Serialize) -> Result<RawJson, Error> {
    serde_json::value::to_raw_value(data).map_err(|e| Error::Encode(e.to_string()))
}

fn unexpected(what: &str) -> Error {
    Error::Decode(format!("the reply to {what} has no {what} result"))
}
