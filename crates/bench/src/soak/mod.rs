//! `telltale-bench soak`: the hub under churning, recovering clients,
//! publishers, a slow client and an attacker for --duration; every client's
//! alarm stream must be exact and the hub's RSS flat.
//!
//! Timeline: start the hub; start the publishers and the RSS sampler; ramp
//! the clients up at --ramp-rate; soak for --duration (churn, slow client,
//! attacker); stop the publishers and read each channel's final top offset;
//! let every client catch up (bounded by --drain) and close; judge.
//!
//! Every loop is bounded in count or time, and a watchdog thread ends the
//! process (and with it the hub, which dies with its parent) past the
//! longest the run can legitimately take.

mod attack;
mod client;
mod http;
mod ledger;
mod publish;
mod report;
mod rng;
mod rss;

use std::collections::HashMap;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use self::client::{Churn, Phase, Spec, ALARMS};
use self::ledger::{Digests, Tally};
use self::report::Summary;
use self::rng::Rng;
use crate::cli::SoakArgs;
use crate::server::{Launch, Ready, Server};
use crate::sys;

/// Longest wait for the hub's `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Time the hub gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Ordinary clients that subscribe to the busy channel next to the slow one.
const BUSY_SUBSCRIBERS: u64 = 20;
/// Values of an ordinary metric sample.
const SAMPLE_VALUES: usize = 5;
/// Bytes of one `"soak.vNNN":12.3,` entry, to size busy samples.
const BYTES_PER_VALUE: u64 = 18;
/// Extra time the ramp-up may take beyond clients ÷ rate.
const RAMP_SLACK: Duration = Duration::from_secs(60);
/// Longest wait for the attacker to finish its round after the soak.
const ATTACK_GRACE: Duration = Duration::from_secs(30);
/// Between two progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// Requests each publisher may have in flight: the debug hub can take tens
/// of milliseconds to answer a publish to 2,000 subscribers.
const PUBLISH_IN_FLIGHT: usize = 4;
/// The hub's default --max-recovery: most publications one recovery returns.
const DEFAULT_MAX_RECOVERY: u64 = 500;
/// Examples kept of failing clients.
const EXAMPLES: usize = 5;

/// The busy channel.
const BUSY_CHANNEL: &str = "metrics:soak-busy";

