//! Real TLS handshakes over loopback against a tokio-rustls server, with
//! certificates made by rcgen for each test.

use std::net::SocketAddr;
use std::path::PathBuf;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::*;

type Ca = CertifiedIssuer<'static, KeyPair>;

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// A certificate authority.
fn ca(common_name: &str) -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = named(common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A hub certificate and its key.
struct Leaf {
    cert: CertificateDer<'static>,
    pem: String,
    key: PrivateKeyDer<'static>,
}

/// A hub certificate for `names`, signed by `ca` (self-signed without one);
/// `edit` changes its dates.
fn leaf(names: &[&str], ca: Option<&Ca>, edit: impl FnOnce(&mut CertificateParams)) -> Leaf {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name = named("telltale test hub");
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let cert = match ca {
        Some(ca) => params.signed_by(&key, &**ca).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Leaf {
        cert: cert.der().clone(),
        pem: cert.pem(),
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    }
}

fn valid(_: &mut CertificateParams) {}

/// A PEM file removed when dropped.
struct PemFile(PathBuf);

impl PemFile {
    fn new(name: &str, contents: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("telltale-tls-{}-{name}.pem", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for PemFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A TLS server on 127.0.0.1 presenting `leaf`; says "hello" to each
/// client that completes the handshake.
async fn serve(leaf: Leaf) -> SocketAddr {
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.cert], leaf.key)
            .unwrap();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tls.write_all(b"hello").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

fn endpoint(host: &str, addr: SocketAddr) -> Endpoint {
    Endpoint::parse(&format!(
        "wss://{host}:{}/connection/websocket",
        addr.port()
    ))
    .unwrap()
}

/// The handshake with the server at `addr`, checking the certificate for `host`.
async fn handshake(
    config: Arc<ClientConfig>,
    host: &str,
    addr: SocketAddr,
) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    connect_tls(config, &endpoint(host, addr), tcp).await
}

/// The handshake's error text.
async fn refusal(config: Arc<ClientConfig>, host: &str, addr: SocketAddr) -> String {
    match handshake(config, host, addr).await {
        Ok(_) => panic!("the handshake with {host} succeeded"),
        Err(e) => e.to_string(),
    }
}

/// Trusting only an unrelated CA, so that the outcome does not depend on
/// this machine's certificate store.
fn trusting_another_ca() -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca("some other CA").der().clone()).unwrap();
    config_with_roots(roots).unwrap()
}

#[tokio::test]
async fn trusts_a_private_ca_from_the_ca_file() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["localhost", "127.0.0.1"], Some(&ca), valid)).await;
    // A private key in the same file is ignored, not an error.
    let key = KeyPair::generate().unwrap().serialize_pem();
    let file = PemFile::new("private-ca", &format!("{key}{}", ca.pem()));

    let config = client_config(Some(&file.0)).unwrap();
    let mut tls = handshake(config, "localhost", addr).await.unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(ALPN_HTTP11));
    let mut hello = Vec::new();
    tls.read_to_end(&mut hello).await.unwrap();
    assert_eq!(hello, b"hello");
}

#[tokio::test]
async fn the_dialer_checks_an_ip_literal_against_the_certificate() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["127.0.0.1"], Some(&ca), valid)).await;
    let file = PemFile::new("ip-literal", &ca.pem());

    let dial = tls_dialer(client_config(Some(&file.0)).unwrap());
    let mut io = dial(&endpoint("127.0.0.1", addr)).await.unwrap();
    let mut hello = Vec::new();
    io.read_to_end(&mut hello).await.unwrap();
    assert_eq!(hello, b"hello");
}

#[tokio::test]
async fn an_unknown_ca_says_to_pass_the_ca_file() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["localhost"], Some(&ca), valid)).await;
    let text = refusal(trusting_another_ca(), "localhost", addr).await;
    assert_eq!(
        text,
        "certificate for localhost is signed by an authority this machine does not trust; \
         pass --ca-file with the hub's CA certificate (or the certificate itself if it is \
         self-signed)"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_can_be_trusted_by_file() {
    let hub = leaf(&["localhost"], None, valid);
    let file = PemFile::new("self-signed", &hub.pem);
    let addr = serve(hub).await;

    let text = refusal(trusting_another_ca(), "localhost", addr).await;
    assert!(
        text.contains(
            "certificate for localhost is signed by an authority this machine does not trust"
        ) && text.contains("--ca-file"),
        "{text}"
    );
    let config = client_config(Some(&file.0)).unwrap();
    handshake(config, "localhost", addr).await.unwrap();
}

#[tokio::test]
async fn an_expired_certificate_names_its_date() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["localhost"], Some(&ca), |p| {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 6, 15);
    }))
    .await;
    let file = PemFile::new("expired", &ca.pem());
    let text = refusal(client_config(Some(&file.0)).unwrap(), "localhost", addr).await;
    assert!(
        text.starts_with("certificate for localhost expired on 2021-06-15 00:00 UTC (now ")
            && text.ends_with("); renew it on the hub"),
        "{text}"
    );
}

#[tokio::test]
async fn a_certificate_not_valid_yet_names_its_date() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["localhost"], Some(&ca), |p| {
        p.not_before = date_time_ymd(2099, 1, 1);
        p.not_after = date_time_ymd(2100, 1, 1);
    }))
    .await;
    let file = PemFile::new("not-yet", &ca.pem());
    let text = refusal(client_config(Some(&file.0)).unwrap(), "localhost", addr).await;
    assert!(
        text.starts_with("certificate for localhost is not valid before 2099-01-01 00:00 UTC"),
        "{text}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_names_both() {
    let ca = ca("telltale test CA");
    let addr = serve(leaf(&["other.example"], Some(&ca), valid)).await;
    let file = PemFile::new("wrong-name", &ca.pem());
    let text = refusal(client_config(Some(&file.0)).unwrap(), "localhost", addr).await;
    assert!(
        text.starts_with("certificate is for \"other.example\", not \"localhost\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_plain_server_behind_wss_is_pointed_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 512];
        let _ = tcp.read(&mut hello).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
    });
    let text = refusal(trusting_another_ca(), "localhost", addr).await;
    assert!(
        text.starts_with("TLS handshake with localhost failed: ")
            && text.contains("ws:// rather than wss://"),
        "{text}"
    );
}

#[test]
fn ca_file_mistakes_are_reported_with_the_path() {
    let missing = std::env::temp_dir().join("telltale-tls-no-such-file.pem");
    let text = client_config(Some(&missing)).unwrap_err().to_string();
    assert!(
        text.starts_with(&format!("--ca-file {}: cannot read it", missing.display())),
        "{text}"
    );

    let key_only = PemFile::new("key-only", &KeyPair::generate().unwrap().serialize_pem());
    let text = client_config(Some(&key_only.0)).unwrap_err().to_string();
    assert_eq!(
        text,
        format!(
            "--ca-file {}: no certificate found (expected PEM \"BEGIN CERTIFICATE\")",
            key_only.0.display()
        )
    );

    let truncated = PemFile::new("truncated", "-----BEGIN CERTIFICATE-----\nMIIB\n");
    let text = client_config(Some(&truncated.0)).unwrap_err().to_string();
    assert!(text.contains("not a valid PEM file"), "{text}");
}
