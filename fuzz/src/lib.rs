//! Drivers of the fuzz targets: one function per target, each feeding one
//! input through the hub's real code (`telltale-hub`, `telltale-protocol`).
//!
//! The same file is compiled twice: by the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, through this crate) and by the replay test
//! `crates/hub/tests/fuzz_regressions.rs` (through `#[path]`), which runs
//! every seed and every saved crash input through exactly these functions.
//! A driver panics only when the hub panics or answers something that breaks
//! the protocol; every other outcome (a refused command, an error reply) is
//! a normal result.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use telltale_hub::auth::{AuthError, Authenticator, Credentials};
use telltale_hub::hub::Connection;
use telltale_hub::node::PublishOptions;
use telltale_hub::writer::{ClientQueue, QueueReceiver};
use telltale_hub::{Config, Node};
use telltale_protocol::command::ConnectRequest;
use telltale_protocol::reply::{
    ClientInfo, ConnectResult, Empty, PresenceResult, RefreshResult, RpcResult,
};
use telltale_protocol::{Alarm, Command, Disconnect, ErrorCode, Method, Reply, ReplyError};

/// The HMAC secret of every fuzzed node and token.
pub const SECRET: &str = "fuzz-secret";

/// `api_body`: the API method for each value of the first input byte
/// (modulo the length); the last one is not an API method.
pub const API_METHODS: [&str; 10] = [
    "publish",
    "broadcast",
    "history",
    "channels",
    "info",
    "presence",
    "presence_stats",
    "disconnect",
    "batch",
    "frobnicate",
];

/// Settings of every fuzzed node: small, short history, and channels and
/// sources forgotten after 2 s idle, so that a sweep (as the server runs
/// one) frees within seconds what the inputs made the node hold; client
/// publications allowed so that the `publish` command reaches the broker;
/// anonymous connections allowed so that `{"connect":{}}` connects.
pub fn config() -> Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG
        .get_or_init(|| Config {
            token_secret: Some(SECRET.into()),
            allow_anonymous: true,
            allow_client_publish: true,
            history_size: 16,
            history_ttl: Duration::from_secs(1),
            history_meta_ttl: Duration::from_secs(2),
            catalog_forget_after: Duration::from_secs(2),
            node_name: "fuzz".into(),
            ..Config::default()
        })
        .clone()
}

/// One node for the whole process, as a running hub has (`api_body`).
pub fn shared_node() -> &'static Node {
    static NODE: OnceLock<Node> = OnceLock::new();
    NODE.get_or_init(|| Node::new(config()))
}

/// Sweeps the shared node as often as the server's sweeper task would
/// (`sweeper::interval(history_ttl)`, wall clock), which the fuzzer's
/// inputs cannot do for themselves.
fn sweep_when_due(node: &Node) {
    static LAST: OnceLock<Mutex<Instant>> = OnceLock::new();
    let interval = telltale_hub::sweeper::interval(node.config().history_ttl);
    let mut last = LAST
        .get_or_init(|| Mutex::new(Instant::now()))
        .lock()
        .expect("not poisoned");
    if last.elapsed() >= interval {
        node.sweep();
        *last = Instant::now();
    }
}

/// Runs `future` on this thread's current-thread runtime (built once).
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
    }
    RUNTIME.with(|cell| {
        let mut runtime = cell.borrow_mut();
        let runtime = runtime.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime")
        });
        runtime.block_on(future)
    })
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Every object the hub queues for a client must be one line of JSON: the
/// client splits frames on `\n` (telltale_protocol::frame).
fn assert_one_json_line(bytes: &[u8], what: &str) {
    assert!(
        !bytes.contains(&b'\n'),
        "{what} queued with a raw newline: {:?}",
        String::from_utf8_lossy(bytes)
    );
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"));
    if let Err(e) = serde_json::from_str::<Box<RawValue>>(text) {
        panic!("{what} is not JSON ({e}): {text:?}");
    }
}

fn drain(rx: &mut QueueReceiver) {
    while let Ok(frame) = rx.try_recv() {
        assert_one_json_line(&frame, "frame");
    }
}

// ---------------------------------------------------------------------------
// command_frame

