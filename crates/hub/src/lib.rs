//! telltale-hub: a realtime push server speaking the Centrifugo client
//! protocol (JSON) and HTTP API.
//!
//! The classic hub (register, unregister, broadcast, ping/pong, write
//! deadlines) grown into a server with channels, history and recovery,
//! bounded client queues, JWT auth, an HTTP API and Prometheus metrics.
//!
//! # Layout
//!
//! - [`server`]: the accept loop, the HTTP router, graceful shutdown.
//! - [`web`]: the web UI (`ui/dist`, in the binary) at `/` with `--web`.
//! - [`host`]: the Host check that stops DNS rebinding.
//! - [`tls`]: `wss://` and `https://` from PEM files, reloaded on SIGHUP.
//! - [`admission`]: connection budgets (per IP, HTTP, before and after
//!   `connect`).
//! - [`rate_limit`]: the token bucket behind a connection's command rate.
//! - [`sweeper`]: the background sweep that frees expired history, idle
//!   channels and sources unseen for `--catalog-forget-after`.
//! - [`websocket`]: the upgrade request (origin check, limits) → a session.
//! - [`session`]: one connection: commands, replies, heartbeat.
//! - [`read_on_demand`]: an idle connection holds no read buffer.
//! - [`writer`]: a connection's bounded queue and its coalescing writer.
//! - [`node`]: the one publish path and subscribe-with-recovery.
//! - [`hub`]: who is connected and subscribed on this node.
//! - [`broker`]: history, fan-out and the state nodes share, behind a trait:
//!   in memory for one node, in Redis for several.
//! - [`lease`]: which node of several runs the cluster's duties.
//! - [`history`]: one channel's bounded stream with offsets and an epoch.
//! - [`api`]: the HTTP server API (`/api/<method>`).
//! - [`auth`]: connection JWTs and the API key.
//! - [`api_access`]: what an API key may do (admin, or publish only).
//! - [`alert_ingest`]: `/api/alertmanager` and `/api/grafana`, alerts in as
//!   alarms; [`alert_webhook`] maps them, [`grafana_signature`] checks
//!   Grafana's HMAC.
//! - [`silences`]: acknowledgements out to Alertmanager, as silences kept
//!   until the alarm resolves.
//! - [`permissions`]: who may subscribe, read and publish, per namespace.
//! - [`rpc`], [`alarms`], [`catalog`]: Telltale's RPC methods and the state
//!   they answer from.
//! - [`staleness`]: silent sources raise `<source>/silent` alarms.
//! - [`collector`]: this machine's metrics.
//! - [`rules`]: alarm rules as data and the engine that evaluates them for
//!   every source.
//! - [`reload`]: SIGHUP: alarm rules and TLS certificates read again.
//! - [`metrics`]: Prometheus metrics.
//! - [`config`], [`cli`]: settings from defaults, a TOML file, env and flags.
//! - [`channel`]: channel name rules.
#![deny(missing_docs)]

pub mod admission;
pub mod alarms;
pub mod alert_ingest;
pub mod alert_webhook;
pub mod api;
pub mod api_access;
pub mod auth;
pub mod broker;
pub mod catalog;
pub mod channel;
pub mod cli;
pub mod collector;
pub mod config;
pub mod grafana_signature;
pub mod history;
pub mod host;
pub mod hub;
pub mod lease;
pub mod metrics;
pub mod node;
pub mod permissions;
pub mod rate_limit;
pub mod read_on_demand;
pub mod reload;
pub mod rpc;
pub mod rules;
pub mod server;
pub mod session;
pub mod silences;
pub mod staleness;
pub mod sweeper;
pub mod tls;
pub mod web;
pub mod websocket;
pub mod writer;

pub use config::Config;
pub use node::Node;
pub use server::Server;
