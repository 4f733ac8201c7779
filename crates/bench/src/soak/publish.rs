//! The publishers: alarms and metric samples through the HTTP API.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::client::ALARMS;
use super::http;
use super::rng::Rng;

/// Alarm ids cycle over this many sources (one rule each), so the hub's set
/// of active alarms stays bounded.
pub const ALARM_SOURCES: u64 = 20;
/// Longest wait for one API answer.
const API_TIMEOUT: Duration = Duration::from_secs(5);
/// Error examples kept.
const EXAMPLES: usize = 3;

/// What a publisher did.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Publications the hub confirmed.
    pub published: u64,
    /// Requests that failed (HTTP error, API error, no answer).
    pub failed: u64,
    /// Of those, the ones that may have been published anyway (the answer,
    /// not the request, was lost).
    pub ambiguous: u64,
    /// (offset, sequence number) of every confirmed alarm, by offset.
    pub sequence: Vec<(u64, u64)>,
    /// Examples of failures.
    pub errors: Vec<String>,
    /// Time of each confirmed publish request, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// How long the publisher ran.
    pub ran: Duration,
}

impl Stats {
    fn fail(&mut self, what: String, ambiguous: bool) {
        self.failed += 1;
        if ambiguous {
            self.ambiguous += 1;
        }
        if self.errors.len() < EXAMPLES {
            self.errors.push(what);
        }
    }

    /// Adds another publisher's figures.
    pub fn add(&mut self, other: &Stats) {
        self.published += other.published;
        self.failed += other.failed;
        self.ambiguous += other.ambiguous;
        self.sequence.extend_from_slice(&other.sequence);
        for e in &other.errors {
            if self.errors.len() < EXAMPLES {
                self.errors.push(e.clone());
            }
        }
        self.latencies_ms.extend_from_slice(&other.latencies_ms);
        self.ran = self.ran.max(other.ran);
    }

    /// Confirmed publications per second.
    pub fn rate(&self) -> f64 {
        self.published as f64 / self.ran.as_secs_f64().max(1e-9)
    }

    /// Request time at quantile `q` (0..=1), in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => 0.0,
            n => sorted[((n - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize],
        }
    }
}

/// The alarm payload of sequence number `seq` (1, 2, ...): ids cycle over
/// [`ALARM_SOURCES`] sources, each alternating firing and resolved; the
/// sequence number is `value` and `labels.seq`.
pub fn alarm(seq: u64, ts: i64) -> String {
    let source = seq % ALARM_SOURCES;
    // Each id alternates: firing, resolved, firing, ...
    let state = ["firing", "resolved"][((seq / ALARM_SOURCES) & 1) as usize];
    let severity = ["warning", "critical"][(source & 1) as usize];
    format!(
        "{{\"id\":\"soak-{source:02}/load\",\"source\":\"soak-{source:02}\",\"severity\":\"{severity}\",\"state\":\"{state}\",\"title\":\"soak alarm {seq}\",\"ts\":{ts},\"value\":{seq},\"labels\":{{\"seq\":\"{seq}\"}}}}"
    )
}

/// A metric sample with `values` named values (`soak.seq` carries `seq`).
pub fn sample(seq: u64, ts: i64, values: usize, rng: &mut Rng) -> String {
    let mut s = format!("{{\"ts\":{ts},\"values\":{{\"soak.seq\":{seq}");
    let names = [
        "cpu.total",
        "mem.used_percent",
        "load.1",
        "net.rx_bytes_per_s",
    ];
    for i in 0..values.saturating_sub(1) {
        let value = (rng.unit() * 1000.0).round() / 10.0;
        match names.get(i) {
            Some(name) => {
                let _ = write!(s, ",\"{name}\":{value}");
            }
            None => {
                let _ = write!(s, ",\"soak.v{i:03}\":{value}");
            }
        }
    }
    s.push_str("}}");
    s
}

/// The body of a publish request.
fn publish_body(channel: &str, data: &str) -> String {
    format!("{{\"channel\":\"{channel}\",\"data\":{data}}}")
}

