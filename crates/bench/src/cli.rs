//! Command-line flags of `telltale-bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// telltale-bench: fan-out throughput (closed loop and open loop),
/// publish→receive latency and idle memory per connection of telltale-hub,
/// side by side with the classic Go gorilla/websocket chat hub, a Node `ws`
/// broadcast server and two hub nodes on Redis, in the same run, on
/// 127.0.0.1 only.
///
/// Every server is started as a child process (pinned to --server-cpu, the
/// bench itself to --bench-cpu, when `taskset` exists and there are at least
/// two CPUs), measured, then stopped; for `hub-redis` that is a private
/// redis-server and two hub nodes on it, all three on --server-cpu; the Go
/// peer is built first when missing or older than its source. The
/// result is printed as markdown tables; --write also writes them with the
/// machine and the command to a file, keeping the sections of that file it
/// does not write (e.g. "## Desktop UI").
///
/// `telltale-bench soak` is a separate run: see `telltale-bench soak --help`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "telltale-bench",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// A run other than the fan-out/idle comparison.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The telltale-hub binary.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/release/telltale-hub"
    )]
    pub hub: PathBuf,

    /// Extra argument passed to the hub (repeatable), after the bench's own
    /// `--listen 127.0.0.1:0 --allow-anonymous --config FILE
    /// --client-queue-bytes N` (the file opens the `bench` namespace to
    /// anonymous subscribers and publishers and lifts the per-connection
    /// command rate; give other settings as flags).
    #[arg(long = "hub-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub hub_args: Vec<String>,

    /// The redis-server executable, for the `hub-redis` target (started on a
    /// free loopback port, without persistence).
    #[arg(long, value_name = "PATH", default_value = "redis-server")]
    pub redis_server: PathBuf,

    /// The Node.js executable.
    #[arg(long, value_name = "PATH", default_value = "node")]
    pub node: PathBuf,

    /// The Node `ws` broadcast server script (its directory needs `npm ci`).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "bench/node-ws-broadcast/server.js"
    )]
    pub node_server: PathBuf,

    /// The Go executable, to build the gorilla peer (Debian's golang-go).
    #[arg(long, value_name = "PATH", default_value = "go")]
    pub go: PathBuf,

    /// The Go peer's source directory (the classic gorilla/websocket chat
    /// hub as a broadcast server).
    #[arg(long, value_name = "DIR", default_value = "bench/gorilla-hub")]
    pub gorilla_source: PathBuf,

    /// The Go peer's binary: built from --gorilla-source (GOPATH mode, with
    /// Debian's gorilla/websocket) when missing or older than the source.
    #[arg(long, value_name = "PATH", default_value = "target/bench/gorilla-hub")]
    pub gorilla_hub: PathBuf,

    /// Servers to measure, comma separated. `hub-redis` runs the
    /// closed-loop fan-out only (not the sweep).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hub,hub-redis,gorilla,node"
    )]
    pub targets: Vec<Target>,

    /// Scenarios to run, comma separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "fanout,open-loop,idle,sweep,capacity"
    )]
    pub scenarios: Vec<Scenario>,

    /// Fan-out: subscribers on the one channel.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub subscribers: usize,

    /// Fan-out: measured time (after the warm-up).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Fan-out: time published before measuring starts.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,

    /// Fan-out: size in bytes of each published JSON payload (it carries the
    /// send time and a sequence number).
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(64..=65_000))]
    pub payload_bytes: u64,

    /// Fan-out: most messages in flight (published but not yet delivered to
    /// every subscriber, on average). The publisher waits when it is reached,
    /// so the run measures throughput, not queue growth.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub window: u64,

    /// Fan-out: after the loaded phase, publish one message at a time (window
    /// 1) for this long and report latency without queueing; 0 skips it.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub light_duration: Duration,

    /// Fan-out: stop publishing after this many messages even if the
    /// duration has not run out.
    #[arg(long, value_name = "N", default_value_t = 50_000_000)]
    pub max_messages: u64,

    /// Fan-out: longest wait, after publishing stops, for the messages in
    /// flight to arrive (those still missing then are reported as lost).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub drain: Duration,

    /// Open loop: the delivery rates tried, in deliveries/s (publications/s
    /// × subscribers), comma separated, in increasing order; the ramp stops
    /// at the first rate that is not sustained.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "RATES",
        default_value = "10000,20000,50000,100000,150000,200000,300000,400000,500000,600000,800000,1000000,1200000,1500000,2000000,2500000,3000000,3500000,4000000,5000000"
    )]
    pub open_loop_rates: Vec<u64>,

    /// Open loop: how long each rate is published.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub open_loop_step: Duration,

    /// Open loop: after a step's last publication, how long its deliveries
    /// may still arrive and count as delivered within the step.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub open_loop_grace: Duration,

    /// Open loop: a rate is sustained when its publish→receive p99 is at
    /// most this ...
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub open_loop_max_p99: Duration,

    /// ... and at least this percentage of its deliveries arrived within the
    /// step.
    #[arg(long, value_name = "PERCENT", default_value_t = 99.0)]
    pub open_loop_min_delivered: f64,

    /// Sweep: subscriber counts of the first series (closed-loop fan-out at
    /// --sweep-payload-bytes each), comma separated, increasing.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "COUNTS",
        default_value = "100,1000,5000,10000"
    )]
    pub sweep_subscribers: Vec<usize>,

    /// Sweep: payload size of the subscriber series.
    #[arg(long, value_name = "BYTES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(64..=65_000))]
    pub sweep_payload_bytes: u64,

    /// Sweep: payload sizes of the second series (closed-loop fan-out to
    /// --sweep-payload-subscribers), comma separated, increasing, each from
    /// 64 to 65,000 (the hub takes up to 64 KiB of data by default).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "SIZES",
        default_value = "100,1024,16384"
    )]
    pub sweep_payloads: Vec<u64>,

    /// Sweep: subscribers of the payload series.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub sweep_payload_subscribers: usize,

    /// Sweep: measured time of each point (after its warm-up); short, so
    /// that every point on every server fits in a few minutes.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub sweep_duration: Duration,

    /// Sweep: time published before each point's measurement starts.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub sweep_warmup: Duration,

    /// Sweep: the TrueType font of the plots' text (--write draws them as
    /// PNG files beside the markdown file), read when they are drawn.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    )]
    pub plot_font: PathBuf,

    /// Idle: connections to open (connected and subscribed).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub idle_connections: usize,

    /// Capacity: connections opened on the hub and held at once (connected
    /// and subscribed).
    #[arg(long, value_name = "N", default_value_t = 15_000)]
    pub capacity_connections: usize,

    /// Capacity: client sockets are bound to 127.0.0.2, 127.0.0.3, ... (this
    /// many loopback source addresses, in turn) before they connect, so the
    /// ephemeral ports of one source address are no limit.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=250))]
    pub source_addresses: u8,

    /// Idle and capacity: wait after the last connection before reading the
    /// server's RSS.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = humantime::parse_duration)]
    pub settle: Duration,

    /// Connections being opened at the same time.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_concurrency: u64,

    /// Longest time for one connection to open (handshake, connect and
    /// subscribe replies).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Longest time for the whole setup phase of a scenario (all
    /// connections); connections not ready by then count as failed.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = humantime::parse_duration)]
    pub setup_timeout: Duration,

    /// Hub --client-queue-bytes in the closed loop: large, so bench
    /// subscribers are not cut as slow while the publisher's window bounds
    /// what is queued. The open loop and the idle scenario run the hub with
    /// its default.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub client_queue_bytes: u64,

    /// RLIMIT_NOFILE for the bench and for each server it starts.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub nofile: u64,

    /// Do not pin the servers and the bench to CPUs.
    #[arg(long)]
    pub no_pin: bool,

    /// CPU the servers are pinned to.
    #[arg(long, value_name = "CPU", default_value_t = 0)]
    pub server_cpu: usize,

    /// CPU the bench (the load generator) is pinned to.
    #[arg(long, value_name = "CPU", default_value_t = 1)]
    pub bench_cpu: usize,

    /// Also write the results, date, machine and command to this markdown
    /// file (e.g. docs/benchmarks.md).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

