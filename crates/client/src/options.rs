//! Client settings: where to connect, credentials, timeouts and bounds.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::BackoffConfig;
pub use crate::token::{TokenFuture, TokenSource};
use crate::watchdog::DEFAULT_ALLOWANCE;
use crate::{Endpoint, Error};

/// Default of [`Options::stable_after`]: a connection that stayed up this
/// long was healthy, and the reconnect backoff starts over when it ends.
pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(10);

/// How a [`crate::Client`] connects and behaves.
#[derive(Clone)]
pub struct Options {
    /// The hub's WebSocket URL: the first one dialed.
    pub endpoint: Endpoint,
    /// More URLs of the same logical hub: other nodes sharing its broker,
    /// reached without a load balancer in front (empty by default).
    ///
    /// The first attempt dials [`Options::endpoint`]; every later attempt
    /// (after a failed dial or connect, a dropped or closed connection, or
    /// [`crate::Client::reconnect`]) dials the next URL, round robin:
    /// `endpoint`, `fallbacks[0]`, `fallbacks[1]`, ..., `endpoint`, ...
    /// Subscriptions are sent again to whichever node answers and recover
    /// from their last position there, since the nodes of one hub share
    /// offsets and epochs.
    ///
    /// Each attempt still waits its backoff delay first, as with a single
    /// URL: moving to another node costs one short jittered delay (the
    /// clients of a node that dies spread over the others instead of
    /// arriving all at once), and a full round of failures keeps growing
    /// the delay up to `backoff.max` instead of cycling through the nodes
    /// at full speed. The token, token source, `ca_file` and every other
    /// setting apply to all URLs.
    pub fallbacks: Vec<Endpoint>,
    /// Connection JWT; empty for anonymous.
    pub token: String,
    /// Where to get a new token when it is missing, expired or about to
    /// expire (see [`TokenSource`]).
    pub token_source: Option<TokenSource>,
    /// Client name sent in `connect` (default `telltale-client`).
    pub name: String,
    /// Client version sent in `connect` (default: this crate's version).
    pub version: String,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// How long a connection must stay up (from its `connect` reply) before
    /// it counts as healthy, so that the reconnect backoff starts over from
    /// `backoff.min` when it ends (default 10 s).
    ///
    /// A connection that the server closes sooner, e.g. with 3008 (slow)
    /// or 3013 (too many requests) right after accepting `connect`, or that
    /// the transport drops, counts as one more failed attempt: the delays
    /// keep growing up to `backoff.max` instead of the client reconnecting
    /// in a tight loop. With `Duration::ZERO` every connection that got its
    /// `connect` reply counts as healthy (the behaviour before this option).
    pub stable_after: Duration,
    /// Time allowed on top of the server's ping interval before the
    /// connection is declared dead (default 10 s).
    pub ping_allowance: Duration,
    /// Time allowed to dial, upgrade and get the `connect` reply (default 10 s).
    pub connect_timeout: Duration,
    /// Default timeout of RPC, history and publish calls (default 10 s).
    pub call_timeout: Duration,
    /// Time allowed for one write to the socket (default 10 s).
    pub write_timeout: Duration,
    /// How many metric publications may wait in the event queue before the
    /// oldest are dropped and a `Lagged` event is counted (default 1024).
    /// Other events are never dropped.
    pub event_capacity: usize,
    /// Largest inbound WebSocket message accepted, bytes (default 16 MiB).
    pub max_message_size: usize,
    /// For `wss://`: a PEM file of certificates to trust in addition to the
    /// system's certificate authorities, e.g. a private CA or the hub's
    /// self-signed certificate (see [`Options::tls_config`]).
    pub ca_file: Option<PathBuf>,
}

impl Options {
    /// Defaults for the hub at `url`, e.g.
    /// `ws://127.0.0.1:8000/connection/websocket`.
    pub fn new(url: &str) -> Result<Self, Error> {
        Ok(Self {
            endpoint: Endpoint::parse(url)?,
            fallbacks: Vec::new(),
            token: String::new(),
            token_source: None,
            name: "telltale-client".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            backoff: BackoffConfig::default(),
            stable_after: DEFAULT_STABLE_AFTER,
            ping_allowance: DEFAULT_ALLOWANCE,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            event_capacity: 1024,
            max_message_size: 16 << 20,
            ca_file: None,
        })
    }

    /// Defaults for one hub reachable at several `urls` (its nodes): the
    /// first is dialed first, the others are [`Options::fallbacks`]. Fails
    /// on the first URL that does not parse, or when there is none.
    pub fn with_endpoints<I, S>(urls: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut urls = urls.into_iter();
        let first = urls.next().ok_or_else(|| Error::InvalidUrl {
            url: String::new(),
            why: "no URL given".into(),
        })?;
        urls.try_fold(Self::new(first.as_ref())?, |options, url| {
            options.fallback(url.as_ref())
        })
    }

    /// Adds `url` to the [`Options::fallbacks`]: another node of the same
    /// hub, dialed in turn after the URLs before it.
    pub fn fallback(mut self, url: &str) -> Result<Self, Error> {
        self.fallbacks.push(Endpoint::parse(url)?);
        Ok(self)
    }

