//! Who may subscribe, read history and presence, and publish, per namespace.
//!
//! A channel's namespace is the part of its name before the first `:`
//! (`metrics:web-1` → `metrics`, `private:payroll` → `private`), or the whole
//! name when it has none (`alarms` → `alarms`, `$admin` → `$admin`). Each
//! namespace has one [`Namespace`] rule in the hub's configuration, looked up
//! by exact name, else the `"*"` rule when one is configured; a namespace
//! with neither is closed to clients. The server API is never limited.
//! A `[namespaces.<name>]` table in the `--config` file is merged key by key
//! into the built-in rules: for `metrics` and `alarms` the keys it leaves
//! out keep their built-in values ([`Namespace::readable`]), for other
//! namespaces they take [`Namespace::default`].
//!
//! # Subscribe
//!
//! - An anonymous connection (no token) may subscribe iff the rule has
//!   `anonymous_subscribe` (and `subscribe` is not `none`, which closes a
//!   namespace to every client; the configuration refuses both together).
//! - A token connection, by the rule's `subscribe`: [`Subscribers::Any`]
//!   lets it in unless the token has a non-empty `channels` claim that
//!   matches none of its patterns; [`Subscribers::Claim`] only when the claim
//!   matches; [`Subscribers::None`] never.
//!
//! The `channels` claim is a list of glob patterns (`metrics:web-*`,
//! `private:pay*`, `alarms`); an entry that is not a valid pattern matches
//! nothing. Telltale reads the claim as a permission list, not as channels
//! to subscribe server-side as Centrifugo does: a client subscribes to what
//! it wants among what it may.
//!
//! # History, presence, publish
//!
//! Allowed iff the caller may subscribe to the channel *and* the rule's
//! `history` / `presence` / `publish` flag is on. Presence is off by default:
//! it names the users watching a channel.
//!
//! # Alarm acknowledgement
//!
//! `alarms.ack` and `alarms.silence` need the `ack` / `silence` capability
//! in the token (claim `telltale.caps`), see [`Access::has_cap`]; anonymous
//! connections may use them only on a hub started with `--anonymous-ack`,
//! and their changes are marked `(unverified)`.
//!
//! Every refusal is error 103 with a message that says what is missing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use telltale_protocol::{ErrorCode, ReplyError};

use crate::auth::Credentials;

/// Which token holders may subscribe to a namespace's channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subscribers {
    /// Any valid token (still limited by the token's `channels` claim when
    /// it has one).
    Any,
    /// Only tokens whose `channels` claim matches the channel.
    Claim,
    /// No client; only the server API reads and writes these channels.
    None,
}

/// The rule for one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Namespace {
    /// Connections without a token may subscribe.
    pub anonymous_subscribe: bool,
    /// Which token holders may subscribe.
    pub subscribe: Subscribers,
    /// Whoever may subscribe may also read the history.
    pub history: bool,
    /// Whoever may subscribe may also read presence (who is subscribed).
    pub presence: bool,
    /// Whoever may subscribe may also publish with the `publish` command.
    pub publish: bool,
}

/// A namespace written in the configuration without settings: tokens whose
/// `channels` claim matches may subscribe; nothing else.
impl Default for Namespace {
    fn default() -> Self {
        Self {
            anonymous_subscribe: false,
            subscribe: Subscribers::Claim,
            history: false,
            presence: false,
            publish: false,
        }
    }
}

impl Namespace {
    /// Readable by anyone allowed to connect, with history: the default for
    /// `metrics` and `alarms`.
    pub fn readable() -> Self {
        Self {
            anonymous_subscribe: true,
            subscribe: Subscribers::Any,
            history: true,
            presence: false,
            publish: false,
        }
    }

    /// Everything open to everyone: for tests and trusted single-user hubs.
    pub fn open() -> Self {
        Self {
            anonymous_subscribe: true,
            subscribe: Subscribers::Any,
            history: true,
            presence: true,
            publish: true,
        }
    }
}

