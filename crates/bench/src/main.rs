//! `telltale-bench`: fan-out throughput (closed and open loop, and swept
//! over subscriber counts and payload sizes), publish→receive latency and
//! idle memory per connection of telltale-hub, side by side with the classic
//! Go gorilla/websocket hub, a Node `ws` broadcast server and two hub nodes
//! on Redis, in the same run; and
//! `telltale-bench soak`, a soak test of the hub. See `telltale-bench --help`.

mod cli;
mod deployment;
mod document;
mod ends;
mod fanout;
mod gorilla;
mod idle;
mod openloop;
mod plot;
mod report;
mod server;
mod setup;
#[cfg(test)]
mod smoke;
mod soak;
mod sweep;
mod sys;
mod ws;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Args, Command, Scenario, Target};
use crate::deployment::{Deployment, Settings};
use crate::report::{Report, TargetResults};

/// Longest wait for a server to say it is ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Time a server gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The hub's `--config`: a namespace is closed to clients unless configured,
/// so the bench channel is opened to anonymous subscribers and publishers;
/// and the one publisher may send as fast as the hub drains (the default
/// per-connection rate would answer most of its publishes with 111).
const HUB_CONFIG: &str = "client_command_rate = 1000000\n\
client_command_burst = 1000000\n\
[namespaces.bench]\n\
anonymous_subscribe = true\n\
subscribe = \"any\"\n\
publish = true\n";

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Soak(soak)) = args.command {
        return soak::main(soak);
    }
    if let Err(e) = args.validate() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let nofile = match sys::raise_nofile(args.nofile) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warning: cannot raise RLIMIT_NOFILE: {e}");
            0
        }
    };
    let needed = (args
        .idle_connections
        .max(args.capacity_connections)
        .max(args.subscribers)
        .max(sweep::max_subscribers(&args))
        + 64) as u64;
    if nofile < needed {
        eprintln!("warning: RLIMIT_NOFILE is {nofile}, the largest scenario needs about {needed} descriptors");
    }

    // Whatever happens, the bench stops by itself (its servers die with it).
    let limit = watchdog_limit(&args);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("error: telltale-bench still running after {limit:?}; giving up");
        std::process::exit(3);
    });

    let mut pinned = None;
    if !args.no_pin
        && sys::online_cpus() >= 2
        && sys::on_path("taskset")
        && args.server_cpu != args.bench_cpu
    {
        match sys::pin_current_thread(args.bench_cpu) {
            Ok(()) => pinned = Some((args.server_cpu, args.bench_cpu)),
            Err(e) => eprintln!(
                "warning: cannot pin the bench to CPU {}: {e}; running unpinned",
                args.bench_cpu
            ),
        }
    }
    // Pinned to one CPU, a single-threaded runtime is the cheapest load
    // generator; otherwise use every CPU we may run on.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, pinned, nofile))
}

