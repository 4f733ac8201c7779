//! `telltale-hub`: run the push server, print a connection token with
//! `telltale-hub token`, or check a config file with `--check-config FILE`.
//! See `telltale-hub --help`.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use telltale_hub::cli::{Args, Command, TokenArgs};
use telltale_hub::Server;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    match runtime() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("telltale-hub: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime, sized to the CPUs this process may use.
///
/// Given one CPU (a `taskset`, a container's quota), a multi-thread runtime
/// still runs a worker thread beside the main one, the two take turns on
/// that CPU, and every wake-up pays for work stealing that can never
/// happen: a fan-out wakes a writer per subscriber, so that showed in its
/// cost. There, everything runs on the main thread instead.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

async fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut args = Args::parse();
    if let Some(Command::Token(token)) = args.command.take() {
        return print_token(&token, args);
    }
    if let Some(file) = args.check_config.take() {
        return match args.check_config(&file) {
            Ok(verdict) => {
                println!("{verdict}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("telltale-hub: {e}");
                ExitCode::from(2)
            }
        };
    }
    let config = match args.into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("telltale-hub: {e}");
            return ExitCode::from(2);
        }
    };
    // Every connection is a file descriptor; the usual soft limit of 1024
    // would cap the hub far below --max-connections.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open file limit");
    }
    if config.api_key.is_none() {
        tracing::warn!("no --api-key: the HTTP API answers 401 to every request");
    }
    if config.token_secret.is_none() && !config.allow_anonymous {
        tracing::warn!("neither --token-secret nor --allow-anonymous: no client can connect");
    }
    let server = match Server::bind(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("telltale-hub: {e:#}");
            return ExitCode::from(1);
        }
    };
    // One parseable line on stdout, for scripts and tests that use port 0.
    println!("telltale-hub listening on {}", server.local_addr());
    let _ = std::io::stdout().flush();
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("telltale-hub: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// `telltale-hub token`: the token alone on stdout, so that it can be
/// captured by a script (`TOKEN=$(telltale-hub token --user alice)`).
fn print_token(token: &TokenArgs, args: Args) -> ExitCode {
    match args.into_config().and_then(|config| token.mint(&config)) {
        Ok(jwt) => {
            println!("{jwt}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("telltale-hub: {e}");
            ExitCode::from(2)
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