/// What the session does after a command: go on, or close the connection.
type Outcome = Result<Option<Reply>, Disconnect>;

/// Most channels one connection may subscribe to (session.rs).
const MAX_CHANNELS: usize = 512;

/// One connection, doing what `session::Session::on_frame` and the methods
/// it calls do, through the same public node API.
struct Session {
    node: Node,
    queue: Arc<ClientQueue>,
    rx: QueueReceiver,
    connection: Option<Arc<Connection>>,
    channels: HashSet<String>,
}

impl Session {
    fn new(node: Node) -> Self {
        let (queue, rx) = ClientQueue::new(node.config().client_queue_bytes);
        Self {
            node,
            queue,
            rx,
            connection: None,
            channels: HashSet::new(),
        }
    }

    /// `Session::on_frame`: split into lines, decode each as a `Command`,
    /// run it; a line that is not a command closes the connection (3501).
    async fn on_frame(&mut self, frame: &str) -> Result<(), Disconnect> {
        let mut lines = telltale_protocol::frame::lines(frame).peekable();
        if lines.peek().is_none() {
            return Err(Disconnect::BAD_REQUEST);
        }
        for line in lines {
            assert!(
                !line.contains('\n'),
                "frame::lines left a newline in {line:?}"
            );
            let command: Command =
                serde_json::from_str(line).map_err(|_| Disconnect::BAD_REQUEST)?;
            reserialize(&command);
            let id = command.id;
            let method = command.into_method();
            let reply = match self.connection.clone() {
                None => self.before_connect(id, method).await?,
                Some(connection) => self.after_connect(connection, id, method).await?,
            };
            if let Some(reply) = reply {
                self.send_reply(&reply);
            }
            drain(&mut self.rx);
        }
        Ok(())
    }

    /// `Session::send`: the hub `expect`s every reply to serialize.
    fn send(&self, reply: &Reply) {
        let bytes = serde_json::to_vec(reply).expect("replies serialize");
        assert_one_json_line(&bytes, "reply");
        self.queue.push(bytes.into());
    }

    /// `Session::send_reply`: a reply larger than the reply budget is
    /// replaced by error 106. Returns whether it went out as it was.
    fn send_reply(&self, reply: &Reply) -> bool {
        let bytes = serde_json::to_vec(reply).expect("replies serialize");
        if bytes.len() <= self.node.config().reply_budget() {
            assert_one_json_line(&bytes, "reply");
            self.queue.push(bytes.into());
            return true;
        }
        self.send(&Reply::error(reply.id, ErrorCode::LimitExceeded.into()));
        false
    }

    async fn before_connect(&mut self, id: u32, method: Method) -> Outcome {
        match method {
            Method::Connect(request) => self.connect(id, request).await,
            Method::Pong => Ok(None),
            _ => Err(Disconnect::BAD_REQUEST),
        }
    }

    async fn connect(&mut self, id: u32, request: ConnectRequest) -> Outcome {
        let credentials = match self.node.auth().verify(&request.token) {
            Ok(credentials) => credentials,
            Err(e) => return e.outcome().map(|error| Some(Reply::error(id, error))),
        };
        let connection = Arc::new(Connection {
            id: self.node.next_connection_id(),
            client: format!("fuzz-{id}"),
            user: credentials.user.clone(),
            queue: self.queue.clone(),
        });
        self.node.local().hub.register(connection.clone());
        self.connection = Some(connection.clone());
        let (expires, ttl) = expiry(&credentials);
        let mut subs = std::collections::HashMap::new();
        let mut activations = Vec::new();
        for channel in &credentials.channels {
            let mut sub = request.subs.get(channel).cloned().unwrap_or_default();
            sub.channel = channel.clone();
            if let Ok((result, covered)) = self.node.subscribe(&connection, &sub).await {
                subs.insert(channel.clone(), result);
                activations.push((channel.clone(), covered));
            }
        }
        self.send_reply(&Reply {
            id,
            connect: Some(ConnectResult {
                client: connection.client.clone(),
                version: "fuzz".into(),
                expires,
                ttl,
                subs,
                ping: self.node.config().ping_interval.as_secs() as u32,
                pong: true,
            }),
            ..Reply::default()
        });
        for (channel, covered) in activations {
            self.node.activate(&channel, &connection, covered);
            self.channels.insert(channel);
        }
        Ok(None)
    }

