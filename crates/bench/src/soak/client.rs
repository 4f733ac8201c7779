//! The well-behaved clients of the soak: connect, subscribe to `alarms` (and
//! some to `metrics:<source>` channels), track offsets and the epoch, answer
//! pings, and on the churn controller's word drop the connection (abruptly
//! or with a close frame) and come back with recovery, or leave for good.
//!
//! Each client sends a handful of commands per connection (connect, its
//! subscribes, pongs), far below the hub's per-connection rate limit.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, Instant};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::ledger::{mix, Ledger};
use super::rng::Rng;
use crate::ws::{self, Ws};

/// The alarms channel.
pub const ALARMS: &str = "alarms";
/// Consecutive failed connection attempts after which a client gives up.
const MAX_ATTEMPTS: u32 = 6;
/// Time a normal close waits for the server's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// Examples kept of what went wrong with one client.
const EXAMPLES: usize = 3;

/// What the churn controller tells a connected client to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Churn {
    /// Drop the TCP connection without a close frame (FIN).
    Drop,
    /// Reset the TCP connection (SO_LINGER 0: RST) without a close frame.
    Reset,
    /// Close with a close frame (1000) and wait for the server's.
    Close,
    /// Close normally and never come back.
    Leave,
}

/// Where the run is.
#[derive(Debug, Clone)]
pub enum Phase {
    /// Publishing and churning.
    Run,
    /// Publishers have stopped: catch up to these top offsets by `deadline`,
    /// then close.
    Finish {
        /// Final top offset of each channel.
        tops: Arc<HashMap<String, u64>>,
        /// Give up catching up then.
        deadline: Instant,
    },
}

/// Counters every client adds to, for the progress line and the report.
#[derive(Debug, Default)]
pub struct Counters {
    /// Clients connected and subscribed right now.
    pub live: AtomicU64,
    /// Churn events carried out, by kind.
    pub drops: AtomicU64,
    /// Resets.
    pub resets: AtomicU64,
    /// Normal closes.
    pub closes: AtomicU64,
    /// Clients that left for good.
    pub left: AtomicU64,
    /// Subscribes with recovery answered `recovered: true`.
    pub recovered_ok: AtomicU64,
    /// Subscribes with recovery answered `recovered: false`.
    pub recovered_failed: AtomicU64,
    /// Publications received inside recovery replies.
    pub recovered_publications: AtomicU64,
    /// Alarm publications received (live and recovered).
    pub alarm_deliveries: AtomicU64,
    /// Metric publications received (live and recovered).
    pub metric_deliveries: AtomicU64,
    /// Connections the hub ended that the client did not ask to end.
    pub unexpected_ends: AtomicU64,
    /// Longest time from losing a connection to being subscribed again, ms.
    pub longest_gap_ms: AtomicU64,
}

/// Settings shared by every client.
#[derive(Debug)]
pub struct Shared {
    /// Hub port on 127.0.0.1.
    pub port: u16,
    /// Longest time to open a connection and get every subscribe reply.
    pub connect_timeout: Duration,
    /// Reconnect delays are drawn from 50 ms to this.
    pub max_reconnect_delay: Duration,
    /// Counters.
    pub counters: Counters,
}

/// Who a client is.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Client number (0.. for the initial population, then joiners).
    pub id: usize,
    /// Channels: `alarms` first.
    pub channels: Vec<String>,
    /// Joined during the soak (not part of the initial ramp-up).
    pub joiner: bool,
    /// Wait before the first connection.
    pub initial_delay: Duration,
    /// Seed of its random choices.
    pub seed: u64,
}

/// One channel of a client.
#[derive(Debug, Clone)]
pub struct Sub {
    /// Channel name.
    pub channel: String,
    /// Offsets received.
    pub ledger: Ledger,
    /// Epoch from the first subscribe reply.
    pub epoch: Option<String>,
    /// Subscribe replies whose epoch differed from the first one.
    pub epoch_changes: u64,
    /// Sum of [`mix`]`(offset, sequence number in the payload)` over the
    /// alarms received.
    pub digest: u64,
    /// The stream position the client knows: the highest offset received or
    /// reported by a subscribe reply (after `recovered: false` the reply's
    /// top, past the gap). Recovery starts from it.
    pub position: u64,
}