/// Runs other than the fan-out/idle comparison.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Soak test of telltale-hub: thousands of churning clients that
    /// recover, publishers on the HTTP API, a client that never reads and an
    /// attacker, for --duration; fails (exit 1) on any lost or duplicated
    /// alarm, failed recovery, or RSS growth after warm-up.
    Soak(SoakArgs),
}

/// Flags of `telltale-bench soak`.
///
/// Starts the hub (`--listen 127.0.0.1:0 --allow-anonymous --api-key KEY
/// --history-size N --history-ttl D`, then any --hub-arg), ramps up --clients
/// clients at --ramp-rate, then for --duration: churn, alarm and metric
/// publishers, a slow client and an attacker. Then checks every client's
/// offsets against the final top offsets and the hub's RSS, prints a table
/// and, with --write, writes it as a markdown "## Soak" section.
#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// The telltale-hub binary.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/release/telltale-hub"
    )]
    pub hub: PathBuf,

    /// Extra argument passed to the hub (repeatable), after the soak's own.
    #[arg(long = "hub-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub hub_args: Vec<String>,

    /// Length of the soak phase (after the ramp-up).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Clients connected at the start, each subscribed to `alarms`.
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=50_000))]
    pub clients: u64,

    /// Clients opened per second during the ramp-up.
    #[arg(long, value_name = "N", default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub ramp_rate: u64,

    /// Percent of the clients that drop their connection each second.
    #[arg(long, value_name = "PERCENT", default_value_t = 2.0)]
    pub churn_percent: f64,

    /// Percent of churn events where the client leaves for good (a new one
    /// joins in its place).
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    pub leave_percent: f64,

    /// A churned client reconnects after 50 ms up to this.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = humantime::parse_duration)]
    pub max_reconnect_delay: Duration,

    /// Alarms published per second through the HTTP API.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub alarm_rate: u32,

    /// Metric sources, each publishing one sample a second on
    /// metrics:soak-src-NN.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub metric_sources: u64,

    /// Percent of the clients that also subscribe to one to three metric
    /// channels.
    #[arg(long, value_name = "PERCENT", default_value_t = 25.0)]
    pub metrics_percent: f64,

    /// Samples per second on the busy channel (metrics:soak-busy), which the
    /// slow client and 20 ordinary clients subscribe to.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub busy_rate: u32,

    /// Approximate size of a busy-channel sample in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(64..=60_000))]
    pub busy_bytes: u64,

    /// Hub --history-size: publications kept per channel for recovery.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub history_size: u64,

    /// Hub --history-ttl.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub history_ttl: Duration,

    /// Hub --api-key, used by the publishers.
    #[arg(long, value_name = "KEY", default_value = "soak-key")]
    pub api_key: String,

    // Why 20 % + 8 MiB: after warm-up the hub holds a fixed population
    // (2,000 connections, full histories, a bounded alarm set and catalog),
    // so its RSS should only wander: glibc malloc keeps freed chunks in
    // per-thread arenas, and 40 churned connections a second free and
    // allocate WebSocket buffers in different arenas, which moved the mean
    // by 5–10 % (3–5 MiB) in our runs. 20 % absorbs that on a large heap,
    // 8 MiB on a small one (a debug hub at ~50 MiB). A leak is still caught:
    // between the middles of the second and the last quarter of a 5-minute
    // run lie 150 s, 6,000 churned connections; the allowance on a ~58 MiB
    // hub is ~20 MiB, so anything above ~3.5 KiB kept per churned connection
    // (or ~140 KiB/s of any other growth) fails. The 30 s run only catches
    // gross leaks (its quarters are 15 s apart).
    /// RSS may grow this many percent from the second quarter to the last.
    #[arg(long, value_name = "PERCENT", default_value_t = 20.0)]
    pub rss_growth_percent: f64,

    /// ... plus this many MiB.
    #[arg(long, value_name = "MIB", default_value_t = 8.0)]
    pub rss_growth_mib: f64,

    /// Run without the slow client.
    #[arg(long)]
    pub no_slow_client: bool,

    /// Run without the attacker.
    #[arg(long)]
    pub no_attacker: bool,

    /// Time between two attack rounds.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub attack_interval: Duration,

    /// Longest time for a client to open a connection and get its subscribe
    /// replies.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// After the publishers stop, longest wait for every client to reach the
    /// final top offsets.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = humantime::parse_duration)]
    pub drain: Duration,

    /// Seed of the random choices (default: from the clock; printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// RLIMIT_NOFILE for the bench and the hub.
    #[arg(long, value_name = "N", default_value_t = 65_536)]
    pub nofile: u64,

    /// Pin the hub to this CPU (`taskset`); unpinned by default.
    #[arg(long, value_name = "CPU")]
    pub server_cpu: Option<usize>,

    /// Pin the bench to this CPU; unpinned by default.
    #[arg(long, value_name = "CPU")]
    pub bench_cpu: Option<usize>,

    /// Also write the results as a markdown "## Soak" section (date,
    /// machine, command, figures) to this file.
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

