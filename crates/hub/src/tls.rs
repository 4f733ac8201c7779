//! TLS for the listener: `wss://` and `https://` on the one port, from a
//! PEM certificate chain and key, read again on SIGHUP (see [`crate::reload`]).
//!
//! Each new connection takes the configuration current at its accept, so
//! a reload affects new connections only; established ones keep theirs.
//! A reload that fails (missing file, bad PEM, key that does not match)
//! logs why and keeps the previous certificate: a renewal script that
//! races the hub must not take it off the air.
//!
//! The ring provider is named explicitly so that no process-wide default
//! provider has to be installed (the desktop app embeds the hub).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

/// A certificate that cannot be used; the message names the flag and file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// The listener's TLS settings, swappable at run time.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Reads `cert` (PEM chain, leaf first) and `key` (PEM PKCS#8, PKCS#1 or
    /// SEC1), checking that they belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let config = server_config(cert, key)?;
        Ok(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Reads both files again; new connections use the result. On error the
    /// previous certificate stays in use.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.cert, &self.key)?;
        *self.current.write() = Arc::new(config);
        Ok(())
    }

    /// An acceptor with the current certificate, for one connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.read().clone())
    }

    /// The certificate file, for logs.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let chain = read_chain(cert)?;
    let private_key = read_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => TlsError(format!(
                "--tls-key {} does not match the certificate in --tls-cert {}: use the key the \
                 certificate was issued for",
                key.display(),
                cert.display()
            )),
            other => TlsError(format!(
                "--tls-key {}: cannot use this key with --tls-cert {}: {other}",
                key.display(),
                cert.display()
            )),
        })?;
    // HTTP/1.1 only: the WebSocket upgrade and the API both speak it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, "--tls-cert")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("--tls-cert {}: bad PEM: {e}", path.display())))?;
    if chain.is_empty() {
        return Err(TlsError(format!(
            "--tls-cert {}: no certificate found (expected PEM \"BEGIN CERTIFICATE\")",
            path.display()
        )));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path, "--tls-key")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError(format!(
            "--tls-key {}: no private key found (expected PEM \"BEGIN PRIVATE KEY\", \
             \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")",
            path.display()
        )),
        other => TlsError(format!("--tls-key {}: bad PEM: {other}", path.display())),
    })
}

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|e| TlsError(format!("{flag} {}: cannot read: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory with a self-signed `cert.pem` and its `key.pem`.
    fn files(name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("telltale-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, issued.cert.pem()).unwrap();
        std::fs::write(&key, issued.signing_key.serialize_pem()).unwrap();
        (dir, cert, key)
    }

    #[test]
    fn a_matching_pair_loads() {
        let (_, cert, key) = files("ok");
        let tls = Tls::load(&cert, &key).unwrap();
        assert_eq!(tls.cert_path(), cert);
    }

    #[test]
    fn unusable_files_are_named_with_their_flag() {
        let (dir, cert, key) = files("bad");
        let missing = dir.join("missing.pem");
        let err = Tls::load(&missing, &key).err().unwrap().0;
        assert!(
            err.starts_with("--tls-cert ") && err.contains("cannot read"),
            "{err}"
        );
        let err = Tls::load(&key, &key).err().unwrap().0;
        assert!(
            err.contains("no certificate found (expected PEM \"BEGIN CERTIFICATE\")"),
            "{err}"
        );
        let err = Tls::load(&cert, &cert).err().unwrap().0;
        assert!(
            err.starts_with("--tls-key ") && err.contains("no private key"),
            "{err}"
        );
        let (_, _, other_key) = files("other");
        let err = Tls::load(&cert, &other_key).err().unwrap().0;
        assert!(err.contains("does not match the certificate"), "{err}");
    }

    #[test]
    fn a_failed_reload_keeps_serving() {
        let (_, cert, key) = files("reload");
        let tls = Tls::load(&cert, &key).unwrap();
        let before = Arc::as_ptr(&tls.current.read().clone());
        std::fs::write(&cert, "not a certificate").unwrap();
        assert!(tls.reload().is_err());
        assert_eq!(Arc::as_ptr(&tls.current.read().clone()), before);
    }
}