async fn run(args: Args, pinned: Option<(usize, usize)>, nofile: u64) -> ExitCode {
    let cwd = std::env::current_dir().ok();
    let command = report::shell_join(
        std::env::args_os().map(|a| report::relative_to(cwd.as_deref(), &a.to_string_lossy())),
    );
    let machine = sys::Machine::describe(&args.node);
    let (report, failed) = match measure(args, pinned, nofile).await {
        Ok(measured) => measured,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let table = report.table();
    if !table.is_empty() {
        println!("\n{table}");
    }
    if let Some(steps) = report.open_loop_steps_table() {
        println!("{steps}");
    }
    if let Some(redis) = report.redis_table() {
        println!("{redis}");
    }
    for table in report.sweep_tables() {
        println!("{table}");
    }
    println!("Notes:\n{}", report.notes_markdown());
    if let Some(path) = &report.args.write {
        match write_files(&report, &machine, &sys::today_utc(), &command, path) {
            Ok(written) => {
                for file in written {
                    eprintln!("wrote {}", file.display());
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the document to `path`, keeping the sections other tools write
/// into the same file (the desktop UI benchmark's), and the sweep's plots
/// beside it when the sweep ran; the files written.
fn write_files(
    report: &Report,
    machine: &sys::Machine,
    date: &str,
    command: &str,
    path: &std::path::Path,
) -> Result<Vec<PathBuf>, String> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(".".as_ref());
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    // The plots first: the document links them.
    for (name, chart) in report.sweep_charts() {
        let png = dir.join(name);
        plot::draw(&png, &chart, &report.args.plot_font)?;
        written.push(png);
    }
    let ours = report.document(machine, date, command);
    let previous = std::fs::read_to_string(path).unwrap_or_default();
    let doc = document::merge(&ours, &previous);
    std::fs::write(path, doc).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    written.push(path.to_owned());
    Ok(written)
}

/// Runs every scenario on every target; the report, and whether a run
/// failed.
async fn measure(
    args: Args,
    pinned: Option<(usize, usize)>,
    nofile: u64,
) -> Result<(Report, bool), String> {
    let hub_config =
        write_hub_config().map_err(|e| format!("cannot write the hub's --config file: {e}"))?;
    let settings = Settings {
        args: &args,
        cpu: pinned.map(|(server, _)| server),
        hub_config: &hub_config,
        large_queues: true,
    };
    let mut targets: Vec<TargetResults> = Vec::new();
    let mut notes = Vec::new();
    for &target in dedup(&args.targets).iter() {
        targets.push(TargetResults {
            target,
            command: deployment::describe(target, settings),
            nofile: None,
            fanout: None,
            open_loop: None,
            idle: None,
            sweep: None,
            capacity: None,
        });
    }

    let mut failed = false;
    for &scenario in dedup(&args.scenarios).iter() {
        for slot in targets.iter_mut() {
            let target = slot.target;
            if !target.runs(scenario) {
                continue;
            }
            eprintln!(
                "{scenario:?} on {}: starting {}",
                target.label(),
                slot.command
            );
            if scenario == Scenario::Sweep {
                let sweep = sweep::run(target, settings, &mut notes, &mut slot.nofile).await;
                failed |= sweep.failures() > 0;
                slot.sweep = Some(sweep);
                continue;
            }
            let what = format!("{} {scenario:?}", target.label()).to_lowercase();
            let outcome = run_one(
                target,
                scenario,
                settings,
                &what,
                &mut notes,
                &mut slot.nofile,
            )
            .await;
            if let Err(e) = &outcome {
                eprintln!("  {}: {e}", target.label());
                failed = true;
            }
            match scenario {
                Scenario::Fanout => slot.fanout = Some(outcome.and_then(|o| o.into_fanout())),
                Scenario::OpenLoop => {
                    slot.open_loop = Some(outcome.and_then(|o| o.into_open_loop()))
                }
                Scenario::Idle => slot.idle = Some(outcome.and_then(|o| o.into_idle())),
                // Run above, point by point.
                Scenario::Sweep => {}
                Scenario::Capacity => slot.capacity = Some(outcome.and_then(|o| o.into_idle())),
            }
            // Let the sockets of the last run close before the next server.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let _ = std::fs::remove_file(&hub_config);

    let mut report = Report {
        args: args.clone(),
        targets,
        notes,
        pinned,
        nofile,
    };
    report.derive_notes();
    Ok((report, failed))
}

/// Outcome of one scenario on one server.
enum Outcome {
    Fanout(Box<fanout::FanoutResult>),
    OpenLoop(openloop::OpenLoopResult),
    Idle(idle::IdleResult),
}

impl Outcome {
    fn into_fanout(self) -> Result<fanout::FanoutResult, String> {
        match self {
            Outcome::Fanout(f) => Ok(*f),
            _ => Err("wrong scenario".into()),
        }
    }

    fn into_open_loop(self) -> Result<openloop::OpenLoopResult, String> {
        match self {
            Outcome::OpenLoop(o) => Ok(o),
            _ => Err("wrong scenario".into()),
        }
    }

    fn into_idle(self) -> Result<idle::IdleResult, String> {
        match self {
            Outcome::Idle(i) => Ok(i),
            _ => Err("wrong scenario".into()),
        }
    }
}

/// Starts the target's processes, runs the scenario, stops them, and notes
/// what they did wrong on the way (crash, EMFILE, slow shutdown), naming the
/// run `what` ("telltale-hub fanout").
async fn run_one(
    target: Target,
    scenario: Scenario,
    settings: Settings<'_>,
    what: &str,
    notes: &mut Vec<String>,
    nofile: &mut Option<u64>,
) -> Result<Outcome, String> {
    let args = settings.args;
    preflight(target, args).await?;
    let settings = Settings {
        large_queues: scenario == Scenario::Fanout,
        ..settings
    };
    let mut deployment = Deployment::start(target, settings, START_TIMEOUT).await?;
    let needed = match scenario {
        Scenario::Fanout | Scenario::OpenLoop | Scenario::Sweep => args.subscribers + 1,
        Scenario::Idle => args.idle_connections,
        Scenario::Capacity => args.capacity_connections,
    } as u64;
    *nofile = deployment
        .endpoints()
        .next()
        .and_then(|p| p.server.nofile());
    for p in &deployment.processes {
        let limit = p.server.nofile();
        if let Some(limit) = limit.filter(|&l| l < needed + 16) {
            notes.push(format!(
                "{what}: the open-file limit of {} is {limit}, too low for {needed} connections",
                p.name
            ));
        }
        eprintln!(
            "  {}: {} pid {} listening on 127.0.0.1:{}",
            target.label(),
            p.name,
            p.server.pid,
            p.server.port
        );
    }
    let outcome = match scenario {
        Scenario::Fanout => fanout::run(target, &deployment, args)
            .await
            .map(|f| Outcome::Fanout(Box::new(f))),
        Scenario::OpenLoop => openloop::run(target, &deployment, args)
            .await
            .map(Outcome::OpenLoop),
        Scenario::Idle | Scenario::Capacity => {
            let shape = match scenario {
                Scenario::Capacity => idle::Shape::capacity(args),
                _ => idle::Shape::idle(args),
            };
            match deployment.endpoints().next() {
                Some(p) => idle::run(target, &p.server, args, shape)
                    .await
                    .map(Outcome::Idle),
                None => Err("no server to connect to".into()),
            }
        }
        Scenario::Sweep => Err("the sweep is run point by point (sweep::run)".into()),
    };
    notes.extend(deployment.check(what));
    let several = deployment.processes.len() > 1;
    for stopped in deployment.stop(STOP_GRACE).await {
        let who = if several {
            format!("{what}: {}", stopped.name)
        } else {
            what.to_owned()
        };
        if stopped.killed {
            notes.push(format!(
                "{who}: the process did not exit within {STOP_GRACE:?} of SIGTERM and was killed"
            ));
        } else if let Some(status) = stopped.status.filter(|s| !s.success()) {
            // Node exits 0 on SIGTERM (server.js), so does the Go peer; the
            // hub shuts down gracefully; redis-server exits 0 on SIGTERM.
            notes.push(format!(
                "{who}: the process exited with {status} after SIGTERM"
            ));
        }
    }
    outcome
}

/// Refuses early, with the fix, when a server cannot be started; builds the
/// Go peer when it is missing or older than its source.
async fn preflight(target: Target, args: &Args) -> Result<(), String> {
    match target {
        Target::Gorilla => gorilla::ensure_built(args).await,
        Target::Hub | Target::HubRedis if !args.hub.is_file() => Err(format!(
            "{} not found: build it with `cargo build --release -p telltale-hub` or pass --hub",
            args.hub.display()
        )),
        Target::HubRedis if !runnable(&args.redis_server) => Err(format!(
            "{} not found: install redis-server (scripts/install-deps.sh) or pass --redis-server",
            args.redis_server.display()
        )),
        Target::Node if !args.node_server.is_file() => Err(format!(
            "{} not found: pass --node-server",
            args.node_server.display()
        )),
        Target::Node => {
            let dir = args
                .node_server
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(".".as_ref());
            if dir.join("node_modules/ws").is_dir() {
                Ok(())
            } else {
                Err(format!(
                    "{}/node_modules/ws missing: run `npm ci` in {}",
                    dir.display(),
                    dir.display()
                ))
            }
        }
        Target::Hub | Target::HubRedis => Ok(()),
    }
}

/// Whether `program` is a file, or a bare name found on PATH.
fn runnable(program: &std::path::Path) -> bool {
    match program.to_str() {
        Some(name) if !name.contains('/') => sys::on_path(name),
        _ => program.is_file(),
    }
}

/// Writes [`HUB_CONFIG`] to a file of this run in the temporary directory.
fn write_hub_config() -> std::io::Result<PathBuf> {
    static WRITTEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("telltale-bench-{}-{n}.toml", std::process::id()));
    std::fs::write(&path, HUB_CONFIG)?;
    Ok(path)
}

/// A generous bound on the whole run: every phase of every scenario on every
/// server at its longest.
fn watchdog_limit(args: &Args) -> Duration {
    let runs = (dedup(&args.targets).len() * dedup(&args.scenarios).len()) as u32;
    // A run starts and stops up to three processes (redis and two nodes).
    let processes = 1 + deployment::REDIS_NODES as u32;
    // Every open-loop step publishes, waits for its grace and then drains.
    let ramp = (args.open_loop_step + args.connect_timeout + args.open_loop_grace + args.drain)
        * args.open_loop_rates.len() as u32;
    let per_run = (START_TIMEOUT + STOP_GRACE) * processes
        + 2 * args.setup_timeout
        + args.warmup
        + args.duration
        + args.drain
        + args.settle
        + ramp
        + Duration::from_secs(60);
    // The sweep starts a server for each of its points.
    let sweep = if args.scenarios.contains(&Scenario::Sweep) {
        let per_point = START_TIMEOUT
            + STOP_GRACE
            + args.setup_timeout
            + args.sweep_warmup
            + args.sweep_duration
            + 2 * args.drain
            + Duration::from_secs(10);
        per_point * (sweep::points(args).len() * dedup(&args.targets).len()) as u32
    } else {
        Duration::ZERO
    };
    per_run * runs.max(1) + sweep
}

fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for &item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
