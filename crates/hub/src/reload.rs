//! SIGHUP: the alarm rules of the `--config` file and the TLS certificate
//! are read again, without touching connected clients.
//!
//! Each is all or nothing: a file that does not check keeps what the hub
//! runs with, and the error is logged naming the rule (or file) and field.

use std::sync::Arc;

use crate::node::Node;
use crate::tls::Tls;

/// Reloads on every SIGHUP until the node shuts down.
///
/// The handler is installed by this call, not when the future first runs,
/// so a SIGHUP that arrives once the hub accepts connections reloads
/// instead of terminating the process (the default action).
#[cfg(unix)]
pub fn on_sighup(
    node: Node,
    tls: Option<Arc<Tls>>,
) -> impl std::future::Future<Output = ()> + Send {
    use tokio::signal::unix::{signal, SignalKind};
    let hangups = signal(SignalKind::hangup());
    async move {
        let mut hangups = match hangups {
            Ok(hangups) => hangups,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: rules and certificates will not reload");
                return;
            }
        };
        let stop = node.shutdown_token().clone();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = hangups.recv() => reload(&node, tls.as_deref()).await,
            }
        }
    }
}

/// What one SIGHUP does: rules first, then the certificate; one failing
/// does not stop the other.
pub async fn reload(node: &Node, tls: Option<&Tls>) {
    match node.reload_rules().await {
        Ok(Some(n)) => tracing::info!(rules = n, "SIGHUP: alarm rules reloaded"),
        Ok(None) => tracing::debug!("SIGHUP: no --config file, alarm rules unchanged"),
        Err(e) => tracing::error!("SIGHUP: {e}; keeping the previous alarm rules"),
    }
    if let Some(tls) = tls {
        match tls.reload() {
            Ok(()) => {
                tracing::info!(cert = %tls.cert_path().display(), "SIGHUP: certificate reloaded")
            }
            Err(e) => tracing::error!("SIGHUP: {e}; still serving the previous certificate"),
        }
    }
}
