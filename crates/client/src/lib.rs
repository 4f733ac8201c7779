//! A resilient Rust client for the Telltale hub (no Tauri in it).
//!
//! It speaks the Centrifugo JSON protocol subset of `docs/protocol.md`
//! over tokio-tungstenite and keeps one connection alive: reconnect with
//! exponential backoff and full jitter (starting over only after a
//! connection stayed up for [`Options::stable_after`], so a hub that accepts
//! `connect` and closes at once is not re-dialed in a tight loop), a ping
//! watchdog for half-open
//! connections, subscriptions that survive reconnects and recover missed
//! publications exactly once (or report an explicit gap), and RPC/history
//! calls that always end, with a reply or a typed [`Error`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), telltale_client::Error> {
//! use telltale_client::{Client, Event, Options};
//!
//! let options = Options::new("ws://127.0.0.1:8000/connection/websocket")?;
//! let (client, mut events) = Client::new(options);
//! client.subscribe("alarms")?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         Event::Publication(p) => println!("{} #{}: {}", p.channel, p.offset, p.data),
//!         Event::Gap { channel, .. } if channel == "alarms" => {
//!             let active = client.active_alarms().await?; // resync
//!             println!("{} active alarms", active.len());
//!         }
//!         other => eprintln!("{other:?}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - `client.rs`: the [`Client`] handle (subscribe, rpc, history, close).
//! - `options.rs`: [`Options`], the URL (or several: one per node of a hub,
//!   dialed round robin, see [`Options::fallbacks`]), token, timeouts and
//!   bounds.
//! - `endpoint.rs`: [`Endpoint`], a validated `ws://` or `wss://HOST:PORT/PATH`.
//! - `tls.rs`: `wss://`: the system roots plus [`Options::ca_file`], the TLS
//!   dialer, and certificate errors in words (`tls/describe.rs`).
//! - `connection.rs`: the task that owns the socket, and what each way of
//!   ending a session means (reconnect or not); in `connection/`:
//!   `dial.rs` (dialer, upgrade, `connect` handshake), `session.rs` (the
//!   frame loop), `replies.rs` (reply and push dispatch), `refresh.rs`
//!   (renewing the token before the connection expires), `offline.rs`
//!   (commands while not connected).
//! - `access.rs`: [`HubAccess`], the token and `--ca-file` flags shared by
//!   `telltale-tail` and the desktop app.
//! - `token.rs`: [`TokenSource`], [`token_file`], [`token_command`].
//! - `backoff.rs`: reconnect delays, exponential with full jitter.
//! - `watchdog.rs`: declares a connection dead when pings stop.
//! - `subscription.rs`: positions, recovery, exactly-once delivery, gaps.
//! - `rpc.rs`: calls waiting for replies, [`HistoryQuery`], [`History`].
//! - `events.rs`: [`Event`], [`Publication`], [`Payload`].
//! - `follow.rs`: [`follow`]: a hub's alarms and every metric source as
//!   [`Update`]s, with resyncs after gaps; `follow/backfill.rs`: a source's
//!   recent history before its live samples.
//! - `queue.rs`: the [`Events`] stream: ordered, never blocks the
//!   connection, drops only metric samples when the reader lags.
//! - `state.rs`: [`State`] and the client's own disconnect [`code`]s.
//! - `error.rs`: [`Error`].
//! - `bin/telltale-tail.rs`: prints publications as JSON lines.
#![deny(missing_docs)]

pub mod access;
pub mod backoff;
pub mod client;
mod connection;
pub mod endpoint;
pub mod error;
pub mod events;
pub mod follow;
pub mod options;
pub mod queue;
pub mod rpc;
pub mod state;
mod subscription;
mod tls;
pub mod token;
pub mod watchdog;

pub use access::HubAccess;
pub use backoff::{Backoff, BackoffConfig};
pub use client::Client;
pub use endpoint::Endpoint;
pub use error::Error;
pub use events::{Event, Payload, Publication};
pub use follow::{follow, Following, Update};
pub use options::{Options, DEFAULT_STABLE_AFTER};
pub use queue::Events;
pub use rpc::{History, HistoryQuery};
pub use state::{code, State};
pub use telltale_protocol as protocol;
pub use telltale_protocol::command::StreamPosition;
pub use telltale_protocol::{Alarm, AlarmState, MetricSample, Severity};
pub use token::{token_command, token_file, TokenFuture, TokenSource};
