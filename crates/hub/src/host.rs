//! The Host check: the hub answers only to names that are its own.
//!
//! DNS rebinding is a web page on `evil.example` whose name the attacker
//! then points at `127.0.0.1` (or a LAN address): the browser sees one
//! origin, so it lets the page talk to the hub, but every request still
//! carries `Host: evil.example`. Refusing unknown names in `Host` stops it
//! for WebSockets and plain HTTP alike, whatever the Origin says.
//!
//! An IP literal in `Host` cannot be rebound (there is no name to point
//! elsewhere), so the defaults allow the listen address's own IPs without
//! configuration; DNS names other than `localhost` need `--allowed-host`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::http::{header, HeaderMap, StatusCode, Uri, Version};

/// The `Host` values a hub answers to, computed once from the bound
/// address and `--allowed-host`.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// `--allowed-host *`: no check at all.
    any: bool,
    /// Any IP literal (an unspecified listener can be reached on any of the
    /// machine's addresses).
    any_ip: bool,
    /// Exact host names and IP literals, lower case, without brackets.
    names: Vec<String>,
}

/// Why a request was refused: the status and a one-line message naming the
/// fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400 for a missing or malformed Host, 403 for a foreign one.
    pub status: StatusCode,
    /// What happened and what to do about it.
    pub message: String,
}

impl AllowedHosts {
    /// The set for a listener bound to `bound`, with `configured` from
    /// `--allowed-host`.
    ///
    /// Always allowed: the bound IP; for a loopback listener also
    /// `localhost`, `127.0.0.1` and `::1`; for an unspecified one (0.0.0.0,
    /// `[::]`) any IP literal and `localhost`. `configured` adds names, and
    /// `*` among them allows any Host.
    pub fn new(configured: &[String], bound: SocketAddr) -> Self {
        let ip = bound.ip();
        let mut names: Vec<String> = configured.iter().map(|name| normalize(name)).collect();
        names.push(ip.to_string());
        if ip.is_loopback() || ip.is_unspecified() {
            names.push("localhost".into());
        }
        if ip.is_loopback() {
            names.push(Ipv4Addr::LOCALHOST.to_string());
            names.push(Ipv6Addr::LOCALHOST.to_string());
        }
        names.sort();
        names.dedup();
        Self {
            any: configured.iter().any(|name| name.trim() == "*"),
            any_ip: ip.is_unspecified(),
            names,
        }
    }

    /// Whether a host name (no port, no brackets) is one of ours.
    pub fn allows(&self, hostname: &str) -> bool {
        let hostname = normalize(hostname);
        self.any
            || self.names.contains(&hostname)
            || (self.any_ip && hostname.parse::<IpAddr>().is_ok())
    }

    /// Checks a request's `Host` header (and the authority of an
    /// absolute-form target, which takes its place when present).
    pub fn check(&self, version: Version, uri: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
        let header = headers.get(header::HOST).map(|v| v.to_str());
        let host = match (header, uri.authority()) {
            (_, Some(authority)) => authority.as_str(),
            (Some(Ok(value)), None) if !value.trim().is_empty() => value.trim(),
            (Some(_), None) => return Err(bad_request("the Host header is not a host name")),
            // HTTP/1.0 clients may omit Host; browsers (the only way to
            // rebind) always send it.
            (None, None) if version < Version::HTTP_11 => return Ok(()),
            (None, None) => return Err(bad_request("HTTP/1.1 requires a Host header")),
        };
        if self.any {
            return Ok(());
        }
        let Some(hostname) = hostname(host) else {
            return Err(bad_request(&format!("Host {host:?} is not a host name")));
        };
        if self.allows(hostname) {
            return Ok(());
        }
        Err(Refusal {
            status: StatusCode::FORBIDDEN,
            message: format!(
                "host {hostname:?} is not served here: start the hub with --allowed-host {hostname} \
                 if that name is yours"
            ),
        })
    }
}

