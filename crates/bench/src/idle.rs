//! Idle: many connections, connected and subscribed, doing nothing but
//! answering pings; the server's RSS per connection. The capacity scenario
//! is the same with more connections, from several source addresses.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::{Args, Target};
use crate::server::Server;
use crate::ws::{self, Buffers};

/// What one idle run measured.
#[derive(Debug)]
pub struct IdleResult {
    /// Connections asked for.
    pub requested: usize,
    /// Connections that connected (and, for the hub, subscribed).
    pub connected: usize,
    /// Connections that failed to open, with examples.
    pub failed: usize,
    /// Examples of failures.
    pub errors: Vec<String>,
    /// Connections that the server closed while idle (before the end).
    pub dropped: usize,
    /// Of those, closed with 3008.
    pub slow_closes: usize,
    /// Server RSS before the first connection, KiB.
    pub rss_before_kib: u64,
    /// Server RSS with every connection open, KiB.
    pub rss_after_kib: u64,
    /// Server file descriptors before and after.
    pub fds: (usize, usize),
    /// Time to open every connection.
    pub open_time: Duration,
    /// Client source addresses the connected sockets had.
    pub source_addresses: usize,
}

/// How many connections a run opens, and from where.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Connections to open.
    pub connections: usize,
    /// Bind the client sockets to this many loopback addresses, in turn
    /// ([`ws::source_address`]); `None` leaves the choice to the system
    /// (127.0.0.1).
    pub source_addresses: Option<u8>,
}

impl Shape {
    /// The idle scenario's: `--idle-connections` from 127.0.0.1.
    pub fn idle(args: &Args) -> Shape {
        Shape {
            connections: args.idle_connections,
            source_addresses: None,
        }
    }

    /// The capacity scenario's: `--capacity-connections` from
    /// `--source-addresses` addresses.
    pub fn capacity(args: &Args) -> Shape {
        Shape {
            connections: args.capacity_connections,
            source_addresses: Some(args.source_addresses),
        }
    }

    fn source(&self, n: usize) -> Option<Ipv4Addr> {
        self.source_addresses
            .map(|count| ws::source_address(n, count))
    }
}

impl IdleResult {
    /// (RSS after − RSS before) / connections, in bytes.
    pub fn bytes_per_connection(&self) -> f64 {
        if self.connected == 0 {
            return 0.0;
        }
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 * 1024.0
            / self.connected as f64
    }
}

/// Opens `shape`'s connections to a freshly started server and measures.
pub async fn run(
    target: Target,
    server: &Server,
    args: &Args,
    shape: Shape,
) -> Result<IdleResult, String> {
    let n = shape.connections;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_kib = server.rss_kib().map_err(|e| format!("server RSS: {e}"))?;
    let fds_before = server.fd_count().unwrap_or(0);

    let from = match shape.source_addresses {
        Some(count) => format!(" from {count} source addresses"),
        None => String::new(),
    };
    eprintln!("  {}: opening {n} idle connections{from}", target.label());
    let sources = Arc::new(Mutex::new(BTreeSet::new()));
    let started = Instant::now();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::channel(n.max(1));
    let dropped = Arc::new(AtomicUsize::new(0));
    let dial = ws::Dial {
        target,
        port: server.port,
        limit: Arc::new(Semaphore::new(args.connect_concurrency as usize)),
        deadline: tokio::time::Instant::now() + args.setup_timeout,
        timeout: args.connect_timeout,
        buffers: Buffers::Small,
    };
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        tasks.push(tokio::spawn(idle_client(
            (dial.clone(), shape.source(i)),
            ready_tx.clone(),
            stop_rx.clone(),
            dropped.clone(),
            sources.clone(),
        )));
    }
    drop(ready_tx);
    let setup = crate::setup::tally(&mut ready_rx).await;
    let (connected, failed, errors) = (setup.ready, setup.failed, setup.errors);
    let open_time = started.elapsed();
    eprintln!(
        "  {}: {connected} connected, {failed} failed in {open_time:.1?}; settling {:?}",
        target.label(),
        args.settle
    );
    tokio::time::sleep(args.settle).await;
    let rss_after_kib = server.rss_kib().map_err(|e| format!("server RSS: {e}"))?;
    let fds_after = server.fd_count().unwrap_or(0);
    let dropped_while_idle = dropped.load(Ordering::Acquire);

    let _ = stop_tx.send(true);
    let mut slow_closes = 0;
    for task in tasks {
        if let Ok(Some(3008)) = task.await {
            slow_closes += 1;
        }
    }
    Ok(IdleResult {
        requested: n,
        connected,
        failed,
        errors,
        dropped: dropped_while_idle,
        slow_closes,
        rss_before_kib,
        rss_after_kib,
        fds: (fds_before, fds_after),
        open_time,
        source_addresses: sources.lock().map(|s| s.len()).unwrap_or(0),
    })
}

/// One idle connection, from `source` when given; returns the close code
/// if the server closed it before the end. Its source address goes into
/// `sources`.
async fn idle_client(
    (dial, source): (ws::Dial, Option<Ipv4Addr>),
    ready_tx: mpsc::Sender<Result<(), String>>,
    mut stop: watch::Receiver<bool>,
    dropped: Arc<AtomicUsize>,
    sources: Arc<Mutex<BTreeSet<IpAddr>>>,
) -> Option<u16> {
    let mut ws = match dial.open_from(source).await {
        Ok(ws) => ws,
        Err(e) => {
            let _ = ready_tx.send(Err(e)).await;
            return None;
        }
    };
    if let (Ok(local), Ok(mut seen)) = (ws.get_ref().local_addr(), sources.lock()) {
        seen.insert(local.ip());
    }
    let _ = ready_tx.send(Ok(())).await;
    drop(ready_tx);
    let code = loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break None,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if text.as_str().split('\n').any(|l| l == "{}")
                        && ws.send(Message::text("{}")).await.is_err()
                    {
                        break Some(1006);
                    }
                }
                Some(Ok(Message::Close(frame))) => break Some(ws::close_code(frame.as_ref())),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break Some(1006),
            }
        }
    };
    if code.is_some() {
        dropped.fetch_add(1, Ordering::AcqRel);
    } else {
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    }
    code
}
