//! `telltale-agent`: publish this host's metrics and checks to a hub. See
//! `telltale-agent --help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde::Serialize;
use telltale_agent::config::AgentConfig;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// telltale-agent: publishes this host's CPU, memory, network, disk and load,
/// and the results of Nagios-plugin compatible checks, to a Telltale hub.
///
/// Settings come from defaults, then the optional --config TOML file (keys
/// are the flag names with underscores; checks are [[check]] tables with
/// name, command, interval, timeout; Prometheus exporters to read are
/// [[scrape]] tables with url, interval, source, metrics: see
/// docs/exporters.md), then environment variables, then flags.
#[derive(Debug, Parser, Serialize)]
#[command(name = "telltale-agent", version)]
struct Args {
    /// TOML file with settings and [[check]] tables.
    #[arg(long, env = "TELLTALE_AGENT_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    config: Option<PathBuf>,

    /// The hub's HTTP address [default: http://127.0.0.1:8000]
    #[arg(long, env = "TELLTALE_AGENT_HUB", value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    hub: Option<String>,

    /// API key: one of the hub's --publish-key values.
    #[arg(
        long,
        env = "TELLTALE_AGENT_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,

    /// Source name: metrics go to metrics:<source> [default: hostname]
    #[arg(long, env = "TELLTALE_AGENT_SOURCE", value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,

    /// How often this host is sampled [default: 1s]
    #[arg(long, env = "TELLTALE_AGENT_INTERVAL", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "duration")]
    interval: Option<Duration>,

    /// How much is kept while the hub is unreachable [default: 10m]
    #[arg(long, env = "TELLTALE_AGENT_BUFFER", value_name = "DURATION", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "duration")]
    buffer: Option<Duration>,
}

fn duration<S: serde::Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_str(&humantime::format_duration(*d).to_string()),
        None => s.serialize_none(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let config = match AgentConfig::load(args.config.as_ref(), &args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("telltale-agent: {e}");
            return ExitCode::from(2);
        }
    };
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        stop.cancel();
    });
    telltale_agent::agent::run(config, shutdown).await;
    ExitCode::SUCCESS
}
