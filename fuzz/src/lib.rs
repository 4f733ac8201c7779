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
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use telltale_hub::auth::{AuthError, Authenticator, Credentials};
use telltale_hub::node::PublishOptions;
use telltale_hub::permissions::{Access, Caller, Namespace};
use telltale_hub::{Config, Node};
use telltale_protocol::{Alarm, Command, ReplyError};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

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
/// one) frees within seconds what the inputs made the node hold; every
/// namespace open (subscribe, history, presence, publish) so that the
/// commands reach the broker; anonymous connections allowed so that
/// `{"connect":{}}` connects, and allowed to ack so the alarm RPCs run.
pub fn config() -> Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG
        .get_or_init(|| Config {
            token_secret: Some(SECRET.into()),
            allow_anonymous: true,
            namespaces: [("*".to_owned(), Namespace::open())].into(),
            anonymous_ack: true,
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

// ---------------------------------------------------------------------------
// command_frame

/// Sent after the fuzzed frame: its answer (a reply, or the close a command
/// before `connect` gets) says the session has handled everything before it.
const SENTINEL: &str = r#"{"id":4294967295,"presence_stats":{"channel":"fuzz"}}"#;

/// The expiry the session computes for `credentials`, at three "now"s; must
/// not panic for any claim (`telltale_hub::session::expiry`).
fn use_expiry(credentials: &Credentials) {
    for now in [0, now_secs(), u64::MAX] {
        let (_, expires, ttl) = telltale_hub::session::expiry(credentials, now);
        assert_eq!(expires, credentials.expires_at.is_some());
        if let Some(at) = credentials.expires_at {
            let left = at.saturating_sub(now);
            assert_eq!(
                u64::from(ttl),
                left.min(u64::from(u32::MAX)),
                "ttl exact or saturated"
            );
        }
    }
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

/// `command_frame`: one WebSocket text frame from one new connection,
/// through the hub's real session (`telltale_hub::session::serve`) over an
/// in-memory socket. Every frame the session sends back must be lines of
/// JSON objects, and the session must end cleanly when the client goes.
pub fn command_frame(data: &[u8]) {
    // tungstenite refuses a text frame that is not UTF-8 (close 1007) before
    // the session sees it.
    let Ok(frame) = std::str::from_utf8(data) else {
        return;
    };
    for line in telltale_protocol::frame::lines(frame) {
        assert!(
            !line.contains('\n'),
            "frame::lines left a newline in {line:?}"
        );
        if let Ok(command) = serde_json::from_str::<Command>(line) {
            reserialize(&command);
        }
    }
    let node = shared_node().clone();
    // The server's sweeper gives back what sessions made the node hold
    // (streams of channels published on); without it every new channel
    // name an input publishes on would stay for the whole run.
    sweep_when_due(&node);
    block_on(async move {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let server = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
        let session = tokio::spawn(telltale_hub::session::serve(node, server));
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let sent = async {
            client.send(Message::text(frame)).await?;
            client.send(Message::text(SENTINEL)).await
        };
        if sent.await.is_ok() {
            read_until_sentinel(&mut client).await;
        }
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), session)
            .await
            .expect("the session ends once its client has gone")
            .expect("the session does not panic");
    });
}

/// Reads the session's answers until the sentinel's reply or a close.
async fn read_until_sentinel<S>(client: &mut WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let wait = Duration::from_secs(5);
    loop {
        let message = match tokio::time::timeout(wait, client.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(_) => return,
            Err(_) => panic!("the session neither answered nor closed within {wait:?}"),
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return,
            _ => continue,
        };
        for line in text.as_str().split('\n') {
            assert_one_json_line(line.as_bytes(), "frame line");
            if line.contains("\"id\":4294967295") {
                return;
            }
        }
    }
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
    use_expiry(credentials);
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
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut caps = strings(claim("telltale").and_then(|t| t.get("caps")));
    caps.extend(strings(claim("telltale.caps")));
    caps.sort();
    caps.dedup();
    assert_eq!(credentials.caps, caps, "caps are the union of both claims");
    assert!(credentials.token, "a verified token is not anonymous");
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
    let anonymous = Access::default();
    let capable = Access {
        token: true,
        caps: vec!["ack".into(), "silence".into()],
        ..Access::default()
    };
    let incapable = Access {
        token: true,
        ..Access::default()
    };
    let users = [
        Caller {
            user: "",
            access: &anonymous,
        },
        Caller {
            user: "ann",
            access: &capable,
        },
        Caller {
            user: "bo",
            access: &incapable,
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
            let active = node.active_alarms().await.expect("memory broker");
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
                    for caller in users {
                        rpc(&node, caller, method, Some(&data)).await;
                    }
                }
            }
            for method in ["alarms.ack", "alarms.silence", "catalog", "alarms.active"] {
                rpc(&node, users[0], method, Some(raw)).await;
            }
        }
        rpc(&node, users[1], "alarms.ack", None).await;
        rpc(&node, users[0], "catalog", None).await;
        rpc(&node, users[0], "alarms.active", None).await;
    });
}

async fn rpc(node: &Node, caller: Caller<'_>, method: &str, data: Option<&RawValue>) {
    match telltale_hub::rpc::call(node, caller, method, data).await {
        Ok(result) => assert_one_json_line(result.get().as_bytes(), method),
        Err(error) => assert!((100..=112).contains(&error.code), "{method}: {error}"),
    }
}