    async fn after_connect(
        &mut self,
        connection: Arc<Connection>,
        id: u32,
        method: Method,
    ) -> Outcome {
        let node = self.node.clone();
        let mut reply = Reply {
            id,
            ..Reply::default()
        };
        let outcome: Result<(), ReplyError> = match method {
            Method::Connect(_) => return Err(Disconnect::BAD_REQUEST),
            Method::Pong | Method::Send(_) => return Ok(None),
            Method::Subscribe(request) => {
                if self.channels.contains(&request.channel) {
                    return Ok(Some(Reply::error(id, ErrorCode::AlreadySubscribed.into())));
                }
                if self.channels.len() >= MAX_CHANNELS {
                    return Ok(Some(Reply::error(id, ErrorCode::LimitExceeded.into())));
                }
                return Ok(match node.subscribe(&connection, &request).await {
                    Ok((result, covered)) => {
                        let sent = self.send_reply(&Reply {
                            id,
                            subscribe: Some(result),
                            ..Reply::default()
                        });
                        if sent {
                            node.activate(&request.channel, &connection, covered);
                            self.channels.insert(request.channel);
                        } else {
                            node.unsubscribe(&request.channel, &connection);
                        }
                        None
                    }
                    Err(error) => Some(Reply::error(id, error)),
                });
            }
            Method::Unsubscribe(request) => {
                if self.channels.remove(&request.channel) {
                    node.unsubscribe(&request.channel, &connection);
                }
                reply.unsubscribe = Some(Empty {});
                Ok(())
            }
            Method::Publish(request) => {
                let options = PublishOptions {
                    info: Some(connection.info()),
                    ..PublishOptions::default()
                };
                node.publish(&request.channel, request.data, options)
                    .await
                    .map(|_| reply.publish = Some(Empty {}))
            }
            Method::History(request) => node
                .history(
                    &request.channel,
                    request.limit,
                    request.since,
                    request.reverse,
                )
                .await
                .map(|history| reply.history = Some(history)),
            Method::Rpc(request) => telltale_hub::rpc::call(
                &node,
                &connection.info(),
                &request.method,
                request.data.as_deref(),
            )
            .await
            .map(|data| reply.rpc = Some(RpcResult { data: Some(data) })),
            Method::Presence(request) => {
                let presence = node.local().hub.presence(&request.channel);
                reply.presence = Some(PresenceResult { presence });
                Ok(())
            }
            Method::PresenceStats(request) => {
                reply.presence_stats = Some(node.local().hub.presence_stats(&request.channel));
                Ok(())
            }
            Method::Refresh(request) => {
                let credentials = match node.auth().verify(&request.token) {
                    Ok(c) if c.user == connection.user => c,
                    Ok(_) => return Err(Disconnect::INVALID_TOKEN),
                    Err(e) => return e.outcome().map(|error| Some(Reply::error(id, error))),
                };
                let (expires, ttl) = expiry(&credentials);
                reply.refresh = Some(RefreshResult {
                    client: connection.client.clone(),
                    version: "fuzz".into(),
                    expires,
                    ttl,
                });
                Ok(())
            }
            Method::Unknown => Err(ErrorCode::MethodNotFound.into()),
        };
        Ok(Some(match outcome {
            Ok(()) => reply,
            Err(error) => Reply::error(id, error),
        }))
    }

    /// `Session::finish`: forget the connection and its subscriptions.
    fn finish(&mut self) {
        drain(&mut self.rx);
        if let Some(connection) = self.connection.take() {
            self.node
                .local()
                .hub
                .unregister(&connection, self.channels.drain());
        }
    }
}

/// The reply's `(expires, ttl)` and the session's expiry deadline for
/// `credentials`, computed without overflow (see [`session_deadline`]).
fn expiry(credentials: &Credentials) -> (bool, u32) {
    let Some(left) = credentials.time_left(now_secs()) else {
        return (false, 0);
    };
    session_deadline(left);
    (true, u32::try_from(left.as_secs()).unwrap_or(u32::MAX))
}

