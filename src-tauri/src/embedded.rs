//! The embedded default: a hub in this process on 127.0.0.1 (a free port)
//! with the host collector, reached through the normal WebSocket client so
//! the app exercises the same path as with a remote hub.

use std::net::SocketAddr;

use telltale_hub::{Config, Server};

/// A running in-process hub.
pub struct EmbeddedHub {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl EmbeddedHub {
    /// The WebSocket URL of the hub.
    pub fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }
}

/// Starts the hub on a free loopback port; it runs for the life of the app.
pub async fn start() -> anyhow::Result<EmbeddedHub> {
    let config = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        allow_anonymous: true,
        anonymous_ack: true,
        collector: true,
        ..Config::default()
    };
    let server = Server::bind(config).await?;
    let addr = server.local_addr();
    tauri::async_runtime::spawn(async move {
        if let Err(e) = server.run(std::future::pending()).await {
            tracing::error!(error = %e, "embedded hub stopped");
        }
    });
    Ok(EmbeddedHub { addr })
}