/// Checks configured rules: a name with `:` could never match a namespace,
/// and `subscribe = "none"` with `anonymous_subscribe = true` contradicts
/// itself (`none` wins at run time). The error names the table to fix.
pub fn check_rules(namespaces: &BTreeMap<String, Namespace>) -> Result<(), String> {
    for (name, rule) in namespaces {
        if name.contains(':') || name.is_empty() {
            return Err(format!(
                "{}: a namespace is the part of a channel name before the first ':', so it cannot be empty or contain ':' (for channels like {name}… write the part before ':')",
                table(name)
            ));
        }
        if rule.subscribe == Subscribers::None && rule.anonymous_subscribe {
            return Err(format!(
                "{}: subscribe = \"none\" closes the namespace to every client, but anonymous_subscribe = true opens it; remove one",
                table(name)
            ));
        }
    }
    Ok(())
}

/// The namespace of `channel`: the part before the first `:`, or the whole
/// name.
pub fn namespace_of(channel: &str) -> &str {
    channel.split_once(':').map_or(channel, |(ns, _)| ns)
}

/// What a client asks to do with a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `subscribe`.
    Subscribe,
    /// `history`.
    History,
    /// `presence` and `presence_stats`.
    Presence,
    /// `publish`.
    Publish,
}

impl Action {
    /// The label of this action in `permission_denied_total`.
    pub fn label(self) -> &'static str {
        match self {
            Action::Subscribe => "subscribe",
            Action::History => "history",
            Action::Presence => "presence",
            Action::Publish => "publish",
        }
    }

    /// How a refusal message says it: "may not {verb} \"ch\"".
    fn verb(self) -> &'static str {
        match self {
            Action::Subscribe => "subscribe to",
            Action::History => "read the history of",
            Action::Presence => "read the presence of",
            Action::Publish => "publish to",
        }
    }

    /// The namespace flag this action needs besides the right to subscribe.
    fn flag(self, rule: &Namespace) -> Option<(bool, &'static str)> {
        match self {
            Action::Subscribe => None,
            Action::History => Some((rule.history, "history")),
            Action::Presence => Some((rule.presence, "presence")),
            Action::Publish => Some((rule.publish, "publish")),
        }
    }
}

/// The `channels` claim of a token as glob patterns. An entry that is not
/// a valid pattern is kept as `None`: it matches nothing, but the claim still
/// counts as given (a token that names only bad patterns is not let in by
/// [`Subscribers::Any`]).
#[derive(Debug, Clone, Default)]
pub struct ChannelClaim(Vec<Option<glob::Pattern>>);

impl ChannelClaim {
    /// Compiles the claim's entries.
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Self {
        Self(
            entries
                .iter()
                .map(|e| glob::Pattern::new(e.as_ref()).ok())
                .collect(),
        )
    }

    /// Whether the token named no channels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether one of the patterns matches `channel`.
    pub fn matches(&self, channel: &str) -> bool {
        self.0.iter().flatten().any(|p| p.matches(channel))
    }
}

/// Capability that lets a token acknowledge alarms.
pub const CAP_ACK: &str = "ack";
/// Capability that lets a token silence alarms.
pub const CAP_SILENCE: &str = "silence";
/// Every capability a token may carry in `telltale.caps`.
pub const CAPS: [&str; 2] = [CAP_ACK, CAP_SILENCE];

/// What a connection's credentials let it do, beyond the namespace rules.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Connected with a token (`false`: anonymous).
    pub token: bool,
    /// The token's `channels` claim.
    pub channels: ChannelClaim,
    /// The token's capabilities (`telltale.caps`).
    pub caps: Vec<String>,
}

impl Access {
    /// The access of verified credentials.
    pub fn new(credentials: &Credentials) -> Self {
        Self {
            token: credentials.token,
            channels: ChannelClaim::new(&credentials.channels),
            caps: credentials.caps.clone(),
        }
    }

