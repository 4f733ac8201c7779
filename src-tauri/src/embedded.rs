//! The embedded default: a hub in this process on 127.0.0.1 (a free port)
//! with the host collector, reached through the normal WebSocket client so
//! the app exercises the same path as with a remote hub.

use std::net::SocketAddr;

use telltale_hub::{Config, Server};
use tokio::sync::oneshot;

/// A running in-process hub; dropping it shuts the hub down.
pub struct EmbeddedHub {
    /// Where it listens.
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl EmbeddedHub {
    /// The WebSocket URL of the hub.
    pub fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }
}

/// Starts the hub on a free loopback port; it runs until the returned
/// handle is dropped (the user switched it off) or the app ends.
pub async fn start() -> anyhow::Result<EmbeddedHub> {
    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        allow_anonymous: true,
        anonymous_ack: true,
        collector: true,
        web: true,
        ..Config::default()
    };
    let server = Server::bind(config).await?;
    let addr = server.local_addr();
    // The port is a free one, so this line is how a user finds the browser view.
    tracing::info!("embedded hub: the same dashboard in a browser at http://{addr}/");
    let (stop, stopped) = oneshot::channel::<()>();
    tauri::async_runtime::spawn(async move {
        // A dropped sender ends the wait too: that is the shutdown signal.
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = server.run(shutdown).await {
            tracing::error!(error = %e, "embedded hub stopped");
        }
    });
    Ok(EmbeddedHub { addr, _stop: stop })
}