/// What one client did and saw.
#[derive(Debug)]
pub struct Outcome {
    /// Client number.
    pub id: usize,
    /// Joined during the soak.
    pub joiner: bool,
    /// Left for good (its stream is checked only up to what it saw).
    pub left: bool,
    /// Its channels.
    pub subs: Vec<Sub>,
    /// Churn events it carried out.
    pub churned: u64,
    /// Recoveries answered `recovered: true` / `false`.
    pub recovered: (u64, u64),
    /// Connections the hub ended on its own, with examples.
    pub unexpected: (u64, Vec<String>),
    /// Why it gave up connecting, if it did.
    pub gave_up: Option<String>,
    /// Caught up with every channel's final top before the deadline.
    pub caught_up: bool,
    /// Subscribed at least once.
    pub subscribed: bool,
}

impl Outcome {
    fn note_unexpected(&mut self, what: String) {
        self.unexpected.0 += 1;
        if self.unexpected.1.len() < EXAMPLES {
            self.unexpected.1.push(what);
        }
    }
}

/// How one connection ended.
enum End {
    /// The controller's word.
    Churn(Churn),
    /// Caught up with the final tops.
    CaughtUp,
    /// The finish deadline passed.
    Deadline,
    /// Never got every subscribe reply.
    NotReady(String),
    /// The hub (or the network) ended it.
    Ended(String),
}

/// Runs one client until it leaves, catches up at the end, or gives up.
/// `ready` hears once whether its first connection came up.
pub async fn run(
    shared: Arc<Shared>,
    spec: Spec,
    mut churn: mpsc::Receiver<Churn>,
    mut phase: watch::Receiver<Phase>,
    mut ready: Option<mpsc::Sender<Result<(), String>>>,
) -> Outcome {
    let mut rng = Rng::new(spec.seed, spec.id as u64);
    let mut out = Outcome {
        id: spec.id,
        joiner: spec.joiner,
        left: false,
        subs: spec
            .channels
            .iter()
            .map(|c| Sub {
                channel: c.clone(),
                ledger: Ledger::default(),
                epoch: None,
                epoch_changes: 0,
                digest: 0,
                position: 0,
            })
            .collect(),
        churned: 0,
        recovered: (0, 0),
        unexpected: (0, Vec::new()),
        gave_up: None,
        caught_up: false,
        subscribed: false,
    };
    if !spec.initial_delay.is_zero() {
        sleep(spec.initial_delay).await;
    }
    let mut failures = 0u32;
    let mut last_error = String::new();
    // When the last connection was lost, for the longest reconnect gap.
    let mut gone_at: Option<Instant> = None;
    loop {
        if let Phase::Finish { deadline, .. } = &*phase.borrow() {
            if Instant::now() >= *deadline {
                break;
            }
        }
        if failures >= MAX_ATTEMPTS {
            out.gave_up = Some(format!("{failures} failed attempts, last: {last_error}"));
            break;
        }
        let mut socket = match tokio::time::timeout(shared.connect_timeout, open(shared.port)).await
        {
            Ok(Ok(socket)) => socket,
            Ok(Err(e)) => {
                failures += 1;
                last_error = e;
                sleep(backoff(failures, &mut rng)).await;
                continue;
            }
            Err(_) => {
                failures += 1;
                last_error = format!("no WebSocket within {:?}", shared.connect_timeout);
                sleep(backoff(failures, &mut rng)).await;
                continue;
            }
        };
        let end = {
            let mut conn = Connection {
                shared: &shared,
                out: &mut out,
                ready: &mut ready,
                live: false,
                gone_at,
            };
            let end = conn.serve(&mut socket, &mut churn, &mut phase).await;
            if conn.live {
                shared.counters.live.fetch_sub(1, Ordering::Relaxed);
                gone_at = None;
            }
            end
        };
        if matches!(end, End::Churn(_) | End::Ended(_)) {
            gone_at.get_or_insert_with(Instant::now);
        }
        match end {
            End::Churn(kind) => {
                out.churned += 1;
                let counter = match kind {
                    Churn::Drop => &shared.counters.drops,
                    Churn::Reset => &shared.counters.resets,
                    Churn::Close => &shared.counters.closes,
                    Churn::Leave => &shared.counters.left,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                match kind {
                    Churn::Drop => {
                        // FIN without a close frame: shut our sending side,
                        // discard what still arrives until the hub closes
                        // (unread data would turn the close into a reset).
                        let tcp = socket.get_mut();
                        let _ = tokio::time::timeout(CLOSE_WAIT, async {
                            let _ = tcp.shutdown().await;
                            let mut buf = [0u8; 4096];
                            while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {}
                        })
                        .await;
                        drop(socket);
                    }
                    Churn::Reset => {
                        let _ = socket.get_ref().set_zero_linger();
                        drop(socket);
                    }
                    Churn::Close | Churn::Leave => close(&mut socket, &mut out).await,
                }
                if kind == Churn::Leave {
                    out.left = true;
                    break;
                }
                failures = 0;
                let delay = rng.between(Duration::from_millis(50), shared.max_reconnect_delay);
                sleep(delay).await;
            }
            End::CaughtUp => {
                out.caught_up = true;
                close(&mut socket, &mut out).await;
                break;
            }
            End::Deadline => {
                close(&mut socket, &mut out).await;
                break;
            }
            End::NotReady(e) => {
                failures += 1;
                last_error = e;
                sleep(backoff(failures, &mut rng)).await;
            }
            End::Ended(e) => {
                shared
                    .counters
                    .unexpected_ends
                    .fetch_add(1, Ordering::Relaxed);
                out.note_unexpected(e);
                failures = 0;
                // Like an SDK: come back soon, with recovery.
                let delay = rng.between(Duration::from_millis(100), Duration::from_millis(500));
                sleep(delay).await;
            }
        }
    }
    if let Some(tx) = ready.take() {
        let reason = out
            .gave_up
            .clone()
            .unwrap_or_else(|| "stopped before subscribing".into());
        let _ = tx.send(Err(reason)).await;
    }
    out
}

fn backoff(failures: u32, rng: &mut Rng) -> Duration {
    let base = Duration::from_millis(200) * 2u32.saturating_pow(failures.min(4));
    rng.between(base / 2, base)
}

/// Opens the TCP connection and the WebSocket (nothing sent yet).
pub async fn open(port: u16) -> Result<Ws, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("tcp connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4 << 10)
        .write_buffer_size(0);
    let url = format!("ws://127.0.0.1:{port}/connection/websocket");
    tokio_tungstenite::client_async_with_config(url, tcp, Some(config))
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| format!("websocket handshake: {e}"))
}

