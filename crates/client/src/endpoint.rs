//! The server address: a validated `ws://HOST:PORT/PATH` URL.
//!
//! The hub serves WebSocket clients at `/connection/websocket`, so a URL
//! without a path is refused with a message that shows the expected form
//! rather than failing later with an HTTP 404 on every reconnect.

use std::fmt;
use std::str::FromStr;

use tokio_tungstenite::tungstenite::http::Uri;

use crate::Error;

/// A WebSocket URL the client can dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: String,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Checks `url`: scheme `ws`, a host, an optional port (80 by default)
    /// and a path such as `/connection/websocket`.
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
        match uri.scheme_str() {
            Some("ws") => {}
            Some("wss") => {
                return Err(invalid(
                    "wss:// (TLS) is not supported by this client; use ws:// (behind a TLS-terminating tunnel if needed)",
                ))
            }
            Some(other) => return Err(invalid(&format!("scheme {other}:// is not ws://"))),
            None => return Err(invalid("the scheme ws:// is missing")),
        }
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
            host,
            port,
        })
    }

    /// The URL as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.url
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
    }

    #[test]
    fn refuses_malformed_urls_naming_the_expected_form() {
        for (url, why) in [
            ("", "empty"),
            ("localhost:8000", "scheme"),
            ("http://localhost:8000/connection/websocket", "http"),
            ("wss://localhost/connection/websocket", "TLS"),
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
