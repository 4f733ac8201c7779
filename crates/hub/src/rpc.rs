//! Telltale's RPC methods, called with the `rpc` command.
//!
//! | method | data | result | needs |
//! |---|---|---|---|
//! | `alarms.active` | `{}` | `{"alarms":[..]}` | may subscribe to `alarms` |
//! | `alarms.ack` | `{"id","comment"?}` | `{"alarm"}`, also published on `alarms` | capability `ack` |
//! | `alarms.silence` | `{"id","until"}` | `{"alarm"}`, also published | capability `silence` |
//! | `catalog` | `{}` | `{"sources":[..]}`, those the caller may subscribe to | a right on `metrics` |

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use telltale_protocol::payload::{
    now_ms, ActiveAlarms, AlarmId, AlarmReply, Catalog, CatalogRequest, SilenceRequest,
    MAX_ACK_COMMENT_CHARS, RPC_ALARMS_ACK, RPC_ALARMS_ACTIVE, RPC_ALARMS_SILENCE, RPC_CATALOG,
};
use telltale_protocol::{
    Alarm, AlarmState, ErrorCode, RawJson, ReplyError, ALARMS_CHANNEL, METRICS_PREFIX,
};

use crate::node::{Node, PublishOptions};
use crate::permissions::{Action, Caller, Refusal, CAP_ACK, CAP_SILENCE};

/// Shortest time between two client changes of one alarm.
pub const CHANGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `method` changes an alarm (and so publishes on `alarms`).
pub fn changes_alarms(method: &str) -> bool {
    matches!(method, RPC_ALARMS_ACK | RPC_ALARMS_SILENCE)
}

