//! The HTTP server API, Centrifugo compatible: `POST /api/<method>`.
//!
//! A missing or wrong key is 401 with an empty body; a `--publish-key` outside
//! its scope (see [`crate::api_access`]) is 403; a body that is not JSON
//! is 400 with a message saying so; everything else answers HTTP 200 with
//! `{"result":..}` or `{"error":{"code","message"}}`, which is what `cent`
//! and the other Centrifugo API clients expect.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use telltale_protocol::api::{
    BatchCommand, BatchReply, BatchRequest, BatchResult, BroadcastRequest, BroadcastResult,
    ChannelInfo, ChannelsRequest, ChannelsResult, HistoryRequest, InfoResult, Outcome,
    PublishRequest, PublishResult,
};
use telltale_protocol::command::ChannelRequest;
use telltale_protocol::reply::{Empty, HistoryResult, PresenceResult, PresenceStatsResult};
use telltale_protocol::{Disconnect, ErrorCode, RawJson, ReplyError};

use crate::api_access::{Access, Refusal};
use crate::auth::presented_api_key;
use crate::node::{Node, PublishOptions};

/// `POST /api/:method`.
///
/// The key, and whether its holder may call `method` at all, are checked
/// before a byte of the body is read, so a client without one can make the
/// hub hold nothing but its headers; the body is
/// then read with a size limit (413 as soon as `Content-Length` says it is
/// too large) and a time limit (408), and a publish key's channels are
/// checked on it before anything is published.
pub async fn handle(
    State(node): State<Node>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let presented = presented_api_key(&headers, query.as_deref());
    let Some(access) = Access::of(presented, node.config()) else {
        node.local().metrics.refuse("api_key");
        return closing(StatusCode::UNAUTHORIZED.into_response());
    };
    if let Err(refusal) = access.method(&method) {
        return closing(forbidden(&node, refusal));
    }
    let limit = node.config().api_body_limit();
    let body = match read_body(&headers, body, limit, node.config().body_read_timeout).await {
        Ok(body) => body,
        Err(refusal) => {
            node.local().metrics.refuse("api_body");
            return closing(refusal);
        }
    };
    if let Err(refusal) = access.body(&method, &body) {
        return forbidden(&node, refusal);
    }
    dispatch(&node, &method, &body).await
}

/// A publish key's request outside its scope: 403 with what the key may do,
/// counted as a permission refusal of the API.
fn forbidden(node: &Node, Refusal(message): Refusal) -> Response {
    node.local().metrics.deny("api");
    (StatusCode::FORBIDDEN, message).into_response()
}

/// Marks a refusal whose body was not read: the connection is closed after
/// it rather than kept to drain what the client still sends.
pub(crate) fn closing(mut response: Response) -> Response {
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// Reads a request body of at most `limit` bytes within `timeout`.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, Response> {
    let too_large = || {
        let message =
            format!("request body larger than {limit} bytes: send less, or raise --api-body-limit");
        (StatusCode::PAYLOAD_TOO_LARGE, message).into_response()
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(timeout, http_body_util::BodyExt::collect(limited)).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err((
            StatusCode::BAD_REQUEST,
            format!("reading the body failed: {e}"),
        )
            .into_response()),
        Err(_) => {
            let message = format!(
                "request body not received within {}: send it at once (--body-read-timeout)",
                humantime::format_duration(timeout)
            );
            Err((StatusCode::REQUEST_TIMEOUT, message).into_response())
        }
    }
}