    /// Whether the token carries capability `cap` (anonymous connections
    /// carry none).
    pub fn has_cap(&self, cap: &str) -> bool {
        self.token && self.caps.iter().any(|c| c == cap)
    }
}

/// Who is calling an RPC: the connection's user and access.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// User from the token ("" when anonymous).
    pub user: &'a str,
    /// What the connection may do.
    pub access: &'a Access,
}

/// The namespace rules of a hub.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    namespaces: BTreeMap<String, Namespace>,
}

/// The rule that applies to a namespace and the key it is configured under.
struct Found<'a> {
    key: &'a str,
    rule: &'a Namespace,
}

impl Permissions {
    /// Rules by namespace name (`"*"`: every other namespace).
    pub fn new(namespaces: BTreeMap<String, Namespace>) -> Self {
        Self { namespaces }
    }

    /// The rule for `namespace`: its own, else `"*"`, else none (closed).
    pub fn rule(&self, namespace: &str) -> Option<&Namespace> {
        self.find(namespace).map(|found| found.rule)
    }

    fn find(&self, namespace: &str) -> Option<Found<'_>> {
        self.namespaces
            .get_key_value(namespace)
            .or_else(|| self.namespaces.get_key_value("*"))
            .map(|(key, rule)| Found { key, rule })
    }

    /// Whether `access` may do `action` on `channel`; the error says what is
    /// missing.
    pub fn check(&self, access: &Access, action: Action, channel: &str) -> Result<(), Refusal> {
        let namespace = namespace_of(channel);
        let found = self.admit(access, namespace, action.verb(), channel)?;
        if access.token && !access.channels.is_empty() && !access.channels.matches(channel) {
            return Err(Refusal::new(format!(
                "the token's channels claim does not match {channel:?}"
            )));
        }
        match action.flag(found.rule) {
            Some((false, flag)) => Err(Refusal::new(format!(
                "namespace {namespace:?} does not allow {flag} (set {flag} = true under {})",
                table(found.key)
            ))),
            _ => Ok(()),
        }
    }

    /// Whether `access` may subscribe to some channels of `namespace` at all
    /// (the rule, before the token's claim is matched against a channel).
    pub fn check_namespace(&self, access: &Access, namespace: &str) -> Result<(), Refusal> {
        let example = format!("{namespace}:…");
        self.admit(access, namespace, "subscribe to", &example)
            .map(|_| ())
    }

    fn admit<'a>(
        &'a self,
        access: &Access,
        namespace: &str,
        verb: &str,
        channel: &str,
    ) -> Result<Found<'a>, Refusal> {
        let who = match access.token {
            true => "this token",
            false => "anonymous connections",
        };
        let Some(found) = self.find(namespace) else {
            return Err(Refusal::new(format!(
                "{who} may not {verb} {channel:?} (namespace {namespace:?} has no rule; see docs/security.md)"
            )));
        };
        let why = match (access.token, found.rule.subscribe) {
            (_, Subscribers::None) => {
                format!("namespace {namespace:?} is for the server API only")
            }
            (false, _) if found.rule.anonymous_subscribe => return Ok(found),
            (false, _) => format!(
                "namespace {namespace:?} needs a token; set anonymous_subscribe = true under {} to open it",
                table(found.key)
            ),
            (true, Subscribers::Any) => return Ok(found),
            (true, Subscribers::Claim) if !access.channels.is_empty() => return Ok(found),
            (true, Subscribers::Claim) => format!(
                "namespace {namespace:?} needs a token whose channels claim matches"
            ),
        };
        Err(Refusal::new(format!(
            "{who} may not {verb} {channel:?} ({why}; see docs/security.md)"
        )))
    }
}

/// The TOML table of a namespace rule, quoted when the name needs it.
fn table(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match bare {
        true => format!("[namespaces.{key}]"),
        false => format!("[namespaces.{key:?}]"),
    }
}

