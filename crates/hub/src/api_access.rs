//! What an HTTP API key may do: the admin `--api-key` everything, a
//! `--publish-key` only publish metrics and alarms.
//!
//! A publish key is what a machine that feeds the hub (a script, an agent on
//! another host) holds: if it leaks, the holder can push samples and alarms
//! but cannot read history, list channels or presence, or disconnect users.
//! Its scope is fixed (`metrics:*` and `alarms`) because those are the two
//! channels the hub's own payloads live on; anything broader needs the admin
//! key.
//!
//! The check runs in two steps so that a refused request costs the hub as
//! little as possible: [`Access::method`] before the body is read, then
//! [`Access::body`] on the read body, before anything is published.

use subtle::{Choice, ConstantTimeEq};
use telltale_protocol::api::{BatchRequest, BroadcastRequest, PublishRequest};

use crate::config::Config;

/// The namespace prefix a publish key may publish under.
const METRICS_PREFIX: &str = "metrics:";
/// The one other channel a publish key may publish on.
const ALARMS: &str = "alarms";

/// What the key presented to the API may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The `--api-key`: every method, every channel.
    Admin,
    /// A `--publish-key`: `publish`, `broadcast` and `batch` of those, on
    /// `metrics:*` and `alarms` only.
    Publish,
}

/// Why a publish key's request was refused: a one-line message for the
/// HTTP 403 body that says what the key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Access {
    /// The access `presented` grants under `config`; `None` for a missing or
    /// unknown key (401). Every configured key is compared, in constant time,
    /// whichever matches, so the timing tells nothing about which key or how
    /// much of one was right.
    pub fn of(presented: Option<&str>, config: &Config) -> Option<Self> {
        let presented = presented?.as_bytes();
        let admin = config
            .api_key
            .as_deref()
            .map_or(Choice::from(0), |key| presented.ct_eq(key.as_bytes()));
        let publish = config
            .publish_keys
            .iter()
            .fold(Choice::from(0), |any, key| {
                any | presented.ct_eq(key.as_bytes())
            });
        if bool::from(admin) {
            Some(Access::Admin)
        } else if bool::from(publish) {
            Some(Access::Publish)
        } else {
            None
        }
    }

    /// Whether this key may call `method` at all; checked before the body is
    /// read, so a forbidden method never costs a body's worth of memory.
    pub fn method(self, method: &str) -> Result<(), Refusal> {
        match (self, method) {
            (Access::Admin, _) | (Access::Publish, "publish" | "broadcast" | "batch") => Ok(()),
            (Access::Publish, _) => Err(refusal(&format!("/api/{method}"))),
        }
    }

    /// Whether this key may run the request `body` of `method` (already
    /// allowed by [`Access::method`]): every channel it publishes on, and
    /// for a batch every command, must be in the key's scope. A body that
    /// does not decode passes: the API answers it with the same decoding
    /// error an admin would get, and it publishes nothing.
    pub fn body(self, method: &str, body: &[u8]) -> Result<(), Refusal> {
        if self == Access::Admin {
            return Ok(());
        }
        match method {
            "publish" => match serde_json::from_slice::<PublishRequest>(body) {
                Ok(request) => channels([&request.channel]),
                Err(_) => Ok(()),
            },
            "broadcast" => match serde_json::from_slice::<BroadcastRequest>(body) {
                Ok(request) => channels(&request.channels),
                Err(_) => Ok(()),
            },
            "batch" => match serde_json::from_slice::<BatchRequest>(body) {
                Ok(request) => request.commands.iter().try_for_each(|command| {
                    if command.history.is_some() {
                        return Err(refusal("history"));
                    }
                    if command.channels.is_some() {
                        return Err(refusal("channels"));
                    }
                    if command.info.is_some() {
                        return Err(refusal("info"));
                    }
                    if let Some(publish) = &command.publish {
                        channels([&publish.channel])?;
                    }
                    if let Some(broadcast) = &command.broadcast {
                        channels(&broadcast.channels)?;
                    }
                    Ok(())
                }),
                Err(_) => Ok(()),
            },
            other => Err(refusal(&format!("/api/{other}"))),
        }
    }
}

/// Whether a publish key may publish on `channel`.
pub fn in_publish_scope(channel: &str) -> bool {
    channel == ALARMS
        || channel
            .strip_prefix(METRICS_PREFIX)
            .is_some_and(|rest| !rest.is_empty())
}

fn channels<'a>(names: impl IntoIterator<Item = &'a String>) -> Result<(), Refusal> {
    match names.into_iter().find(|c| !in_publish_scope(c)) {
        Some(channel) => Err(refusal(&format!("channel {channel:?}"))),
        None => Ok(()),
    }
}

fn refusal(what: &str) -> Refusal {
    Refusal(format!(
        "this key may only publish on metrics:* and alarms (--publish-key); use the --api-key for {what}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config {
            api_key: Some("admin".into()),
            publish_keys: vec!["pub-1".into(), "pub-2".into()],
            ..Config::default()
        }
    }

    #[test]
    fn keys_map_to_their_access() {
        let config = config();
        assert_eq!(Access::of(Some("admin"), &config), Some(Access::Admin));
        assert_eq!(Access::of(Some("pub-2"), &config), Some(Access::Publish));
        assert_eq!(Access::of(Some("pub"), &config), None);
        assert_eq!(Access::of(None, &config), None);
        assert_eq!(Access::of(Some("admin"), &Config::default()), None);
    }

    #[test]
    fn a_publish_key_may_only_publish_on_metrics_and_alarms() {
        let key = Access::Publish;
        for method in ["publish", "broadcast", "batch"] {
            assert_eq!(key.method(method), Ok(()));
        }
        for method in ["history", "info", "channels", "presence", "disconnect", "x"] {
            let Refusal(message) = key.method(method).unwrap_err();
            assert!(message.contains("--api-key") && message.contains(method));
        }
        let ok = br#"{"channel":"metrics:web-1","data":{}}"#;
        assert_eq!(key.body("publish", ok), Ok(()));
        assert!(key.body("publish", br#"{"channel":"news"}"#).is_err());
        assert!(key.body("publish", br#"{"channel":"metrics:"}"#).is_err());
        assert!(key
            .body("broadcast", br#"{"channels":["alarms","private:x"]}"#)
            .is_err());
        let batch =
            br#"{"commands":[{"publish":{"channel":"alarms"}},{"history":{"channel":"alarms"}}]}"#;
        assert!(key.body("batch", batch).unwrap_err().0.contains("history"));
        assert_eq!(Access::Admin.method("disconnect"), Ok(()));
        assert_eq!(Access::Admin.body("batch", batch), Ok(()));
    }
}