/// Sends a close frame and reads until the server's answer (recording what
/// still arrives), for at most [`CLOSE_WAIT`].
async fn close(socket: &mut Ws, out: &mut Outcome) {
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        if socket.close(None).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                for line in text.as_str().split('\n') {
                    if line.starts_with("{\"push\"") {
                        publication(out, line, None);
                    }
                }
            }
        }
    })
    .await;
}

/// One connection of a client.
struct Connection<'a> {
    shared: &'a Shared,
    out: &'a mut Outcome,
    ready: &'a mut Option<mpsc::Sender<Result<(), String>>>,
    /// Counted in `live`.
    live: bool,
    /// When the previous connection was lost.
    gone_at: Option<Instant>,
}

impl Connection<'_> {
    async fn serve(
        &mut self,
        socket: &mut Ws,
        churn: &mut mpsc::Receiver<Churn>,
        phase: &mut watch::Receiver<Phase>,
    ) -> End {
        // connect and every subscribe in one frame; ids: 1 connect, 2.. subs.
        let mut frame = String::from("{\"id\":1,\"connect\":{}}");
        let mut recovering = Vec::with_capacity(self.out.subs.len());
        for (i, sub) in self.out.subs.iter().enumerate() {
            let id = i + 2;
            match (&sub.epoch, sub.ledger.start()) {
                (Some(epoch), Some(_)) => {
                    recovering.push(true);
                    let _ = write!(
                        frame,
                        "\n{{\"id\":{id},\"subscribe\":{{\"channel\":\"{}\",\"recover\":true,\"offset\":{},\"epoch\":\"{epoch}\"}}}}",
                        sub.channel,
                        sub.position
                    );
                }
                _ => {
                    recovering.push(false);
                    let _ = write!(
                        frame,
                        "\n{{\"id\":{id},\"subscribe\":{{\"channel\":\"{}\"}}}}",
                        sub.channel
                    );
                }
            }
        }
        if let Err(e) = socket.send(Message::text(frame)).await {
            return End::NotReady(format!("send connect: {e}"));
        }
        let mut waiting = self.out.subs.len() + 1;
        let ready_by = Instant::now() + self.shared.connect_timeout;
        let mut churn_open = true;
        let mut phase_open = true;
        let mut finish: Option<(Arc<HashMap<String, u64>>, Instant)> = None;
        let far = Instant::now() + Duration::from_secs(86_400);
        if let Phase::Finish { tops, deadline } = &*phase.borrow_and_update() {
            finish = Some((tops.clone(), *deadline));
        }
        loop {
            let ready = waiting == 0;
            if ready {
                if let Some((tops, _)) = &finish {
                    if self.caught_up(tops) {
                        return End::CaughtUp;
                    }
                }
            }
            let finish_at = finish.as_ref().map_or(far, |f| f.1);
            tokio::select! {
                biased;
                kind = churn.recv(), if ready && churn_open && finish.is_none() => match kind {
                    Some(kind) => return End::Churn(kind),
                    None => churn_open = false,
                },
                changed = phase.changed(), if phase_open && finish.is_none() => match changed {
                    Ok(()) => {
                        if let Phase::Finish { tops, deadline } = &*phase.borrow_and_update() {
                            finish = Some((tops.clone(), *deadline));
                        }
                    }
                    Err(_) => phase_open = false,
                },
                () = sleep_until(ready_by), if !ready => {
                    return End::NotReady(format!("subscribe replies not all in within {:?}", self.shared.connect_timeout));
                }
                () = sleep_until(finish_at), if finish.is_some() => return End::Deadline,
                message = socket.next() => {
                    let text = match message {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(frame))) => {
                            return End::Ended(format!("closed by the hub: {}", ws::close_text(frame.as_ref())));
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return End::Ended(format!("read: {e}")),
                        None => return End::Ended("connection ended without a close frame".into()),
                    };
                    let mut pong = false;
                    for line in text.as_str().split('\n') {
                        match self.line(line, &recovering) {
                            Ok(Line::Ping) => pong = true,
                            Ok(Line::Reply) => waiting = waiting.saturating_sub(1),
                            Ok(Line::Other) => {}
                            Err(e) if waiting > 0 => return End::NotReady(e),
                            Err(e) => return End::Ended(e),
                        }
                    }
                    if pong {
                        if let Err(e) = socket.send(Message::text("{}")).await {
                            return End::Ended(format!("send pong: {e}"));
                        }
                    }
                    if waiting == 0 && !self.live {
                        self.live = true;
                        self.out.subscribed = true;
                        let counters = &self.shared.counters;
                        counters.live.fetch_add(1, Ordering::Relaxed);
                        if let Some(gone) = self.gone_at {
                            let gap = gone.elapsed().as_millis() as u64;
                            counters.longest_gap_ms.fetch_max(gap, Ordering::Relaxed);
                        }
                        if let Some(tx) = self.ready.take() {
                            let _ = tx.send(Ok(())).await;
                        }
                    }
                }
            }
        }
    }

    fn caught_up(&self, tops: &HashMap<String, u64>) -> bool {
        self.out.subs.iter().all(|sub| {
            let top = tops.get(&sub.channel).copied().unwrap_or(0);
            sub.position >= top
        })
    }

    /// Handles one line of a frame.
    fn line(&mut self, line: &str, recovering: &[bool]) -> Result<Line, String> {
        if line == "{}" {
            return Ok(Line::Ping);
        }
        if line.starts_with("{\"push\"") {
            if let Some(e) = publication(self.out, line, Some(&self.shared.counters)) {
                return Err(e);
            }
            return Ok(Line::Other);
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("unparsable line {line:?}: {e}"))?;
        let id = value
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if let Some(error) = value.get("error") {
            return Err(format!("error reply to command {id}: {error}"));
        }
        if id == 1 && value.get("connect").is_some() {
            return Ok(Line::Reply);
        }
        let index = (id as usize).wrapping_sub(2);
        let (Some(result), Some(&recover)) = (value.get("subscribe"), recovering.get(index)) else {
            return Ok(Line::Other);
        };
        self.subscribed(index, result, recover);
        Ok(Line::Reply)
    }

    /// A subscribe reply: the first sets the ledger's start and the epoch; a
    /// recovery adds the recovered publications.
    fn subscribed(&mut self, index: usize, result: &serde_json::Value, recover: bool) {
        let counters = &self.shared.counters;
        let epoch = result
            .get("epoch")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let offset = result
            .get("offset")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let sub = &mut self.out.subs[index];
        let alarms = sub.channel == ALARMS;
        match &sub.epoch {
            None => sub.epoch = Some(epoch),
            Some(first) if *first != epoch => sub.epoch_changes += 1,
            Some(_) => {}
        }
        sub.position = sub.position.max(offset);
        if !recover {
            sub.ledger.begin(offset);
            return;
        }
        let recovered = result
            .get("recovered")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if recovered {
            self.out.recovered.0 += 1;
            counters.recovered_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.out.recovered.1 += 1;
            counters.recovered_failed.fetch_add(1, Ordering::Relaxed);
        }
        let publications = result
            .get("publications")
            .and_then(serde_json::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        counters
            .recovered_publications
            .fetch_add(publications.len() as u64, Ordering::Relaxed);
        let deliveries = if alarms {
            &counters.alarm_deliveries
        } else {
            &counters.metric_deliveries
        };
        deliveries.fetch_add(publications.len() as u64, Ordering::Relaxed);
        for publication in publications {
            let offset = publication
                .get("offset")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0);
            sub.ledger.record(offset);
            sub.position = sub.position.max(offset);
            if alarms {
                let seq = publication
                    .get("data")
                    .and_then(|d| d.get("value"))
                    .and_then(serde_json::Value::as_u64);
                sub.digest = sub
                    .digest
                    .wrapping_add(mix(offset, seq.unwrap_or(u64::MAX)));
            }
        }
    }
}

