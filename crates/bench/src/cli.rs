//! Command-line flags of `telltale-bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// telltale-bench: fan-out throughput, publish→receive latency and idle
/// memory per connection of telltale-hub, side by side with a Node `ws`
/// broadcast server, in the same run, on 127.0.0.1 only.
///
/// Both servers are started as child processes (pinned to --server-cpu, the
/// bench itself to --bench-cpu, when `taskset` exists and there are at least
/// two CPUs), measured, then stopped. The result is printed as a markdown
/// table; --write also writes it with the machine and the command to a file.
#[derive(Debug, Clone, Parser)]
#[command(name = "telltale-bench", version)]
pub struct Args {
    /// The telltale-hub binary.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "target/release/telltale-hub"
    )]
    pub hub: PathBuf,

    /// Extra argument passed to the hub (repeatable), after the bench's own
    /// `--listen 127.0.0.1:0 --allow-anonymous --allow-client-publish
    /// --client-queue-bytes N`.
    #[arg(long = "hub-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub hub_args: Vec<String>,

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

    /// Servers to measure, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "hub,node")]
    pub targets: Vec<Target>,

    /// Scenarios to run, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "fanout,idle")]
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

    /// Idle: connections to open (connected and subscribed).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub idle_connections: usize,

    /// Idle: wait after the last connection before reading the server's RSS.
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

    /// Hub --client-queue-bytes: large, so bench subscribers are not cut as
    /// slow while the publisher's window bounds what is queued.
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

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// telltale-hub (Centrifugo JSON protocol).
    Hub,
    /// The Node `ws` broadcast server.
    Node,
}

impl Target {
    /// Name used in tables.
    pub fn label(self) -> &'static str {
        match self {
            Target::Hub => "telltale-hub",
            Target::Node => "Node ws",
        }
    }
}

/// A measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// N subscribers, one publisher, delivered messages/s and latency.
    Fanout,
    /// Idle connections, server RSS per connection.
    Idle,
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
        assert_eq!(args.targets, [Target::Hub, Target::Node]);
        assert_eq!(args.scenarios, [Scenario::Fanout, Scenario::Idle]);
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
}