/// Runs one RPC for `caller`.
///
/// `alarms.active` needs the right to subscribe to `alarms`; `catalog` lists
/// the sources whose `metrics:<source>` channel the caller may subscribe to;
/// `alarms.ack` and `alarms.silence` need the `ack` / `silence` capability
/// (or `--anonymous-ack` for anonymous connections) and the right to read
/// `alarms`. Refusals are 103, counted in `permission_denied_total`.
pub async fn call(
    node: &Node,
    caller: Caller<'_>,
    method: &str,
    data: Option<&RawValue>,
) -> Result<RawJson, ReplyError> {
    match method {
        RPC_ALARMS_ACTIVE => {
            may_read_alarms(node, caller, "rpc")?;
            to_raw(&ActiveAlarms {
                alarms: node.active_alarms().await?,
            })
        }
        RPC_CATALOG => {
            let request: CatalogRequest = parse(method, data, r#"{"offset":<n>,"limit":<n>}"#)?;
            to_raw(&catalog(node, caller, &request).await?)
        }
        RPC_ALARMS_ACK => {
            let by = may_change(node, caller, method, CAP_ACK)?;
            let AlarmId {
                id,
                by: claimed,
                comment,
            } = parse(method, data, r#"{"id":"<alarm id>","comment":"<text>"}"#)?;
            let comment = ack_comment(comment)?;
            let by = by.unwrap_or_else(|| unverified(claimed));
            let alarm = change(node, &id, |alarm| {
                alarm.state = AlarmState::Acknowledged;
                alarm.by = Some(by);
                // Replaced, even by none: a comment belongs to its acker.
                alarm.comment = comment;
            })
            .await?;
            to_raw(&AlarmReply { alarm })
        }
        RPC_ALARMS_SILENCE => {
            may_change(node, caller, method, CAP_SILENCE)?;
            let SilenceRequest { id, until } = parse(method, data, r#"{"id":"<alarm id>","until":<unix ms>}"#)?;
            let alarm = change(node, &id, |alarm| alarm.silenced_until = Some(until)).await?;
            to_raw(&AlarmReply { alarm })
        }
        _ => Err(ReplyError::with_message(
            ErrorCode::MethodNotFound,
            format!("method not found: {method:?} (known: alarms.active, alarms.ack, alarms.silence, catalog)"),
        )),
    }
}

/// The catalog page `caller` may see: only sources whose channel it may
/// subscribe to, filtered before paging so offsets stay consistent. A
/// caller with no right on the `metrics` namespace at all is refused.
async fn catalog(
    node: &Node,
    caller: Caller<'_>,
    request: &CatalogRequest,
) -> Result<Catalog, ReplyError> {
    let permissions = node.permissions();
    let namespace = METRICS_PREFIX.trim_end_matches(':');
    permissions
        .check_namespace(caller.access, namespace)
        .map_err(|refusal| node.refuse("rpc", refusal))?;
    let visible = |source: &str| {
        let channel = format!("{METRICS_PREFIX}{source}");
        permissions
            .check(caller.access, Action::Subscribe, &channel)
            .is_ok()
    };
    // Half the reply budget: the answer's JSON also carries the channel
    // names and the envelope.
    let budget = node.config().reply_budget() / 2;
    let sources = node.sources().await?;
    Ok(crate::catalog::page(&sources, request, budget, visible))
}

/// Refuses (counting under `action`) a caller that may not subscribe to
/// `alarms`: what it would learn is what the channel carries.
fn may_read_alarms(node: &Node, caller: Caller<'_>, action: &str) -> Result<(), ReplyError> {
    node.permissions()
        .check(caller.access, Action::Subscribe, ALARMS_CHANNEL)
        .map_err(|refusal| node.refuse(action, refusal))
}

/// Whether `caller` may run `method`, which changes an alarm and needs
/// capability `cap`. `Ok(Some(name))`: a token, recorded as its `sub`
/// whatever the request claims; `Ok(None)`: an anonymous connection on a
/// hub with `--anonymous-ack`, recorded by the name it gives, unverified.
fn may_change(
    node: &Node,
    caller: Caller<'_>,
    method: &str,
    cap: &str,
) -> Result<Option<String>, ReplyError> {
    let missing =
        format!("{method} needs the {cap:?} capability in the token (claim telltale.caps)");
    let verified = match caller.access.token {
        true if caller.access.has_cap(cap) => Some(verified(caller.user)),
        true => return Err(node.refuse(cap, Refusal::new(missing))),
        false if node.config().anonymous_ack => None,
        false => {
            let why = format!(
                "{missing}; anonymous connections may not change alarms: start the hub with --anonymous-ack on a single-user loopback hub"
            );
            return Err(node.refuse(cap, Refusal::new(why)));
        }
    };
    may_read_alarms(node, caller, cap)?;
    Ok(verified)
}

/// A token's user as recorded in `by`.
fn verified(user: &str) -> String {
    match user {
        "" => "(token without sub)".to_owned(),
        user => user.to_owned(),
    }
}

/// An anonymous caller as recorded in `by`: the name it gives (trimmed,
/// without control characters, at most 64 characters) or "anonymous",
/// marked "(unverified)" so that nobody mistakes it for a checked identity.
fn unverified(claimed: Option<String>) -> String {
    let name: String = claimed
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let name = match name.trim_end() {
        "" => "anonymous",
        name => name,
    };
    format!("{name} (unverified)")
}

/// The comment of an ack as stored: trimmed, none when blank, refused
/// (bad request) beyond [`MAX_ACK_COMMENT_CHARS`] rather than cut, so the
/// acker knows the others will not read what they wrote.
fn ack_comment(comment: Option<String>) -> Result<Option<String>, ReplyError> {
    let Some(comment) = comment else {
        return Ok(None);
    };
    let comment = comment.trim();
    let chars = comment.chars().count();
    if chars > MAX_ACK_COMMENT_CHARS {
        return Err(ReplyError::with_message(
            ErrorCode::BadRequest,
            format!(
                "alarms.ack: comment too long: {chars} characters, at most {MAX_ACK_COMMENT_CHARS}"
            ),
        ));
    }
    Ok((!comment.is_empty()).then(|| comment.to_owned()))
}

/// Applies `edit` to an active alarm and publishes the result on `alarms`,
/// so every client (and every node's alarm set) sees it. A change that
/// changes nothing is answered without publishing, and one alarm is changed
/// at most once per [`CHANGE_INTERVAL`]: the alarms history keeps the
/// transitions that matter instead of a flood of acks.
async fn change(node: &Node, id: &str, edit: impl FnOnce(&mut Alarm)) -> Result<Alarm, ReplyError> {
    let current = node.alarm(id).await?.ok_or_else(|| {
        ReplyError::with_message(
            ErrorCode::BadRequest,
            format!("no active alarm with id {id:?}"),
        )
    })?;
    let mut alarm = current.clone();
    edit(&mut alarm);
    let unchanged = alarm.state == current.state
        && alarm.by == current.by
        && alarm.silenced_until == current.silenced_until
        && alarm.comment == current.comment;
    if unchanged {
        return Ok(current);
    }
    if !node.claim_alarm_change(id, CHANGE_INTERVAL).await? {
        let message = format!(
            "too many requests: alarm {id:?} was changed less than {} ms ago; retry later",
            CHANGE_INTERVAL.as_millis()
        );
        return Err(ReplyError::with_message(
            ErrorCode::TooManyRequests,
            message,
        ));
    }
    alarm.ts = now_ms();
    node.publish(ALARMS_CHANNEL, to_raw(&alarm)?, PublishOptions::default())
        .await?;
    Ok(alarm)
}

fn parse<T: DeserializeOwned>(
    method: &str,
    data: Option<&RawValue>,
    form: &str,
) -> Result<T, ReplyError> {
    let json = data.map(RawValue::get).unwrap_or("{}");
    serde_json::from_str(json).map_err(|e| {
        ReplyError::with_message(
            ErrorCode::BadRequest,
            format!("{method}: data must be {form}: {e}"),
        )
    })
}

fn to_raw<T: Serialize>(value: &T) -> Result<RawJson, ReplyError> {
    serde_json::value::to_raw_value(value).map_err(|_| ErrorCode::Internal.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_names_are_cleaned_capped_and_marked() {
        assert_eq!(unverified(None), "anonymous (unverified)");
        assert_eq!(unverified(Some("  ".into())), "anonymous (unverified)");
        assert_eq!(
            unverified(Some(" alice (on-call lead) ".into())),
            "alice (on-call lead) (unverified)"
        );
        assert_eq!(unverified(Some("a\nb".into())), "ab (unverified)");
        let long = unverified(Some("x".repeat(100)));
        assert_eq!(long, format!("{} (unverified)", "x".repeat(64)));
    }

    #[test]
    fn ack_comments_are_trimmed_and_bounded_in_characters() {
        assert_eq!(ack_comment(None).unwrap(), None);
        assert_eq!(ack_comment(Some("  ".into())).unwrap(), None);
        assert_eq!(
            ack_comment(Some(" db restart \n".into()))
                .unwrap()
                .as_deref(),
            Some("db restart")
        );
        let longest = "é".repeat(MAX_ACK_COMMENT_CHARS);
        assert_eq!(ack_comment(Some(longest.clone())).unwrap(), Some(longest));
        let error = ack_comment(Some("x".repeat(MAX_ACK_COMMENT_CHARS + 1))).unwrap_err();
        assert_eq!(error.code, ErrorCode::BadRequest.code());
        assert!(error
            .message
            .contains("comment too long: 501 characters, at most 500"));
    }
}
