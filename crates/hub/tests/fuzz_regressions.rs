//! Replays the fuzz inputs kept in the repository through the fuzz drivers,
//! as ordinary tests (no cargo-fuzz, no nightly):
//!
//! - `fuzz/seeds/<target>/*`: the hand-written seed corpus;
//! - `fuzz/regressions/<target>/*`: minimized inputs that once crashed.
//!
//! The drivers are `fuzz/src/lib.rs`, the very code the fuzz targets run:
//! each feeds one input through the hub's public functions (command decoding
//! and the session's node calls, `api::dispatch`, `Authenticator::verify`,
//! `Node::publish` and `rpc::call`) and asserts what the protocol promises
//! (no panic, replies that are one line of JSON, the right HTTP status,
//! accepted tokens that are not expired, ...).

#[path = "../../../fuzz/src/lib.rs"]
#[allow(missing_docs)]
mod drivers;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file of `fuzz/<kind>/<target>/`, sorted; none when it is absent.
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Runs `driver` on every seed and regression input of `target`; fails with
/// the list of inputs that panicked.
fn replay(target: &str, driver: fn(&[u8])) {
    let seeds = inputs("seeds", target);
    assert!(!seeds.is_empty(), "no seeds in fuzz/seeds/{target}");
    let mut failures = Vec::new();
    for path in seeds.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(path).expect("a readable input");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| driver(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failures.push(format!("{}: {message}", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{target}: inputs panicked:\n{}",
        failures.join("\n")
    );
}

#[test]
fn command_frame_inputs() {
    replay("command_frame", drivers::command_frame);
}

#[test]
fn api_body_inputs() {
    replay("api_body", drivers::api_body);
}

#[test]
fn jwt_claims_inputs() {
    replay("jwt_claims", drivers::jwt_claims);
}

#[test]
fn alarm_payload_inputs() {
    replay("alarm_payload", drivers::alarm_payload);
}

/// The seeds are meant to get somewhere: a valid token connects with its
/// channels, and each API seed method answers 200.
#[test]
fn seeds_reach_the_hub() {
    let node = drivers::shared_node();
    for method in &drivers::API_METHODS[..9] {
        let response = drivers::block_on(telltale_hub::api::dispatch(node, method, b"{}"));
        assert_ne!(response.status().as_u16(), 404, "{method}");
    }
    let token = std::fs::read_to_string(fuzz_dir().join("seeds/jwt_claims/raw_token.txt"))
        .expect("the raw token seed");
    let credentials = node
        .auth()
        .verify(token.trim())
        .expect("the seed token verifies");
    assert_eq!(credentials.user, "bo");
    assert_eq!(credentials.channels, ["news"]);
    let (deadline, expires, _) = telltale_hub::session::expiry(&credentials, 0);
    assert!(expires && deadline.is_some(), "the seed token expires");
    let forever = telltale_hub::auth::Credentials {
        expires_at: Some(u64::MAX),
        ..credentials
    };
    let (deadline, expires, ttl) = telltale_hub::session::expiry(&forever, 0);
    assert_eq!((deadline, expires, ttl), (None, true, u32::MAX));
}

/// What `/api/<method>` answers `body`: the status and the body as text.
fn api(method: &str, body: &str) -> (u16, String) {
    drivers::block_on(async {
        let response =
            telltale_hub::api::dispatch(drivers::shared_node(), method, body.as_bytes()).await;
        let status = response.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .expect("an in-memory body")
            .to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    })
}

/// Found by `api_body` (input kept in
/// `fuzz/regressions/api_body/info-json-array-answered-400`: method `info`,
/// body `[1]`): a body that is valid JSON but holds an array with more
/// elements than the struct it decodes into was answered 400 "not valid
/// JSON", because serde_json classes that error as syntax. It is a bad
/// request: 200 with error 107.
#[test]
fn valid_json_of_the_wrong_shape_is_error_107() {
    let cases = [
        ("info", "[1]"),
        ("channels", r#"["metrics:*", 2]"#),
        ("history", r#"{"channel":"news","since":[1,"e","extra"]}"#),
        ("disconnect", r#"["ann",null,null,"extra"]"#),
    ];
    let mut wrong = Vec::new();
    for (method, body) in cases {
        let (status, answer) = api(method, body);
        let error_107 = serde_json::from_str::<serde_json::Value>(&answer)
            .is_ok_and(|v| v["error"]["code"] == 107);
        if status != 200 || !error_107 {
            wrong.push(format!("/api/{method} {body} -> {status} {answer}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "valid JSON answered as not JSON:\n{}",
        wrong.join("\n")
    );
}
