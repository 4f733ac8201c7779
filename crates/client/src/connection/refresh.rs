//! Token refresh: a new token before the connection expires.
//!
//! A `connect` reply (or a `refresh` reply) with `expires: true` says the
//! connection's token runs out in `ttl` seconds; 25 s after that the hub
//! closes the connection (3005). With a token source, the client refreshes
//! first, at [`refresh_in`]`(ttl)`: `ttl` minus a margin of a tenth of it,
//! at least 1 s and at most 30 s, and never sooner than 1 s from now. The
//! margin covers what makes the client late: `ttl` is rounded down to whole
//! seconds, the reply spent time on the wire, and the source takes time
//! (a token command up to 10 s); capping it keeps long-lived tokens from
//! being renewed long before they need to be.
//!
//! On that timer the source is asked (while the session goes on), then
//! `{"id":N,"refresh":{"token":"..."}}` goes out, and its reply arms the
//! timer again from its own `ttl`. Error 109 to `refresh` (the source handed
//! out an expired token), a temporary error, or a failing source: ask again
//! after a backoff delay, at most [`MAX_TRIES`] times in a row; then stop for
//! this session: the hub closes it (3005) and the next `connect` fetches a
//! token. Any other refusal is the hub refusing the token outright and ends
//! the session like a refused `connect`: terminal (3500, 101, ...).
//!
//! Without a token source nothing is scheduled: the hub closes the
//! connection at expiry, and the reconnect's `connect` gets 109, terminal.

use std::future::pending;
use std::time::Duration;

use telltale_protocol::command::{Command, RefreshRequest};
use telltale_protocol::{ErrorCode, Reply};
use tokio::time::Instant;

use super::dial::Ws;
use super::session::Session;
use super::{encode, After, Connection, End};
use crate::backoff::{Backoff, BackoffConfig};
use crate::{Error, Event, TokenFuture, TokenSource};

/// Refresh tries in a row (source failures and 109s) before the client
/// leaves the connection to expire.
pub(crate) const MAX_TRIES: u32 = 5;

/// Shortest and longest margin before the connection expires.
const MARGIN: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));

/// Soonest refresh after a reply, so a tiny or zero `ttl` cannot make the
/// client refresh in a tight loop.
const SOONEST: Duration = Duration::from_secs(1);

/// When to refresh a connection that expires in `ttl` (see the module docs).
pub(crate) fn refresh_in(ttl: Duration) -> Duration {
    let margin = (ttl / 10).clamp(MARGIN.0, MARGIN.1);
    ttl.saturating_sub(margin).max(SOONEST)
}

/// The refresh state of one session.
pub(super) struct Refresh {
    source: Option<TokenSource>,
    backoff: Backoff,
    /// When to ask the source next.
    due: Option<Instant>,
    /// The source's answer on its way.
    fetching: Option<TokenFuture>,
    /// The id of the `refresh` command waiting for its reply.
    sent: Option<u32>,
    /// Failed tries in a row.
    failures: u32,
}

impl Refresh {
    pub(super) fn new(source: Option<TokenSource>, backoff: BackoffConfig) -> Self {
        Self {
            source,
            backoff: Backoff::new(backoff),
            due: None,
            fetching: None,
            sent: None,
            failures: 0,
        }
    }

    /// Arms the timer from a `connect` or `refresh` reply; an answered
    /// refresh also starts the tries over.
    pub(super) fn arm(&mut self, expires: bool, ttl: u32) {
        self.sent = None;
        self.failures = 0;
        self.backoff.reset();
        self.due = None;
        if expires && self.source.is_some() {
            let delay = refresh_in(Duration::from_secs(ttl.into()));
            tracing::debug!(ttl, ?delay, "token refresh scheduled");
            self.due = Some(Instant::now() + delay);
        }
    }

    /// When the source is to be asked next, if ever.
    pub(super) fn due(&self) -> Option<Instant> {
        self.due
    }

    /// The timer fired: asks the source.
    pub(super) fn start(&mut self) {
        self.due = None;
        self.fetching = self.source.as_ref().map(TokenSource::fetch);
    }