/// Runs API `method` on an already authenticated, already read `body`, with
/// the admin key's rights: [`handle`] has already refused what a publish key
/// may not do.
pub async fn dispatch(node: &Node, method: &str, body: &[u8]) -> Response {
    let node = node.clone();
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    match method {
        "publish" => respond(body, |r| publish(&node, r)).await,
        "broadcast" => respond(body, |r| broadcast(&node, r)).await,
        "history" => respond(body, |r| history(&node, r)).await,
        "channels" => respond(body, |r| async { channels(&node, r) }).await,
        "info" => respond(body, |_: Empty| async { Ok(info(&node)) }).await,
        "presence" => respond(body, |r| async { presence(&node, r) }).await,
        "presence_stats" => respond(body, |r| async { presence_stats(&node, r) }).await,
        "disconnect" => respond(body, |r| async { disconnect(&node, r) }).await,
        "batch" => batch(&node, body).await,
        // Centrifugo methods this hub does not offer: a proper API error, so
        // clients such as cent report it instead of a transport failure.
        "subscribe" | "unsubscribe" | "refresh" | "history_remove" | "rpc" | "device_register" => {
            let message = format!("not available: telltale-hub does not support /api/{method}");
            json(&Outcome::<Empty>::from(Err(ReplyError::with_message(
                ErrorCode::NotAvailable,
                message,
            ))))
        }
        _ => (
            StatusCode::NOT_FOUND,
            format!(
                "unknown API method {method:?}: use publish, broadcast, history, channels, info, \
                 presence, presence_stats, disconnect or batch"
            ),
        )
            .into_response(),
    }
}

