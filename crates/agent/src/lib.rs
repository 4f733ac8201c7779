//! telltale-agent: what one monitored host publishes to a Telltale hub.
//!
//! # Layout
//!
//! - [`agent`]: the tasks: sample, run checks, queue, send.
//! - [`check`]: Nagios-plugin compatible checks: run a command with a
//!   timeout, read its exit status, first line and performance data.
//! - [`config`]: settings from defaults, a TOML file, env and flags.
//! - [`host`]: this host's metrics (also the hub's `--collector`).
//! - [`outbox`]: what waits to be sent, in order, bounded while the hub
//!   is away (samples dropped oldest first, alarm transitions never).
//! - [`sender`]: the outbox to the hub's HTTP API, with one log line per
//!   outage.
//! - [`scrape`]: `[[scrape]]`: Prometheus exporters read every interval;
//!   [`exposition`] parses their text, [`selector`] picks the series and
//!   [`translate`] turns them into Telltale metrics (rates, names).
//! - [`perfdata`]: the plugin performance data format
//!   (`label=value[UOM];warn;crit;min;max`).
#![deny(missing_docs)]

pub mod agent;
pub mod check;
pub mod config;
pub mod exposition;
pub mod host;
pub mod outbox;
pub mod perfdata;
pub mod scrape;
pub mod selector;
pub mod sender;
pub mod translate;
