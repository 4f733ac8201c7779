//! DNS rebinding: a page on `evil.example` whose name now points at the
//! hub. Its requests carry `Host: evil.example` (and a matching Origin), so
//! the hub must refuse them by Host, on every path, while its own names,
//! IP literals and same-origin pages keep working.

use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Hub, API_KEY, WAIT};

/// A status line and body, read off a raw connection.
struct Answer {
    status: u16,
    body: String,
}

/// Sends `head` on a new connection and reads one response.
async fn ask(addr: SocketAddr, head: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    read_answer(&mut stream).await
}

/// Reads a response's head, then as much body as Content-Length says (a
/// 101 has none).
async fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(
            n > 0,
            "closed without an answer: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let status = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("a body in time")
            .unwrap();
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    Answer {
        status,
        body: String::from_utf8_lossy(&bytes[head_end..]).into_owned(),
    }
}

/// A WebSocket upgrade request, with `Origin` when given.
fn upgrade(host: &str, origin: Option<&str>) -> String {
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    format!(
        "GET /connection/websocket HTTP/1.1\r\nHost: {host}\r\n{origin}Connection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

fn get(path: &str, host: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// A masked client text frame (mask of zeros: the payload goes as is).
fn frame(text: &str) -> Vec<u8> {
    let mut out = vec![0x81];
    match text.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(text.as_bytes());
    out
}

fn refusals(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("telltale_hub_refusals_total{reason=\"host\"} "))
        .map_or(0, |v| v.parse().unwrap())
}

#[tokio::test]
async fn a_loopback_hub_refuses_a_rebound_name_on_every_path() {
    // As the desktop app embeds it: loopback, port 0, anonymous.
    let hub = Hub::start().await;
    let port = hub.addr.port();
    let evil = format!("evil.example:{port}");
    let evil_origin = format!("http://evil.example:{port}");

    let answer = ask(hub.addr, &upgrade(&evil, Some(&evil_origin))).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains(
            "host \"evil.example\" is not served here: start the hub with --allowed-host \
             evil.example if that name is yours"
        ),
        "{}",
        answer.body
    );
    for path in ["/metrics", "/healthz", "/no/such/path"] {
        let answer = ask(hub.addr, &get(path, &evil)).await;
        assert_eq!(answer.status, 403, "{path}: {}", answer.body);
    }
    let api = format!(
        "POST /api/info HTTP/1.1\r\nHost: {evil}\r\nX-API-Key: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    let answer = ask(hub.addr, &api).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(!answer.body.contains("nodes"), "{}", answer.body);

    // The hub's own names, and a page it served itself, still work.
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let origin = format!("http://{host}");
        let answer = ask(hub.addr, &upgrade(&host, Some(&origin))).await;
        assert_eq!(answer.status, 101, "{host}: {}", answer.body);
    }
    let answer = ask(hub.addr, &upgrade(&format!("[::1]:{port}"), None)).await;
    assert_eq!(answer.status, 101, "{}", answer.body);
    let answer = ask(hub.addr, &get("/healthz", &format!("localhost:{port}"))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // No Host at all on HTTP/1.1 is malformed.
    let answer = ask(
        hub.addr,
        "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    let metrics = hub.metrics().await;
    assert_eq!(refusals(&metrics), 6, "{metrics}");
    hub.stop().await;
}

#[tokio::test]
async fn a_network_hub_answers_to_its_names_and_ip_literals_only() {
    let hub = Hub::with(|c| {
        c.listen = "0.0.0.0:0".parse().unwrap();
        c.allowed_hosts = vec!["hub.example".into()];
    })
    .await;
    let port = hub.addr.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let named = format!("hub.example:{port}");

    let answer = ask(addr, &upgrade(&named, Some(&format!("http://{named}")))).await;
    assert_eq!(answer.status, 101, "{}", answer.body);
    let answer = ask(addr, &upgrade(&format!("127.0.0.1:{port}"), None)).await;
    assert_eq!(answer.status, 101, "{}", answer.body);
    // Any IP literal: the machine may be reached on any of its addresses,
    // and an address cannot be rebound.
    let answer = ask(addr, &upgrade(&format!("10.9.8.7:{port}"), None)).await;
    assert_eq!(answer.status, 101, "{}", answer.body);

    let evil = format!("evil.example:{port}");
    let answer = ask(addr, &upgrade(&evil, Some(&format!("http://{evil}")))).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("--allowed-host evil.example"),
        "{}",
        answer.body
    );
    let answer = ask(addr, &get("/metrics", &evil)).await;
    assert_eq!(answer.status, 403, "{}", answer.body);

    // A page on https:// is not this plain-http hub's own page.
    let answer = ask(addr, &upgrade(&named, Some(&format!("https://{named}")))).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("--allowed-origin https://hub.example"),
        "{}",
        answer.body
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_rebound_page_never_gets_alarms_active_answered() {
    let hub = Hub::start().await;
    hub.publish(
        "alarms",
        json!({"id": "web1/cpu", "source": "web1", "severity": "critical", "state": "firing",
               "title": "CPU above 90%", "ts": 1_700_000_000_000u64, "value": 93.1}),
    )
    .await;
    let port = hub.addr.port();
    let evil = format!("evil.example:{port}");
    let mut stream = TcpStream::connect(hub.addr).await.unwrap();
    stream
        .write_all(upgrade(&evil, Some(&format!("http://{evil}"))).as_bytes())
        .await
        .unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    // Carry on as if upgraded: the frames must reach no session.
    let mut frames = frame(r#"{"id":1,"connect":{}}"#);
    frames.extend(frame(r#"{"id":2,"rpc":{"method":"alarms.active"}}"#));
    let _ = stream.write_all(&frames).await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains("web1/cpu") && !rest.contains("\"rpc\""),
        "{rest}"
    );
    assert_eq!(hub.node.local().metrics.connections.get(), 0);
    hub.stop().await;
}