/// Grace after a token's expiry before the session closes (session.rs).
const EXPIRED_CLOSE_DELAY: Duration = Duration::from_secs(25);

/// The instant at which the session closes a connection whose token has
/// `left` to live, computed as `Session::set_expiry` does; `None` (no timer)
/// when that is beyond what `Instant` can hold. Must not panic for any `left`.
pub fn session_deadline(left: Duration) -> Option<tokio::time::Instant> {
    tokio::time::Instant::now().checked_add(left.saturating_add(EXPIRED_CLOSE_DELAY))
}

/// A decoded command serializes, and what it serializes to decodes to the
/// same command (compared as JSON values: `subs` is a `HashMap`).
fn reserialize(command: &Command) {
    let first = serde_json::to_string(command).expect("a decoded command serializes");
    let again: Command = serde_json::from_str(&first)
        .unwrap_or_else(|e| panic!("re-serialized command does not decode ({e}): {first}"));
    let second = serde_json::to_string(&again).expect("a decoded command serializes");
    match (
        serde_json::from_str::<Value>(&first),
        serde_json::from_str::<Value>(&second),
    ) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "command changed on a round trip"),
        (Err(_), Err(_)) => {} // raw data a `Value` refuses (e.g. a lone surrogate), both times
        (a, b) => panic!("round trip changed validity: {a:?} / {b:?}"),
    }
}

/// `command_frame`: one WebSocket text frame from one new connection.
pub fn command_frame(data: &[u8]) {
    // tungstenite refuses a text frame that is not UTF-8 (close 1007) before
    // the session sees it.
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    let node = Node::new(config());
    let mut session = Session::new(node);
    block_on(async {
        let _ = session.on_frame(frame).await;
    });
    session.finish();
}

// ---------------------------------------------------------------------------
// api_body

/// `api_body`: the first byte picks the method, the rest is the body; run
/// through `telltale_hub::api::dispatch` on the shared node.
pub fn api_body(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let method = API_METHODS[usize::from(selector) % API_METHODS.len()];
    let node = shared_node();
    sweep_when_due(node);
    let (status, bytes) = block_on(async {
        let response = telltale_hub::api::dispatch(node, method, body).await;
        let status = response.status();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("an in-memory body")
            .to_bytes();
        (status, bytes)
    });
    let whitespace = body.iter().all(u8::is_ascii_whitespace);
    // `Value`, not `IgnoredAny`: JSON text must be UTF-8, and serde_json
    // does not check the UTF-8 of strings it skips.
    let is_json = whitespace || serde_json::from_slice::<Value>(body).is_ok();
    match status.as_u16() {
        404 => assert_eq!(method, "frobnicate", "404 for a known method"),
        400 => assert!(
            !is_json,
            "400 for a JSON body on {method}: {}",
            String::from_utf8_lossy(&bytes)
        ),
        200 => {
            assert_ne!(method, "frobnicate", "200 for an unknown method");
            assert_one_json_line(&bytes, "API response");
            let value: Value = match serde_json::from_slice(&bytes) {
                Ok(value) => value,
                Err(_) => return, // echoed raw data a `Value` refuses
            };
            let object = value.as_object().expect("API responses are objects");
            let key = if method == "batch" && object.contains_key("replies") {
                "replies"
            } else if object.contains_key("result") {
                "result"
            } else {
                "error"
            };
            assert!(object.contains_key(key), "no result/error in {value}");
            if key == "error" {
                let error: ReplyError = serde_json::from_value(object["error"].clone())
                    .unwrap_or_else(|e| panic!("malformed error ({e}): {value}"));
                assert!(
                    (100..=112).contains(&error.code),
                    "error code {}",
                    error.code
                );
            }
        }
        other => panic!("{method}: unexpected status {other}"),
    }
}

// ---------------------------------------------------------------------------
// jwt_claims