/// Decodes the body, runs `run`, and wraps the outcome Centrifugo style.
async fn respond<Req, Res, F, Fut>(body: &[u8], run: F) -> Response
where
    Req: DeserializeOwned,
    Res: Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Res, ReplyError>>,
{
    let outcome = match decode::<Req>(body) {
        Ok(request) => run(request).await,
        Err(Decode::NotJson(message)) => return (StatusCode::BAD_REQUEST, message).into_response(),
        Err(Decode::Invalid(error)) => Err(error),
    };
    // The Centrifugo error in the body as always, and a status that load
    // balancers and retrying producers understand.
    let status = match &outcome {
        Err(error) if crate::broker::unreachable(error) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    (status, json(&Outcome::from(outcome))).into_response()
}

enum Decode {
    NotJson(String),
    Invalid(ReplyError),
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Decode> {
    serde_json::from_slice(body).map_err(|e| {
        // serde_json reports some shape errors (an array longer than the
        // struct) as syntax errors: valid JSON of the wrong shape is a bad
        // request (107), not "not JSON" (400).
        let shape = e.classify() == serde_json::error::Category::Data
            || serde_json::from_slice::<serde_json::Value>(body).is_ok();
        if shape {
            Decode::Invalid(ReplyError::with_message(
                ErrorCode::BadRequest,
                format!("bad request: {e}"),
            ))
        } else {
            Decode::NotJson(format!(
                "request body is not valid JSON ({e}); send a JSON object such as {{\"channel\":\"news\",\"data\":{{}}}}"
            ))
        }
    })
}

fn json(value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).expect("API results serialize");
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn data_of(data: Option<RawJson>, b64data: &Option<String>) -> Result<RawJson, ReplyError> {
    match (data, b64data) {
        (Some(data), _) => Ok(data),
        (None, Some(_)) => Err(ReplyError::with_message(
            ErrorCode::NotAvailable,
            "b64data is not supported by this JSON-only hub: send the payload as JSON in `data`",
        )),
        (None, None) => Err(ReplyError::with_message(
            ErrorCode::BadRequest,
            "data is required",
        )),
    }
}

async fn publish(node: &Node, request: PublishRequest) -> Result<PublishResult, ReplyError> {
    let data = data_of(request.data, &request.b64data)?;
    let options = PublishOptions {
        info: None,
        tags: request.tags,
        skip_history: request.skip_history,
    };
    node.publish(&request.channel, data, options).await
}

async fn broadcast(node: &Node, request: BroadcastRequest) -> Result<BroadcastResult, ReplyError> {
    let data = data_of(request.data, &request.b64data)?;
    if request.channels.is_empty() {
        return Err(ReplyError::with_message(
            ErrorCode::BadRequest,
            "channels is required",
        ));
    }
    let mut responses = Vec::with_capacity(request.channels.len());
    for channel in &request.channels {
        let options = PublishOptions {
            info: None,
            tags: request.tags.clone(),
            skip_history: request.skip_history,
        };
        responses.push(node.publish(channel, data.clone(), options).await.into());
    }
    Ok(BroadcastResult { responses })
}

async fn history(node: &Node, request: HistoryRequest) -> Result<HistoryResult, ReplyError> {
    node.history(
        &request.channel,
        request.limit,
        request.since,
        request.reverse,
    )
    .await
}

fn channels(node: &Node, request: ChannelsRequest) -> Result<ChannelsResult, ReplyError> {
    let channels = node
        .local()
        .hub
        .channel_counts()
        .into_iter()
        .filter(|(name, _)| matches(&request.pattern, name))
        .map(|(name, n)| {
            (
                name,
                ChannelInfo {
                    num_clients: n as u32,
                },
            )
        })
        .collect();
    Ok(ChannelsResult { channels })
}

/// Glob match with `*` only; an empty pattern matches everything.
fn matches(pattern: &str, name: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        if last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

fn info(node: &Node) -> InfoResult {
    InfoResult {
        nodes: vec![node.info()],
    }
}

fn presence(node: &Node, request: ChannelRequest) -> Result<PresenceResult, ReplyError> {
    crate::channel::check(&request.channel)?;
    Ok(PresenceResult {
        presence: node.local().hub.presence(&request.channel),
    })
}

fn presence_stats(node: &Node, request: ChannelRequest) -> Result<PresenceStatsResult, ReplyError> {
    crate::channel::check(&request.channel)?;
    Ok(node.local().hub.presence_stats(&request.channel))
}

#[derive(Deserialize)]
struct DisconnectRequest {
    user: String,
    #[serde(default)]
    client: Option<String>,
    #[serde(default)]
    disconnect: Option<DisconnectCode>,
}

/// Only the code is used: close reasons are the standard ones for the code.
#[derive(Deserialize)]
struct DisconnectCode {
    code: u16,
}

/// `/api/disconnect`: closes a user's connections (default 3503, terminal).
fn disconnect(node: &Node, request: DisconnectRequest) -> Result<Empty, ReplyError> {
    let reason = match request.disconnect {
        None => Disconnect::FORCE_DISCONNECT,
        Some(d) if (3000..=4999).contains(&d.code) => Disconnect::known(d.code),
        Some(d) => {
            return Err(ReplyError::with_message(
                ErrorCode::BadRequest,
                format!("disconnect.code {} must be between 3000 and 4999", d.code),
            ))
        }
    };
    for connection in node.local().hub.connections_of(&request.user) {
        if request
            .client
            .as_deref()
            .is_none_or(|c| c == connection.client)
        {
            connection.queue.disconnect(reason);
        }
    }
    Ok(Empty {})
}

async fn batch(node: &Node, body: &[u8]) -> Response {
    let request: BatchRequest = match decode(body) {
        Ok(request) => request,
        Err(Decode::NotJson(message)) => return (StatusCode::BAD_REQUEST, message).into_response(),
        Err(Decode::Invalid(error)) => return json(&Outcome::<Empty>::from(Err(error))),
    };
    let mut replies = Vec::with_capacity(request.commands.len());
    for command in request.commands {
        replies.push(batch_one(node, command).await);
    }
    json(&BatchResult { replies })
}

async fn batch_one(node: &Node, command: BatchCommand) -> BatchReply {
    let mut reply = BatchReply::default();
    let outcome = if let Some(r) = command.publish {
        publish(node, r).await.map(|r| reply.publish = Some(r))
    } else if let Some(r) = command.broadcast {
        broadcast(node, r).await.map(|r| reply.broadcast = Some(r))
    } else if let Some(r) = command.history {
        history(node, r).await.map(|r| reply.history = Some(r))
    } else if let Some(r) = command.channels {
        channels(node, r).map(|r| reply.channels = Some(r))
    } else if command.info.is_some() {
        reply.info = Some(info(node));
        Ok(())
    } else {
        Err(ReplyError::with_message(
            ErrorCode::MethodNotFound,
            "batch command must hold one of publish, broadcast, history, channels, info",
        ))
    };
    if let Err(error) = outcome {
        reply.error = Some(error);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn glob_patterns() {
        assert!(matches("", "x"));
        assert!(matches("metrics:*", "metrics:web1"));
        assert!(!matches("metrics:*", "alarms"));
        assert!(matches("*:web*", "metrics:web1"));
        assert!(matches("alarms", "alarms"));
        assert!(!matches("alarms", "alarms2"));
    }
}
