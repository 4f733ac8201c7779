//! Fan-out: N subscribers on one channel, one publisher with a bounded window
//! of messages in flight; delivered messages/s and publish→receive latency.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::{Args, Target};
use crate::deployment::Deployment;
use crate::ends::Ends;
use crate::openloop::Steps;
use crate::sys;
use crate::ws::{self, Buffers, CHANNEL};

/// Highest latency the histograms hold, in microseconds (60 s).
const MAX_LATENCY_US: u64 = 60_000_000;

/// Errors kept as examples in the report.
const EXAMPLES: usize = 3;

/// What one fan-out run measured.
#[derive(Debug)]
pub struct FanoutResult {
    /// Subscribers asked for.
    pub subscribers: usize,
    /// Subscribers that connected and subscribed.
    pub ready: usize,
    /// Of those, how many on each process clients connect to (one entry
    /// per hub node; the publisher is on the first).
    pub ready_per_endpoint: Vec<(String, usize)>,
    /// Examples of subscribers that could not connect or subscribe.
    pub setup_errors: Vec<String>,
    /// Messages published (sent by the publisher).
    pub published: u64,
    /// Publish replies received (hub only).
    pub acked: u64,
    /// Length of the measured interval.
    pub measured: Duration,
    /// Deliveries during the measured interval, across all subscribers.
    pub delivered_measured: u64,
    /// Messages published during the measured interval.
    pub published_measured: u64,
    /// Deliveries expected: published × ready subscribers.
    pub expected: u64,
    /// Deliveries received, in total.
    pub delivered: u64,
    /// Sequence numbers a subscriber skipped (seen a later one first).
    pub gaps: u64,
    /// Sequence numbers that came again or out of order.
    pub reordered: u64,
    /// Subscribers that ended early, and the publisher's errors.
    pub ends: Ends,
    /// Publish→receive latency in microseconds (measured interval only).
    pub latency: Histogram<u64>,
    /// Latency in microseconds with one message in flight (the light phase).
    pub light_latency: Histogram<u64>,
    /// Messages published in the light phase.
    pub light_published: u64,
    /// Deliveries in the light phase.
    pub light_delivered: u64,
    /// CPU time of the server processes during the light phase, seconds.
    pub light_server_cpu_seconds: f64,
    /// Server CPU use during the measured interval, in cores: every process
    /// of the target (hub nodes and redis-server) together.
    pub server_cpu: f64,
    /// The same for each process of the target, in start order.
    pub process_cpu: Vec<(String, f64)>,
    /// Bench CPU use during the measured interval, in cores.
    pub bench_cpu: f64,
}

impl FanoutResult {
    /// Delivered messages per second during the measured interval.
    pub fn rate(&self) -> f64 {
        self.delivered_measured as f64 / self.measured.as_secs_f64().max(1e-9)
    }

    /// Published messages per second during the measured interval.
    pub fn publish_rate(&self) -> f64 {
        self.published_measured as f64 / self.measured.as_secs_f64().max(1e-9)
    }

    /// Deliveries that never arrived.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }

    /// Latency at a quantile, in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// Server CPU time per delivery with one message in flight, in µs
    /// (`None` when the light phase delivered nothing).
    pub fn light_cpu_us_per_delivery(&self) -> Option<f64> {
        (self.light_delivered > 0)
            .then(|| self.light_server_cpu_seconds * 1e6 / self.light_delivered as f64)
    }

