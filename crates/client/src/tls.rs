//! TLS for `wss://`: which certificate authorities to trust, the dialer,
//! and certificate errors in words.
//!
//! The client trusts the system's certificate authorities (read with
//! rustls-native-certs, so `SSL_CERT_FILE` / `SSL_CERT_DIR` replace them
//! when set) and, when [`crate::Options::ca_file`] is set, every certificate
//! in that PEM file as well. The file adds to the system roots rather than
//! replacing them: a hub moved from a private CA to a public certificate
//! keeps working with the same settings, and the file may hold the hub's
//! own self-signed certificate as easily as a CA.
//!
//! The configuration is built once per client (reading the system store can
//! take a while on some platforms, and a bad CA file is a setup mistake to
//! report at start, not on every reconnect). The handshake's certificate
//! errors become one sentence naming the host and what to do, because that
//! sentence ends up as the `Disconnected` reason and on `telltale-tail`'s
//! stderr: see `tls/describe.rs`.
//!
//! rustls uses the `ring` provider given explicitly, so no process-wide
//! default provider has to be installed.

mod describe;
#[cfg(test)]
mod tests;

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::connection::{BoxIo, Dialer};
use crate::{Endpoint, Error};

pub(crate) use describe::describe_tls_error;

/// The ALPN protocol offered: the WebSocket upgrade is an HTTP/1.1 request.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The client configuration for `wss://`: the system roots plus, when given,
/// every certificate in `ca_file` (PEM).
pub(crate) fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = system_roots();
    if let Some(path) = ca_file {
        add_ca_file(&mut roots, path)?;
    }
    if roots.is_empty() {
        return Err(Error::Tls(
            "no certificate authority to trust: this machine has none installed (install the \
             ca-certificates package) and no --ca-file was given"
                .into(),
        ));
    }
    config_with_roots(roots)
}

/// The client configuration trusting exactly `roots`.
fn config_with_roots(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: &dyn std::fmt::Display| Error::Tls(format!("cannot set up TLS: {e}"));
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| setup(&e))?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?
        .with_webpki_verifier(webpki)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// The system's certificate authorities. One unreadable certificate (or
/// store) is skipped with a warning rather than failing: the others may be
/// all the hub needs.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!("skipping system certificates: {error}");
    }
    let mut roots = RootCertStore::empty();
    let (loaded, skipped) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(loaded, skipped, "system certificate authorities");
    roots
}

/// Adds every certificate of the PEM file at `path` to `roots`.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), Error> {
    let shown = path.display();
    let certs = read_certificates(path)?;
    let count = certs.len();
    for (n, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            Error::Tls(format!(
                "--ca-file {shown}: certificate {} of {count} cannot be trusted ({e})",
                n + 1
            ))
        })?;
    }
    tracing::debug!(count, path = %shown, "certificate authorities from --ca-file");
    Ok(())
}

/// The certificates of a PEM file; other sections (keys) are ignored.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let shown = path.display();
    let pem = std::fs::read(path)
        .map_err(|e| Error::Tls(format!("--ca-file {shown}: cannot read it ({e})")))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("--ca-file {shown}: not a valid PEM file ({e})")))?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "--ca-file {shown}: no certificate found (expected PEM \"BEGIN CERTIFICATE\")"
        )));
    }
    Ok(certs)
}

/// The name the certificate must carry: the endpoint's host, a DNS name or
/// an IP address (checked against the certificate's IP addresses).
fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    ServerName::try_from(host.to_string()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("host {host:?} is neither a DNS name nor an IP address a certificate can name"),
        )
    })
}

/// The TLS handshake over `tcp`, checking the certificate against the
/// endpoint's host. A failure reads as one sentence (see
/// [`describe_tls_error`]).
pub(crate) async fn connect_tls(
    config: Arc<ClientConfig>,
    endpoint: &Endpoint,
    tcp: TcpStream,
) -> io::Result<TlsStream<TcpStream>> {
    let host = endpoint.host();
    TlsConnector::from(config)
        .connect(server_name(host)?, tcp)
        .await
        .map_err(|e| io::Error::new(e.kind(), describe_tls_error(host, &e)))
}

/// Dials TCP, then TLS: the [`Dialer`] for `wss://` endpoints.
pub(crate) fn tls_dialer(config: Arc<ClientConfig>) -> Dialer {
    Arc::new(move |endpoint: &Endpoint| {
        let (config, endpoint) = (config.clone(), endpoint.clone());
        Box::pin(async move {
            let tcp = TcpStream::connect((endpoint.host(), endpoint.port())).await?;
            tcp.set_nodelay(true)?;
            let tls = connect_tls(config, &endpoint, tcp).await?;
            Ok(Box::new(tls) as BoxIo)
        })
    })
}
