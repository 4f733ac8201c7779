//! The accept loop: one listener for WebSocket and HTTP (TLS or not),
//! limits on the handshake, the Host check, and graceful shutdown.
//!
//! Shutdown stops accepting, tells every client 3001 "shutdown" (SDKs
//! reconnect, to another node if there is one), waits a bounded time for
//! sessions to finish, then returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::admission::IpPermit;
use crate::host::AllowedHosts;
use crate::node::Node;
use crate::tls::Tls;
use crate::{api, collector, staleness, sweeper, web, websocket, Config};

/// How long shutdown waits for connections to close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A bound hub, ready to [`run`](Server::run).
pub struct Server {
    listener: TcpListener,
    node: Node,
    hosts: Arc<AllowedHosts>,
    tls: Option<Arc<Tls>>,
}

impl Server {
    /// Binds `config.listen` (port 0 picks a free port) and, with
    /// `tls_cert` and `tls_key`, reads the certificate.
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let tls = match config.tls_files()? {
            Some((cert, key)) => Some(Arc::new(Tls::load(cert, key)?)),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", config.listen))?;
        // The bound address, not the configured one: port 0 is common.
        let bound = listener.local_addr().context("listener has no address")?;
        Ok(Self {
            listener,
            hosts: Arc::new(AllowedHosts::new(&config.allowed_hosts, bound)),
            tls,
            node: Node::connect(config).await?,
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

    /// The TLS settings when serving `wss://`, to [`Tls::reload`] them
    /// in-process (the binary reloads on SIGHUP).
    pub fn tls(&self) -> Option<&Arc<Tls>> {
        self.tls.as_ref()
    }

    /// Serves until `shutdown` resolves, then shuts down gracefully.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let addr = self.local_addr();
        let Server {
            listener,
            node,
            hosts,
            tls,
        } = self;
        let router = router(node.clone(), hosts);
        if node.config().web {
            match web::check_built() {
                Ok(()) => tracing::info!(
                    "web UI at {}://{addr}/",
                    if tls.is_some() { "https" } else { "http" }
                ),
                // The binary refuses to start (Config::validate); a hub in
                // another program (the desktop app's) keeps serving its
                // clients, and / says what is missing.
                Err(e) => tracing::warn!("{e}"),
            }
        }
        let connections = TaskTracker::new();
        match &tls {
            Some(tls) => {
                let cert = tls.cert_path().display();
                tracing::info!(%cert, "serving wss:// and https:// on {addr}");
            }
            None => tracing::info!("serving ws:// and http:// on {addr}"),
        }
        // Alarm rules always, the certificate when serving TLS.
        #[cfg(unix)]
        connections.spawn(crate::reload::on_sighup(node.clone(), tls.clone()));
        connections.spawn(sweeper::run(
            node.clone(),
            sweeper::interval(node.config().history_ttl),
            node.shutdown_token().clone(),
        ));
        connections.spawn(crate::lease::run(
            node.clone(),
            node.shutdown_token().clone(),
        ));
        connections.spawn(staleness::run(node.clone(), node.shutdown_token().clone()));
        let targets = (node.config().alertmanagers.iter())
            .filter_map(|spec| crate::silences::Target::parse(spec).ok())
            .collect::<Vec<_>>();
        if !targets.is_empty() {
            let token = node.shutdown_token().clone();
            connections.spawn(crate::silences::run(node.clone(), targets, token));
        }
        if node.config().collector {
            let source = node.config().node_name.clone();
            let interval = node.config().collector_interval;
            let token = node.shutdown_token().clone();
            connections.spawn(collector::run(node.clone(), source, interval, token));
            for spec in node.config().scrapes.clone() {
                connections.spawn(collector::scrape(node.clone(), spec));
            }
        }
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let tls = tls.clone();
                        connections.spawn(admit(stream, peer, router.clone(), node.clone(), tls));
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

fn router(node: Node, hosts: Arc<AllowedHosts>) -> Router {
    let host_check = axum::middleware::from_fn_with_state((node.clone(), hosts), check_host);
    Router::new()
        .route(websocket::PATH, get(websocket::upgrade))
        .route("/api/alertmanager", post(crate::alert_ingest::alertmanager))
        .route("/api/grafana", post(crate::alert_ingest::grafana))
        .route("/api/{method}", post(api::handle))
        .route("/healthz", get(health))
        .route(
            "/metrics",
            get(
                |axum::extract::State(node): axum::extract::State<Node>| async move {
                    node.render_metrics()
                },
            ),
        )
        .merge(web::routes(node.config()))
        .with_state(node)
        // Outermost, so it runs for every request, before the Origin check.
        .layer(host_check)
}

/// `/healthz`: 200 "ok", or 503 "degraded" while the broker (Redis) cannot
/// be reached: connected clients stay, publishes fail with 503.
async fn health(State(node): State<Node>) -> Response {
    if node.broker().is_up() {
        return "ok\n".into_response();
    }
    let message = "degraded: redis cannot be reached; clients stay connected, publishes fail \
                   with 503 until it is back\n";
    (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
}

/// Refuses a request whose `Host` is not one of the hub's names (DNS
/// rebinding), before any handler sees it.
async fn check_host(
    State((node, hosts)): State<(Node, Arc<AllowedHosts>)>,
    request: Request,
    next: Next,
) -> Response {
    match hosts.check(request.version(), request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            node.local().metrics.refuse("host");
            (refusal.status, format!("{}\n", refusal.message)).into_response()
        }
    }
}

/// Applies the per-address and HTTP budgets to a new TCP connection, then
/// serves it (after the TLS handshake when serving TLS). A refused plain
/// connection gets a one-line HTTP answer saying which limit it hit.
async fn admit(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    node: Node,
    tls: Option<Arc<Tls>>,
) {
    let metrics = &node.local().metrics;
    let Some(ip_permit) = node.admission().admit_ip(peer.ip()) else {
        metrics.refuse("per_ip");
        let limit = node.config().max_connections_per_ip;
        let message = format!(
            "too many connections from {}: at most {limit} (--max-connections-per-ip)",
            peer.ip()
        );
        return refuse(stream, tls.is_some(), "429 Too Many Requests", &message).await;
    };
    // Held while the connection speaks HTTP; a WebSocket gives it back
    // when the connection future ends at the upgrade.
    let Some(_http_permit) = node.admission().admit_http() else {
        metrics.refuse("http_connections");
        let limit = node.config().max_http_connections;
        let message = format!(
            "too many HTTP connections: at most {limit} (--max-http-connections); retry shortly"
        );
        return refuse(stream, tls.is_some(), "503 Service Unavailable", &message).await;
    };
    let _ = stream.set_nodelay(true);
    let ip = Arc::new(ip_permit);
    let Some(tls) = tls else {
        return serve_connection(stream, router, node, ip).await;
    };
    // In the connection's own task, bounded, so a slow or silent client
    // holds up nobody else.
    let handshake = tls.acceptor().accept(stream);
    match tokio::time::timeout(node.config().handshake_timeout, handshake).await {
        Ok(Ok(stream)) => serve_connection(stream, router, node, ip).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// Writes a short HTTP error and closes, without reading the request. On a
/// TLS listener it just closes: plain text would only garble the client's
/// handshake, and a handshake is what the budget is there to save.
async fn refuse(mut stream: TcpStream, tls: bool, status: &str, message: &str) {
    use tokio::io::AsyncWriteExt;
    if tls {
        return;
    }
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

/// Serves HTTP/1.1 (and upgrades) on a plain or TLS stream.
async fn serve_connection<S>(stream: S, router: Router, node: Node, ip: Arc<IpPermit>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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
