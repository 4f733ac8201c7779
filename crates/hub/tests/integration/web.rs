//! The web UI at `/` (`--web`): the built `ui/dist` over real HTTP, its
//! headers (type, caching, compression, security), what it refuses, and
//! that the page's own origin may open the WebSocket.

use std::io::Read;
use std::path::PathBuf;

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::binary::HubProcess;
use crate::support::{Client, Hub, WAIT};

/// `ui/dist`, which these tests compare the answers with; they fail (never
/// skip) when it has not been built.
fn dist() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    assert!(
        dir.join("index.html").is_file(),
        "{} has no index.html: build the UI first (`make ui`, or `npm --prefix ui ci && \
         npm --prefix ui run build`), then run the tests again",
        dir.display()
    );
    dir
}

fn read(name: &str) -> Vec<u8> {
    let path = dist().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The local files `index.html` names (`src` and `href`), as URL paths.
fn assets_named_by_index() -> Vec<String> {
    let html = String::from_utf8(read("index.html")).unwrap();
    let mut paths = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let value = &html[start + attribute.len()..];
            let value = &value[..value.find('"').expect("a closing quote")];
            if let Some(relative) = value.strip_prefix("./").or(value.strip_prefix('/')) {
                paths.push(format!("/{relative}"));
            }
        }
    }
    paths
}

async fn web_hub() -> Hub {
    dist();
    Hub::with(|c| c.web = true).await
}

fn header(headers: &HeaderMap, name: header::HeaderName) -> &str {
    headers
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

fn assert_secure(headers: &HeaderMap, hub: &Hub) {
    let policy = header(headers, header::CONTENT_SECURITY_POLICY);
    for part in [
        "default-src 'self'",
        "script-src 'self';",
        &format!("connect-src 'self' ws://{};", hub.addr),
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(part), "{part:?} not in {policy:?}");
    }
    assert_eq!(header(headers, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header(headers, header::REFERRER_POLICY), "no-referrer");
    assert_eq!(header(headers, header::X_FRAME_OPTIONS), "DENY");
}

fn expected_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        other => panic!("index.html names a kind of file this test does not know: {other:?}"),
    }
}