    /// Light-phase latency at a quantile, in milliseconds.
    pub fn light_latency_ms(&self, quantile: f64) -> f64 {
        self.light_latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

const NOT_RECORDING: u8 = 0;
const LOADED: u8 = 1;
const LIGHT: u8 = 2;

/// State shared by the publisher and the subscribers.
pub struct Shared {
    base: Instant,
    window: AtomicU64,
    published: AtomicU64,
    /// Deliveries of subscribers still connected.
    delivered_alive: AtomicU64,
    /// Deliveries of subscribers that have ended.
    delivered_dead: AtomicU64,
    /// Subscribers connected and subscribed.
    alive: AtomicU64,
    /// Which latency histogram deliveries go to: [`NOT_RECORDING`],
    /// [`LOADED`] or [`LIGHT`].
    phase: AtomicU8,
    /// The publisher waits for the window to open.
    waiting: AtomicBool,
    window_open: Notify,
    /// Open loop: where each delivery is counted, by publication step.
    steps: Option<Arc<Steps>>,
}

impl Shared {
    /// Shared state for `window` messages in flight (open loop: with the
    /// steps deliveries are counted in).
    pub fn new(window: u64, steps: Option<Arc<Steps>>) -> Arc<Shared> {
        Arc::new(Shared {
            base: Instant::now(),
            window: AtomicU64::new(window),
            published: AtomicU64::new(0),
            delivered_alive: AtomicU64::new(0),
            delivered_dead: AtomicU64::new(0),
            alive: AtomicU64::new(0),
            phase: AtomicU8::new(NOT_RECORDING),
            waiting: AtomicBool::new(false),
            window_open: Notify::new(),
            steps,
        })
    }

    /// Messages published so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Subscribers connected right now.
    pub fn alive(&self) -> u64 {
        self.alive.load(Ordering::Acquire)
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Messages published but not yet delivered to every live subscriber, on
    /// average (no live subscriber: the window stays shut).
    fn in_flight(&self) -> u64 {
        let alive = self.alive.load(Ordering::Acquire);
        if alive == 0 {
            return u64::MAX;
        }
        let delivered = self.delivered_alive.load(Ordering::Acquire) / alive;
        self.published
            .load(Ordering::Acquire)
            .saturating_sub(delivered)
    }

    /// Whether every live subscriber has every published message.
    pub fn all_delivered(&self) -> bool {
        let published = self.published.load(Ordering::Acquire);
        let alive = self.alive.load(Ordering::Acquire);
        self.delivered_alive.load(Ordering::Acquire) >= published * alive
    }

    /// Deliveries so far, to every subscriber.
    pub fn delivered(&self) -> u64 {
        self.delivered_alive.load(Ordering::Acquire) + self.delivered_dead.load(Ordering::Acquire)
    }

    fn delivered_some(&self, n: u64) {
        self.delivered_alive.fetch_add(n, Ordering::AcqRel);
        if self.waiting.load(Ordering::Acquire)
            && self.in_flight() < self.window.load(Ordering::Acquire)
            && self.waiting.swap(false, Ordering::AcqRel)
        {
            self.window_open.notify_one();
        }
    }
}

/// The JSON payload: send time (ns since the bench's start), sequence number,
/// padding to exactly `size` bytes.
pub fn payload(ts: u64, seq: u64, size: usize) -> String {
    let mut s = format!("{{\"ts\":{ts},\"seq\":{seq},\"pad\":\"");
    let pad = size.saturating_sub(s.len() + 2);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str("\"}");
    s
}

/// Subscribers connected to a started target, reading until told to stop.
pub struct Crowd {
    /// The port the publisher uses (the first endpoint).
    pub publisher_port: u16,
    /// Subscribers ready.
    pub ready: usize,
    /// Examples of subscribers that could not connect or subscribe.
    pub setup_errors: Vec<String>,
    endpoints: Vec<(String, u16)>,
    ready_at: Arc<Vec<AtomicU64>>,
    handles: Vec<tokio::task::JoinHandle<SubOutcome>>,
    stop_tx: watch::Sender<bool>,
    /// Told when the run is over.
    pub stop_rx: watch::Receiver<bool>,
}

/// What the subscribers of a crowd saw, once stopped.
#[derive(Debug, Default)]
pub struct CrowdEnd {
    /// Latency of the loaded and the light phase, over every subscriber.
    latency: Option<[Histogram<u64>; 2]>,
    /// Skipped sequence numbers.
    pub gaps: u64,
    /// Repeated or out-of-order sequence numbers.
    pub reordered: u64,
    /// Subscribers that ended early (the publisher's part is the run's to
    /// fill).
    pub ends: Ends,
}

/// Opens `args.subscribers` subscribers on the target's client ports in
/// turn (with two hub nodes, half on each); fails when none is ready.
pub async fn open_crowd(
    target: Target,
    deployment: &Deployment,
    args: &Args,
    shared: Arc<Shared>,
) -> Result<Crowd, String> {
    let endpoints: Vec<(String, u16)> = deployment
        .endpoints()
        .map(|p| (p.name.clone(), p.server.port))
        .collect();
    let Some(&(_, publisher_port)) = endpoints.first() else {
        return Err("no server to connect to".into());
    };
    let ready_at: Arc<Vec<AtomicU64>> =
        Arc::new(endpoints.iter().map(|_| AtomicU64::new(0)).collect());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, mut ready_rx) = mpsc::channel(args.subscribers.max(1));

    eprintln!(
        "  {}: opening {} subscribers",
        target.label(),
        args.subscribers
    );
    let dial = ws::Dial {
        target,
        port: publisher_port,
        limit: Arc::new(Semaphore::new(args.connect_concurrency as usize)),
        deadline: tokio::time::Instant::now() + args.setup_timeout,
        timeout: args.connect_timeout,
        buffers: Buffers::Large,
    };
    let mut handles = Vec::with_capacity(args.subscribers);
    for n in 0..args.subscribers {
        let endpoint = n % endpoints.len();
        let dial = ws::Dial {
            port: endpoints[endpoint].1,
            ..dial.clone()
        };
        let ready_here = Ready {
            counts: ready_at.clone(),
            endpoint,
        };
        handles.push(tokio::spawn(subscriber(
            dial,
            shared.clone(),
            ready_tx.clone(),
            ready_here,
            stop_rx.clone(),
        )));
    }
    drop(ready_tx);
    // Every subscriber answers once, by --setup-timeout at the latest.
    let setup = crate::setup::tally(&mut ready_rx).await;
    let (ready, setup_failures, setup_errors) = (setup.ready, setup.failed, setup.errors);
    if ready == 0 {
        let _ = stop_tx.send(true);
        return Err(format!(
            "no subscriber could connect ({setup_failures} failed), e.g. {}",
            setup_errors.first().map(String::as_str).unwrap_or("?")
        ));
    }
    eprintln!(
        "  {}: {ready} subscribers ready ({setup_failures} failed)",
        target.label(),
    );
    Ok(Crowd {
        publisher_port,
        ready,
        setup_errors,
        endpoints,
        ready_at,
        handles,
        stop_tx,
        stop_rx,
    })
}

impl Crowd {
    /// Subscribers ready on each endpoint, by name.
    pub fn ready_per_endpoint(&self) -> Vec<(String, usize)> {
        self.endpoints
            .iter()
            .zip(self.ready_at.iter())
            .map(|((name, _), count)| (name.clone(), count.load(Ordering::Acquire) as usize))
            .collect()
    }

    /// Tells every subscriber (and publisher) to stop, and gathers what the
    /// subscribers saw.
    pub async fn stop(self) -> Result<CrowdEnd, String> {
        let _ = self.stop_tx.send(true);
        let mut end = CrowdEnd {
            latency: Some([new_histogram(), new_histogram()]),
            ..CrowdEnd::default()
        };
        for handle in self.handles {
            let Ok(outcome) = handle.await else {
                end.ends.other_ends += 1;
                continue;
            };
            if let Some(sum) = &mut end.latency {
                for (total, one) in sum.iter_mut().zip(&outcome.latency) {
                    total.add(one).map_err(|e| format!("histogram: {e}"))?;
                }
            }
            end.gaps += outcome.gaps;
            end.reordered += outcome.reordered;
            let example = match outcome.end {
                End::Stopped | End::NotReady => None,
                End::Closed(3008, reason) => {
                    end.ends.slow_closes += 1;
                    Some(format!("close 3008 {reason}"))
                }
                End::Closed(code, reason) => {
                    end.ends.other_ends += 1;
                    Some(format!("close {code} {reason}"))
                }
                End::Error(e) => {
                    end.ends.other_ends += 1;
                    Some(e)
                }
            };
            if let Some(example) = example.filter(|_| end.ends.examples.len() < EXAMPLES) {
                end.ends.examples.push(example);
            }
        }
        Ok(end)
    }
}

/// Runs the fan-out scenario against a started target: subscribers take the
/// client ports in turn (with two hub nodes, half on each), the publisher
/// uses the first.
pub async fn run(
    target: Target,
    deployment: &Deployment,
    args: &Args,
) -> Result<FanoutResult, String> {
    let shared = Shared::new(args.window, None);
    let mut crowd = open_crowd(target, deployment, args, shared.clone()).await?;
    let (publisher_port, stop_rx, ready) =
        (crowd.publisher_port, crowd.stop_rx.clone(), crowd.ready);
    eprintln!(
        "  {}: publishing for {:?} + {:?} warm-up",
        target.label(),
        args.duration,
        args.warmup
    );

    let start = Instant::now();
    let end_at = start + args.warmup + args.duration;
    let publisher = start_publisher(
        target,
        publisher_port,
        shared.clone(),
        Plan {
            payload_bytes: args.payload_bytes as usize,
            end_at,
            max_messages: args.max_messages,
            first_seq: 1,
            pace: None,
        },
        stop_rx.clone(),
        args.connect_timeout,
    );

    tokio::time::sleep_until((start + args.warmup).into()).await;
    let t0 = Instant::now();
    let d0 = shared.delivered();
    let p0 = shared.published.load(Ordering::Acquire);
    let process_cpu0 = deployment.cpu_seconds();
    let bench_cpu0 = sys::cpu_seconds(None).unwrap_or(0.0);
    shared.phase.store(LOADED, Ordering::Release);

    // The publisher stops at end_at, or earlier after --max-messages or when
    // its connection ends.
    tokio::select! {
        _ = tokio::time::sleep_until(end_at.into()) => {}
        _ = wait_flag(&publisher.done) => {}
    }
    shared.phase.store(NOT_RECORDING, Ordering::Release);
    let t1 = Instant::now();
    let d1 = shared.delivered();
    let p1 = shared.published.load(Ordering::Acquire);
    let process_cpu1 = deployment.cpu_seconds();
    let bench_cpu1 = sys::cpu_seconds(None).unwrap_or(bench_cpu0);
    let measured = t1 - t0;

    drain(&shared, &publisher, args.drain).await;

    // Light phase: one message in flight, latency without queueing.
    let mut publishers = vec![publisher];
    let light_start = shared.published.load(Ordering::Acquire);
    let mut light_delivered = 0;
    let mut light_server_cpu_seconds = 0.0;
    if !args.light_duration.is_zero()
        && shared.all_delivered()
        && shared.alive.load(Ordering::Acquire) > 0
    {
        eprintln!(
            "  {}: light phase, one message in flight, for {:?}",
            target.label(),
            args.light_duration
        );
        shared.window.store(1, Ordering::Release);
        let delivered0 = shared.delivered();
        let cpu0 = deployment.cpu_seconds();
        let light_end = Instant::now() + args.light_duration;
        let light = start_publisher(
            target,
            publisher_port,
            shared.clone(),
            Plan {
                payload_bytes: args.payload_bytes as usize,
                end_at: light_end,
                max_messages: args.max_messages,
                first_seq: light_start + 1,
                pace: None,
            },
            stop_rx.clone(),
            args.connect_timeout,
        );
        shared.phase.store(LIGHT, Ordering::Release);
        tokio::select! {
            _ = tokio::time::sleep_until(light_end.into()) => {}
            _ = wait_flag(&light.done) => {}
        }
        shared.phase.store(NOT_RECORDING, Ordering::Release);
        drain(&shared, &light, args.drain).await;
        light_delivered = shared.delivered() - delivered0;
        light_server_cpu_seconds = cpu0
            .iter()
            .zip(deployment.cpu_seconds())
            .map(|(before, after)| match (before, after) {
                (Some(before), Some(after)) => after - before,
                _ => 0.0,
            })
            .sum();
        publishers.push(light);
    }
    let light_published = shared.published.load(Ordering::Acquire) - light_start;
    let ready_per_endpoint = crowd.ready_per_endpoint();
    let setup_errors = std::mem::take(&mut crowd.setup_errors);
    let end = crowd.stop().await?;

    let seconds = measured.as_secs_f64().max(1e-9);
    let process_cpu: Vec<(String, f64)> = deployment
        .processes
        .iter()
        .zip(process_cpu0.iter().zip(&process_cpu1))
        .map(|(p, pair)| {
            let cores = match pair {
                (Some(before), Some(after)) => (after - before) / seconds,
                _ => 0.0,
            };
            (p.name.clone(), cores)
        })
        .collect();
    let [latency, light_latency] = end.latency.unwrap_or([new_histogram(), new_histogram()]);
    let published = shared.published.load(Ordering::Acquire);
    let mut result = FanoutResult {
        subscribers: args.subscribers,
        ready,
        ready_per_endpoint,
        setup_errors,
        published,
        acked: 0,
        measured,
        delivered_measured: d1 - d0,
        published_measured: p1 - p0,
        expected: published * ready as u64,
        delivered: shared.delivered(),
        gaps: end.gaps,
        reordered: end.reordered,
        ends: end.ends,
        latency,
        light_latency,
        light_published,
        light_delivered,
        light_server_cpu_seconds,
        server_cpu: process_cpu.iter().map(|(_, cores)| cores).sum(),
        process_cpu,
        bench_cpu: (bench_cpu1 - bench_cpu0) / seconds,
    };
    let totals = collect_publishers(publishers).await;
    result.acked = totals.acked;
    result.ends.publish_errors = totals.errors;
    result.ends.publisher_problem = totals.problem;
    Ok(result)
}

/// The publishers' outcomes added up (the first problem kept).
pub async fn collect_publishers(publishers: Vec<PublisherTask>) -> PublisherOutcome {
    let mut total = PublisherOutcome {
        acked: 0,
        errors: 0,
        problem: None,
    };
    for publisher in publishers {
        match publisher.handle.await {
            Ok(Ok(p)) => {
                total.acked += p.acked;
                total.errors += p.errors;
                if total.problem.is_none() {
                    total.problem = p.problem;
                }
            }
            Ok(Err(e)) => total.problem = Some(e),
            Err(e) => total.problem = Some(format!("publisher task: {e}")),
        }
    }
    total
}

/// Waits, at most `limit`, until every live subscriber has every message the
/// publisher sent.
async fn drain(shared: &Shared, publisher: &PublisherTask, limit: Duration) {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if shared.all_delivered() && publisher.is_finished_publishing() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn wait_flag(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

/// How a subscriber's connection ended.
enum End {
    NotReady,
    Stopped,
    Closed(u16, String),
    Error(String),
}

struct SubOutcome {
    /// Latencies of the loaded and the light phase.
    latency: [Histogram<u64>; 2],
    gaps: u64,
    reordered: u64,
    end: End,
}

/// Where a subscriber counts itself once it is ready: which of the client
/// ports it uses.
struct Ready {
    counts: Arc<Vec<AtomicU64>>,
    endpoint: usize,
}

async fn subscriber(
    dial: ws::Dial,
    shared: Arc<Shared>,
    ready_tx: mpsc::Sender<Result<(), String>>,
    ready_here: Ready,
    mut stop: watch::Receiver<bool>,
) -> SubOutcome {
    let mut outcome = SubOutcome {
        latency: [new_histogram(), new_histogram()],
        gaps: 0,
        reordered: 0,
        end: End::NotReady,
    };
    let mut ws = match dial.open().await {
        Ok(ws) => ws,
        Err(e) => {
            let _ = ready_tx.send(Err(e)).await;
            return outcome;
        }
    };
    shared.alive.fetch_add(1, Ordering::AcqRel);
    ready_here.counts[ready_here.endpoint].fetch_add(1, Ordering::AcqRel);
    let _ = ready_tx.send(Ok(())).await;
    drop(ready_tx);

    let mut delivered = 0u64;
    let mut last_seq = 0u64;
    outcome.end = loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break End::Stopped,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let now = shared.now_ns();
                    let phase = shared.phase.load(Ordering::Acquire);
                    let mut count = 0u64;
                    let mut pong = false;
                    for line in text.as_str().split('\n') {
                        if line == "{}" {
                            pong = true;
                            continue;
                        }
                        let Some((ts, seq)) = ws::stamp(line) else { continue };
                        count += 1;
                        match seq {
                            Some(seq) if seq == last_seq + 1 => last_seq = seq,
                            Some(seq) if seq > last_seq => {
                                outcome.gaps += seq - last_seq - 1;
                                last_seq = seq;
                            }
                            _ => outcome.reordered += 1,
                        }
                        let latency_us = (now.saturating_sub(ts) / 1000).max(1);
                        if phase != NOT_RECORDING {
                            outcome.latency[usize::from(phase == LIGHT)].saturating_record(latency_us);
                        }
                        if let (Some(steps), Some(seq)) = (&shared.steps, seq) {
                            steps.record(seq, latency_us);
                        }
                    }
                    if count > 0 {
                        delivered += count;
                        shared.delivered_some(count);
                    }
                    if pong {
                        if let Err(e) = ws.send(Message::text("{}")).await {
                            break End::Error(format!("send pong: {e}"));
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break End::Closed(ws::close_code(frame.as_ref()), frame.map(|f| f.reason.to_string()).unwrap_or_default());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break End::Error(format!("read: {e}")),
                None => break End::Error("connection ended without a close frame".into()),
            }
        }
    };
    // Stop counting this subscriber in the publisher's window.
    shared
        .delivered_alive
        .fetch_sub(delivered, Ordering::AcqRel);
    shared.delivered_dead.fetch_add(delivered, Ordering::AcqRel);
    shared.alive.fetch_sub(1, Ordering::AcqRel);
    if matches!(outcome.end, End::Stopped) {
        let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    }
    outcome
}

/// What the publishers saw.
pub struct PublisherOutcome {
    /// Publish replies (hub only).
    pub acked: u64,
    /// Error replies.
    pub errors: u64,
    /// The first error reply, or how a connection ended early.
    pub problem: Option<String>,
}

/// The publisher task and whether it has stopped publishing.
pub struct PublisherTask {
    /// The task; it ends when the run does (or its connection fails to open).
    pub handle: tokio::task::JoinHandle<Result<PublisherOutcome, String>>,
    done: Arc<AtomicBool>,
}

impl PublisherTask {
    /// Whether it has sent its last message (or given up).
    pub fn is_finished_publishing(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}

/// What a publisher sends, until when.
pub struct Plan {
    /// Size of each payload.
    pub payload_bytes: usize,
    /// When it stops.
    pub end_at: Instant,
    /// Most messages it sends.
    pub max_messages: u64,
    /// Sequence number of its first message.
    pub first_seq: u64,
    /// Open loop: (start, messages per second): the `n`th message is due at
    /// start + n ÷ rate, whatever the deliveries, and carries that time as
    /// its send time (so a late send counts as latency). `None`: closed loop,
    /// as many as the window allows.
    pub pace: Option<(Instant, f64)>,
}

/// Connects a publisher and starts it on `plan`.
pub fn start_publisher(
    target: Target,
    port: u16,
    shared: Arc<Shared>,
    plan: Plan,
    stop: watch::Receiver<bool>,
    timeout: Duration,
) -> PublisherTask {
    let done = Arc::new(AtomicBool::new(false));
    let handle = tokio::spawn(publish_loop(
        target,
        port,
        shared,
        plan,
        stop,
        timeout,
        done.clone(),
    ));
    PublisherTask { handle, done }
}

async fn publish_loop(
    target: Target,
    port: u16,
    shared: Arc<Shared>,
    plan: Plan,
    mut stop: watch::Receiver<bool>,
    timeout: Duration,
    done: Arc<AtomicBool>,
) -> Result<PublisherOutcome, String> {
    let opened = ws::open(target, port, false, Buffers::Large, timeout).await;
    let ws = match opened {
        Ok(ws) => ws,
        Err(e) => {
            done.store(true, Ordering::Release);
            return Err(format!("publisher: {e}"));
        }
    };
    let (mut sink, mut stream) = ws.split();
    let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<()>();
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let problem: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let ended = Arc::new(AtomicBool::new(false));
    let reader = {
        let (acked, errors, problem, ended) = (
            acked.clone(),
            errors.clone(),
            problem.clone(),
            ended.clone(),
        );
        tokio::spawn(async move {
            let note = |p: String| {
                let mut slot = problem.lock().expect("problem lock");
                slot.get_or_insert(p);
            };
            while let Some(msg) = stream.next().await {
                match msg {
                    Ok(Message::Text(text)) => {
                        for line in text.as_str().split('\n') {
                            if line == "{}" {
                                let _ = pong_tx.send(());
                            } else if line.contains("\"error\"") {
                                errors.fetch_add(1, Ordering::Relaxed);
                                note(format!("publish error reply: {line}"));
                            } else if line.contains("\"publish\"") {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        note(format!(
                            "publisher closed by server: {}",
                            ws::close_text(frame.as_ref())
                        ));
                        break;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        note(format!("publisher read: {e}"));
                        break;
                    }
                }
            }
            ended.store(true, Ordering::Release);
        })
    };

    let mut sent = 0u64;
    let mut send_error = None;
    while sent < plan.max_messages && Instant::now() < plan.end_at && !ended.load(Ordering::Acquire)
    {
        while pong_rx.try_recv().is_ok() {
            if let Err(e) = sink.send(Message::text("{}")).await {
                send_error = Some(format!("publisher send pong: {e}"));
            }
        }
        if send_error.is_some() {
            break;
        }
        let ts = if let Some((start, rate)) = plan.pace {
            let due = start + Duration::from_secs_f64(sent as f64 / rate);
            if due >= plan.end_at {
                break;
            }
            if due > Instant::now() {
                // Sleep at most a few ms at a time, to keep answering pings.
                let nap = (due - Instant::now()).min(Duration::from_millis(5));
                tokio::time::sleep(nap).await;
                continue;
            }
            due.saturating_duration_since(shared.base).as_nanos() as u64
        } else {
            let window = shared.window.load(Ordering::Acquire);
            if shared.in_flight() >= window {
                shared.waiting.store(true, Ordering::Release);
                if shared.in_flight() >= window {
                    let _ = tokio::time::timeout(
                        Duration::from_millis(1),
                        shared.window_open.notified(),
                    )
                    .await;
                }
                continue;
            }
            shared.now_ns()
        };
        let data = payload(ts, plan.first_seq + sent, plan.payload_bytes);
        // Command ids: 1 was connect.
        let text = if target.is_hub() {
            format!(
                "{{\"id\":{},\"publish\":{{\"channel\":\"{CHANNEL}\",\"data\":{data}}}}}",
                sent + 2
            )
        } else {
            data
        };
        sent += 1;
        shared.published.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = sink.send(Message::text(text)).await {
            send_error = Some(format!("publisher send: {e}"));
            break;
        }
    }
    done.store(true, Ordering::Release);

    // Keep answering pings until the run is over.
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            pong = pong_rx.recv() => match pong {
                Some(()) => { let _ = sink.send(Message::text("{}")).await; }
                None => { let _ = stop.changed().await; break; }
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
    reader.abort();
    let problem = send_error.or_else(|| problem.lock().expect("problem lock").take());
    Ok(PublisherOutcome {
        acked: acked.load(Ordering::Acquire),
        errors: errors.load(Ordering::Acquire),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_the_exact_size_and_parses() {
        for (ts, seq) in [(0, 1), (123_456_789_012, 99_999), (u64::MAX, u64::MAX)] {
            let p = payload(ts, seq, 100);
            assert_eq!(p.len(), 100, "{p}");
            let v: serde_json::Value = serde_json::from_str(&p).unwrap();
            assert_eq!(v["seq"].as_u64(), Some(seq));
            assert_eq!(ws::field_u64(&p, "\"ts\":"), Some(ts));
            assert_eq!(ws::stamp(&p), Some((ts, Some(seq))));
        }
    }
}
