//! The misbehaving peers. A slow client subscribes to a busy channel and
//! never reads; an attacker floods commands on one connection, opens
//! WebSocket upgrades that never send `connect`, and sends keyless API
//! requests with large bodies. Only what they got is reported: whether the
//! hub answers them correctly is another test suite's business; what the
//! soak checks is that nobody else suffers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::{client, http};
use crate::ws::{self, Ws};

/// Most commands of one flood.
const FLOOD_COMMANDS: u64 = 5_000;
/// Longest flood.
const FLOOD_TIME: Duration = Duration::from_secs(3);
/// Upgraded sockets per round that never send `connect`.
const STALLED_SOCKETS: usize = 50;
/// Longest wait for the hub to close a stalled socket.
const STALLED_WAIT: Duration = Duration::from_secs(12);
/// Keyless API requests per round.
const KEYLESS_REQUESTS: usize = 10;
/// Their bodies alternate between these sizes.
const KEYLESS_BODIES: [usize; 2] = [1 << 20, 100 << 10];
/// Longest wait for one setup step or answer.
const STEP: Duration = Duration::from_secs(5);

/// What happened to the slow client.
#[derive(Debug, Clone, Default)]
pub struct SlowOutcome {
    /// Its channel.
    pub channel: String,
    /// Why it could not subscribe, if it could not.
    pub setup_error: Option<String>,
    /// Publications found unread in its socket at the end.
    pub unread_publications: u64,
    /// How its connection ended, as read at the end.
    pub end: String,
    /// The close code, if the hub sent a close frame.
    pub close_code: Option<u16>,
    /// When the hub closed its side (seen in /proc/net/tcp), after the
    /// subscription, and the TCP state it was in.
    pub hub_closed: Option<(Duration, &'static str)>,
    /// Most bytes seen waiting in the hub's socket send queue.
    pub max_unsent: u64,
}

impl SlowOutcome {
    /// One line for the report.
    pub fn describe(&self) -> String {
        if let Some(e) = &self.setup_error {
            return format!("could not subscribe: {e}");
        }
        let hub = match self.hub_closed {
            Some((after, state)) => format!(
                "the hub closed its socket {:.0} s after the subscription (then {state})",
                after.as_secs_f64()
            ),
            None => "the hub kept the connection open to the end".into(),
        };
        format!(
            "{hub}; up to {} KiB waited in the hub's socket send queue; read at the end: {} publications, then {}",
            self.max_unsent / 1024,
            self.unread_publications,
            self.end
        )
    }
}

/// Subscribes to `channel` through a socket with a small receive buffer,
/// then reads nothing until `stop`; then reads what is there to see how the
/// connection ended.
pub async fn slow_client(
    port: u16,
    channel: String,
    mut stop: watch::Receiver<bool>,
) -> SlowOutcome {
    let mut out = SlowOutcome {
        channel: channel.clone(),
        ..SlowOutcome::default()
    };
    let mut socket = match tokio::time::timeout(STEP, open_slow(port, &channel)).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(e)) => {
            out.setup_error = Some(e);
            return out;
        }
        Err(_) => {
            out.setup_error = Some(format!("not subscribed within {STEP:?}"));
            return out;
        }
    };
    // Watch the hub's side of the connection while not reading.
    let subscribed = Instant::now();
    let client_port = socket.get_ref().local_addr().map(|a| a.port()).unwrap_or(0);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while !*stop.borrow_and_update() {
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            _ = tick.tick() => {}
        }
        if out.hub_closed.is_some() {
            continue;
        }
        match hub_side(port, client_port) {
            Some((ESTABLISHED, unsent)) => out.max_unsent = out.max_unsent.max(unsent),
            Some((state, unsent)) => {
                out.max_unsent = out.max_unsent.max(unsent);
                out.hub_closed = Some((subscribed.elapsed(), state_name(state)));
            }
            None => out.hub_closed = Some((subscribed.elapsed(), "gone")),
        }
    }
    // Read the backlog, with a large receive buffer now, bounded in time.
    set_recv_buffer(socket.get_ref(), 4 << 20);
    let deadline = Instant::now() + Duration::from_secs(10);
    out.end = loop {
        let message = tokio::select! {
            () = sleep_until(deadline) => break "still open: the hub had not closed it (it was still sending)".into(),
            message = socket.next() => message,
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                out.unread_publications += text
                    .as_str()
                    .split('\n')
                    .filter(|l| l.starts_with("{\"push\"") && l.contains("\"pub\":"))
                    .count() as u64;
            }
            Some(Ok(Message::Close(frame))) => {
                out.close_code = frame.as_ref().map(|f| u16::from(f.code));
                break format!("closed by the hub: {}", ws::close_text(frame.as_ref()));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break format!("ended without a close frame ({e})"),
            None => break "ended without a close frame".into(),
        }
    };
    out
}