/// What a line was.
enum Line {
    Ping,
    /// A reply to connect or a subscribe.
    Reply,
    Other,
}

/// Records a `{"push":...}` line: a publication goes into its channel's
/// ledger; a disconnect or unsubscribe push is an error.
fn publication(out: &mut Outcome, line: &str, counters: Option<&Counters>) -> Option<String> {
    const PREFIX: &str = "{\"push\":{\"channel\":\"";
    let Some(rest) = line.strip_prefix(PREFIX) else {
        return (line.contains("\"disconnect\"") || line.contains("\"unsubscribe\""))
            .then(|| format!("hub push: {line}"));
    };
    let end = rest.find('"')?;
    let channel = &rest[..end];
    if !rest[end..].starts_with("\",\"pub\":") {
        return rest
            .contains("\"unsubscribe\"")
            .then(|| format!("hub push: {line}"));
    }
    // The publication's offset follows its data: the last "offset" key.
    let offset = line
        .rfind("\"offset\":")
        .and_then(|at| ws::field_u64(&line[at..], "\"offset\":"))
        .unwrap_or(0);
    let sub = out.subs.iter_mut().find(|s| s.channel == channel)?;
    sub.ledger.record(offset);
    sub.position = sub.position.max(offset);
    let alarms = channel == ALARMS;
    if alarms {
        let seq = ws::field_u64(line, "\"value\":").unwrap_or(u64::MAX);
        sub.digest = sub.digest.wrapping_add(mix(offset, seq));
    }
    if let Some(counters) = counters {
        let deliveries = if alarms {
            &counters.alarm_deliveries
        } else {
            &counters.metric_deliveries
        };
        deliveries.fetch_add(1, Ordering::Relaxed);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(channels: &[&str]) -> Outcome {
        Outcome {
            id: 0,
            joiner: false,
            left: false,
            subs: channels
                .iter()
                .map(|c| {
                    let mut ledger = Ledger::default();
                    ledger.begin(0);
                    Sub {
                        channel: (*c).to_owned(),
                        ledger,
                        epoch: Some("e".into()),
                        epoch_changes: 0,
                        digest: 0,
                        position: 0,
                    }
                })
                .collect(),
            churned: 0,
            recovered: (0, 0),
            unexpected: (0, Vec::new()),
            gave_up: None,
            caught_up: false,
            subscribed: true,
        }
    }

    #[test]
    fn push_lines_land_in_their_ledger() {
        let mut out = outcome(&[ALARMS, "metrics:a"]);
        let alarm = r#"{"push":{"channel":"alarms","pub":{"data":{"id":"s/r","source":"s","severity":"warning","state":"firing","title":"t","ts":1,"value":1,"labels":{"seq":"1"}},"offset":1}}}"#;
        assert_eq!(publication(&mut out, alarm, None), None);
        let wrong_seq = alarm
            .replace("\"value\":1", "\"value\":7")
            .replace("\"offset\":1", "\"offset\":2");
        assert_eq!(publication(&mut out, &wrong_seq, None), None);
        let metric = r#"{"push":{"channel":"metrics:a","pub":{"data":{"ts":1,"values":{"offset":3}},"offset":1}}}"#;
        assert_eq!(publication(&mut out, metric, None), None);
        assert_eq!(out.subs[0].digest, mix(1, 1).wrapping_add(mix(2, 7)));
        assert_eq!(out.subs[0].ledger.check(2).received, 2);
        assert_eq!(out.subs[1].ledger.check(1).received, 1);
        let disconnect = r#"{"push":{"disconnect":{"code":3001,"reason":"shutdown"}}}"#;
        assert!(publication(&mut out, disconnect, None).is_some());
    }
}