    pub(super) fn is_fetching(&self) -> bool {
        self.fetching.is_some()
    }

    /// The source's answer. Cancel-safe: the fetch lives in `self`, so a
    /// `select!` that drops this future loses nothing.
    pub(super) async fn fetched(&mut self) -> Result<String, String> {
        let Some(fetching) = self.fetching.as_mut() else {
            return pending().await;
        };
        let token = fetching.await;
        self.fetching = None;
        token
    }

    /// The `refresh` command went out with `id`.
    pub(super) fn sent(&mut self, id: u32) {
        self.sent = Some(id);
    }

    /// Whether the reply with `id` answers the `refresh` command.
    pub(super) fn is_reply(&self, id: u32) -> bool {
        self.sent == Some(id)
    }

    /// A try failed: the delay before the next one, or `None` when the
    /// tries are used up.
    fn failed(&mut self) -> Option<Duration> {
        self.sent = None;
        self.failures += 1;
        if self.failures >= MAX_TRIES {
            self.due = None;
            return None;
        }
        let delay = self.backoff.next_delay();
        self.due = Some(Instant::now() + delay);
        Some(delay)
    }
}

impl Connection {
    /// The source answered: sends the new token, or counts a failed try.
    pub(super) async fn on_refresh_token(
        &mut self,
        ws: &mut Ws,
        session: &mut Session,
        token: Result<String, String>,
    ) -> Result<(), End> {
        let token = match token {
            Ok(token) => token,
            Err(why) => {
                self.refresh_failed(session, why);
                return Ok(());
            }
        };
        // Also the token of the next `connect`.
        self.token = token;
        self.need_token = false;
        let id = self.next_id();
        session.refresh.sent(id);
        let command = Command {
            id,
            refresh: Some(RefreshRequest {
                token: self.token.clone(),
            }),
            ..Command::default()
        };
        self.write(ws, encode(&command)).await
    }

    /// The reply to `refresh`: arms the next one, tries again, or ends the
    /// session when the hub refuses the token outright.
    pub(super) fn on_refresh_reply(
        &mut self,
        session: &mut Session,
        reply: Reply,
    ) -> Result<(), End> {
        let Some(error) = reply.error else {
            let result = reply.refresh.unwrap_or_default();
            tracing::debug!(
                expires = result.expires,
                ttl = result.ttl,
                "token refreshed"
            );
            session.refresh.arm(result.expires, result.ttl);
            return Ok(());
        };
        if error.code == ErrorCode::TokenExpired.code() || error.code < 100 || error.temporary {
            let why = format!(
                "the hub refused the refreshed token: {} (error {})",
                error.message, error.code
            );
            self.refresh_failed(session, why);
            return Ok(());
        }
        let code = u16::try_from(error.code).unwrap_or(u16::MAX);
        Err(End::new(
            code,
            format!("refresh refused: {}", error.message),
            After::Terminal,
        ))
    }

    fn refresh_failed(&mut self, session: &mut Session, why: String) {
        let message = match session.refresh.failed() {
            Some(delay) => format!(
                "token refresh: {why}; asking again in {:.1} s",
                delay.as_secs_f64()
            ),
            None => {
                // The token will expire: the next connect needs a new one.
                self.need_token = true;
                format!(
                    "token refresh: {why}; gave up after {MAX_TRIES} tries: the hub closes \
                     the connection when the token expires, then the client connects with a \
                     new token"
                )
            }
        };
        self.events.send(Event::Error(Error::Token(message)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_a_tenth_early_within_bounds() {
        let ms = Duration::from_millis;
        for (ttl_s, at_ms) in [
            (0, 1_000),
            (1, 1_000),
            (2, 1_000),
            (3, 2_000),
            (10, 9_000),
            (60, 54_000),
            (299, 269_100),
            (300, 270_000),
            (600, 570_000),
            (3600, 3_570_000),
        ] {
            assert_eq!(
                refresh_in(Duration::from_secs(ttl_s)),
                ms(at_ms),
                "ttl {ttl_s}"
            );
        }
    }
}