const ESTABLISHED: u8 = 0x01;

fn state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0B => "CLOSING",
        _ => "another state",
    }
}

/// The hub's end of the connection from 127.0.0.1:`client_port`, from
/// /proc/net/tcp: TCP state and bytes in its send queue.
fn hub_side(hub_port: u16, client_port: u16) -> Option<(u8, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    parse_hub_side(&table, hub_port, client_port)
}

fn parse_hub_side(table: &str, hub_port: u16, client_port: u16) -> Option<(u8, u64)> {
    let local = format!("0100007F:{hub_port:04X}");
    let remote = format!("0100007F:{client_port:04X}");
    table.lines().find_map(|line| {
        let mut fields = line.split_whitespace().skip(1);
        if fields.next()? != local || fields.next()? != remote {
            return None;
        }
        let state = u8::from_str_radix(fields.next()?, 16).ok()?;
        let unsent = u64::from_str_radix(fields.next()?.split(':').next()?, 16).ok()?;
        Some((state, unsent))
    })
}

fn set_recv_buffer(tcp: &tokio::net::TcpStream, bytes: libc::c_int) {
    use std::os::fd::AsRawFd as _;
    // SAFETY: setsockopt reads an int we own, on a socket we own.
    unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

async fn open_slow(port: u16, channel: &str) -> Result<Ws, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    // Small before connecting, so the window the hub sees stays small.
    socket
        .set_recv_buffer_size(4096)
        .map_err(|e| format!("SO_RCVBUF: {e}"))?;
    let tcp = socket
        .connect(([127, 0, 0, 1], port).into())
        .await
        .map_err(|e| format!("tcp connect: {e}"))?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let url = format!("ws://127.0.0.1:{port}/connection/websocket");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .map_err(|e| format!("websocket handshake: {e}"))?;
    let frame = format!(
        "{{\"id\":1,\"connect\":{{}}}}\n{{\"id\":2,\"subscribe\":{{\"channel\":\"{channel}\"}}}}"
    );
    ws.send(Message::text(frame))
        .await
        .map_err(|e| format!("send: {e}"))?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                for line in text.as_str().split('\n') {
                    if line.starts_with("{\"id\":2,\"subscribe\"") {
                        return Ok(ws);
                    }
                    if line.contains("\"error\"") {
                        return Err(format!("error reply: {line}"));
                    }
                }
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed: {}", ws::close_text(frame.as_ref())))
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("read: {e}")),
            None => return Err("ended during subscribe".into()),
        }
    }
}

/// Everything the attacker got, over all its rounds.
#[derive(Debug, Clone, Default)]
pub struct AttackOutcome {
    /// Rounds run.
    pub rounds: u32,
    /// Flood connections opened (connected).
    pub flood_connections: u64,
    /// Flood connections that could not connect, with the first reason.
    pub flood_setup_errors: (u64, Option<String>),
    /// Commands sent by the floods.
    pub flood_sent: u64,
    /// Seconds spent sending them.
    pub flood_seconds: f64,
    /// Successful replies.
    pub flood_ok: u64,
    /// Error replies by error code.
    pub flood_errors: BTreeMap<u64, u64>,
    /// How flood connections ended.
    pub flood_ends: BTreeMap<String, u64>,
    /// Stalled sockets opened (upgraded).
    pub stalled_opened: u64,
    /// Stalled sockets that could not be opened.
    pub stalled_failed: u64,
    /// How stalled sockets ended.
    pub stalled_ends: BTreeMap<String, u64>,
    /// Longest time a stalled socket stayed open.
    pub stalled_longest: Duration,
    /// Keyless API requests sent.
    pub keyless_sent: u64,
    /// Their outcomes: HTTP status or what happened.
    pub keyless_outcomes: BTreeMap<String, u64>,
}

