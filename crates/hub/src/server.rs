//! The accept loop: one listener for WebSocket and HTTP, limits on the
//! handshake, and graceful shutdown.
//!
//! Shutdown stops accepting, tells every client 3001 "shutdown" (SDKs
//! reconnect, to another node if there is one), waits a bounded time for
//! sessions to finish, then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::node::Node;
use crate::{api, collector, websocket, Config};

/// How long shutdown waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A bound hub, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    node: Node,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port).
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", config.listen))?;
        Ok(Self {
            listener,
            node: Node::new(config),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The node, for publishing in-process.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let Server { listener, node } = self;
        let router = router(node.clone());
        let connections = TaskTracker::new();
        if node.config().collector {
            let source = node.config().node_name.clone();
            let interval = node.config().collector_interval;
            let token = node.shutdown_token().clone();
            connections.spawn(collector::run(node.clone(), source, interval, token));
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(serve_connection(stream, router.clone(), node.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off
                        // instead of spinning, and keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
            }
        }
        drop(listener);
        tracing::info!("shutting down: disconnecting clients with 3001");
        node.shutdown();
        connections.close();
        let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
            node.sessions().wait().await;
            connections.wait().await;
        })
        .await;
        if finished.is_err() {
            tracing::warn!("some connections did not close within {SHUTDOWN_GRACE:?}");
        }
        Ok(())
    }
}

fn router(node: Node) -> Router {
    Router::new()
        .route(websocket::PATH, get(websocket::upgrade))
        .route("/api/{method}", post(api::handle))
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(
                |axum::extract::State(node): axum::extract::State<Node>| async move {
                    node.local().metrics.render()
                },
            ),
        )
        .with_state(node)
}

async fn serve_connection(stream: TcpStream, router: Router, node: Node) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(router);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(node.config().handshake_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let shutdown = node.shutdown_token().clone();
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
