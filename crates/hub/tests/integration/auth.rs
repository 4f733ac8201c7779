//! Connection tokens and the API key.

use serde_json::json;

use crate::support::{now_secs, token, Client, Hub, API_KEY, SECRET};

async fn hub_without_anonymous() -> Hub {
    Hub::with(|c| c.allow_anonymous = false).await
}

#[tokio::test]
async fn valid_token_connects_with_user_and_expiry_and_its_channels_claim_only_permits() {
    let hub = hub_without_anonymous().await;
    let exp = now_secs() + 3600;
    let jwt = token(
        json!({"sub": "ann", "exp": exp, "channels": ["alarms"]}),
        SECRET,
    );
    let (mut client, reply) = Client::connect(&hub, &jwt).await;
    let connect = &reply["connect"];
    assert_eq!(connect["expires"], true, "{reply}");
    assert!((3590..=3600).contains(&connect["ttl"].as_u64().unwrap()));
    // Telltale reads the claim as a permission list: no server-side
    // subscription, the client subscribes itself.
    assert!(
        connect.get("subs").is_none_or(|subs| subs == &json!({})),
        "no server-side subs: {reply}"
    );
    client.subscribe("alarms").await;
    let outside = client.call("subscribe", json!({"channel": "news"})).await;
    assert_eq!(outside["error"]["code"], 103, "{outside}");

    let alarm = json!({"id": "h/cpu", "source": "h", "severity": "warning", "state": "firing", "title": "CPU", "ts": 1});
    hub.publish("alarms", alarm.clone()).await;
    let (channel, _, data) = client.next_publication().await;
    assert_eq!((channel.as_str(), data), ("alarms", alarm));

    let presence = client.call("presence", json!({"channel": "alarms"})).await;
    let infos: Vec<_> = presence["presence"]["presence"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(infos[0]["user"], "ann");
    let stats = client
        .call("presence_stats", json!({"channel": "alarms"}))
        .await;
    assert_eq!(
        stats["presence_stats"],
        json!({"num_clients": 1, "num_users": 1}),
        "{stats}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn expired_token_gets_error_109_and_bad_signature_gets_3500() {
    let hub = hub_without_anonymous().await;
    let expired = token(json!({"sub": "ann", "exp": now_secs() - 10}), SECRET);
    let (_client, reply) = Client::connect(&hub, &expired).await;
    assert_eq!(reply["error"]["code"], 109, "{reply}");
    assert_eq!(reply["error"]["message"], "token expired");

    let forged = token(json!({"sub": "ann"}), "not-the-secret");
    let mut client = Client::open(&hub).await;
    client.command("connect", json!({"token": forged})).await;
    assert_eq!(client.closed().await, Some(3500));

    let mut client = Client::open(&hub).await;
    client.command("connect", json!({})).await;
    assert_eq!(client.closed().await, Some(3501), "no token, anonymous off");
    hub.stop().await;
}

#[tokio::test]
async fn api_key_missing_or_wrong_is_401() {
    let hub = Hub::start().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/info", hub.addr);
    let missing = http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.text().await.unwrap(), "");
    let wrong = http
        .post(&url)
        .header("X-API-Key", "nope")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let scheme = http
        .post(&url)
        .header("Authorization", format!("apikey {API_KEY}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(scheme.status(), 200);
    let info: serde_json::Value = scheme.json().await.unwrap();
    assert!(info["result"]["nodes"][0]["uid"].is_string(), "{info}");
    let get = http
        .get(&url)
        .header("X-API-Key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    hub.stop().await;
}

#[tokio::test]
async fn browser_origin_must_be_allowed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let hub = Hub::with(|c| c.allowed_origins = vec!["https://ok.example".into()]).await;
    let request = |origin: &str| {
        let mut request = hub.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        request
    };
    assert!(
        tokio_tungstenite::connect_async(request("https://ok.example"))
            .await
            .is_ok()
    );
    let refused = tokio_tungstenite::connect_async(request("https://evil.example")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
    hub.stop().await;
}