/// Reads bytes off the front of an input, then zeros.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| (n << 8) | u64::from(self.u8()))
    }

    fn string(&mut self) -> String {
        let len = usize::from(self.u8() % 24).min(self.0.len());
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }

    /// A time claim as a token may carry it: any integer, float, string,
    /// or a time near now (both sides of the expiry edges).
    fn time_claim(&mut self, now: u64) -> Value {
        match self.u8() % 10 {
            0 => json!(self.u64()),
            1 => json!(self.u64() as i64),
            2 => json!(f64::from_bits(self.u64())), // NaN and infinities become null
            3 => json!(self.u64().to_string()),
            4 => json!(now.wrapping_add_signed(i64::from(self.u8() as i8))),
            5 => json!(0),
            6 => json!(u64::MAX),
            7 => json!(now as f64 + f64::from(self.u8() as i8) / 4.0),
            8 => json!(now.saturating_add(self.u64() >> (self.u8() % 64))),
            _ => json!(null),
        }
    }
}

/// Claims built from bytes: each of `exp`, `expire_at`, `nbf`, `iat`, `sub`,
/// `channels`, `channel` present or not, with arbitrary values.
fn claims_from_bytes(data: &[u8], now: u64) -> Value {
    let mut input = Reader(data);
    let present = input.u8();
    let mut claims = Map::new();
    for (bit, name) in ["exp", "expire_at", "nbf", "iat"].into_iter().enumerate() {
        if present & (1 << bit) != 0 {
            claims.insert(name.into(), input.time_claim(now));
        }
    }
    if present & 0x10 != 0 {
        claims.insert("sub".into(), json!(input.string()));
    }
    if present & 0x20 != 0 {
        let channels: Vec<String> = (0..input.u8() % 4).map(|_| input.string()).collect();
        claims.insert("channels".into(), json!(channels));
    }
    if present & 0x40 != 0 {
        claims.insert("channel".into(), json!(input.string()));
    }
    if present & 0x80 != 0 {
        claims.insert("sub".into(), json!(input.u64()));
    }
    Value::Object(claims)
}

/// What the hub does with the credentials of an accepted token: the reply's
/// `ttl`, the expiry deadline, at three "now"s.
fn use_credentials(credentials: &Credentials) {
    for now in [0, now_secs(), u64::MAX] {
        if let Some(left) = credentials.time_left(now) {
            session_deadline(left);
        }
    }
    expiry(credentials);
    let never = credentials.expires_at.is_none();
    assert_eq!(credentials.time_left(u64::MAX).is_none(), never);
    if !never {
        assert_eq!(credentials.time_left(u64::MAX), Some(Duration::ZERO));
    }
}

/// `jwt_claims`: the input as claims of an HMAC token signed with the hub's
/// secret (the JSON object itself if it is one, else claims built from the
/// bytes), then the input itself as a token.
pub fn jwt_claims(data: &[u8]) {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let auth = authenticator();
    let before = now_secs();
    let claims = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(object)) => Value::Object(object),
        _ => claims_from_bytes(data, before),
    };
    let algorithm = match data.last().map(|b| b % 3) {
        Some(1) => Algorithm::HS384,
        Some(2) => Algorithm::HS512,
        _ => Algorithm::HS256,
    };
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    let token =
        encode(&Header::new(algorithm), &claims, &key).expect("claims of a JSON object encode");
    let verdict = auth.verify(&token);
    check_verdict(&claims, &verdict, before);
    if let Ok(credentials) = &verdict {
        use_credentials(credentials);
    }
    if let Ok(raw) = std::str::from_utf8(data) {
        match auth.verify(raw) {
            Ok(credentials) => use_credentials(&credentials),
            Err(e) => {
                let _ = e.outcome();
            }
        }
    }
}

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| Authenticator::new(Some(SECRET), true))
}