/// What a publisher publishes.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Alarms on `alarms`; publication n carries sequence number n.
    Alarms,
    /// Metric samples, round robin over `channels`, `values` values each.
    Samples {
        /// Channels.
        channels: Vec<String>,
        /// Values per sample.
        values: usize,
        /// Seed of the values.
        seed: u64,
    },
}

/// A publisher: `plan` at `rate` requests per second, at most `in_flight`
/// requests at a time (each on its own keep-alive connection).
#[derive(Debug, Clone)]
pub struct Publisher {
    /// Hub port.
    pub port: u16,
    /// API key.
    pub key: String,
    /// Requests per second.
    pub rate: f64,
    /// Requests at a time.
    pub in_flight: usize,
    /// What to publish.
    pub plan: Plan,
}

/// Runs `publisher` until `stop`; `published` follows the confirmed count.
/// When every connection is busy the next request waits for one.
pub async fn run(
    publisher: Publisher,
    published: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> Stats {
    let Publisher {
        port,
        key,
        rate,
        in_flight,
        plan,
    } = publisher;
    let mut stats = Stats::default();
    let mut rng = match &plan {
        Plan::Samples { seed, .. } => Rng::new(*seed, 0x6d65_7472),
        Plan::Alarms => Rng::new(0, 0),
    };
    let mut idle: Vec<http::Client> = (0..in_flight.max(1))
        .map(|_| http::Client::new(port, Some(key.clone()), API_TIMEOUT))
        .collect();
    let mut running = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.001)));
    // Late ticks (a busy machine, all connections waiting for answers) are
    // made up for, so the long-run rate is the one asked for; at most
    // `in_flight` requests are ever out.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut seq = 0u64;
    let started = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok((client, outcome)) = done {
                    idle.push(client);
                    record(&mut stats, &published, outcome);
                }
                continue;
            }
            _ = tick.tick(), if !idle.is_empty() => {}
        }
        if *stop.borrow() {
            break;
        }
        seq += 1;
        let (channel, data) = match &plan {
            Plan::Alarms => (ALARMS.to_owned(), alarm(seq, now_ms())),
            Plan::Samples {
                channels, values, ..
            } => {
                let channel = channels[((seq - 1) % channels.len().max(1) as u64) as usize].clone();
                (channel, sample(seq, now_ms(), *values, &mut rng))
            }
        };
        let body = publish_body(&channel, &data);
        let mut client = idle
            .pop()
            .expect("an idle connection when the tick is polled");
        running.spawn(async move {
            let sent = Instant::now();
            let answer = client.post("/api/publish", body.as_bytes()).await;
            let outcome = Sent {
                seq,
                channel,
                answer,
                took: sent.elapsed(),
            };
            (client, outcome)
        });
    }
    // Requests in flight finish (each is bounded by API_TIMEOUT).
    while let Some(done) = running.join_next().await {
        if let Ok((_, outcome)) = done {
            record(&mut stats, &published, outcome);
        }
    }
    stats.sequence.sort_unstable();
    stats.ran = started.elapsed();
    stats
}

/// One request and its answer.
struct Sent {
    seq: u64,
    channel: String,
    answer: Result<http::Response, http::Failure>,
    took: Duration,
}

fn record(stats: &mut Stats, published: &AtomicU64, sent: Sent) {
    let Sent {
        seq,
        channel,
        answer,
        took,
    } = sent;
    match answer {
        Ok(r) if r.status == 200 => match (r.api_error(), r.result_u64("offset")) {
            (None, Some(offset)) => {
                stats.latencies_ms.push(took.as_secs_f64() * 1000.0);
                stats.published += 1;
                published.fetch_add(1, Ordering::Relaxed);
                if channel == ALARMS {
                    stats.sequence.push((offset, seq));
                }
            }
            (Some(e), _) => stats.fail(format!("{channel} #{seq}: {e}"), false),
            (None, None) => stats.fail(format!("{channel} #{seq}: answer without an offset"), true),
        },
        Ok(r) => stats.fail(format!("{channel} #{seq}: HTTP {}", r.status), false),
        Err(e) => stats.fail(format!("{channel} #{seq}: {e}"), e.ambiguous),
    }
}