/// One request over a fresh TCP connection, the target sent exactly as
/// given (an HTTP client would tidy `..` away); the status and body.
async fn raw_get(hub: &Hub, target: &str) -> (u16, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(hub.addr).await.unwrap();
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            hub.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = tokio::time::timeout(WAIT, exchange)
        .await
        .expect("answer in time");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn the_page_and_every_file_it_names_are_served() {
    let hub = web_hub().await;
    let http = reqwest::Client::new();
    let page = http
        .get(format!("http://{}/", hub.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        header(page.headers(), header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(page.headers(), header::CACHE_CONTROL), "no-cache");
    assert_secure(page.headers(), &hub);
    assert_eq!(page.bytes().await.unwrap(), read("index.html"));

    let assets = assets_named_by_index();
    assert!(
        assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")),
        "index.html names no script or no style sheet: {assets:?}"
    );
    for path in &assets {
        let response = http
            .get(format!("http://{}{path}", hub.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(
            header(&headers, header::CONTENT_TYPE),
            expected_type(path),
            "{path}"
        );
        if path.starts_with("/assets/") {
            assert_eq!(
                header(&headers, header::CACHE_CONTROL),
                "public, max-age=31536000, immutable",
                "{path}"
            );
        }
        assert!(headers.get(header::CONTENT_ENCODING).is_none(), "{path}");
        assert_secure(&headers, &hub);
        let body = response.bytes().await.unwrap();
        assert_eq!(body, read(&path[1..]), "{path}");
    }
    let metrics = hub.metrics().await;
    let served = format!(
        "telltale_hub_web_requests_total{{outcome=\"served\"}} {}",
        1 + assets.len()
    );
    assert!(metrics.contains(&served), "{served:?} not in {metrics}");
    hub.stop().await;
}

#[tokio::test]
async fn the_page_revalidates_with_its_etag() {
    let hub = web_hub().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/", hub.addr);
    let first = http.get(&url).send().await.unwrap();
    let etag = header(first.headers(), header::ETAG).to_owned();
    let again = http
        .get(&url)
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(again.headers(), header::ETAG), etag);
    assert_eq!(header(again.headers(), header::CACHE_CONTROL), "no-cache");
    assert!(header(again.headers(), header::VARY).contains("accept-encoding"));
    assert!(again.bytes().await.unwrap().is_empty());
    let changed = http
        .get(&url)
        .header(header::IF_NONE_MATCH, "W/\"an-older-build\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.bytes().await.unwrap(), read("index.html"));
    let metrics = hub.metrics().await;
    assert!(
        metrics.contains("telltale_hub_web_requests_total{outcome=\"not_modified\"} 1"),
        "{metrics}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn text_is_compressed_only_when_the_browser_asks() {
    let hub = web_hub().await;
    let http = reqwest::Client::new();
    let script = (assets_named_by_index().into_iter())
        .find(|a| a.ends_with(".js"))
        .expect("index.html names a script");
    let on_disk = read(&script[1..]);
    let url = format!("http://{}{script}", hub.addr);
    let get = |encoding: Option<&'static str>| {
        let mut request = http.get(&url);
        if let Some(encoding) = encoding {
            request = request.header(header::ACCEPT_ENCODING, encoding);
        }
        request.send()
    };

    let gzip = get(Some("gzip")).await.unwrap();
    assert_eq!(header(gzip.headers(), header::CONTENT_ENCODING), "gzip");
    assert!(header(gzip.headers(), header::VARY).contains("accept-encoding"));
    let compressed = gzip.bytes().await.unwrap();
    assert!(compressed.len() < on_disk.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, on_disk);

    let brotli = get(Some("br;q=1.0, gzip;q=0.5")).await.unwrap();
    assert_eq!(header(brotli.headers(), header::CONTENT_ENCODING), "br");
    let compressed = brotli.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli_decompressor::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, on_disk);

    for plain in [None, Some("identity")] {
        let response = get(plain).await.unwrap();
        assert!(
            response.headers().get(header::CONTENT_ENCODING).is_none(),
            "{plain:?}"
        );
        assert_eq!(
            header(response.headers(), header::CONTENT_LENGTH),
            on_disk.len().to_string()
        );
        assert_eq!(response.bytes().await.unwrap(), on_disk);
    }

    // The hub's other routes are answered as before, never compressed.
    for path in ["/metrics", "/healthz"] {
        let response = http
            .get(format!("http://{}{path}", hub.addr))
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers().get(header::CONTENT_ENCODING).is_none(),
            "{path}"
        );
        assert!(
            response
                .headers()
                .get(header::CONTENT_SECURITY_POLICY)
                .is_none(),
            "{path}"
        );
    }
    hub.stop().await;
}

#[tokio::test]
async fn head_is_answered_and_other_methods_are_refused() {
    let hub = web_hub().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/", hub.addr);
    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        header(head.headers(), header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(
        header(head.headers(), header::CONTENT_LENGTH),
        read("index.html").len().to_string()
    );
    assert!(head.headers().get(header::ETAG).is_some());
    assert!(head.bytes().await.unwrap().is_empty());
    let script = (assets_named_by_index().into_iter())
        .find(|a| a.ends_with(".js"))
        .unwrap();
    for (method, path) in [
        (Method::POST, "/"),
        (Method::PUT, "/"),
        (Method::DELETE, script.as_str()),
        (Method::POST, "/index.html"),
    ] {
        let response = http
            .request(method.clone(), format!("http://{}{path}", hub.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    hub.stop().await;
}

#[tokio::test]
async fn nothing_outside_the_ui_is_served() {
    let hub = web_hub().await;
    // Files that exist next to ui/dist, reached by climbing out of it.
    for target in [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/assets/../../package.json",
        "/%2e%2e/package.json",
        "/%2E%2E/%2E%2E/Cargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
        "/..%2f..%2fCargo.toml",
        "/assets/..%5c..%5cpackage.json",
        "/.%2e/package.json",
        "//etc/passwd",
        "/ui/dist/index.html",
        "/assets/",
        "/assets",
        "/no-such-file.js",
        "/assets/no-such-file-0000.js",
    ] {
        let (status, body) = raw_get(&hub, target).await;
        // 400 is hyper refusing the target before any handler sees it.
        assert!(status == 404 || status == 400, "{target}: {status} {body}");
        assert!(
            !body.contains("[package]") && !body.contains("\"name\""),
            "{target}: {body}"
        );
    }
    let (status, body) = raw_get(&hub, "/no-such-file.js").await;
    assert_eq!(status, 404);
    assert!(body.contains("the page is at /"), "{body}");
    hub.stop().await;
}

#[tokio::test]
async fn without_web_the_root_says_how_to_turn_it_on() {
    let hub = Hub::start().await;
    let http = reqwest::Client::new();
    let root = http
        .get(format!("http://{}/", hub.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 404);
    let body = root.text().await.unwrap();
    assert!(body.contains("start telltale-hub with --web"), "{body}");
    assert!(body.contains("TELLTALE_HUB_WEB"), "{body}");
    for path in ["/index.html", "/assets/index.js"] {
        let response = http
            .get(format!("http://{}{path}", hub.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn the_websocket_and_api_work_with_and_without_web() {
    for web in [false, true] {
        if web {
            dist();
        }
        let hub = Hub::with(|c| c.web = web).await;
        let mut client = Client::anonymous(&hub).await;
        let reply = client.subscribe("news").await;
        assert!(reply.get("error").is_none(), "web {web}: {reply}");
        hub.publish("news", json!({"n": 1})).await;
        let (channel, _, data) = client.next_publication().await;
        assert_eq!((channel.as_str(), data), ("news", json!({"n": 1})));
        let info = hub.api("info", json!({})).await;
        assert!(info["result"]["nodes"].is_array(), "web {web}: {info}");
        client.close().await;
        hub.stop().await;
    }
}

#[tokio::test]
async fn the_pages_origin_may_open_the_websocket_and_others_may_not() {
    let hub = web_hub().await;
    assert!(!hub.node.config().allow_any_origin);
    let port = hub.addr.port();
    // The page as the browser loads it from 127.0.0.1 or from localhost:
    // its origin is the URL it was loaded from, and the WebSocket it opens
    // carries the same host (and port) in Host.
    for host in ["127.0.0.1", "localhost"] {
        let page = format!("http://{host}:{port}");
        let response = reqwest::get(format!("{page}/")).await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
        let url = format!("ws://{host}:{port}/connection/websocket");
        let mut client = Client::open_from_origin(&url, &page)
            .await
            .unwrap_or_else(|e| panic!("{page} refused: {e}"));
        let reply = client.call("connect", json!({})).await;
        assert!(reply["connect"]["client"].is_string(), "{page}: {reply}");
        client.close().await;
    }
    for foreign in [
        "http://evil.example".to_owned(),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}"),
        "null".to_owned(),
    ] {
        match Client::open_from_origin(&hub.ws_url(), &foreign).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 403, "{foreign}")
            }
            Err(e) => panic!("{foreign}: expected 403, got {e}"),
            Ok(_) => panic!("{foreign}: accepted"),
        }
    }
    hub.stop().await;
}

#[tokio::test]
async fn the_binary_serves_the_page_with_the_flag() {
    dist();
    let hub = HubProcess::start(&["--web"]);
    let response = tokio::time::timeout(WAIT, reqwest::get(format!("http://{}/", hub.addr)))
        .await
        .expect("answer in time")
        .unwrap();
    assert_eq!(response.status(), 200, "{}", hub.log());
    assert_eq!(response.bytes().await.unwrap(), read("index.html"));
    hub.wait_logged(&format!("web UI at http://{}/", hub.addr))
        .await;
    let off = HubProcess::start(&[]);
    let response = reqwest::get(format!("http://{}/", off.addr)).await.unwrap();
    assert_eq!(response.status(), 404);
}