impl AttackOutcome {
    /// Commands per second the floods sent.
    pub fn flood_rate(&self) -> f64 {
        self.flood_sent as f64 / self.flood_seconds.max(1e-9)
    }
}

/// Runs up to `rounds` attack rounds, one every `interval`, until `stop`.
pub async fn attacker(
    port: u16,
    rounds: u32,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> AttackOutcome {
    let out = Arc::new(Mutex::new(AttackOutcome::default()));
    let mut next = Instant::now();
    for _ in 0..rounds {
        tokio::select! {
            () = sleep_until(next) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        next = Instant::now() + interval;
        tokio::join!(
            flood(port, out.clone()),
            stalled(port, out.clone()),
            keyless(port, out.clone()),
        );
        out.lock().expect("attack lock").rounds += 1;
    }
    let result = out.lock().expect("attack lock").clone();
    result
}

/// One connection sending commands as fast as it can.
async fn flood(port: u16, out: Arc<Mutex<AttackOutcome>>) {
    let opened = tokio::time::timeout(STEP, async {
        let mut ws = client::open(port).await?;
        ws.send(Message::text("{\"id\":1,\"connect\":{}}"))
            .await
            .map_err(|e| format!("send connect: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.as_str().contains("\"connect\"") => return Ok(ws),
                Some(Ok(Message::Close(f))) => {
                    return Err(format!("closed: {}", ws::close_text(f.as_ref())))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("read: {e}")),
                None => return Err("ended during connect".into()),
            }
        }
    })
    .await;
    let ws = match opened {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return flood_setup_failed(&out, e),
        Err(_) => return flood_setup_failed(&out, format!("not connected within {STEP:?}")),
    };
    out.lock().expect("attack lock").flood_connections += 1;
    let (mut sink, mut stream) = ws.split();
    let ended = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let reader = {
        let (ended, ok, out) = (ended.clone(), ok.clone(), out.clone());
        tokio::spawn(async move {
            let mut errors: BTreeMap<u64, u64> = BTreeMap::new();
            let end = loop {
                match stream.next().await {
                    Some(Ok(Message::Text(text))) => {
                        for line in text.as_str().split('\n') {
                            if line.contains("\"error\":") {
                                let code = ws::field_u64(line, "\"code\":").unwrap_or(0);
                                *errors.entry(code).or_default() += 1;
                            } else if line.starts_with("{\"id\":") {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        break format!("close {}", ws::close_text(frame.as_ref()))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break "ended without a close frame".to_owned(),
                }
            };
            ended.store(true, Ordering::Release);
            let mut o = out.lock().expect("attack lock");
            for (code, n) in errors {
                *o.flood_errors.entry(code).or_default() += n;
            }
            *o.flood_ends.entry(end).or_default() += 1;
        })
    };
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < FLOOD_COMMANDS && started.elapsed() < FLOOD_TIME && !ended.load(Ordering::Acquire)
    {
        let id = sent + 2;
        // Mostly small answers, so the rate limit, not the queue bound,
        // is what the flood meets (the catalog of this run is ~10 KiB).
        // `presence_stats` on `alarms` is refused (103) under the default
        // namespace rules (presence off): a refusal the hub must shed too.
        let command = match sent % 10 {
            0 => format!("{{\"id\":{id},\"rpc\":{{\"method\":\"catalog\",\"data\":{{}}}}}}"),
            n if n % 2 == 0 => {
                format!("{{\"id\":{id},\"presence_stats\":{{\"channel\":\"alarms\"}}}}")
            }
            _ => format!("{{\"id\":{id},\"history\":{{\"channel\":\"alarms\",\"limit\":1}}}}"),
        };
        if sink.send(Message::text(command)).await.is_err() {
            break;
        }
        sent += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    // Give the hub time to answer (or close), then end it ourselves.
    let wait_until = Instant::now() + Duration::from_secs(3);
    while !ended.load(Ordering::Acquire) && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let still_open = !ended.load(Ordering::Acquire);
    if still_open {
        let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        reader.abort();
    } else {
        let _ = reader.await;
    }
    let mut o = out.lock().expect("attack lock");
    o.flood_sent += sent;
    o.flood_seconds += seconds;
    o.flood_ok += ok.load(Ordering::Relaxed);
    if still_open {
        *o.flood_ends
            .entry("still open 3 s after the flood".into())
            .or_default() += 1;
    }
}

fn flood_setup_failed(out: &Mutex<AttackOutcome>, reason: String) {
    let mut o = out.lock().expect("attack lock");
    o.flood_setup_errors.0 += 1;
    o.flood_setup_errors.1.get_or_insert(reason);
}

/// Upgraded sockets that never send `connect`.
async fn stalled(port: u16, out: Arc<Mutex<AttackOutcome>>) {
    let mut tasks = JoinSet::new();
    for _ in 0..STALLED_SOCKETS {
        tasks.spawn(async move {
            let mut ws = match tokio::time::timeout(STEP, client::open(port)).await {
                Ok(Ok(ws)) => ws,
                _ => return None,
            };
            let opened = Instant::now();
            let end = tokio::time::timeout(STALLED_WAIT, async {
                loop {
                    match ws.next().await {
                        Some(Ok(Message::Close(frame))) => {
                            break format!("close {}", ws::close_text(frame.as_ref()))
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break "ended without a close frame".to_owned(),
                    }
                }
            })
            .await
            .unwrap_or_else(|_| format!("still open after {STALLED_WAIT:?}"));
            Some((end, opened.elapsed()))
        });
    }
    while let Some(done) = tasks.join_next().await {
        let mut o = out.lock().expect("attack lock");
        match done {
            Ok(Some((end, open_for))) => {
                o.stalled_opened += 1;
                o.stalled_longest = o.stalled_longest.max(open_for);
                *o.stalled_ends.entry(end).or_default() += 1;
            }
            _ => o.stalled_failed += 1,
        }
    }
}

/// API requests without a key, with large bodies.
async fn keyless(port: u16, out: Arc<Mutex<AttackOutcome>>) {
    for i in 0..KEYLESS_REQUESTS {
        let size = KEYLESS_BODIES[i % KEYLESS_BODIES.len()];
        let mut body = String::with_capacity(size + 64);
        body.push_str("{\"channel\":\"alarms\",\"data\":{\"pad\":\"");
        body.extend(std::iter::repeat_n('x', size));
        body.push_str("\"}}");
        let outcome = match http::post_once(port, "/api/publish", None, body.as_bytes(), STEP).await
        {
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e,
        };
        let mut o = out.lock().expect("attack lock");
        o.keyless_sent += 1;
        *o.keyless_outcomes.entry(outcome).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_hub_side_of_a_connection() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:9C40 0100007F:C350 01 0003E800:00000000 00:00000000 00000000     0        0 1 1 0\n\
           1: 0100007F:C350 0100007F:9C40 01 00000000:00002000 00:00000000 00000000     0        0 2 1 0\n\
           2: 0100007F:9C40 0100007F:C351 04 00000010:00000000 00:00000000 00000000     0        0 3 1 0\n";
        assert_eq!(
            parse_hub_side(table, 40000, 50000),
            Some((ESTABLISHED, 256_000))
        );
        assert_eq!(parse_hub_side(table, 40000, 50001), Some((0x04, 16)));
        assert_eq!(parse_hub_side(table, 40000, 50002), None);
        assert_eq!(state_name(0x04), "FIN_WAIT1");
    }
}
