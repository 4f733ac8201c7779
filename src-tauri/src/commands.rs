//! The commands the UI calls (`invoke`). Errors are messages for the user.

use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;
use telltale_protocol::payload::Catalog;
use telltale_protocol::Alarm;

use crate::bridge::Shared;
use crate::connection::ConnectionState;
use crate::stream::StreamBatch;

/// Starts (or replaces) the stream of batches to the window.
#[tauri::command]
pub fn connect_stream(shared: State<'_, Arc<Shared>>, channel: Channel<StreamBatch>) {
    shared.connect_stream(channel);
}

/// The connection state now.
#[tauri::command]
pub fn connection_state(shared: State<'_, Arc<Shared>>) -> ConnectionState {
    shared.connection_state()
}

/// The hub's active alarms (`alarms.active`).
#[tauri::command]
pub async fn alarms_active(shared: State<'_, Arc<Shared>>) -> Result<Vec<Alarm>, String> {
    let client = shared.client().clone();
    client
        .active_alarms()
        .await
        .map_err(|e| format!("cannot load active alarms: {e}"))
}

/// Acknowledges an alarm (`alarms.ack`), with an optional comment for the
/// others; every client sees the ack.
#[tauri::command]
pub async fn alarms_ack(
    shared: State<'_, Arc<Shared>>,
    id: String,
    comment: Option<String>,
) -> Result<Alarm, String> {
    let client = shared.client().clone();
    client
        .ack_alarm_with(&id, Some(shared.operator()), comment.as_deref())
        .await
        .map_err(|e| format!("cannot acknowledge {id}: {e}"))
}

/// Silences an alarm's notifications until `until`, unix ms
/// (`alarms.silence`); every client sees it.
#[tauri::command]
pub async fn alarms_silence(
    shared: State<'_, Arc<Shared>>,
    id: String,
    until: i64,
) -> Result<Alarm, String> {
    let client = shared.client().clone();
    client
        .silence_alarm(&id, until)
        .await
        .map_err(|e| format!("cannot silence {id}: {e}"))
}

/// Known sources and metrics (`catalog`).
#[tauri::command]
pub async fn catalog(shared: State<'_, Arc<Shared>>) -> Result<Catalog, String> {
    let client = shared.client().clone();
    client
        .catalog()
        .await
        .map_err(|e| format!("cannot load the catalog: {e}"))
}
