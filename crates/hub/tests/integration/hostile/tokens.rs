//! Token claims: no value of any claim can crash a session or outlive the
//! rules (`nbf`, `expire_at`), and the reported ttl is exact.

use base64::Engine as _;
use serde_json::json;

use crate::support::{now_secs, token, Client, Hub, SECRET};

async fn hub_without_anonymous() -> Hub {
    Hub::with(|c| c.allow_anonymous = false).await
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused_with_3500() {
    let hub = hub_without_anonymous().await;
    let jwt = token(json!({"sub": "ann", "nbf": now_secs() + 3600}), SECRET);
    let mut client = Client::open(&hub).await;
    client.command("connect", json!({"token": jwt})).await;
    assert_eq!(client.closed().await, Some(3500));
    let valid = token(json!({"sub": "ann", "nbf": now_secs() - 5}), SECRET);
    let (_, reply) = Client::connect(&hub, &valid).await;
    assert!(reply["connect"]["client"].is_string(), "{reply}");
    hub.stop().await;
}

#[tokio::test]
async fn a_past_expire_at_is_refused_with_109_even_when_exp_is_later() {
    let hub = hub_without_anonymous().await;
    let jwt = token(
        json!({"sub": "ann", "exp": now_secs() + 3600, "expire_at": now_secs() - 10}),
        SECRET,
    );
    let (_, reply) = Client::connect(&hub, &jwt).await;
    assert_eq!(reply["error"]["code"], 109, "{reply}");
    let never = token(json!({"sub": "ann", "expire_at": 0}), SECRET);
    let (_, reply) = Client::connect(&hub, &never).await;
    assert_eq!(
        reply["connect"]["expires"],
        json!(null),
        "expire_at 0 = never: {reply}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn ttl_is_reported_exactly_or_saturated_never_wrapped() {
    let hub = hub_without_anonymous().await;
    let far = now_secs() + (1u64 << 32) + 100;
    let (mut client, reply) =
        Client::connect(&hub, &token(json!({"sub": "ann", "exp": far}), SECRET)).await;
    assert_eq!(reply["connect"]["ttl"], u32::MAX, "{reply}");
    let soon = now_secs() + 1000;
    let refreshed = client
        .call(
            "refresh",
            json!({"token": token(json!({"sub": "ann", "exp": soon}), SECRET)}),
        )
        .await;
    let ttl = refreshed["refresh"]["ttl"].as_u64().unwrap();
    assert!((995..=1000).contains(&ttl), "{refreshed}");
    let huge = client
        .call(
            "refresh",
            json!({"token": token(json!({"sub": "ann", "exp": u64::MAX}), SECRET)}),
        )
        .await;
    assert_eq!(
        huge["refresh"]["ttl"],
        u32::MAX,
        "refresh survives it too: {huge}"
    );
    let still = client.call("presence_stats", json!({"channel": "x"})).await;
    assert!(still["presence_stats"].is_object(), "{still}");
    hub.stop().await;
}

#[tokio::test]
async fn unsigned_and_wrong_algorithm_tokens_are_3500() {
    let hub = hub_without_anonymous().await;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let claims = b64(json!({"sub": "mallory"}));
    let forged = [
        format!("{}.{claims}.", b64(json!({"alg": "none", "typ": "JWT"}))),
        format!(
            "{}.{claims}.c2ln",
            b64(json!({"alg": "RS256", "typ": "JWT"}))
        ),
        format!("{}.{claims}.", b64(json!({"alg": "HS256", "typ": "JWT"}))),
    ];
    for jwt in forged {
        let mut client = Client::open(&hub).await;
        client.command("connect", json!({"token": jwt})).await;
        assert_eq!(client.closed().await, Some(3500), "{jwt}");
    }
    hub.stop().await;
}
