//! WebSocket clients of both servers: opening a connection, the hub's
//! connect/subscribe exchange, and reading the frames.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::cli::Target;

/// A client connection.
pub type Ws = WebSocketStream<TcpStream>;

/// The channel every bench client subscribes to.
pub const CHANNEL: &str = "bench";

/// Socket buffer sizes for a client.
#[derive(Debug, Clone, Copy)]
pub enum Buffers {
    /// Small buffers for many idle connections.
    Small,
    /// Larger buffers for subscribers that read coalesced frames.
    Large,
}

/// Opens a WebSocket to the server's endpoint; for the hub also sends
/// `connect` (and `subscribe` when `subscribe` is set) and waits for the
/// replies. Bounded by `timeout`.
pub async fn open(
    target: Target,
    port: u16,
    subscribe: bool,
    buffers: Buffers,
    timeout: Duration,
) -> Result<Ws, String> {
    open_from(target, port, subscribe, buffers, timeout, None).await
}

/// [`open`], from `source` (an address of this machine) when given.
async fn open_from(
    target: Target,
    port: u16,
    subscribe: bool,
    buffers: Buffers,
    timeout: Duration,
    source: Option<Ipv4Addr>,
) -> Result<Ws, String> {
    let opening = open_inner(target, port, subscribe, buffers, source);
    match tokio::time::timeout(timeout, opening).await {
        Ok(result) => result,
        Err(_) => Err(format!("connection not ready within {timeout:?}")),
    }
}

/// How to open the many connections of a scenario: at most `limit` at once,
/// each within `timeout`, all given up at `deadline` (the end of the setup
/// phase).
#[derive(Clone)]
pub struct Dial {
    /// Which server.
    pub target: Target,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Connections being opened at the same time.
    pub limit: Arc<Semaphore>,
    /// End of the setup phase.
    pub deadline: tokio::time::Instant,
    /// Longest time for one connection.
    pub timeout: Duration,
    /// Socket buffer sizes.
    pub buffers: Buffers,
}

impl Dial {
    /// Opens one connection (subscribed, for the hub).
    pub async fn open(&self) -> Result<Ws, String> {
        self.open_from(None).await
    }

    /// [`Dial::open`], with the client socket bound to `source` when given.
    pub async fn open_from(&self, source: Option<Ipv4Addr>) -> Result<Ws, String> {
        let attempt = async {
            let _permit = self
                .limit
                .acquire()
                .await
                .map_err(|_| "setup cancelled".to_owned())?;
            let (target, port, buffers) = (self.target, self.port, self.buffers);
            open_from(target, port, true, buffers, self.timeout, source).await
        };
        match tokio::time::timeout_at(self.deadline, attempt).await {
            Ok(result) => result,
            Err(_) => {
                Err("setup phase over (--setup-timeout) before this connection was ready".into())
            }
        }
    }
}

async fn open_inner(
    target: Target,
    port: u16,
    subscribe: bool,
    buffers: Buffers,
    source: Option<Ipv4Addr>,
) -> Result<Ws, String> {
    let path = if target.is_hub() {
        "/connection/websocket"
    } else {
        "/"
    };
    let tcp = match source {
        None => TcpStream::connect(("127.0.0.1", port)).await,
        Some(source) => connect_from(source, port).await,
    }
    .map_err(|e| format!("tcp connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    // tungstenite zeroes a whole read buffer before every read, including
    // the one that finds the socket empty: with 64 KiB that memset was the
    // bench's largest cost, so the load generator, not the server, set the
    // ceiling. 16 KiB still takes a coalesced frame of 100 deliveries in one read.
    let read_buffer = match buffers {
        Buffers::Small => 4 << 10,
        Buffers::Large => 16 << 10,
    };
    // tungstenite's default limits (64 MiB messages, 16 MiB frames) hold
    // any coalesced frame at the sweep's largest payloads: the hub's are at
    // most 256 KiB, the gorilla Hub's at most its 256 queued messages.
    let config = WebSocketConfig::default()
        .read_buffer_size(read_buffer)
        .write_buffer_size(0);
    let url = format!("ws://127.0.0.1:{port}{path}");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| format!("websocket handshake: {e}"))?;
    if target.is_hub() {
        hub_handshake(&mut ws, subscribe).await?;
    }
    Ok(ws)
}

/// Connects to 127.0.0.1:`port` from `source`. The port is picked at
/// connect time, for the whole 4-tuple (`IP_BIND_ADDRESS_NO_PORT`): bound
/// at `bind`, every source address would share one pool of ephemeral ports.
async fn connect_from(source: Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    let yes: libc::c_int = 1;
    // SAFETY: the socket's descriptor is open for the call; the option's
    // value is a c_int that lives across it.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&yes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if set != 0 {
        return Err(std::io::Error::last_os_error());
    }
    socket.bind(SocketAddr::from((source, 0)))?;
    socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
}