    /// Every URL in dialing order: [`Options::endpoint`], then the
    /// [`Options::fallbacks`].
    pub fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        std::iter::once(&self.endpoint).chain(&self.fallbacks)
    }

    /// The `n`-th URL of [`Options::endpoints`], wrapping around.
    pub(crate) fn endpoint_for(&self, n: usize) -> &Endpoint {
        match n % (self.fallbacks.len() + 1) {
            0 => &self.endpoint,
            i => &self.fallbacks[i - 1],
        }
    }

    /// Sets the connection token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Sets a function that fetches fresh tokens (see [`TokenSource`]).
    pub fn token_source<F, Fut>(self, source: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        self.token_from(TokenSource::new(source))
    }

    /// Sets where fresh tokens come from, e.g. [`crate::token_file`] or
    /// [`crate::token_command`].
    pub fn token_from(mut self, source: TokenSource) -> Self {
        self.token_source = Some(source);
        self
    }

    /// Sets the reconnect delay bounds.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = BackoffConfig { min, max };
        self
    }

    /// Sets how long a connection must stay up before the reconnect backoff
    /// starts over (see [`Options::stable_after`]).
    pub fn stable_after(mut self, duration: Duration) -> Self {
        self.stable_after = duration;
        self
    }

    /// Sets the allowance on top of the server's ping interval.
    pub fn ping_allowance(mut self, allowance: Duration) -> Self {
        self.ping_allowance = allowance;
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the default call timeout.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Trusts the certificates in the PEM file at `path` as well as the
    /// system's (see [`Options::ca_file`]).
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.ca_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// The TLS configuration for the `wss://` endpoints, `None` when every
    /// endpoint is `ws://`: the system's certificate authorities plus those
    /// of [`Options::ca_file`]. Fails when the CA file is missing, unreadable
    /// or holds no certificate, or when there is no authority to trust at
    /// all. Build it once per client: it reads the system store.
    pub fn tls_config(&self) -> Result<Option<Arc<rustls::ClientConfig>>, Error> {
        if !self.endpoints().any(Endpoint::is_tls) {
            return Ok(None);
        }
        crate::tls::client_config(self.ca_file.as_deref()).map(Some)
    }

    /// Sets how many metric publications may queue before some are dropped.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("endpoint", &self.endpoint)
            .field("fallbacks", &self.fallbacks)
            .field("token", &if self.token.is_empty() { "" } else { "<set>" })
            .field("token_source", &self.token_source)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("backoff", &self.backoff)
            .field("stable_after", &self.stable_after)
            .field("ping_allowance", &self.ping_allowance)
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("max_message_size", &self.max_message_size)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let options = Options::new("ws://127.0.0.1:1/connection/websocket")
            .unwrap()
            .token("secret-jwt");
        let shown = format!("{options:?}");
        assert!(!shown.contains("secret-jwt") && shown.contains("<set>"));
    }

    #[test]
    fn several_urls_are_dialed_round_robin_starting_with_the_first() {
        let a = "ws://127.0.0.1:1/connection/websocket";
        let b = "ws://127.0.0.2:2/connection/websocket";
        let c = "ws://127.0.0.3:3/connection/websocket";
        let options = Options::with_endpoints([a, b, c]).unwrap();
        let urls: Vec<&str> = options.endpoints().map(Endpoint::as_str).collect();
        assert_eq!(urls, [a, b, c]);
        let order: Vec<&str> = (0..7).map(|n| options.endpoint_for(n).as_str()).collect();
        assert_eq!(order, [a, b, c, a, b, c, a]);
        let built = Options::new(a).unwrap().fallback(b).unwrap();
        assert_eq!(built.fallbacks, [Endpoint::parse(b).unwrap()]);
        let single = Options::new(a).unwrap();
        assert_eq!(single.endpoint_for(5).as_str(), a);
    }

    #[test]
    fn with_endpoints_refuses_none_and_names_a_bad_url() {
        let none: [&str; 0] = [];
        let err = Options::with_endpoints(none).unwrap_err().to_string();
        assert!(err.contains("no URL given"), "{err}");
        let err = Options::with_endpoints(vec![
            "ws://127.0.0.1:1/connection/websocket".to_string(),
            "ws://127.0.0.1:2".to_string(),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"ws://127.0.0.1:2\"") && err.contains("path"),
            "{err}"
        );
        assert!(Options::new("ws://127.0.0.1:1/connection/websocket")
            .unwrap()
            .fallback("http://127.0.0.1:2/connection/websocket")
            .is_err());
    }

    #[test]
    fn tls_config_when_any_url_is_wss() {
        let mixed = Options::with_endpoints([
            "ws://127.0.0.1:1/connection/websocket",
            "wss://127.0.0.1:2/connection/websocket",
        ])
        .unwrap()
        .ca_file("/no/such/ca.pem");
        assert!(mixed.tls_config().is_err(), "the wss:// fallback needs TLS");
    }

    #[test]
    fn tls_config_only_for_wss_and_a_bad_ca_file_fails_at_once() {
        let plain = Options::new("ws://127.0.0.1:1/connection/websocket")
            .unwrap()
            .ca_file("/no/such/ca.pem");
        assert!(plain.tls_config().unwrap().is_none());
        let tls = Options::new("wss://127.0.0.1:1/connection/websocket")
            .unwrap()
            .ca_file("/no/such/ca.pem");
        let err = tls.tls_config().unwrap_err().to_string();
        assert!(
            err.starts_with("--ca-file /no/such/ca.pem: cannot read it"),
            "{err}"
        );
    }
}
