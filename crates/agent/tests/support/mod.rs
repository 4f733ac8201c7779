//! Shared by the agent's integration tests.

use serde_json::{json, Value};

/// The data of the publications kept in `channel`'s history, oldest first,
/// read through the HTTP API of the hub at `hub` (`http://HOST:PORT`).
pub async fn history(hub: &str, key: &str, channel: &str) -> Vec<Value> {
    let reply: Value = reqwest::Client::new()
        .post(format!("{hub}/api/history"))
        .header("X-API-Key", key)
        .json(&json!({"channel": channel, "limit": 10_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["result"]["publications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|p| p["data"].clone())
        .collect()
}
