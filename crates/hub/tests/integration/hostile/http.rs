//! The HTTP side: authenticate before reading, bounded bodies, bounded time,
//! bounded connections.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{bystander, still_served};
use crate::support::{Hub, API_KEY, WAIT};

/// Sends `head` (and nothing more) and reads the answer until the hub
/// closes or `WAIT` passes.
async fn answer_to(hub: &Hub, head: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(hub.addr).await.unwrap();
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    (read_answer(&mut stream).await, started.elapsed())
}

async fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

fn post(key: Option<&str>, length: usize) -> String {
    let key = key
        .map(|k| format!("X-API-Key: {k}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n{key}Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn keyless_request_is_refused_before_its_body_is_read() {
    let hub = Hub::start().await;
    let mut other = bystander(&hub).await;
    // 1.8 MiB announced, none sent: the hub must not wait for it.
    let (answer, took) = answer_to(&hub, &post(None, 1_887_436)).await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "answered without the body: {took:?}"
    );
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn oversized_body_is_413_as_soon_as_content_length_says_so() {
    let hub = Hub::start().await;
    let mut other = bystander(&hub).await;
    let (answer, _) = answer_to(&hub, &post(Some(API_KEY), 1_500_000)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("--api-body-limit"), "{answer}");
    // A body that only turns out too large as it arrives (chunked) too.
    let mut stream = TcpStream::connect(hub.addr).await.unwrap();
    let head = format!(
        "POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {API_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "x".repeat(60_000);
    for _ in 0..3 {
        let piece = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(piece.as_bytes()).await.is_err() {
            break;
        }
    }
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408() {
    let hub = Hub::with(|c| c.body_read_timeout = Duration::from_millis(500)).await;
    let mut stream = TcpStream::connect(hub.addr).await.unwrap();
    stream
        .write_all(post(Some(API_KEY), 100).as_bytes())
        .await
        .unwrap();
    stream.write_all(b"{\"chan").await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    hub.stop().await;
}

#[tokio::test]
async fn half_sent_headers_and_idle_keep_alive_are_dropped_after_the_header_timeout() {
    let hub = Hub::with(|c| c.handshake_timeout = Duration::from_millis(400)).await;
    let (answer, took) = answer_to(&hub, "GET /connection/websocket HTTP/1.1\r\nHost: h").await;
    assert!(!answer.contains("101"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A keep-alive connection: one request answered, then silence.
    let mut stream = TcpStream::connect(hub.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_answer(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "idle keep-alive closed: {:?}",
        started.elapsed()
    );
    hub.stop().await;
}

#[tokio::test]
async fn http_connections_beyond_the_budget_get_503_and_websockets_are_not_counted() {
    let hub = Hub::with(|c| c.max_http_connections = 3).await;
    let mut other = bystander(&hub).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(hub.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, _) = answer_to(&hub, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("--max-http-connections"), "{answer}");
    drop(idle);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, _) = answer_to(
        &hub,
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // The bystander's WebSocket left the HTTP budget at its upgrade.
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_per_address_limit_get_429() {
    let hub = Hub::with(|c| c.max_connections_per_ip = 2).await;
    let _a = TcpStream::connect(hub.addr).await.unwrap();
    let _b = TcpStream::connect(hub.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (answer, _) = answer_to(&hub, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(answer.contains("--max-connections-per-ip"), "{answer}");
    hub.stop().await;
}

#[tokio::test]
async fn foreign_origin_is_403() {
    let hub = Hub::start().await;
    let head = "GET /connection/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let (answer, _) = answer_to(&hub, head).await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    hub.stop().await;
}
