//! `wss://` end to end: the client and `telltale-tail` against a hub
//! serving TLS with a certificate from a CA made at test time, trusted
//! through `--ca-file`; without it, the refusal reads as a sentence.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use telltale_client::{Client, State};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::*;

/// A hub with TLS, its CA file, and the directory holding the PEM files.
struct TlsHub {
    hub: Hub,
    ca_file: PathBuf,
    dir: PathBuf,
}

impl TlsHub {
    /// A hub whose certificate (for `localhost` and 127.0.0.1) is signed by
    /// a fresh CA, written to `ca.pem`.
    async fn start(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("telltale-client-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca = ca();
        write_leaf(&dir, &ca);
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let hub = Hub::with(|c| {
            c.tls_cert = Some(cert);
            c.tls_key = Some(key);
        })
        .await;
        Self { hub, ca_file, dir }
    }

    fn wss_url(&self) -> String {
        format!(
            "wss://localhost:{}/connection/websocket",
            self.hub.addr.port()
        )
    }
}

impl Drop for TlsHub {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "telltale client test CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// `cert.pem` and `key.pem` for `localhost` and 127.0.0.1, signed by `ca`.
fn write_leaf(dir: &Path, ca: &CertifiedIssuer<'static, KeyPair>) {
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "telltale test hub");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &**ca).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

#[tokio::test]
async fn the_client_subscribes_over_wss_trusting_the_ca_file() {
    let hub = TlsHub::start("subscribes").await;
    let options = options(&hub.wss_url()).ca_file(&hub.ca_file);
    assert!(options.tls_config().unwrap().is_some());
    let (client, mut events) = Client::new(options);
    client.subscribe("alarms").unwrap();
    until(&mut events, connected).await;
    subscribed(&mut events, "alarms").await;
    client.close();
}

#[tokio::test]
async fn an_untrusted_hub_certificate_is_the_disconnect_reason() {
    let hub = TlsHub::start("untrusted").await;
    let (client, mut events) = Client::new(options(&hub.wss_url()));
    client.subscribe("alarms").unwrap();
    let (event, _) = until(&mut events, disconnected).await;
    let telltale_client::Event::State(State::Disconnected {
        reason, reconnect, ..
    }) = event
    else {
        unreachable!()
    };
    assert!(
        reason.contains(
            "certificate for localhost is signed by an authority this machine does not trust; \
             pass --ca-file"
        ),
        "{reason}"
    );
    assert!(
        reconnect,
        "a certificate can be fixed on the hub: keep trying"
    );
    client.close();
}

#[tokio::test]
async fn tail_follows_a_wss_hub_with_ca_file_and_explains_without() {
    let hub = TlsHub::start("tail").await;

    let mut with = tail()
        .args(["--server", &hub.wss_url(), "alarms"])
        .env("TELLTALE_CA_FILE", &hub.ca_file)
        .spawn()
        .unwrap();
    let line = first_line(&mut with, |l| l.contains("subscribed to alarms")).await;
    assert!(line.contains("subscribed to alarms"), "{line}");
    with.kill().await.unwrap();

    let mut without = tail()
        .args(["--server", &hub.wss_url(), "alarms"])
        .spawn()
        .unwrap();
    let line = first_line(&mut without, |l| l.contains("disconnected")).await;
    assert!(
        line.contains("signed by an authority this machine does not trust")
            && line.contains("--ca-file"),
        "{line}"
    );
    without.kill().await.unwrap();
}

#[tokio::test]
async fn tail_refuses_a_ca_file_without_certificates() {
    let dir = std::env::temp_dir().join(format!("telltale-tail-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let output = tokio::time::timeout(
        WAIT,
        tail()
            .args(["--server", "wss://127.0.0.1:1/connection/websocket"])
            .arg("--ca-file")
            .arg(&empty)
            .arg("alarms")
            .output(),
    )
    .await
    .expect("tail exits")
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "--ca-file {}: no certificate found (expected PEM \"BEGIN CERTIFICATE\")",
            empty.display()
        )),
        "{stderr}"
    );
}

/// The first stderr line of `child` matching `want`, within [`WAIT`] in all
/// (a client that keeps retrying keeps writing lines that do not match).
async fn first_line(child: &mut tokio::process::Child, want: impl Fn(&str) -> bool) -> String {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = Vec::new();
    let search = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if want(&line) {
                return Some(line);
            }
            log.push(line);
        }
        None
    };
    match tokio::time::timeout(WAIT, search).await {
        Ok(Some(line)) => line,
        Ok(None) => panic!("stderr ended: {log:?}"),
        Err(_) => panic!("no matching line on stderr within {WAIT:?}: {log:?}"),
    }
}