/// A permission refusal: error 103 with a message saying what is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Refusal {
    /// A refusal because of `why` (what is missing, and how to get it).
    pub fn new(why: String) -> Self {
        Self(format!("permission denied: {why}"))
    }
}

impl From<Refusal> for ReplyError {
    fn from(refusal: Refusal) -> Self {
        ReplyError::with_message(ErrorCode::PermissionDenied, refusal.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anonymous() -> Access {
        Access::default()
    }

    fn token(channels: &[&str]) -> Access {
        Access {
            token: true,
            channels: ChannelClaim::new(channels),
            caps: Vec::new(),
        }
    }

    fn rules(entries: &[(&str, Namespace)]) -> Permissions {
        Permissions::new(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn defaults() -> Permissions {
        Permissions::new(crate::Config::default().namespaces)
    }

    #[test]
    fn namespace_is_the_part_before_the_first_colon() {
        assert_eq!(namespace_of("alarms"), "alarms");
        assert_eq!(namespace_of("$admin"), "$admin");
        assert_eq!(namespace_of("private:payroll"), "private");
        assert_eq!(namespace_of("metrics:web:1"), "metrics");
        assert_eq!(namespace_of(":x"), "");
    }

    #[test]
    fn exact_rule_wins_over_star_and_unknown_is_closed() {
        let star = Namespace {
            presence: true,
            ..Namespace::readable()
        };
        let with_star = rules(&[("metrics", Namespace::readable()), ("*", star.clone())]);
        assert_eq!(with_star.rule("metrics"), Some(&Namespace::readable()));
        assert_eq!(with_star.rule("news"), Some(&star));
        assert_eq!(defaults().rule("news"), None);
    }

    #[test]
    fn defaults_let_anyone_read_metrics_and_alarms_and_nothing_else() {
        let p = defaults();
        for access in [anonymous(), token(&[])] {
            assert!(p.check(&access, Action::Subscribe, "metrics:web-1").is_ok());
            assert!(p.check(&access, Action::History, "alarms").is_ok());
            assert!(p.check(&access, Action::Presence, "alarms").is_err());
            assert!(p.check(&access, Action::Publish, "alarms").is_err());
            assert!(p
                .check(&access, Action::Subscribe, "private:payroll")
                .is_err());
            assert!(p.check(&access, Action::Subscribe, "$admin").is_err());
        }
        let refusal = p
            .check(&anonymous(), Action::Subscribe, "private:payroll")
            .unwrap_err();
        assert_eq!(
            refusal.0,
            "permission denied: anonymous connections may not subscribe to \"private:payroll\" (namespace \"private\" has no rule; see docs/security.md)"
        );
    }

    #[test]
    fn any_is_limited_by_a_non_empty_claim() {
        let p = defaults();
        let web = token(&["metrics:web-*", "alarms"]);
        assert!(p.check(&web, Action::Subscribe, "metrics:web-1").is_ok());
        assert!(p.check(&web, Action::Subscribe, "alarms").is_ok());
        let refusal = p
            .check(&web, Action::Subscribe, "metrics:db-1")
            .unwrap_err();
        assert!(
            refusal
                .0
                .contains("token's channels claim does not match \"metrics:db-1\""),
            "{refusal:?}"
        );
        let bad_patterns_only = token(&["[unclosed"]);
        assert!(p
            .check(&bad_patterns_only, Action::Subscribe, "alarms")
            .is_err());
        assert!(p
            .check(
                &token(&["[unclosed", "alarms"]),
                Action::Subscribe,
                "alarms"
            )
            .is_ok());
    }

    #[test]
    fn claim_needs_a_matching_claim_and_none_refuses_every_client() {
        let p = rules(&[
            (
                "private",
                Namespace {
                    history: true,
                    ..Namespace::default()
                },
            ),
            (
                "$admin",
                Namespace {
                    anonymous_subscribe: true,
                    subscribe: Subscribers::None,
                    ..Namespace::default()
                },
            ),
        ]);
        let payroll = token(&["private:pay*"]);
        assert!(p
            .check(&payroll, Action::Subscribe, "private:payroll")
            .is_ok());
        assert!(p
            .check(&payroll, Action::History, "private:payroll")
            .is_ok());
        assert!(p
            .check(&payroll, Action::Presence, "private:payroll")
            .is_err());
        assert!(p.check(&payroll, Action::Subscribe, "private:hr").is_err());
        assert!(p
            .check(&token(&[]), Action::Subscribe, "private:payroll")
            .is_err());
        assert!(p
            .check(&anonymous(), Action::Subscribe, "private:payroll")
            .is_err());
        assert!(p
            .check(&token(&["$admin"]), Action::Subscribe, "$admin")
            .is_err());
        assert!(p.check_namespace(&token(&[]), "private").is_err());
        assert!(p.check_namespace(&payroll, "private").is_ok());
    }

    #[test]
    fn flags_gate_history_presence_and_publish_with_a_hint() {
        let team = Namespace {
            subscribe: Subscribers::Any,
            presence: true,
            ..Namespace::default()
        };
        let p = rules(&[("team", team), ("*", Namespace::readable())]);
        assert!(p.check(&token(&[]), Action::Presence, "team:ops").is_ok());
        let refusal = p
            .check(&token(&[]), Action::History, "team:ops")
            .unwrap_err();
        assert!(
            refusal
                .0
                .contains("set history = true under [namespaces.team]"),
            "{refusal:?}"
        );
        let refusal = p.check(&token(&[]), Action::Publish, "news").unwrap_err();
        assert!(refusal.0.contains("[namespaces.\"*\"]"), "{refusal:?}");
        let refusal = p
            .check(&anonymous(), Action::Presence, "team:ops")
            .unwrap_err();
        assert!(refusal.0.contains("needs a token"), "{refusal:?}");
    }

    #[test]
    fn contradictory_or_unmatchable_rules_are_refused() {
        let named = |name: &str, rule: Namespace| BTreeMap::from([(name.to_owned(), rule)]);
        assert!(check_rules(&crate::Config::default().namespaces).is_ok());
        let colon = check_rules(&named("metrics:web", Namespace::readable())).unwrap_err();
        assert!(colon.contains("[namespaces.\"metrics:web\"]"), "{colon}");
        let contradiction = Namespace {
            anonymous_subscribe: true,
            subscribe: Subscribers::None,
            ..Namespace::default()
        };
        let err = check_rules(&named("$admin", contradiction)).unwrap_err();
        assert!(err.contains("remove one"), "{err}");
    }

    #[test]
    fn a_config_file_merges_into_the_built_in_rules_key_by_key() {
        let dir = std::env::temp_dir().join(format!("telltale-ns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hub.toml");
        std::fs::write(
            &path,
            "[namespaces.metrics]\npresence = true\n[namespaces.private]\nhistory = true\n",
        )
        .unwrap();
        let config = crate::Config::load(Some(&path), crate::cli::Args::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let metrics = Namespace {
            presence: true,
            ..Namespace::readable()
        };
        let private = Namespace {
            history: true,
            ..Namespace::default()
        };
        assert_eq!(config.namespaces.get("metrics"), Some(&metrics));
        assert_eq!(config.namespaces.get("private"), Some(&private));
        assert_eq!(
            config.namespaces.get("alarms"),
            Some(&Namespace::readable())
        );
    }

    #[test]
    fn caps_need_a_token() {
        let mut access = token(&[]);
        access.caps = vec!["ack".into()];
        assert!(access.has_cap(CAP_ACK));
        assert!(!access.has_cap(CAP_SILENCE));
        access.token = false;
        assert!(!access.has_cap(CAP_ACK));
    }
}