/// The host name part of a `Host` value: `hub:8000` → `hub`,
/// `[::1]:8000` → `::1`. `None` for something that is not `host[:port]`.
pub fn hostname(host: &str) -> Option<&str> {
    let (name, port) = match host.strip_prefix('[') {
        Some(bracketed) => {
            let (ip, rest) = bracketed.split_once(']')?;
            ip.parse::<Ipv6Addr>().ok()?;
            (ip, rest.strip_prefix(':'))
        }
        None if host.matches(':').count() > 1 => return None,
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    if port.is_some_and(|p| p.parse::<u16>().is_err()) {
        return None;
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    (!name.is_empty() && name.chars().all(valid)).then_some(name)
}

/// Lower case, without brackets or a trailing dot (`hub.example.` is the
/// same name as `hub.example`).
fn normalize(name: &str) -> String {
    let name = name.trim();
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

fn bad_request(why: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        message: format!("{why}: send Host: <name or IP of this hub>[:port]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn check(allowed: &AllowedHosts, host: Option<&str>) -> Result<(), Refusal> {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, host.parse().unwrap());
        }
        allowed.check(Version::HTTP_11, &Uri::from_static("/healthz"), &headers)
    }

    #[test]
    fn hostname_strips_the_port_and_brackets() {
        assert_eq!(hostname("hub:8000"), Some("hub"));
        assert_eq!(hostname("hub"), Some("hub"));
        assert_eq!(hostname("[::1]:8000"), Some("::1"));
        assert_eq!(hostname("[::1]"), Some("::1"));
        assert_eq!(hostname("127.0.0.1:1"), Some("127.0.0.1"));
        assert_eq!(hostname("::1"), None);
        assert_eq!(hostname("[nope]:1"), None);
        assert_eq!(hostname("hub:port"), None);
        assert_eq!(hostname("a b"), None);
        assert_eq!(hostname(":80"), None);
    }

    #[test]
    fn a_loopback_listener_answers_to_loopback_forms_only() {
        let allowed = AllowedHosts::new(&[], addr("127.0.0.1:0"));
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LOCALHOST",
            "[::1]:8000",
            "localhost.",
        ] {
            assert!(check(&allowed, Some(ok)).is_ok(), "{ok}");
        }
        let refused = check(&allowed, Some("evil.example:8000")).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            refused
                .message
                .contains("--allowed-host evil.example if that name is yours"),
            "{}",
            refused.message
        );
        assert!(check(&allowed, Some("10.0.0.1")).is_err());
        assert!(check(&allowed, Some("app.localhost")).is_err());
    }

    #[test]
    fn an_unspecified_listener_answers_to_any_ip_but_only_named_hosts() {
        let allowed = AllowedHosts::new(&["Hub.Example".into()], addr("0.0.0.0:8000"));
        for ok in [
            "10.1.2.3:8000",
            "127.0.0.1",
            "[fe80::1]:8000",
            "localhost",
            "hub.example:8000",
            "HUB.EXAMPLE",
        ] {
            assert!(check(&allowed, Some(ok)).is_ok(), "{ok}");
        }
        assert!(check(&allowed, Some("evil.example")).is_err());
        let none = AllowedHosts::new(&[], addr("[::]:8000"));
        assert!(check(&none, Some("192.168.1.5:8000")).is_ok());
        assert!(check(&none, Some("hub.example")).is_err());
    }

    #[test]
    fn a_specific_address_answers_to_itself_and_the_configured_names() {
        let allowed = AllowedHosts::new(&["hub.example".into()], addr("192.168.1.5:8000"));
        assert!(check(&allowed, Some("192.168.1.5:8000")).is_ok());
        assert!(check(&allowed, Some("hub.example")).is_ok());
        assert!(check(&allowed, Some("192.168.1.6")).is_err());
        assert!(check(&allowed, Some("localhost")).is_err());
    }

    #[test]
    fn star_allows_anything_but_a_host_is_still_required() {
        let any = AllowedHosts::new(&["*".into()], addr("127.0.0.1:0"));
        assert!(check(&any, Some("evil.example")).is_ok());
        let missing = check(&any, None).unwrap_err();
        assert_eq!(missing.status, StatusCode::BAD_REQUEST);
        let old = any.check(
            Version::HTTP_10,
            &Uri::from_static("/healthz"),
            &HeaderMap::new(),
        );
        assert!(old.is_ok());
    }

    #[test]
    fn an_absolute_target_is_checked_in_place_of_host() {
        let allowed = AllowedHosts::new(&[], addr("127.0.0.1:0"));
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1".parse().unwrap());
        let uri = Uri::from_static("http://evil.example/healthz");
        assert!(allowed.check(Version::HTTP_11, &uri, &headers).is_err());
    }
}