/// What a verdict must be, whatever jsonwebtoken makes of odd claim types:
/// an accepted token has the claimed user and channels and has not expired.
fn check_verdict(claims: &Value, verdict: &Result<Credentials, AuthError>, before: u64) {
    let Ok(credentials) = verdict else {
        return;
    };
    let after = now_secs();
    let claim = |name: &str| claims.get(name).filter(|v| !v.is_null());
    assert!(
        claim("channel").is_none(),
        "a subscription token (channel claim) was accepted"
    );
    assert_eq!(
        credentials.user,
        claim("sub").and_then(Value::as_str).unwrap_or("")
    );
    let channels: Vec<&str> = claim("channels")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(credentials.channels, channels);
    if let Some(at) = credentials.expires_at {
        assert!(
            at >= before,
            "accepted a token that expired at {at} (now {before})"
        );
    }
    if let Some(nbf) = claim("nbf").and_then(Value::as_u64) {
        assert!(
            nbf <= after,
            "accepted a token not valid before {nbf} (now {after})"
        );
    }
}

// ---------------------------------------------------------------------------
// alarm_payload

/// `alarm_payload`: the input as an `Alarm`, then every JSON value in it
/// published on `alarms` of a fresh node, then the alarm RPCs with data from
/// the input.
pub fn alarm_payload(data: &[u8]) {
    let whole = serde_json::from_slice::<Alarm>(data);
    if let Ok(alarm) = &whole {
        let again = serde_json::to_string(alarm).expect("an alarm serializes");
        let mut back: Alarm = serde_json::from_str(&again).expect("a serialized alarm decodes");
        // serde_json parses floats to within one ulp (no `float_roundtrip`),
        // so `value` is compared with a tolerance; everything else exactly.
        match (back.value, alarm.value) {
            (Some(a), Some(b)) => assert!(
                (a - b).abs() <= b.abs() * 1e-15,
                "value {b} came back as {a}"
            ),
            (a, b) => assert_eq!(a, b),
        }
        back.value = alarm.value;
        assert_eq!(&back, alarm, "alarm changed on a round trip");
    }
    // The input as a stream of JSON values (one alarm, or a sequence of
    // transitions); stop at the first thing that is not JSON.
    let values: Vec<Box<RawValue>> = serde_json::Deserializer::from_slice(data)
        .into_iter::<Box<RawValue>>()
        .take(8)
        .map_while(Result::ok)
        .collect();
    let node = Node::new(config());
    let users = [
        ClientInfo::default(),
        ClientInfo {
            user: "ann".into(),
            client: "c1".into(),
        },
    ];
    block_on(async {
        for raw in &values {
            let parsed = serde_json::from_str::<Alarm>(raw.get());
            let result = node
                .publish("alarms", raw.clone(), PublishOptions::default())
                .await;
            if parsed.is_err() {
                assert!(
                    result.is_err(),
                    "published a non-Alarm on alarms: {}",
                    raw.get()
                );
            }
            if let Err(error) = &result {
                assert_eq!(error.code, 107, "alarms publish: {error}");
            }
            let active = node.local().alarms.active();
            if let (Ok(alarm), Ok(_)) = (parsed, &result) {
                let kept = active.iter().find(|a| a.id == alarm.id);
                match alarm.state {
                    telltale_protocol::AlarmState::Resolved => assert!(kept.is_none()),
                    _ => assert!(kept.is_some(), "published alarm {:?} not active", alarm.id),
                }
                // The RPCs with this alarm's id, so they find it.
                let id = json!({"id": alarm.id, "by": alarm.by});
                let silence = json!({"id": alarm.id, "until": alarm.ts});
                for (method, data) in [("alarms.ack", id), ("alarms.silence", silence)] {
                    let data = serde_json::value::to_raw_value(&data).expect("JSON");
                    for caller in &users {
                        rpc(&node, caller, method, Some(&data)).await;
                    }
                }
            }
            for method in ["alarms.ack", "alarms.silence", "catalog", "alarms.active"] {
                rpc(&node, &users[0], method, Some(raw)).await;
            }
        }
        rpc(&node, &users[1], "alarms.ack", None).await;
        rpc(&node, &users[0], "catalog", None).await;
        rpc(&node, &users[0], "alarms.active", None).await;
    });
}

async fn rpc(node: &Node, caller: &ClientInfo, method: &str, data: Option<&RawValue>) {
    match telltale_hub::rpc::call(node, caller, method, data).await {
        Ok(result) => assert_one_json_line(result.get().as_bytes(), method),
        Err(error) => assert!((100..=112).contains(&error.code), "{method}: {error}"),
    }
}
