//! `telltale-tail`: follows hub channels and prints each publication as one
//! JSON line `{"channel","offset","data"}` on stdout; connection states,
//! subscriptions, gaps and errors go to stderr.
//!
//! It reconnects and recovers like any telltale-client user, so a dropped
//! link shows up on stderr while stdout stays a clean, exactly-once stream.
//! Exit status: 0 after `--count` publications, Ctrl-C or a closed stream;
//! 1 when the client gives up (terminal disconnect such as a bad token) or
//! every channel was refused; 2 for bad arguments.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use telltale_client::{Client, Endpoint, Event, HubAccess, Options};

const ABOUT: &str = "Print publications of Telltale hub channels as JSON lines";

const AFTER_HELP: &str = "\
Each publication is one line on stdout: {\"channel\":...,\"offset\":...,\"data\":...}
Connection states, subscriptions, gaps and errors are written to stderr.

Examples:
  telltale-tail alarms
  telltale-tail --server ws://10.0.0.5:8000/connection/websocket alarms metrics:web-1
  telltale-tail --server wss://hub.example/connection/websocket --ca-file hub-ca.pem alarms
  telltale-tail --token-command 'vault kv get -field=jwt secret/telltale' alarms
  telltale-tail --count 1 alarms | jq .data.title";

#[derive(Parser, Debug)]
#[command(name = "telltale-tail", version, about = ABOUT, after_help = AFTER_HELP)]
struct Args {
    /// Hub WebSocket URL, ws://HOST:PORT/connection/websocket (wss:// for
    /// TLS).
    #[arg(
        long,
        value_name = "URL",
        env = "TELLTALE_SERVER",
        default_value = "ws://127.0.0.1:8000/connection/websocket",
        value_parser = parse_server
    )]
    server: Endpoint,

    #[command(flatten)]
    access: HubAccess,

    /// Exit after printing this many publications.
    #[arg(long, value_name = "N")]
    count: Option<u64>,

    /// Channels to follow, e.g. `alarms` or `metrics:HOST`.
    #[arg(required = true, value_name = "CHANNEL")]
    channels: Vec<String>,
}

fn parse_server(url: &str) -> Result<Endpoint, String> {
    Endpoint::parse(url).map_err(|e| e.to_string())
}

fn note(message: std::fmt::Arguments<'_>) {
    eprintln!("telltale-tail: {message}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();

    let options = match Options::new(args.server.as_str()) {
        Ok(options) => options,
        Err(e) => {
            note(format_args!("{e}"));
            return ExitCode::from(2);
        }
    };
    // A bad CA file is an argument mistake: say so now, not on each reconnect.
    let options = match args.access.apply(options) {
        Ok(options) => options,
        Err(e) => {
            note(format_args!("{e}"));
            return ExitCode::from(2);
        }
    };
    let (client, mut events) = Client::new(options);
    let mut channels: BTreeSet<String> = args.channels.iter().cloned().collect();
    for channel in &channels {
        if client.subscribe(channel.clone()).is_err() {
            note(format_args!("the client stopped before subscribing"));
            return ExitCode::FAILURE;
        }
    }

    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut printed = 0u64;
    let mut stdout = std::io::stdout();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = &mut ctrl_c => {
                client.close();
                return ExitCode::SUCCESS;
            }
        };
        let Some(event) = event else {
            return ExitCode::SUCCESS;
        };
        match event {
            Event::Publication(publication) => {
                let line = serde_json::to_string(&publication).expect("publications serialize");
                if writeln!(stdout, "{line}").is_err() {
                    // The reader went away (e.g. `| head`): done.
                    client.close();
                    return ExitCode::SUCCESS;
                }
                printed += 1;
                if args.count.is_some_and(|n| printed >= n) {
                    let _ = stdout.flush();
                    client.close();
                    return ExitCode::SUCCESS;
                }
            }
            Event::State(state) => {
                note(format_args!("{state}"));
                if state.is_terminal() {
                    return ExitCode::FAILURE;
                }
            }
            Event::Subscribed {
                channel,
                was_recovering,
                recovered,
                ..
            } => {
                let how = match (was_recovering, recovered) {
                    (false, _) => "",
                    (true, true) => " (missed publications recovered)",
                    (true, false) => " (recovery failed)",
                };
                note(format_args!("subscribed to {channel}{how}"));
            }
            Event::Gap {
                channel,
                last_seen,
                now,
            } => {
                let seen = last_seen
                    .map(|p| format!("offset {} (epoch {})", p.offset, p.epoch))
                    .unwrap_or_else(|| "the start".into());
                note(format_args!(
                    "gap on {channel}: publications after {seen} are lost; continuing after offset {} (epoch {})",
                    now.offset, now.epoch
                ));
            }
            Event::Unsubscribed {
                channel,
                code,
                reason,
            } => {
                note(format_args!(
                    "unsubscribed from {channel}: {reason} (code {code})"
                ));
                channels.remove(&channel);
                if channels.is_empty() {
                    note(format_args!("no channel left to follow"));
                    client.close();
                    return ExitCode::FAILURE;
                }
            }
            Event::Lagged { dropped } => {
                note(format_args!(
                    "output too slow: {dropped} metric publications dropped"
                ));
            }
            Event::Error(error) => note(format_args!("{error}")),
        }
    }
}
