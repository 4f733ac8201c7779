//! The accept loop: one listener for WebSocket and HTTP, limits on the
//! handshake, and graceful shutdown.
//!
//! Shutdown stops accepting, tells every client 3001 "shutdown" (SDKs
//! reconnect, to another node if there is one), waits a bounded time for
//! sessions to finish, then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::admission::IpPermit;
use crate::node::Node;
use crate::{api, collector, sweeper, websocket, Config};

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
        connections.spawn(sweeper::run(
            node.clone(),
            sweeper::interval(node.config().history_ttl),
            node.shutdown_token().clone(),
        ));
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
                    Ok((stream, peer)) => {
                        connections.spawn(admit(stream, peer, router.clone(), node.clone()));
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
                    node.render_metrics()
                },
            ),
        )
        .with_state(node)
}

/// Applies the per-address and HTTP budgets to a new TCP connection, then
/// serves it. A refused connection gets a one-line HTTP answer saying which
/// limit it hit.
async fn admit(stream: TcpStream, peer: SocketAddr, router: Router, node: Node) {
    let metrics = &node.local().metrics;
    let Some(ip_permit) = node.admission().admit_ip(peer.ip()) else {
        metrics.refuse("per_ip");
        let limit = node.config().max_connections_per_ip;
        let message = format!(
            "too many connections from {}: at most {limit} (--max-connections-per-ip)",
            peer.ip()
        );
        return refuse(stream, "429 Too Many Requests", &message).await;
    };
    // Held while the connection speaks HTTP; a WebSocket gives it back
    // when the connection future ends at the upgrade.
    let Some(_http_permit) = node.admission().admit_http() else {
        metrics.refuse("http_connections");
        let limit = node.config().max_http_connections;
        let message = format!(
            "too many HTTP connections: at most {limit} (--max-http-connections); retry shortly"
        );
        return refuse(stream, "503 Service Unavailable", &message).await;
    };
    serve_connection(stream, router, node, Arc::new(ip_permit)).await;
}

/// Writes a short HTTP error and closes, without reading the request.
async fn refuse(mut stream: TcpStream, status: &str, message: &str) {
    use tokio::io::AsyncWriteExt;
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{message}\n",
        message.len() + 1
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

async fn serve_connection(stream: TcpStream, router: Router, node: Node, ip: Arc<IpPermit>) {
    let _ = stream.set_nodelay(true);
    let service =
        tower::ServiceExt::map_request(router, move |mut request: axum::extract::Request<_>| {
            request.extensions_mut().insert(ip.clone());
            request
        });
    let service = TowerToHyperService::new(service);
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