impl SoakArgs {
    /// Refuses values clap cannot check on its own.
    pub fn validate(&self) -> Result<(), String> {
        let percent = |name: &str, v: f64| {
            if (0.0..=100.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("--{name} must be between 0 and 100, not {v}"))
            }
        };
        percent("churn-percent", self.churn_percent)?;
        percent("leave-percent", self.leave_percent)?;
        percent("metrics-percent", self.metrics_percent)?;
        if !(self.rss_growth_percent >= 0.0 && self.rss_growth_mib >= 0.0) {
            return Err("--rss-growth-percent and --rss-growth-mib must not be negative".into());
        }
        if self.duration < Duration::from_secs(8) {
            return Err(format!(
                "--duration {} is too short: the RSS judgment needs at least 2 s per quarter",
                humantime::format_duration(self.duration)
            ));
        }
        if self.attack_interval.is_zero() {
            return Err("--attack-interval must not be 0".into());
        }
        if self.max_reconnect_delay < Duration::from_millis(50) {
            return Err("--max-reconnect-delay must be at least 50ms".into());
        }
        Ok(())
    }
}

impl Args {
    /// Refuses values clap cannot check on its own.
    pub fn validate(&self) -> Result<(), String> {
        if self.open_loop_rates.is_empty()
            || self.open_loop_rates.contains(&0)
            || !self.open_loop_rates.windows(2).all(|w| w[0] < w[1])
        {
            return Err("--open-loop-rates must be positive and increasing".into());
        }
        if !(0.0..=100.0).contains(&self.open_loop_min_delivered) {
            return Err("--open-loop-min-delivered must be between 0 and 100".into());
        }
        if self.open_loop_step.is_zero() {
            return Err("--open-loop-step must not be 0".into());
        }
        if self.sweep_subscribers.is_empty()
            || self.sweep_subscribers.contains(&0)
            || !self.sweep_subscribers.windows(2).all(|w| w[0] < w[1])
        {
            return Err("--sweep-subscribers must be positive and increasing".into());
        }
        if self.sweep_payloads.is_empty()
            || !self
                .sweep_payloads
                .iter()
                .all(|b| (64..=65_000).contains(b))
            || !self.sweep_payloads.windows(2).all(|w| w[0] < w[1])
        {
            return Err("--sweep-payloads must be increasing, each from 64 to 65000".into());
        }
        if self.sweep_payload_subscribers == 0 {
            return Err("--sweep-payload-subscribers must not be 0".into());
        }
        if self.sweep_duration.is_zero() {
            return Err("--sweep-duration must not be 0".into());
        }
        Ok(())
    }
}

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// telltale-hub (Centrifugo JSON protocol), one node, in-memory broker.
    Hub,
    /// Two telltale-hub nodes on one redis-server (`--redis`): subscribers
    /// split evenly over the nodes, the publisher on the first.
    HubRedis,
    /// The classic Go gorilla/websocket chat hub (bench/gorilla-hub).
    Gorilla,
    /// The Node `ws` broadcast server.
    Node,
}