/// The `n`th of `count` loopback source addresses: 127.0.0.2, 127.0.0.3, ...
/// (127.0.0.1 is the server's).
pub fn source_address(n: usize, count: u8) -> Ipv4Addr {
    let last = (n % usize::from(count.max(1))) as u8;
    Ipv4Addr::new(127, 0, 0, 2 + last)
}

/// Sends `connect` (+ `subscribe` in the same frame) and waits for the
/// replies with ids 1 (and 2).
async fn hub_handshake(ws: &mut Ws, subscribe: bool) -> Result<(), String> {
    let frame = if subscribe {
        format!("{{\"id\":1,\"connect\":{{}}}}\n{{\"id\":2,\"subscribe\":{{\"channel\":\"{CHANNEL}\"}}}}")
    } else {
        "{\"id\":1,\"connect\":{}}".to_owned()
    };
    ws.send(Message::text(frame))
        .await
        .map_err(|e| format!("send connect: {e}"))?;
    let want = if subscribe { 2 } else { 1 };
    let mut got = 0;
    while got < want {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                return Err(format!(
                    "closed during connect: {}",
                    close_text(frame.as_ref())
                ))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read during connect: {e}")),
            None => return Err("closed during connect".into()),
        };
        for line in text.as_str().split('\n').filter(|l| !l.trim().is_empty()) {
            if line.trim() == "{}" {
                ws.send(Message::text("{}"))
                    .await
                    .map_err(|e| format!("send pong: {e}"))?;
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("unparsable reply {line:?}: {e}"))?;
            if let Some(error) = value.get("error") {
                return Err(format!("error reply: {error}"));
            }
            match value.get("id").and_then(serde_json::Value::as_u64) {
                Some(1) if value.get("connect").is_some() => got += 1,
                Some(2) if value.get("subscribe").is_some() => got += 1,
                _ => {}
            }
        }
    }
    Ok(())
}

/// "code reason" of a close frame.
pub fn close_text(frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) => format!("{} {}", u16::from(f.code), f.reason.as_str()),
        None => "no close frame".into(),
    }
}

/// The close code of a close frame (1005 "no status" when absent).
pub fn close_code(frame: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> u16 {
    frame.map(|f| u16::from(f.code)).unwrap_or(1005)
}

/// The unsigned integer after `key` (e.g. `"ts":`) in a JSON line, read
/// without parsing the rest of the line.
pub fn field_u64(line: &str, key: &str) -> Option<u64> {
    let start = line.find(key)? + key.len();
    digits(&line.as_bytes()[start..]).map(|(value, _)| value)
}

/// The send time and sequence number a bench payload starts with
/// (`"ts":N,"seq":M`, see `fanout::payload`), found in a line of any
/// server's framing without parsing it.
pub fn stamp(line: &str) -> Option<(u64, Option<u64>)> {
    static TS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"ts\":"));
    let bytes = line.as_bytes();
    let start = TS.find(bytes)? + 5;
    let (ts, used) = digits(&bytes[start..])?;
    let seq = bytes[start + used..]
        .strip_prefix(b",\"seq\":")
        .and_then(digits)
        .map(|(seq, _)| seq);
    Some((ts, seq))
}

/// The unsigned integer at the start of `bytes`, and how many bytes it took.
fn digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut used = 0;
    for &b in bytes.iter().take_while(|b| b.is_ascii_digit()) {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        used += 1;
    }
    (used > 0).then_some((value, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_take_turns_after_the_servers() {
        let got: Vec<Ipv4Addr> = (0..5).map(|n| source_address(n, 3)).collect();
        let [a, b, c] = [2, 3, 4].map(|last| Ipv4Addr::new(127, 0, 0, last));
        assert_eq!(got, [a, b, c, a, b]);
        assert_eq!(source_address(7, 250), Ipv4Addr::new(127, 0, 0, 9));
        assert_eq!(source_address(249, 250), Ipv4Addr::new(127, 0, 0, 251));
    }

    #[test]
    fn reads_fields_without_parsing() {
        let line = r#"{"push":{"channel":"bench","pub":{"data":{"ts":123456,"seq":7,"pad":"x"},"offset":9}}}"#;
        assert_eq!(field_u64(line, "\"ts\":"), Some(123456));
        assert_eq!(field_u64(line, "\"seq\":"), Some(7));
        assert_eq!(field_u64(line, "\"offset\":"), Some(9));
        assert_eq!(field_u64(line, "\"nope\":"), None);
        assert_eq!(field_u64(r#"{"ts":x}"#, "\"ts\":"), None);
    }

    #[test]
    fn reads_the_stamp_of_every_framing() {
        let hub = r#"{"push":{"channel":"bench","pub":{"data":{"ts":123456,"seq":7,"pad":"x"},"offset":9}}}"#;
        assert_eq!(stamp(hub), Some((123456, Some(7))));
        assert_eq!(stamp(r#"{"ts":5,"seq":6,"pad":""}"#), Some((5, Some(6))));
        assert_eq!(stamp(r#"{"ts":5,"pad":""}"#), Some((5, None)));
        assert_eq!(stamp(r#"{"ts":x,"seq":6}"#), None);
        assert_eq!(stamp("{}"), None);
    }
}
