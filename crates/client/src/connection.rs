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
//! see `docs/protocol.md`), a failed `connect` reply, a `refresh` refused
//! outright, a transport error, the watchdog ([`code::NO_PING`]), a live
//! offset gap ([`code::INSUFFICIENT_STATE`]), or a command (`close`,
//! `reconnect`).
//!
//! # Tokens
//!
//! With a [`crate::TokenSource`], the token is fetched before dialing when
//! there is none, after `connect` failed with 109, and at every connect for a
//! token file; and a connection that expires is refreshed before it does
//! (`refresh.rs` has the timing rule). Tokens are never logged.
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
//!
//! # Several URLs
//!
//! With [`Options::fallbacks`], each dial goes to the next URL, round
//! robin, whatever ended the attempt before it; the backoff above is the
//! same as with one URL (one delay per attempt, not per round of URLs).
//!
//! # Files
//!
//! - `connection.rs`: the task and its state machine (this file).
//! - `dial.rs`: the [`Dialer`], the WebSocket upgrade, the `connect`
//!   handshake.
//! - `session.rs`: the frame loop of a connected socket and its commands.
//! - `replies.rs`: what each reply and push from the server means.
//! - `refresh.rs`: a new token before the connection expires.
//! - `offline.rs`: commands while there is no session.

mod dial;
mod offline;
mod refresh;
mod replies;
mod session;

use std::time::Duration;

use telltale_protocol::command::Command;
use telltale_protocol::Disconnect;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::queue::EventSender;
use crate::rpc::{Calls, Request};
use crate::subscription::{StreamBroken, Subscriptions};
use crate::{code, Error, Event, Options, State};

pub(crate) use dial::{dialer_by_scheme, tcp_dialer, BoxIo, Dialer};
use offline::Offline;

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
    /// Which of [`Options::endpoints`] the next dial goes to.
    next_endpoint: usize,
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
            next_endpoint: 0,
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
}

fn encode(command: &Command) -> String {
    serde_json::to_string(command).expect("commands always serialize")
}

#[cfg(test)]
mod tests;