/// Runs the soak; the exit code is the verdict (0 pass, 1 fail, 2 bad
/// arguments, 3 watchdog).
pub fn main(args: SoakArgs) -> ExitCode {
    if let Err(e) = args.validate() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let needed = args.clients * 2 + 512;
    match sys::raise_nofile(args.nofile) {
        Ok(n) if n < needed => eprintln!(
            "warning: RLIMIT_NOFILE is {n}; {} clients with churn and the attacker need about {needed}",
            args.clients
        ),
        Ok(_) => {}
        Err(e) => eprintln!("warning: cannot raise RLIMIT_NOFILE: {e}"),
    }
    let limit = watchdog_limit(&args);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("error: telltale-bench soak still running after {limit:?}; giving up (the hub dies with it)");
        std::process::exit(3);
    });
    if let Some(cpu) = args.bench_cpu {
        if let Err(e) = sys::pin_current_thread(cpu) {
            eprintln!("warning: cannot pin the bench to CPU {cpu}: {e}");
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        )
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => rt.block_on(run(args)),
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The longest the whole run may take: start, ramp-up, soak, stopping
/// everything, the drain, the hub's shutdown, and a minute of slack.
fn watchdog_limit(args: &SoakArgs) -> Duration {
    let ramp = Duration::from_secs_f64(args.clients as f64 / args.ramp_rate as f64) + RAMP_SLACK;
    START_TIMEOUT
        + ramp
        + args.duration
        + ATTACK_GRACE
        + args.drain
        + args.connect_timeout * 2
        + STOP_GRACE
        + Duration::from_secs(120)
}

fn hub_launch(args: &SoakArgs) -> Launch {
    let mut argv: Vec<OsString> = vec![
        args.hub.clone().into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--allow-anonymous".into(),
        "--api-key".into(),
        args.api_key.clone().into(),
        "--history-size".into(),
        args.history_size.to_string().into(),
        "--history-ttl".into(),
        humantime::format_duration(args.history_ttl)
            .to_string()
            .into(),
    ];
    argv.extend(args.hub_args.iter().map(OsString::from));
    let cpu = args.server_cpu.filter(|_| {
        let found = sys::on_path("taskset");
        if !found {
            eprintln!("warning: no `taskset` on PATH: the hub runs unpinned");
        }
        found
    });
    Launch {
        argv,
        cpu,
        nofile: args.nofile,
        ready: Ready::ListeningOn,
    }
}

/// The channels of client `id`: `alarms`; for --metrics-percent of them one
/// to three metric channels; for the first [`BUSY_SUBSCRIBERS`] the busy one.
fn channels_for(id: u64, args: &SoakArgs, rng: &mut Rng) -> Vec<String> {
    let mut channels = vec![ALARMS.to_owned()];
    if rng.chance(args.metrics_percent / 100.0) {
        let n = 1 + rng.below(3).min(args.metric_sources - 1);
        while (channels.len() as u64) < 1 + n {
            let c = metric_channel(rng.below(args.metric_sources));
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
    }
    if id < BUSY_SUBSCRIBERS {
        channels.push(BUSY_CHANNEL.to_owned());
    }
    channels
}

fn metric_channel(i: u64) -> String {
    format!("metrics:soak-src-{i:02}")
}

/// RSS samples: when, and VmRSS in KiB.
type Samples = Arc<Mutex<Vec<(Instant, u64)>>>;

async fn sample_rss(pid: u32, samples: Samples, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        match sys::rss_kib(pid) {
            Ok(kib) => samples
                .lock()
                .expect("samples lock")
                .push((Instant::now(), kib)),
            Err(_) => return, // the hub is gone; the run notices
        }
    }
}

struct Population {
    shared: Arc<client::Shared>,
    phase: watch::Receiver<Phase>,
    seed: u64,
    next_id: u64,
    handles: Vec<JoinHandle<client::Outcome>>,
    subscriptions: (u64, u64, u64),
}

impl Population {
    /// Starts a client; returns the sender of its churn commands.
    fn spawn(
        &mut self,
        args: &SoakArgs,
        rng: &mut Rng,
        joiner: bool,
        initial_delay: Duration,
        ready: Option<mpsc::Sender<Result<(), String>>>,
    ) -> mpsc::Sender<Churn> {
        let id = self.next_id;
        self.next_id += 1;
        let channels = channels_for(id, args, rng);
        self.subscriptions.0 += 1;
        self.subscriptions.1 += channels
            .iter()
            .filter(|c| c.starts_with("metrics:soak-src-"))
            .count() as u64;
        self.subscriptions.2 += u64::from(channels.iter().any(|c| c == BUSY_CHANNEL));
        let spec = Spec {
            id: id as usize,
            channels,
            joiner,
            initial_delay,
            seed: self.seed,
        };
        let (tx, rx) = mpsc::channel(1);
        self.handles.push(tokio::spawn(client::run(
            self.shared.clone(),
            spec,
            rx,
            self.phase.clone(),
            ready,
        )));
        tx
    }
}

async fn run(args: SoakArgs) -> ExitCode {
    let cwd = std::env::current_dir().ok();
    let command = crate::report::shell_join(
        std::env::args_os()
            .map(|a| crate::report::relative_to(cwd.as_deref(), &a.to_string_lossy())),
    );
    let machine = sys::Machine::describe("node".as_ref());
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    if !args.hub.is_file() {
        eprintln!(
            "error: {} not found: build it with `cargo build -p telltale-hub` (or --release) or pass --hub",
            args.hub.display()
        );
        return ExitCode::FAILURE;
    }
    let launch = hub_launch(&args);
    let hub_command = launch.display();
    eprintln!("soak: starting `{hub_command}` (seed {seed})");
    let mut server = match Server::start(&launch, START_TIMEOUT).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (port, pid) = (server.port, server.pid);
    eprintln!("soak: hub pid {pid} listening on 127.0.0.1:{port}");

    let (summary, clean) = soak(&args, &mut server, seed, hub_command).await;
    let (status, killed) = server.stop(STOP_GRACE).await;
    let mut summary = summary;
    if killed {
        summary.failures.push(format!(
            "the hub did not exit within {STOP_GRACE:?} of SIGTERM and was killed"
        ));
    } else if let Some(status) = status.filter(|s| !s.success() && clean) {
        summary
            .notes
            .push(format!("the hub exited with {status} after SIGTERM"));
    }

    println!("\n{}{}", summary.table(), summary.findings());
    if let Some(path) = &args.write {
        let history = history_note(&args, summary.longest_gap);
        let doc = summary.document(&machine, &sys::today_utc(), &command, &history);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(path, doc) {
            Ok(()) => eprintln!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    if summary.passed() {
        eprintln!("soak: pass");
        ExitCode::SUCCESS
    } else {
        eprintln!("soak: FAIL:");
        for f in &summary.failures {
            eprintln!("  - {f}");
        }
        ExitCode::FAILURE
    }
}

/// Why the history settings are enough, for the report.
fn history_note(args: &SoakArgs, longest_gap: Duration) -> String {
    let busiest = args.alarm_rate.max(args.busy_rate);
    let kept = args.history_size.min(DEFAULT_MAX_RECOVERY);
    let allowed = kept as f64 / f64::from(busiest);
    // The slowest channels (1 sample/s) are bounded by the TTL.
    let full_after = (args.history_size as f64).min(args.history_ttl.as_secs_f64());
    format!(
        "The hub runs with `--history-size {size} --history-ttl {ttl}`. A client recovers what it missed if that \
         is at most {kept} publications (the history, and the hub's default --max-recovery of \
         {DEFAULT_MAX_RECOVERY}): on the busiest channel ({busiest}/s) a gap of up to {allowed:.0} s. Churned \
         clients come back after 50 ms to --max-reconnect-delay ({delay}); the longest gap from losing a \
         connection to being subscribed again in this run was {gap:.1} s. The TTL is far above the gap. Every \
         history is full after about {full_after:.0} s (the first quarter of a 5-minute run), so filling them does \
         not count as growth.",
        size = args.history_size,
        ttl = humantime::format_duration(args.history_ttl),
        delay = humantime::format_duration(args.max_reconnect_delay),
        gap = longest_gap.as_secs_f64(),
    )
}

/// The run against a started hub. Returns the summary and whether the hub
/// was still running at the end.
async fn soak(
    args: &SoakArgs,
    server: &mut Server,
    seed: u64,
    hub_command: String,
) -> (Summary, bool) {
    let port = server.port;
    let mut summary = Summary {
        duration: args.duration,
        seed,
        hub_command,
        clients: args.clients as usize,
        ramp_rate: args.ramp_rate,
        metric_sources: args.metric_sources as usize,
        busy_channel: BUSY_CHANNEL.to_owned(),
        busy_rate: args.busy_rate,
        history_size: args.history_size,
        churn_percent: args.churn_percent,
        alarm_rate: args.alarm_rate,
        allowance: Some(rss::Allowance {
            fraction: args.rss_growth_percent / 100.0,
            slack_kib: args.rss_growth_mib * 1024.0,
        }),
        ..Summary::default()
    };
    let samples: Samples = Arc::new(Mutex::new(Vec::new()));
    let (sampler_stop, sampler_stop_rx) = watch::channel(false);
    let sampler = tokio::spawn(sample_rss(server.pid, samples.clone(), sampler_stop_rx));

    // Publishers, from the start: clients subscribe while publications flow.
    let (pub_stop, pub_stop_rx) = watch::channel(false);
    let alarms_published = Arc::new(AtomicU64::new(0));
    let metrics_published = Arc::new(AtomicU64::new(0));
    let metric_channels: Vec<String> = (0..args.metric_sources).map(metric_channel).collect();
    let publisher = |rate: f64, plan: publish::Plan| publish::Publisher {
        port,
        key: args.api_key.clone(),
        rate,
        in_flight: PUBLISH_IN_FLIGHT,
        plan,
    };
    let publishers = [
        tokio::spawn(publish::run(
            publisher(f64::from(args.alarm_rate), publish::Plan::Alarms),
            alarms_published.clone(),
            pub_stop_rx.clone(),
        )),
        tokio::spawn(publish::run(
            publisher(
                args.metric_sources as f64,
                publish::Plan::Samples {
                    channels: metric_channels.clone(),
                    values: SAMPLE_VALUES,
                    seed,
                },
            ),
            metrics_published.clone(),
            pub_stop_rx.clone(),
        )),
        tokio::spawn(publish::run(
            publisher(
                f64::from(args.busy_rate),
                publish::Plan::Samples {
                    channels: vec![BUSY_CHANNEL.to_owned()],
                    values: (args.busy_bytes / BYTES_PER_VALUE).max(1) as usize,
                    seed: seed.wrapping_add(1),
                },
            ),
            metrics_published.clone(),
            pub_stop_rx.clone(),
        )),
    ];

    // Ramp-up.
    let shared = Arc::new(client::Shared {
        port,
        connect_timeout: args.connect_timeout,
        max_reconnect_delay: args.max_reconnect_delay,
        counters: client::Counters::default(),
    });
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let mut population = Population {
        shared: shared.clone(),
        phase: phase_rx,
        seed,
        next_id: 0,
        handles: Vec::new(),
        subscriptions: (0, 0, 0),
    };
    let mut rng = Rng::new(seed, u64::MAX);
    eprintln!(
        "soak: ramping up {} clients at {}/s",
        args.clients, args.ramp_rate
    );
    let ramp_started = Instant::now();
    let (ready_tx, mut ready_rx) = mpsc::channel(args.clients as usize);
    let mut slots: Vec<mpsc::Sender<Churn>> = Vec::with_capacity(args.clients as usize);
    {
        let mut tick = tokio::time::interval(Duration::from_secs(1) / args.ramp_rate as u32);
        for _ in 0..args.clients {
            tick.tick().await;
            let tx = population.spawn(
                args,
                &mut rng,
                false,
                Duration::ZERO,
                Some(ready_tx.clone()),
            );
            slots.push(tx);
        }
    }
    drop(ready_tx);
    let ramp_limit =
        Duration::from_secs_f64(args.clients as f64 / args.ramp_rate as f64) + RAMP_SLACK;
    let setup = match tokio::time::timeout_at(
        ramp_started + ramp_limit,
        crate::setup::tally(&mut ready_rx),
    )
    .await
    {
        Ok(setup) => setup,
        Err(_) => crate::setup::Setup {
            ready: shared.counters.live.load(Ordering::Relaxed) as usize,
            failed: 0,
            errors: vec![format!("ramp-up not over within {ramp_limit:?}")],
        },
    };
    summary.ramp = ramp_started.elapsed();
    summary.ready = setup.ready;
    let never = (args.clients as usize).saturating_sub(setup.ready);
    summary.setup_failed = (never, setup.errors);
    eprintln!(
        "soak: {} of {} clients subscribed in {:.1} s; soaking for {}",
        setup.ready,
        args.clients,
        summary.ramp.as_secs_f64(),
        humantime::format_duration(args.duration)
    );

    // The soak phase.
    let t0 = Instant::now();
    let soak_end = t0 + args.duration;
    let hub_cpu0 = server.cpu_seconds().unwrap_or(0.0);
    let bench_cpu0 = sys::cpu_seconds(None).unwrap_or(0.0);
    let (misc_stop, misc_stop_rx) = watch::channel(false);
    let (slow_stop, slow_stop_rx) = watch::channel(false);
    let slow = (!args.no_slow_client).then(|| {
        tokio::spawn(attack::slow_client(
            port,
            BUSY_CHANNEL.to_owned(),
            slow_stop_rx,
        ))
    });
    let attacker = (!args.no_attacker).then(|| {
        let rounds = (args.duration.as_secs_f64() / args.attack_interval.as_secs_f64())
            .floor()
            .max(1.0) as u32;
        tokio::spawn(attack::attacker(
            port,
            rounds,
            args.attack_interval,
            misc_stop_rx.clone(),
        ))
    });

    // Churn controller: every 100 ms, --churn-percent per second of the
    // clients get a churn command.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let per_tick = args.clients as f64 * args.churn_percent / 100.0 / 10.0;
    let mut owed = 0.0;
    let mut next_progress = t0 + PROGRESS_EVERY;
    let mut hub_alive = true;
    let mut cpu_mark = (t0, hub_cpu0);
    while Instant::now() < soak_end {
        tick.tick().await;
        owed += per_tick;
        while owed >= 1.0 && !slots.is_empty() {
            owed -= 1.0;
            let slot = rng.below(slots.len() as u64) as usize;
            let kind = if rng.chance(args.leave_percent / 100.0) {
                Churn::Leave
            } else {
                [Churn::Drop, Churn::Reset, Churn::Close][rng.below(3) as usize]
            };
            if slots[slot].try_send(kind).is_err() {
                continue; // busy reconnecting with a command pending, or gone
            }
            if kind == Churn::Leave {
                let delay = rng.between(Duration::from_millis(100), Duration::from_secs(2));
                summary.joined += 1;
                slots[slot] = population.spawn(args, &mut rng, true, delay, None);
            }
        }
        let now = Instant::now();
        if now >= next_progress {
            next_progress += PROGRESS_EVERY;
            let c = &shared.counters;
            let cpu = server.cpu_seconds().unwrap_or(cpu_mark.1);
            let cores = (cpu - cpu_mark.1) / (now - cpu_mark.0).as_secs_f64().max(1e-9);
            cpu_mark = (now, cpu);
            eprintln!(
                "soak {:>4.0}/{} s: {} live, churn {}, recoveries {} ok / {} failed, alarms {} published / {} \
                 delivered, hub RSS {:.1} MiB, hub CPU {cores:.2} cores",
                (now - t0).as_secs_f64(),
                args.duration.as_secs(),
                c.live.load(Ordering::Relaxed),
                c.drops.load(Ordering::Relaxed)
                    + c.resets.load(Ordering::Relaxed)
                    + c.closes.load(Ordering::Relaxed)
                    + c.left.load(Ordering::Relaxed),
                c.recovered_ok.load(Ordering::Relaxed),
                c.recovered_failed.load(Ordering::Relaxed),
                alarms_published.load(Ordering::Relaxed),
                c.alarm_deliveries.load(Ordering::Relaxed),
                server.rss_kib().unwrap_or(0) as f64 / 1024.0,
            );
        }
        if !server.is_running() {
            hub_alive = false;
            break;
        }
    }
    summary.live_at_end = shared.counters.live.load(Ordering::Relaxed);
    summary.hub_cpu.1 = server.cpu_seconds().unwrap_or(hub_cpu0) - hub_cpu0;
    summary.bench_cpu = sys::cpu_seconds(None).unwrap_or(bench_cpu0) - bench_cpu0;
    drop(slots);

    // Stop the publishers and the attacker.
    eprintln!("soak: stopping the publishers and the attacker");
    let _ = pub_stop.send(true);
    let _ = misc_stop.send(true);
    for (i, publisher) in publishers.into_iter().enumerate() {
        let stats = publisher.await.unwrap_or_else(|e| publish::Stats {
            failed: 1,
            errors: vec![format!("publisher task: {e}")],
            ..publish::Stats::default()
        });
        if i == 0 {
            summary.alarm_publisher = stats;
        } else {
            summary.metric_publisher.add(&stats);
        }
    }
    if let Some(attacker) = attacker {
        let abort = attacker.abort_handle();
        match tokio::time::timeout(ATTACK_GRACE, attacker).await {
            Ok(Ok(outcome)) => summary.attack = Some(outcome),
            _ => {
                abort.abort();
                summary.notes.push(format!(
                    "the attacker did not finish its round within {ATTACK_GRACE:?}"
                ));
            }
        }
    }

    // Final tops.
    let mut tops: HashMap<String, u64> = HashMap::new();
    let all_channels = std::iter::once(ALARMS.to_owned())
        .chain(metric_channels.iter().cloned())
        .chain(std::iter::once(BUSY_CHANNEL.to_owned()));
    for channel in all_channels {
        match publish::top(port, &args.api_key, &channel).await {
            Ok(top) => {
                tops.insert(channel, top);
            }
            Err(e) => {
                summary
                    .failures
                    .push(format!("cannot read the final top offset: {e}"));
                break;
            }
        }
    }
    summary.tops = (
        tops.get(ALARMS).copied().unwrap_or(0),
        metric_channels.iter().filter_map(|c| tops.get(c)).sum(),
        tops.get(BUSY_CHANNEL).copied().unwrap_or(0),
    );

    // Let every client catch up, then collect them.
    let drain_deadline = Instant::now() + args.drain;
    eprintln!(
        "soak: final tops read (alarms {}); waiting up to {} for the clients to catch up",
        summary.tops.0,
        humantime::format_duration(args.drain)
    );
    let tops = Arc::new(tops);
    let _ = phase_tx.send(Phase::Finish {
        tops: tops.clone(),
        deadline: drain_deadline,
    });
    let mut outcomes = Vec::with_capacity(population.handles.len());
    let mut stuck = 0u64;
    for handle in population.handles.drain(..) {
        let abort = handle.abort_handle();
        match tokio::time::timeout_at(
            drain_deadline + args.connect_timeout + Duration::from_secs(5),
            handle,
        )
        .await
        {
            Ok(Ok(outcome)) => outcomes.push(outcome),
            Ok(Err(e)) => summary.failures.push(format!("a client task failed: {e}")),
            Err(_) => {
                abort.abort();
                stuck += 1;
            }
        }
    }
    if stuck > 0 {
        summary.failures.push(format!(
            "{stuck} clients were still running long after the drain deadline and were aborted"
        ));
    }

    // The slow client reads what it has.
    let _ = slow_stop.send(true);
    if let Some(slow) = slow {
        let abort = slow.abort_handle();
        match tokio::time::timeout(Duration::from_secs(15), slow).await {
            Ok(Ok(outcome)) => summary.slow = Some(outcome),
            _ => {
                abort.abort();
                summary.notes.push("the slow client did not report".into());
            }
        }
    }
    summary.disconnects = Some(publish::disconnects(port).await);
    summary.hub_cpu.0 = server.cpu_seconds().unwrap_or(0.0);
    let _ = sampler_stop.send(true);
    let _ = sampler.await;
    if hub_alive && !server.is_running() {
        hub_alive = false;
    }
    if !hub_alive {
        summary.failures.push(format!(
            "the hub process exited during the run; last output:\n{}",
            server.tail()
        ));
    }

    account(&mut summary, &outcomes, &tops, &shared.counters);
    summary.subscriptions = population.subscriptions;

    // RSS judgment over the soak phase.
    let points: Vec<rss::Sample> = samples
        .lock()
        .expect("samples lock")
        .iter()
        .map(|&(at, kib)| rss::Sample {
            t: if at >= t0 {
                (at - t0).as_secs_f64()
            } else {
                -(t0 - at).as_secs_f64()
            },
            kib,
        })
        .collect();
    let verdict = rss::judge(
        &points,
        args.duration.as_secs_f64(),
        summary.allowance.expect("set above"),
    );
    if args.duration < Duration::from_secs(120) {
        summary.notes.push(format!(
            "a {} soak ends while the hub is still warming up (histories filling, allocator arenas growing: \
             RSS settled after about 3 minutes in 5-minute runs), so its RSS judgment only catches gross leaks",
            humantime::format_duration(args.duration)
        ));
    }
    match &verdict {
        Ok(v) if !v.flat => summary.failures.push(format!(
            "hub RSS grew after warm-up: last-quarter mean {:.1} MiB against {:.1} MiB in the second quarter \
             ({:+.1} %), above the limit of {:.1} MiB",
            v.late_kib / 1024.0,
            v.warm_kib / 1024.0,
            v.growth_percent(),
            v.limit_kib / 1024.0
        )),
        Ok(_) => {}
        Err(e) => summary.failures.push(format!("no RSS judgment: {e}")),
    }
    summary.rss = Some(verdict);
    (summary, hub_alive)
}

/// Adds up every client's ledgers and turns what is wrong into failures.
fn account(
    summary: &mut Summary,
    outcomes: &[client::Outcome],
    tops: &HashMap<String, u64>,
    counters: &client::Counters,
) {
    summary.churn = (
        counters.drops.load(Ordering::Relaxed),
        counters.resets.load(Ordering::Relaxed),
        counters.closes.load(Ordering::Relaxed),
        counters.left.load(Ordering::Relaxed),
    );
    summary.longest_gap = Duration::from_millis(counters.longest_gap_ms.load(Ordering::Relaxed));
    summary.recoveries = (
        counters.recovered_ok.load(Ordering::Relaxed),
        counters.recovered_failed.load(Ordering::Relaxed),
        counters.recovered_publications.load(Ordering::Relaxed),
    );
    let mut stayed = Tally::default();
    let mut left = Tally::default();
    let mut metrics = Tally::default();
    let digests = Digests::new(
        &summary.alarm_publisher.sequence,
        tops.get(ALARMS).copied().unwrap_or(0),
    );
    for o in outcomes {
        let mut bad = Vec::new();
        for sub in &o.subs {
            if sub.ledger.start().is_none() {
                continue;
            }
            // Clients that left are checked up to what they saw; the others
            // up to the final top.
            let top = if o.left {
                sub.ledger.resume_from()
            } else {
                tops.get(&sub.channel).copied().unwrap_or(0)
            };
            let t = sub.ledger.check(top);
            if !t.is_exact() {
                bad.push(format!(
                    "{}: {} lost{}, {} duplicated, {} out of range",
                    sub.channel,
                    t.lost,
                    t.first_missing
                        .map(|(a, b)| format!(" (first missing {a}–{b})"))
                        .unwrap_or_default(),
                    t.duplicated,
                    t.out_of_range
                ));
            }
            if sub.channel == ALARMS && t.is_exact() {
                // Each offset carried the payload published at it?
                match digests.expected(sub.ledger.start().unwrap_or(0), top) {
                    Some(d) if d == sub.digest => summary.payloads.0 += 1,
                    Some(_) => {
                        summary.payloads.1 += 1;
                        bad.push("alarm payloads do not match their offsets".into());
                    }
                    None => summary.payloads.2 += 1,
                }
            }
            if sub.channel == ALARMS {
                if o.left {
                    left.add(&t);
                    summary.left += 1;
                } else {
                    stayed.add(&t);
                    summary.stayed += 1;
                }
            } else {
                metrics.add(&t);
            }
            summary.epoch_changes += sub.epoch_changes;
        }
        if o.recovered.1 > 0 {
            bad.push(format!(
                "{} recoveries answered recovered:false",
                o.recovered.1
            ));
        }
        if o.unexpected.0 > 0 {
            summary.unexpected_ends.0 += o.unexpected.0;
            for e in &o.unexpected.1 {
                if summary.unexpected_ends.1.len() < EXAMPLES {
                    summary
                        .unexpected_ends
                        .1
                        .push(format!("client {}: {e}", o.id));
                }
            }
        }
        if let Some(e) = &o.gave_up {
            summary.gave_up.0 += 1;
            if summary.gave_up.1.len() < EXAMPLES {
                summary.gave_up.1.push(format!("client {}: {e}", o.id));
            }
        }
        if !o.left && o.subscribed && !o.caught_up {
            summary.not_caught_up += 1;
            let behind: Vec<String> = o
                .subs
                .iter()
                .filter_map(|sub| {
                    let top = tops.get(&sub.channel).copied().unwrap_or(0);
                    let at = sub.position;
                    (at < top).then(|| format!("{} at {at} of {top}", sub.channel))
                })
                .collect();
            bad.push(format!("not caught up ({})", behind.join(", ")));
        }
        if !bad.is_empty() && summary.bad_clients.len() < EXAMPLES {
            summary.bad_clients.push(format!(
                "client {}{}{}: {}",
                o.id,
                if o.joiner { " (joined late)" } else { "" },
                if o.left { " (left)" } else { "" },
                bad.join("; ")
            ));
        }
    }
    summary.alarms_stayed = stayed;
    summary.alarms_left = left;
    summary.metrics = metrics;

    let mut fail = |m: String| summary.failures.push(m);
    let never = summary.setup_failed.0;
    if never > 0 {
        fail(format!(
            "{never} of {} clients never subscribed during the ramp-up, e.g. {}",
            summary.clients,
            summary.setup_failed.1.join("; ")
        ));
    }
    let (s, l, m) = (summary.alarms_stayed, summary.alarms_left, summary.metrics);
    if !s.is_exact() || !l.is_exact() {
        fail(format!(
            "alarm streams not exact: {} lost, {} duplicated, {} out of range (clients that stayed), {} lost, {} \
             duplicated, {} out of range (clients that left)",
            s.lost, s.duplicated, s.out_of_range, l.lost, l.duplicated, l.out_of_range
        ));
    }
    if !m.is_exact() {
        fail(format!(
            "metric streams not exact: {} lost, {} duplicated, {} out of range",
            m.lost, m.duplicated, m.out_of_range
        ));
    }
    if summary.recoveries.1 > 0 {
        fail(format!(
            "{} recoveries were answered recovered:false (a history of {} publications should cover every gap)",
            summary.recoveries.1, summary.history_size
        ));
    }
    if !summary.bad_clients.is_empty() {
        let examples = summary.bad_clients.join("\n  - ");
        fail(format!(
            "clients with an inexact stream, e.g.\n  - {examples}"
        ));
    }
    if summary.epoch_changes > 0 {
        fail(format!(
            "{} subscribe replies carried another epoch than the client's first",
            summary.epoch_changes
        ));
    }
    if summary.unexpected_ends.0 > 0 {
        fail(format!(
            "the hub ended {} connections of well-behaved clients, e.g. {}",
            summary.unexpected_ends.0,
            summary.unexpected_ends.1.join("; ")
        ));
    }
    if summary.gave_up.0 > 0 {
        fail(format!(
            "{} clients gave up reconnecting, e.g. {}",
            summary.gave_up.0,
            summary.gave_up.1.join("; ")
        ));
    }
    if summary.not_caught_up > 0 {
        fail(format!(
            "{} clients had not reached the final top offsets by the end of --drain",
            summary.not_caught_up
        ));
    }
    let ap = summary.alarm_publisher.clone();
    let mp = summary.metric_publisher.clone();
    if ap.failed > 0 || mp.failed > 0 {
        fail(format!(
            "publish requests failed: {} alarms, {} metric samples, e.g. {}",
            ap.failed,
            mp.failed,
            ap.errors
                .iter()
                .chain(&mp.errors)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if summary.payloads.1 > 0 {
        summary.failures.push(format!(
            "{} clients received alarms whose payload (sequence number) was not the one published at that offset",
            summary.payloads.1
        ));
    }
    if summary.payloads.2 > 0 {
        summary.notes.push(format!(
            "the payloads of {} clients could not be checked: a publish answer was lost, so the sequence number \
             of one offset is unknown",
            summary.payloads.2
        ));
    }
}
