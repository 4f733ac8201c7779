//! The commands the UI calls (`invoke`). Hub commands name the server they
//! are for; errors are [`CommandError`]s with a code.

use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;
use telltale_protocol::payload::Catalog;
use telltale_protocol::Alarm;

use crate::bridge::Shared;
use crate::connection::ConnectionState;
use crate::error::CommandError;
use crate::link::HubLink;
use crate::stream::StreamBatch;

fn link(shared: &Shared, server: &str) -> Result<Arc<HubLink>, CommandError> {
    shared
        .link(server)
        .ok_or_else(|| CommandError::unknown_server(server))
}

/// Starts (or replaces) the stream of batches to the window.
#[tauri::command]
pub fn connect_stream(shared: State<'_, Arc<Shared>>, channel: Channel<StreamBatch>) {
    shared.connect_stream(channel);
}

/// Every hub's connection state now, in the order of the server list.
#[tauri::command]
pub fn connection_states(shared: State<'_, Arc<Shared>>) -> Vec<ConnectionState> {
    shared.connection_states()
}

/// The hub's active alarms (`alarms.active`).
#[tauri::command]
pub async fn alarms_active(
    shared: State<'_, Arc<Shared>>,
    server: String,
) -> Result<Vec<Alarm>, CommandError> {
    let link = link(&shared, &server)?;
    let alarms = link.client().active_alarms().await;
    alarms.map_err(|e| CommandError::hub("cannot load active alarms", &e))
}

/// Acknowledges an alarm (`alarms.ack`), with an optional comment for the
/// others; every client sees the ack.
#[tauri::command]
pub async fn alarms_ack(
    shared: State<'_, Arc<Shared>>,
    server: String,
    id: String,
    comment: Option<String>,
) -> Result<Alarm, CommandError> {
    let link = link(&shared, &server)?;
    let acked = (link.client())
        .ack_alarm_with(&id, Some(shared.operator()), comment.as_deref())
        .await;
    acked.map_err(|e| CommandError::hub(&format!("cannot acknowledge {id}"), &e))
}

/// Silences an alarm's notifications until `until`, unix ms
/// (`alarms.silence`); every client sees it.
#[tauri::command]
pub async fn alarms_silence(
    shared: State<'_, Arc<Shared>>,
    server: String,
    id: String,
    until: i64,
) -> Result<Alarm, CommandError> {
    let link = link(&shared, &server)?;
    let silenced = link.client().silence_alarm(&id, until).await;
    silenced.map_err(|e| CommandError::hub(&format!("cannot silence {id}"), &e))
}

/// Known sources and metrics of the hub (`catalog`).
#[tauri::command]
pub async fn catalog(
    shared: State<'_, Arc<Shared>>,
    server: String,
) -> Result<Catalog, CommandError> {
    let link = link(&shared, &server)?;
    let catalog = link.client().catalog().await;
    catalog.map_err(|e| CommandError::hub("cannot load the catalog", &e))
}
