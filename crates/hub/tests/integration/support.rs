//! A hub per test and a minimal protocol client for driving it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use telltale_hub::permissions::Namespace;
use telltale_hub::tls::Tls;
use telltale_hub::{Config, Node, Server};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// A `redis://` URL: every [`Hub`] then runs on that Redis (`make
/// test-redis` sets it), each under its own key prefix so that tests running
/// at once do not see each other's channels, alarms or catalog.
pub const TEST_REDIS_ENV: &str = "TELLTALE_TEST_REDIS";

pub const API_KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";

/// A running hub.
pub struct Hub {
    pub addr: SocketAddr,
    pub node: Node,
    /// The certificate handle of a hub serving TLS, to reload in-process.
    pub tls: Option<Arc<Tls>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Hub {
    pub async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// A hub with `edit` applied to the test settings: anonymous
    /// connections, the test secret and key, and every namespace open to
    /// everyone (one `"*"` rule) so that tests about other things may use any
    /// channel; permission tests set `namespaces` themselves. With
    /// [`TEST_REDIS_ENV`] set, on that Redis under a prefix of its own
    /// (before `edit`, so a test may still choose its own).
    pub async fn with(edit: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            api_key: Some(API_KEY.into()),
            token_secret: Some(SECRET.into()),
            allow_anonymous: true,
            namespaces: [("*".to_owned(), Namespace::open())].into(),
            ..Config::default()
        };
        if let Some(url) = std::env::var(TEST_REDIS_ENV).ok().filter(|u| !u.is_empty()) {
            config.redis = vec![url];
            config.redis_prefix = format!("t{}", uuid::Uuid::new_v4().simple());
        }
        edit(&mut config);
        let server = Server::bind(config).await.unwrap();
        let addr = server.local_addr();
        let node = server.node().clone();
        let tls = server.tls().cloned();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            node,
            tls,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A hub serving `wss://` and `https://` with these PEM files.
    pub async fn with_tls(cert: &Path, key: &Path) -> Self {
        Self::with(|c| {
            c.tls_cert = Some(cert.to_owned());
            c.tls_key = Some(key.to_owned());
        })
        .await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// Shuts the hub down and waits for it.
    pub async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .expect("hub stops in time")
            .unwrap()
            .unwrap();
    }

    /// `POST /api/<method>` with the right key; returns status and JSON.
    pub async fn api(&self, method: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("http://{}/api/{method}", self.addr))
            .header("X-API-Key", API_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.addr))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn publish(&self, channel: &str, data: Value) -> u64 {
        let reply = self
            .api("publish", json!({"channel": channel, "data": data}))
            .await;
        reply["result"]["offset"]
            .as_u64()
            .unwrap_or_else(|| panic!("publish failed: {reply}"))
    }
}

/// What a client read: one JSON object, or the close.
#[derive(Debug)]
pub enum Event {
    Object(Value),
    Closed(Option<u16>),
}

/// A bare protocol client: sends frames, reads objects one by one.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pending: std::collections::VecDeque<Value>,
    next_id: u64,
    /// Answer server pings automatically.
    pub auto_pong: bool,
}

impl Client {
    pub async fn open(hub: &Hub) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(hub.ws_url()))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        Self {
            ws,
            pending: Default::default(),
            next_id: 0,
            auto_pong: true,
        }
    }

    /// Opens `url` as a browser on `origin` would (an `Origin` header), or
    /// the handshake's error (403 for an origin the hub refuses).
    pub async fn open_from_origin(
        url: &str,
        origin: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request()?;
        let origin = origin.parse().expect("an origin is a valid header");
        request.headers_mut().insert("Origin", origin);
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("handshake in time")?;
        Ok(Self {
            ws,
            pending: Default::default(),
            next_id: 0,
            auto_pong: true,
        })
    }

    /// Opens a connection whose kernel receive buffer is tiny (no
    /// autotuning), so a client that stops reading backs up quickly.
    pub async fn open_tiny_buffer(hub: &Hub) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(hub.addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(hub.ws_url(), MaybeTlsStream::Plain(stream))
            .await
            .expect("websocket handshake");
        let mut client = Self {
            ws,
            pending: Default::default(),
            next_id: 0,
            auto_pong: true,
        };
        let reply = client.call("connect", json!({})).await;
        assert!(reply["connect"]["client"].is_string(), "{reply}");
        client
    }

    /// Opens and connects (anonymous, or with `token`).
    pub async fn connect(hub: &Hub, token: &str) -> (Self, Value) {
        let mut client = Self::open(hub).await;
        let reply = client.call("connect", json!({"token": token})).await;
        (client, reply)
    }

    pub async fn anonymous(hub: &Hub) -> Self {
        let (client, reply) = Self::connect(hub, "").await;
        assert!(reply["connect"]["client"].is_string(), "{reply}");
        client
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws.send(Message::text(text.into())).await.unwrap();
    }

    /// Sends one command and returns its id.
    pub async fn command(&mut self, method: &str, body: Value) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send_text(json!({"id": id, method: body}).to_string())
            .await;
        id
    }

    /// Sends a command and waits for its reply, keeping pushes for later.
    pub async fn call(&mut self, method: &str, body: Value) -> Value {
        let id = self.command(method, body).await;
        self.reply_to(id).await
    }

    pub async fn reply_to(&mut self, id: u64) -> Value {
        let mut skipped = Vec::new();
        let reply = loop {
            match self.next_event().await {
                Event::Object(v) if v["id"].as_u64() == Some(id) => break v,
                Event::Object(v) => skipped.push(v),
                Event::Closed(code) => panic!("closed with {code:?} while waiting for reply {id}"),
            }
        };
        for v in skipped.into_iter().rev() {
            self.pending.push_front(v);
        }
        reply
    }

    pub async fn subscribe(&mut self, channel: &str) -> Value {
        let reply = self.call("subscribe", json!({"channel": channel})).await;
        assert!(reply.get("error").is_none(), "subscribe failed: {reply}");
        reply["subscribe"].clone()
    }

    /// The next JSON object or the close, skipping (and answering) pings.
    pub async fn next_event(&mut self) -> Event {
        loop {
            if let Some(v) = self.pending.pop_front() {
                return Event::Object(v);
            }
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    for line in text.as_str().split('\n').filter(|l| !l.is_empty()) {
                        let value: Value = serde_json::from_str(line).unwrap();
                        if value.as_object().is_some_and(|o| o.is_empty()) {
                            if self.auto_pong {
                                self.ws.send(Message::text("{}")).await.unwrap();
                            }
                            continue;
                        }
                        self.pending.push_back(value);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return Event::Closed(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Event::Closed(None),
            }
        }
    }

    /// The next publication push on any channel: `(channel, offset, data)`.
    pub async fn next_publication(&mut self) -> (String, u64, Value) {
        loop {
            match self.next_event().await {
                Event::Object(v) if v["push"]["pub"].is_object() => {
                    let push = &v["push"];
                    return (
                        push["channel"].as_str().unwrap().to_owned(),
                        push["pub"]["offset"].as_u64().unwrap(),
                        push["pub"]["data"].clone(),
                    );
                }
                Event::Object(_) => {}
                Event::Closed(code) => {
                    panic!("closed with {code:?} while waiting for a publication")
                }
            }
        }
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Event::Closed(code) = self.next_event().await {
                return code;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// An HS256 token signed with [`SECRET`] (or `secret`).
pub fn token(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