/// The final top offset of `channel` (`POST /api/history`, no limit).
pub async fn top(port: u16, key: &str, channel: &str) -> Result<u64, String> {
    let mut client = http::Client::new(port, Some(key.to_owned()), API_TIMEOUT);
    let body = format!("{{\"channel\":\"{channel}\"}}");
    let r = client
        .post("/api/history", body.as_bytes())
        .await
        .map_err(|e| format!("history of {channel}: {e}"))?;
    if r.status != 200 {
        return Err(format!("history of {channel}: HTTP {}", r.status));
    }
    if let Some(e) = r.api_error() {
        return Err(format!("history of {channel}: {e}"));
    }
    r.result_u64("offset").ok_or_else(|| {
        format!(
            "history of {channel}: no result.offset in {:?}",
            String::from_utf8_lossy(&r.body)
        )
    })
}

/// The hub's `/metrics` counter `disconnects_total` by close code.
pub async fn disconnects(port: u16) -> Result<Vec<(u16, u64)>, String> {
    let exchange = async {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| e.to_string())?;
        let request =
            format!("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        tcp.take(8 << 20)
            .read_to_string(&mut text)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(text)
    };
    let text = tokio::time::timeout(API_TIMEOUT, exchange)
        .await
        .map_err(|_| "GET /metrics timed out".to_owned())??;
    Ok(parse_disconnects(&text))
}

/// `disconnects_total{code="3008"} 2` lines (any metric name prefix).
fn parse_disconnects(text: &str) -> Vec<(u16, u64)> {
    let mut out: Vec<(u16, u64)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = &l[l.find("disconnects_total{")?..];
            let code_at = rest.find("code=\"")? + "code=\"".len();
            let code: u16 = rest[code_at..].split('"').next()?.parse().ok()?;
            let value: f64 = l.rsplit(' ').next()?.trim().parse().ok()?;
            Some((code, value as u64))
        })
        .collect();
    out.sort_unstable();
    out
}

/// Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarm_payloads_are_alarms_with_their_sequence() {
        for seq in [1, 19, 20, 41, 123_456] {
            let v: serde_json::Value =
                serde_json::from_str(&alarm(seq, 1_700_000_000_000)).unwrap();
            assert_eq!(v["value"].as_u64(), Some(seq));
            assert_eq!(v["labels"]["seq"].as_str(), Some(seq.to_string().as_str()));
            assert!(["firing", "resolved"].contains(&v["state"].as_str().unwrap()));
            assert!(v["id"].as_str().unwrap().starts_with("soak-"));
        }
        // The same id alternates between firing and resolved.
        let state = |seq| {
            let v: serde_json::Value = serde_json::from_str(&alarm(seq, 0)).unwrap();
            (
                v["id"].as_str().unwrap().to_owned(),
                v["state"].as_str().unwrap().to_owned(),
            )
        };
        let (a, b) = (state(3), state(3 + ALARM_SOURCES));
        assert_eq!(a.0, b.0);
        assert_ne!(a.1, b.1);
    }

    #[test]
    fn samples_parse_with_the_asked_size() {
        let mut rng = Rng::new(1, 2);
        let v: serde_json::Value = serde_json::from_str(&sample(9, 5, 60, &mut rng)).unwrap();
        assert_eq!(v["values"].as_object().unwrap().len(), 60);
        assert_eq!(v["values"]["soak.seq"].as_u64(), Some(9));
    }

    #[test]
    fn reads_disconnect_counters() {
        let text = "# HELP disconnects_total x\n# TYPE disconnects_total counter\n\
                    telltale_disconnects_total{code=\"3000\"} 120\ndisconnects_total{code=\"3008\"} 1\nother 5\n";
        assert_eq!(parse_disconnects(text), [(3000, 120), (3008, 1)]);
    }
}
