//! Wire types shared by the Telltale hub, its Rust client and the desktop app.
//!
//! The hub speaks a subset of the Centrifugo client protocol v2 in its JSON
//! form and of the Centrifugo server HTTP API, so the official Centrifugo SDKs
//! work against it unmodified. `docs/protocol.md` lists the codes and limits
//! the hub answers with.
//!
//! # Layout
//!
//! - [`command`]: what a client sends (`connect`, `subscribe`, `rpc`, ...).
//! - [`reply`]: what the server answers (replies, pushes, publications).
//! - [`codes`]: error codes and disconnect (close) codes.
//! - [`api`]: request and result bodies of the HTTP server API.
//! - [`payload`]: Telltale's own payloads carried in publications and RPCs
//!   (`MetricSample`, `Alarm`, the catalog).
//! - [`frame`]: splitting and joining newline-delimited JSON frames.
//!
//! With the `ts` feature, the payloads the desktop app hands to its UI
//! derive `ts_rs::TS`, so the UI's TypeScript types are generated from them.
#![deny(missing_docs)]

pub mod api;
pub mod codes;
pub mod command;
pub mod frame;
pub mod payload;
pub mod reply;

pub use codes::{Disconnect, ErrorCode};
pub use command::{Command, Method};
pub use payload::{Alarm, AlarmState, MetricSample, Severity};
pub use reply::{Publication, Push, Reply, ReplyError};

/// Raw, already-serialized JSON carried through untouched (publication data,
/// RPC data). Kept raw so the hub serializes a publication exactly once.
pub type RawJson = Box<serde_json::value::RawValue>;

/// Name of the channel that carries alarm publications.
pub const ALARMS_CHANNEL: &str = "alarms";

/// Prefix of channels that carry metric samples: `metrics:<source>`.
pub const METRICS_PREFIX: &str = "metrics:";

/// Returns `true` for the zero value of any `Default + PartialEq` type; used
/// to leave zero values out of the JSON, as Centrifugo does.
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}
