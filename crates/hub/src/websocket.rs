//! The WebSocket endpoint: checks the upgrade request, answers 101 and hands
//! the upgraded socket to a [`session`](crate::session).
//!
//! The upgrade is done with hyper directly (rather than a framework's
//! WebSocket type) so the session owns a plain tokio-tungstenite stream with
//! buffers sized for tens of thousands of connections.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::admission::IpPermit;
use crate::node::Node;
use crate::read_on_demand::ReadOnDemand;
use crate::{session, Config};

/// Path of the WebSocket endpoint (Centrifugo's default).
pub const PATH: &str = "/connection/websocket";

/// Bytes tungstenite reads at a time, into a buffer each connection keeps
/// for its whole life (its default, 128 KiB, would cost that much per
/// connection). Enough for the usual command (a pong is 8 bytes, connect
/// with subscribe about 100); the socket underneath is read in larger
/// pieces by [`ReadOnDemand`], so a large message does not cost a system
/// call per 128 bytes.
const READ_BUFFER: usize = 128;
/// Bytes of frames tungstenite gathers before it writes them (a flush
/// writes what is left): a drain of the queue with several frames (large
/// objects go out as frames of their own) costs a system call per 64 KiB,
/// not per frame. A lone frame and its flush are still one write.
const WRITE_BUFFER: usize = 64 * 1024;

/// `GET /connection/websocket`.
pub async fn upgrade(State(node): State<Node>, mut request: Request) -> Response {
    let headers = request.headers();
    let Some(key) = websocket_key(headers) else {
        let message =
            "expected a WebSocket upgrade: GET with Connection: Upgrade, Upgrade: websocket, \
                       Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    if let Err(message) = check_origin(node.config(), headers) {
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    if node.shutdown_token().is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let accept = derive_accept_key(key.as_bytes());
    // The address's count follows the socket into its session.
    let ip_permit = request.extensions_mut().remove::<Arc<IpPermit>>();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let sessions = node.sessions().clone();
    // What this future captures, every connection keeps to its end: the
    // socket's config is made inside.
    sessions.spawn(async move {
        let _ip_permit = ip_permit;
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let config = socket_config(node.config());
        let socket = ReadOnDemand::new(TokioIo::new(upgraded));
        let ws = WebSocketStream::from_raw_socket(socket, Role::Server, Some(config)).await;
        session::serve(node, ws).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .expect("static response")
}

fn websocket_key(headers: &HeaderMap) -> Option<String> {
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let ok = has(header::CONNECTION, "upgrade")
        && has(header::UPGRADE, "websocket")
        && has(header::SEC_WEBSOCKET_VERSION, "13");
    ok.then(|| {
        headers
            .get(header::SEC_WEBSOCKET_KEY)?
            .to_str()
            .ok()
            .map(str::to_owned)
    })
    .flatten()
}

/// Browsers send `Origin`; other clients do not and are not checked. A page
/// served by the hub itself (same scheme, same `Host`) is always allowed;
/// the scheme counts, so a page on `https://hub:8000` is not the plain hub
/// on `http://hub:8000`, nor the other way round.
fn check_origin(config: &Config, headers: &HeaderMap) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    if config.allow_any_origin
        || config
            .allowed_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let own = format!("{scheme}://{host}");
    if !host.is_empty() && origin.eq_ignore_ascii_case(&own) {
        return Ok(());
    }
    let other_scheme = origin.split_once("://").is_some_and(|(s, rest)| {
        !s.eq_ignore_ascii_case(scheme) && rest.eq_ignore_ascii_case(host)
    });
    let why = if other_scheme {
        format!(" (this hub serves {scheme}://{host}, not the page's scheme)")
    } else {
        String::new()
    };
    Err(format!(
        "origin {origin} is not allowed{why}: start the hub with --allowed-origin {origin} \
         (or --allow-any-origin)"
    ))
}

fn socket_config(config: &Config) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER.min(config.client_queue_bytes))
        .max_write_buffer_size(config.client_queue_bytes.saturating_mul(2))
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: &str, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, origin.parse().unwrap());
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn origin_rules() {
        let config = Config {
            allowed_origins: vec!["https://app.example".into()],
            ..Config::default()
        };
        assert!(check_origin(&config, &headers("http://127.0.0.1:8000", "127.0.0.1:8000")).is_ok());
        assert!(check_origin(&config, &headers("HTTP://LOCALHOST:8000", "localhost:8000")).is_ok());
        assert!(check_origin(&config, &headers("https://app.example", "hub:8000")).is_ok());
        assert!(check_origin(&config, &headers("https://APP.example", "hub:8000")).is_ok());
        let err = check_origin(&config, &headers("https://evil.example", "hub:8000")).unwrap_err();
        assert!(err.contains("--allowed-origin https://evil.example"));
        assert!(check_origin(&config, &HeaderMap::new()).is_ok());
        // The same host on another port is another origin.
        assert!(check_origin(&config, &headers("http://hub:8001", "hub:8000")).is_err());
        assert!(check_origin(&config, &headers("null", "hub:8000")).is_err());
        let any = Config {
            allow_any_origin: true,
            ..Config::default()
        };
        assert!(check_origin(&any, &headers("https://evil.example", "hub:8000")).is_ok());
    }

    #[test]
    fn the_scheme_must_be_the_hubs_own() {
        let plain = Config::default();
        let err = check_origin(&plain, &headers("https://hub:8000", "hub:8000")).unwrap_err();
        assert!(err.contains("serves http://hub:8000"), "{err}");
        assert!(err.contains("--allowed-origin https://hub:8000"), "{err}");
        assert!(check_origin(&plain, &headers("http://hub:8000", "hub:8000")).is_ok());
        let tls = Config {
            tls_cert: Some("cert.pem".into()),
            tls_key: Some("key.pem".into()),
            ..Config::default()
        };
        assert!(check_origin(&tls, &headers("https://hub:8000", "hub:8000")).is_ok());
        let err = check_origin(&tls, &headers("http://hub:8000", "hub:8000")).unwrap_err();
        assert!(err.contains("serves https://hub:8000"), "{err}");
    }
}