impl Target {
    /// Name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Target::Hub => "telltale-hub",
            Target::HubRedis => "telltale-hub on Redis, 2 nodes",
            Target::Gorilla => "Go gorilla Hub",
            Target::Node => "Node ws",
        }
    }

    /// Whether clients speak the hub's protocol (connect, subscribe,
    /// publish commands) rather than plain messages.
    pub fn is_hub(self) -> bool {
        matches!(self, Target::Hub | Target::HubRedis)
    }

    /// Whether the scenario is run on this target: the Redis pair runs
    /// the closed-loop fan-out only (the sweep compares the hub with its
    /// peers, one process each), the capacity scenario (a target of the
    /// hub's, not a comparison) runs on the hub only.
    pub fn runs(self, scenario: Scenario) -> bool {
        match scenario {
            Scenario::Fanout => true,
            Scenario::Capacity => self == Target::Hub,
            Scenario::OpenLoop | Scenario::Idle | Scenario::Sweep => self != Target::HubRedis,
        }
    }
}

/// A measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Closed loop: N subscribers, one publisher with a window of messages
    /// in flight, delivered messages/s and latency.
    Fanout,
    /// Open loop: N subscribers, one publisher at fixed rates, ramped until
    /// a rate is not sustained (too few delivered or p99 too high).
    OpenLoop,
    /// Idle connections, server RSS per connection.
    Idle,
    /// Throughput vs subscriber count and vs payload size: the closed loop
    /// again at each point of --sweep-subscribers and --sweep-payloads, a
    /// fresh server for each, measured for --sweep-duration.
    Sweep,
    /// Capacity: --capacity-connections idle connections held at once by
    /// one hub, from several loopback source addresses; how many opened.
    Capacity,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_issue() {
        let args = Args::try_parse_from(["telltale-bench"]).unwrap();
        assert_eq!(args.subscribers, 1000);
        assert_eq!(args.payload_bytes, 100);
        assert_eq!(args.idle_connections, 10_000);
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(
            args.targets,
            [Target::Hub, Target::HubRedis, Target::Gorilla, Target::Node]
        );
        assert_eq!(args.redis_server, PathBuf::from("redis-server"));
        assert_eq!(
            args.scenarios,
            [
                Scenario::Fanout,
                Scenario::OpenLoop,
                Scenario::Idle,
                Scenario::Sweep,
                Scenario::Capacity
            ]
        );
        assert_eq!(args.sweep_subscribers, [100, 1000, 5000, 10_000]);
        assert_eq!(args.sweep_payload_bytes, 100);
        assert_eq!(args.sweep_payloads, [100, 1024, 16_384]);
        assert_eq!(args.sweep_payload_subscribers, 1000);
        assert_eq!(args.sweep_duration, Duration::from_secs(3));
        args.validate().unwrap();
        assert_eq!(args.capacity_connections, 15_000);
        assert!(args.source_addresses > 1);
        assert_eq!(args.open_loop_rates[..4], [10_000, 20_000, 50_000, 100_000]);
        assert!(args.open_loop_rates.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(args.open_loop_max_p99, Duration::from_millis(100));
        assert_eq!(args.open_loop_min_delivered, 99.0);
    }

    #[test]
    fn the_redis_target_is_named_on_the_command_line_and_runs_the_fanout_only() {
        let args = Args::try_parse_from(["telltale-bench", "--targets", "hub-redis"]).unwrap();
        assert_eq!(args.targets, [Target::HubRedis]);
        assert!(Target::HubRedis.is_hub() && !Target::Node.is_hub());
        assert!(Target::HubRedis.runs(Scenario::Fanout));
        assert!(!Target::HubRedis.runs(Scenario::Idle));
        assert!(!Target::HubRedis.runs(Scenario::OpenLoop));
        assert!(!Target::HubRedis.runs(Scenario::Sweep));
        for target in [Target::Hub, Target::Gorilla, Target::Node] {
            assert!(target.runs(Scenario::OpenLoop) && target.runs(Scenario::Idle));
            assert!(target.runs(Scenario::Sweep));
        }
        assert!(Target::Hub.runs(Scenario::Capacity));
        for target in [Target::HubRedis, Target::Gorilla, Target::Node] {
            assert!(!target.runs(Scenario::Capacity));
        }
        let args =
            Args::try_parse_from(["telltale-bench", "--scenarios", "open-loop,fanout"]).unwrap();
        assert_eq!(args.scenarios, [Scenario::OpenLoop, Scenario::Fanout]);
    }

    #[test]
    fn hub_args_may_look_like_flags() {
        let args = Args::try_parse_from([
            "telltale-bench",
            "--hub-arg",
            "--ping-interval",
            "--hub-arg",
            "5s",
        ])
        .unwrap();
        assert_eq!(args.hub_args, ["--ping-interval", "5s"]);
    }

    #[test]
    fn soak_is_a_subcommand_with_its_own_defaults() {
        let args = Args::try_parse_from(["telltale-bench"]).unwrap();
        assert!(args.command.is_none());
        let args = Args::try_parse_from([
            "telltale-bench",
            "soak",
            "--duration",
            "30s",
            "--hub",
            "target/debug/telltale-hub",
        ])
        .unwrap();
        let Some(Command::Soak(soak)) = args.command else {
            panic!("not soak");
        };
        assert_eq!(soak.duration, Duration::from_secs(30));
        assert_eq!(soak.clients, 2000);
        assert_eq!(soak.hub, PathBuf::from("target/debug/telltale-hub"));
        soak.validate().unwrap();
        let defaults = Args::try_parse_from(["telltale-bench", "soak"]).unwrap();
        let Some(Command::Soak(defaults)) = defaults.command else {
            panic!("not soak");
        };
        assert_eq!(defaults.duration, Duration::from_secs(300));
        // The fan-out flags do not mix with the subcommand.
        assert!(Args::try_parse_from(["telltale-bench", "--subscribers", "5", "soak"]).is_err());
        let bad =
            Args::try_parse_from(["telltale-bench", "soak", "--churn-percent", "150"]).unwrap();
        let Some(Command::Soak(bad)) = bad.command else {
            panic!("not soak");
        };
        assert!(bad.validate().unwrap_err().contains("--churn-percent"));
    }
}
