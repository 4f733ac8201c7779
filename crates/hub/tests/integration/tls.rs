//! TLS: `wss://` and `https://` on the one port, with a certificate from a
//! CA made at test time; a client that does not trust that CA is refused;
//! a reload (in-process, and SIGHUP to the real binary) serves the new
//! certificate to new connections.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

use crate::binary::HubProcess;
use crate::support::{Hub, WAIT};

/// A certificate authority made for one test.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} test CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1, written as
    /// `cert.pem` and `key.pem` in `dir`; returns its DER.
    fn issue(&self, dir: &Path) -> CertificateDer<'static> {
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
        cert.der().clone()
    }
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-tls-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A TLS connection to `addr` as `localhost`, trusting only `ca`.
async fn tls_connect(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(
        WAIT,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .expect("TLS handshake in time")
}

/// The end-entity certificate the server presented.
fn served(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// `GET path` over https; returns the whole answer.
async fn https_get(addr: SocketAddr, ca: &CertificateDer<'static>, path: &str) -> String {
    let mut stream = tls_connect(addr, ca).await.unwrap();
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Opens `wss://localhost:PORT/connection/websocket` and completes an
/// anonymous Centrifugo `connect`; returns the reply.
async fn wss_connect(addr: SocketAddr, ca: &CertificateDer<'static>) -> Value {
    let stream = tls_connect(addr, ca).await.unwrap();
    let url = format!("wss://localhost:{}/connection/websocket", addr.port());
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, stream))
        .await
        .expect("upgrade in time")
        .expect("websocket handshake over TLS");
    ws.send(Message::text(json!({"id": 1, "connect": {}}).to_string()))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a reply in time")
            .expect("open")
            .unwrap();
        if let Message::Text(text) = message {
            let reply: Value = serde_json::from_str(text.as_str()).unwrap();
            if reply["id"] == 1 {
                return reply;
            }
        }
    }
}

#[tokio::test]
async fn wss_and_https_share_the_port_and_trust_follows_the_ca() {
    let dir = scratch("serve");
    let ca = Ca::new("hub");
    ca.issue(&dir);
    let hub = Hub::with_tls(&dir.join("cert.pem"), &dir.join("key.pem")).await;

    let reply = wss_connect(hub.addr, &ca.der).await;
    assert!(reply["connect"]["client"].is_string(), "{reply}");
    let answer = https_get(hub.addr, &ca.der, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok\n"), "{answer}");

    let stranger = Ca::new("stranger");
    let Err(err) = tls_connect(hub.addr, &stranger.der).await else {
        panic!("a client trusting another CA must fail the handshake");
    };
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // Plain HTTP on the TLS port gets no answer it could mistake for one.
    let mut plain = TcpStream::connect(hub.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer)).await;
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    hub.stop().await;
}

#[tokio::test]
async fn a_reload_serves_the_new_certificate_to_new_connections() {
    let dir = scratch("reload");
    let ca = Ca::new("hub");
    let first = ca.issue(&dir);
    let hub = Hub::with_tls(&dir.join("cert.pem"), &dir.join("key.pem")).await;
    let tls = hub.tls.clone().expect("serving TLS");

    let before = tls_connect(hub.addr, &ca.der).await.unwrap();
    assert_eq!(served(&before), first);

    let second = ca.issue(&dir);
    assert_ne!(first, second);
    tls.reload().unwrap();
    let after = tls_connect(hub.addr, &ca.der).await.unwrap();
    assert_eq!(served(&after), second);

    // A broken file is refused with its name, and the last good one stays.
    std::fs::write(dir.join("cert.pem"), "renewal in progress").unwrap();
    let err = tls.reload().unwrap_err().to_string();
    assert!(
        err.contains("--tls-cert") && err.contains("cert.pem"),
        "{err}"
    );
    let still = tls_connect(hub.addr, &ca.der).await.unwrap();
    assert_eq!(served(&still), second);
    let reply = wss_connect(hub.addr, &ca.der).await;
    assert!(reply["connect"]["client"].is_string(), "{reply}");
    hub.stop().await;
}

#[tokio::test]
async fn unusable_files_stop_the_hub_at_start_with_their_flag() {
    let dir = scratch("unusable");
    let ca = Ca::new("hub");
    ca.issue(&dir);
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let config = |cert: &str, key: &str| telltale_hub::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls_cert: Some(dir.join(cert)),
        tls_key: Some(dir.join(key)),
        ..telltale_hub::Config::default()
    };
    let err = telltale_hub::Server::bind(config("empty.pem", "key.pem"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no certificate found (expected PEM \"BEGIN CERTIFICATE\")"),
        "{err}"
    );
    let err = telltale_hub::Server::bind(config("cert.pem", "missing.pem"))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("--tls-key") && err.contains("cannot read"),
        "{err}"
    );
}
/// Waits until `done` holds, checking every 50 ms, for at most [`WAIT`].
async fn eventually(mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_binary_reloads_its_certificate_on_sighup() {
    let dir = scratch("sighup");
    let ca = Ca::new("hub");
    let first = ca.issue(&dir);
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let mut hub = HubProcess::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    // Served (so the SIGHUP handler is in place) with the first certificate.
    let stream = tls_connect(hub.addr, &ca.der).await.unwrap();
    assert_eq!(served(&stream), first);
    eventually(async || hub.logged("serving wss:// and https://")).await;

    let second = ca.issue(&dir);
    hub.hangup();
    eventually(async || {
        let stream = tls_connect(hub.addr, &ca.der).await.unwrap();
        served(&stream) == second
    })
    .await;

    // A broken renewal: logged with the file's name, the hub keeps serving.
    std::fs::write(&cert, "half written").unwrap();
    hub.hangup();
    let name = cert.display().to_string();
    eventually(async || hub.logged(&name) && hub.logged("previous certificate")).await;
    let stream = tls_connect(hub.addr, &ca.der).await.unwrap();
    assert_eq!(served(&stream), second);
    assert!(hub.child.try_wait().unwrap().is_none(), "still running");
}
