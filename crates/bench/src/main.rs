//! `telltale-bench`: fan-out throughput, publish→receive latency and idle
//! memory per connection of telltale-hub, side by side with a Node `ws`
//! broadcast server, in the same run; and `telltale-bench soak`, a soak test
//! of the hub. See `telltale-bench --help`.

mod cli;
mod fanout;
mod idle;
mod report;
mod server;
mod setup;
mod soak;
mod sys;
mod ws;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Args, Command, Scenario, Target};
use crate::report::{Report, TargetResults};
use crate::server::{Launch, Server};

/// Longest wait for a server's `listening on` line.
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
    let nofile = match sys::raise_nofile(args.nofile) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warning: cannot raise RLIMIT_NOFILE: {e}");
            0
        }
    };
    let needed = (args.idle_connections.max(args.subscribers) + 64) as u64;
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
    let server_cpu = pinned.map(|(server, _)| server);

    let hub_config = match write_hub_config() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("error: cannot write the hub's --config file: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut targets: Vec<TargetResults> = Vec::new();
    let mut notes = Vec::new();
    let mut launches = Vec::new();
    for &target in dedup(&args.targets).iter() {
        let launch = launch_for(target, &args, server_cpu, &hub_config);
        targets.push(TargetResults {
            target,
            command: launch.display(),
            nofile: None,
            fanout: None,
            idle: None,
        });
        launches.push((target, launch));
    }

    let mut failed = false;
    for &scenario in dedup(&args.scenarios).iter() {
        for (index, (target, launch)) in launches.iter().enumerate() {
            eprintln!(
                "{scenario:?} on {}: starting `{}`",
                target.label(),
                launch.display()
            );
            let outcome = run_one(
                *target,
                scenario,
                launch,
                &args,
                &mut notes,
                &mut targets[index].nofile,
            )
            .await;
            if let Err(e) = &outcome {
                eprintln!("  {}: {e}", target.label());
                failed = true;
            }
            let slot = &mut targets[index];
            match scenario {
                Scenario::Fanout => slot.fanout = Some(outcome.and_then(|o| o.into_fanout())),
                Scenario::Idle => slot.idle = Some(outcome.and_then(|o| o.into_idle())),
            }
            // Let the sockets of the last run close before the next server.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    let mut report = Report {
        args: args.clone(),
        targets,
        notes,
        pinned,
        nofile,
    };
    report.derive_notes();
    println!("\n{}", report.table());
    println!("Notes:\n{}", report.notes_markdown());
    if let Some(path) = &args.write {
        let doc = report.document(&machine, &sys::today_utc(), &command);
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
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Outcome of one scenario on one server.
enum Outcome {
    Fanout(Box<fanout::FanoutResult>),
    Idle(idle::IdleResult),
}

impl Outcome {
    fn into_fanout(self) -> Result<fanout::FanoutResult, String> {
        match self {
            Outcome::Fanout(f) => Ok(*f),
            Outcome::Idle(_) => Err("wrong scenario".into()),
        }
    }

    fn into_idle(self) -> Result<idle::IdleResult, String> {
        match self {
            Outcome::Idle(i) => Ok(i),
            Outcome::Fanout(_) => Err("wrong scenario".into()),
        }
    }
}

/// Starts the server, runs the scenario, stops the server, and notes what
/// the server did wrong on the way (crash, EMFILE, slow shutdown).
async fn run_one(
    target: Target,
    scenario: Scenario,
    launch: &Launch,
    args: &Args,
    notes: &mut Vec<String>,
    nofile: &mut Option<u64>,
) -> Result<Outcome, String> {
    preflight(target, args)?;
    let mut server = Server::start(launch, START_TIMEOUT).await?;
    *nofile = server.nofile();
    let what = format!("{} {scenario:?}", target.label()).to_lowercase();
    let needed = match scenario {
        Scenario::Fanout => args.subscribers + 1,
        Scenario::Idle => args.idle_connections,
    } as u64;
    if let Some(limit) = server.nofile().filter(|&l| l < needed + 16) {
        notes.push(format!(
            "{what}: the server's open-file limit is {limit}, too low for {needed} connections"
        ));
    }
    eprintln!(
        "  {}: pid {} listening on 127.0.0.1:{}",
        target.label(),
        server.pid,
        server.port
    );
    let outcome = match scenario {
        Scenario::Fanout => fanout::run(target, &server, args)
            .await
            .map(|f| Outcome::Fanout(Box::new(f))),
        Scenario::Idle => idle::run(target, &server, args).await.map(Outcome::Idle),
    };
    if !server.is_running() {
        notes.push(format!(
            "{what}: the server process exited during the run; last output:\n{}",
            server.tail()
        ));
    }
    let emfile = server.emfile_lines();
    if emfile > 0 {
        notes.push(format!(
            "{what}: the server printed {emfile} lines about running out of file descriptors (EMFILE); last \
             output: {}",
            server.tail().trim()
        ));
    }
    let (status, killed) = server.stop(STOP_GRACE).await;
    if killed {
        notes.push(format!(
            "{what}: the server did not exit within {STOP_GRACE:?} of SIGTERM and was killed"
        ));
    } else if let Some(status) = status.filter(|s| !s.success()) {
        // Node exits 0 on SIGTERM (server.js); the hub shuts down gracefully.
        notes.push(format!(
            "{what}: the server exited with {status} after SIGTERM"
        ));
    }
    outcome
}

/// Refuses early, with the fix, when a server cannot be started.
fn preflight(target: Target, args: &Args) -> Result<(), String> {
    match target {
        Target::Hub if !args.hub.is_file() => Err(format!(
            "{} not found: build it with `cargo build --release -p telltale-hub` or pass --hub",
            args.hub.display()
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
        Target::Hub => Ok(()),
    }
}

/// Writes [`HUB_CONFIG`] to a file of this run in the temporary directory.
fn write_hub_config() -> std::io::Result<PathBuf> {
    let path = std::env::temp_dir().join(format!("telltale-bench-{}.toml", std::process::id()));
    std::fs::write(&path, HUB_CONFIG)?;
    Ok(path)
}

fn launch_for(target: Target, args: &Args, cpu: Option<usize>, hub_config: &Path) -> Launch {
    let argv: Vec<OsString> = match target {
        Target::Hub => {
            let mut argv: Vec<OsString> = vec![
                args.hub.clone().into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--allow-anonymous".into(),
                "--config".into(),
                hub_config.into(),
                "--client-queue-bytes".into(),
                args.client_queue_bytes.to_string().into(),
            ];
            argv.extend(args.hub_args.iter().map(OsString::from));
            argv
        }
        Target::Node => vec![
            args.node.clone().into(),
            args.node_server.clone().into(),
            "0".into(),
        ],
    };
    Launch {
        argv,
        cpu,
        nofile: args.nofile,
    }
}

/// A generous bound on the whole run: every phase of every scenario on every
/// server at its longest.
fn watchdog_limit(args: &Args) -> Duration {
    let runs = (dedup(&args.targets).len() * dedup(&args.scenarios).len()) as u32;
    let per_run = START_TIMEOUT
        + STOP_GRACE
        + 2 * args.setup_timeout
        + args.warmup
        + args.duration
        + args.drain
        + args.settle
        + Duration::from_secs(60);
    per_run * runs.max(1)
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
