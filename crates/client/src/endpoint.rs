//! The server address: a validated `ws://HOST:PORT/PATH` or
//! `wss://HOST:PORT/PATH` URL.
//!
//! The hub serves WebSocket clients at `/connection/websocket`, so a URL
//! without a path is refused with a message that shows the expected form
//! rather than failing later with an HTTP 404 on every reconnect. `wss://`
//! means TLS (see `tls.rs`); the port defaults to 443 for it and 80 for
//! `ws://`.

use std::fmt;
use std::str::FromStr;

use tokio_tungstenite::tungstenite::http::Uri;

use crate::Error;

/// A WebSocket URL the client can dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    tls: bool,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Checks `url`: scheme `ws` or `wss` (TLS), a host, an optional port
    /// (80 for `ws`, 443 for `wss` by default) and a path such as
    /// `/connection/websocket`.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::InvalidUrl {
            url: url.to_string(),
            why: why.to_string(),
        };
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        let uri: Uri = trimmed
            .parse()
            .map_err(|e| invalid(&format!("not a URL ({e})")))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            Some(other) => {
                return Err(invalid(&format!(
                    "scheme {other}:// is neither ws:// nor wss://"
                )))
            }
            None => return Err(invalid("the scheme ws:// or wss:// is missing")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| invalid("the host is missing"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let after_host = authority.rsplit(']').next().unwrap_or(authority);
        let port = match after_host.rsplit_once(':') {
            None if tls => 443,
            None => 80,
            Some((_, text)) => match text.parse::<u16>() {
                Ok(0) => return Err(invalid("port 0 cannot be dialed")),
                Ok(port) => port,
                Err(_) => {
                    return Err(invalid(&format!(
                        "port {text:?} is not a number from 1 to 65535"
                    )))
                }
            },
        };
        if matches!(uri.path(), "" | "/") {
            return Err(invalid("the path is missing"));
        }
        Ok(Self {
            url: trimmed.to_string(),
            tls,
            host,
            port,
        })
    }

    /// The URL as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `"wss"` or `"ws"`.
    pub fn scheme(&self) -> &'static str {
        if self.tls {
            "wss"
        } else {
            "ws"
        }
    }

    /// Whether the connection runs over TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Host name or IP address, without IPv6 brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        Self::parse(url)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_expected_forms() {
        let e = Endpoint::parse("ws://127.0.0.1:8000/connection/websocket").unwrap();
        assert_eq!((e.host(), e.port()), ("127.0.0.1", 8000));
        let e = Endpoint::parse("ws://hub.example/connection/websocket?x=1").unwrap();
        assert_eq!((e.host(), e.port()), ("hub.example", 80));
        let e = Endpoint::parse("ws://[::1]:9/connection/websocket").unwrap();
        assert_eq!(e.host(), "::1");
        assert!(!e.is_tls());
        assert_eq!(e.scheme(), "ws");
    }

    #[test]
    fn accepts_wss_with_port_443_by_default() {
        let e = Endpoint::parse("wss://hub.example/connection/websocket").unwrap();
        assert_eq!((e.host(), e.port(), e.is_tls()), ("hub.example", 443, true));
        assert_eq!(e.scheme(), "wss");
        let e = Endpoint::parse("wss://127.0.0.1:8443/connection/websocket").unwrap();
        assert_eq!((e.host(), e.port(), e.is_tls()), ("127.0.0.1", 8443, true));
        let e = Endpoint::parse("wss://[::1]/connection/websocket").unwrap();
        assert_eq!((e.host(), e.port()), ("::1", 443));
        assert_eq!(e.as_str(), "wss://[::1]/connection/websocket");
    }

    #[test]
    fn refuses_malformed_urls_naming_the_expected_form() {
        for (url, why) in [
            ("", "empty"),
            ("localhost:8000", "scheme"),
            ("http://localhost:8000/connection/websocket", "http"),
            (
                "https://localhost/connection/websocket",
                "neither ws:// nor wss://",
            ),
            ("wss://localhost:8443", "path"),
            ("ws://localhost:8000", "path"),
            ("ws://localhost:8000/", "path"),
            ("ws:///connection/websocket", "URL"),
            ("ws://host:99999/connection/websocket", "65535"),
            ("ws://host:0/connection/websocket", "port 0"),
            ("not a url", "URL"),
        ] {
            let err = Endpoint::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url:?}: {err}");
            assert!(
                err.contains("expected ws://HOST:PORT/connection/websocket"),
                "{url:?}: {err}"
            );
        }
    }
}
