//! Telltale's RPC methods, called with the `rpc` command.
//!
//! | method | data | result |
//! |---|---|---|
//! | `alarms.active` | `{}` | `{"alarms":[..]}` |
//! | `alarms.ack` | `{"id"}` | `{"alarm"}`, also published on `alarms` |
//! | `alarms.silence` | `{"id","until"}` | `{"alarm"}`, also published |
//! | `catalog` | `{}` | `{"sources":[..]}` |

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use telltale_protocol::payload::{
    now_ms, ActiveAlarms, AlarmId, AlarmReply, CatalogRequest, SilenceRequest, RPC_ALARMS_ACK,
    RPC_ALARMS_ACTIVE, RPC_ALARMS_SILENCE, RPC_CATALOG,
};
use telltale_protocol::reply::ClientInfo;
use telltale_protocol::{Alarm, AlarmState, ErrorCode, RawJson, ReplyError, ALARMS_CHANNEL};

use crate::node::{Node, PublishOptions};

/// Shortest time between two client changes of one alarm.
pub const CHANGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Whether `method` changes an alarm (and so publishes on `alarms`).
pub fn changes_alarms(method: &str) -> bool {
    matches!(method, RPC_ALARMS_ACK | RPC_ALARMS_SILENCE)
}

/// Runs one RPC for `caller`.
pub async fn call(
    node: &Node,
    caller: &ClientInfo,
    method: &str,
    data: Option<&RawValue>,
) -> Result<RawJson, ReplyError> {
    match method {
        RPC_ALARMS_ACTIVE => to_raw(&ActiveAlarms {
            alarms: node.local().alarms.active(),
        }),
        RPC_CATALOG => {
            let request: CatalogRequest = parse(method, data, r#"{"offset":<n>,"limit":<n>}"#)?;
            // Half the reply budget: the answer's JSON also carries the
            // channel names and the envelope.
            let budget = node.config().reply_budget() / 2;
            to_raw(&node.local().catalog.catalog(&request, budget))
        }
        RPC_ALARMS_ACK => {
            let AlarmId { id, by } = parse(method, data, r#"{"id":"<alarm id>"}"#)?;
            let by = acknowledger(caller, by);
            let alarm = change(node, &id, |alarm| {
                alarm.state = AlarmState::Acknowledged;
                alarm.by = Some(by);
            })
            .await?;
            to_raw(&AlarmReply { alarm })
        }
        RPC_ALARMS_SILENCE => {
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

/// Who acknowledged: the token's user; on an anonymous connection the name
/// the caller gave (capped), else "anonymous".
fn acknowledger(caller: &ClientInfo, claimed: Option<String>) -> String {
    if !caller.user.is_empty() {
        return caller.user.clone();
    }
    match claimed.map(|name| name.trim().chars().take(64).collect::<String>()) {
        Some(name) if !name.is_empty() => name,
        _ => "anonymous".to_owned(),
    }
}

/// Applies `edit` to an active alarm and publishes the result on `alarms`,
/// so every client (and every node's alarm set) sees it. A change that
/// changes nothing is answered without publishing, and one alarm is changed
/// at most once per [`CHANGE_INTERVAL`]: the alarms history keeps the
/// transitions that matter instead of a flood of acks.
async fn change(node: &Node, id: &str, edit: impl FnOnce(&mut Alarm)) -> Result<Alarm, ReplyError> {
    let alarms = &node.local().alarms;
    let current = alarms.get(id).ok_or_else(|| {
        ReplyError::with_message(
            ErrorCode::BadRequest,
            format!("no active alarm with id {id:?}"),
        )
    })?;
    let mut alarm = current.clone();
    edit(&mut alarm);
    let unchanged = alarm.state == current.state
        && alarm.by == current.by
        && alarm.silenced_until == current.silenced_until;
    if unchanged {
        return Ok(current);
    }
    if !alarms.claim_change(id, CHANGE_INTERVAL) {
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
