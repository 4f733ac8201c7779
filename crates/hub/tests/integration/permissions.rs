//! Who may do what: namespace rules, the token's `channels` claim, alarm
//! capabilities and `--anonymous-ack`, and the refusal counter.

use serde_json::{json, Value};
use telltale_hub::permissions::{Namespace, Subscribers};
use telltale_hub::Config;

use crate::support::{token, Client, Hub, SECRET};

fn alarm(id: &str) -> Value {
    json!({"id": id, "source": "web1", "severity": "warning", "state": "firing", "title": id, "message": "m", "ts": 1})
}

/// A hub with the shipped defaults (`metrics` and `alarms` readable,
/// everything else closed), then `edit`.
async fn hub_with_defaults(edit: impl FnOnce(&mut Config)) -> Hub {
    Hub::with(|c| {
        c.namespaces = Config::default().namespaces;
        edit(c);
    })
    .await
}

/// A hub with these namespace rules besides the defaults.
async fn hub_with_rules(rules: Vec<(&str, Namespace)>) -> Hub {
    hub_with_defaults(|c| {
        for (name, rule) in rules {
            c.namespaces.insert(name.into(), rule);
        }
    })
    .await
}

async fn with_token(hub: &Hub, claims: Value) -> Client {
    let (client, reply) = Client::connect(hub, &token(claims, SECRET)).await;
    assert!(reply["connect"]["client"].is_string(), "{reply}");
    client
}

/// The error of a reply, as `(code, message)`; `(0, "")` when it succeeded.
fn error(reply: &Value) -> (u64, String) {
    let error = &reply["error"];
    (
        error["code"].as_u64().unwrap_or(0),
        error["message"].as_str().unwrap_or("").to_owned(),
    )
}

async fn rpc(client: &mut Client, method: &str, data: Value) -> Value {
    client
        .call("rpc", json!({"method": method, "data": data}))
        .await
}

async fn ack(client: &mut Client, data: Value) -> Value {
    rpc(client, "alarms.ack", data).await
}

fn by(reply: &Value) -> &str {
    reply["rpc"]["data"]["alarm"]["by"]
        .as_str()
        .unwrap_or_else(|| panic!("no alarm in {reply}"))
}

#[tokio::test]
async fn anonymous_ack_and_silence_are_refused_by_default_and_publish_nothing() {
    let hub = hub_with_defaults(|_| {}).await;
    let offset = hub.publish("alarms", alarm("web1/cpu")).await;
    let mut anonymous = Client::anonymous(&hub).await;

    let refused = ack(&mut anonymous, json!({"id": "web1/cpu", "by": "alice"})).await;
    let (code, message) = error(&refused);
    assert_eq!(code, 103, "{refused}");
    assert!(
        message
            .contains("alarms.ack needs the \"ack\" capability in the token (claim telltale.caps)")
            && message.contains("start the hub with --anonymous-ack on a single-user loopback hub"),
        "{message}"
    );
    let silence = json!({"id": "web1/cpu", "until": 99});
    let refused = rpc(&mut anonymous, "alarms.silence", silence).await;
    let (code, message) = error(&refused);
    assert_eq!(code, 103, "{refused}");
    assert!(message.contains("\"silence\" capability"), "{message}");

    let history = anonymous
        .call("history", json!({"channel": "alarms", "limit": -1}))
        .await;
    assert_eq!(
        history["history"]["offset"], offset,
        "nothing published: {history}"
    );
    let active = rpc(&mut anonymous, "alarms.active", json!({})).await;
    let alarms = &active["rpc"]["data"]["alarms"];
    assert_eq!(alarms[0]["state"], "firing", "{active}");
    assert!(alarms[0]["silenced_until"].is_null(), "{active}");
    let metrics = hub.metrics().await;
    for action in ["ack", "silence"] {
        let line = format!("telltale_hub_permission_denied_total{{action=\"{action}\"}} 1");
        assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn anonymous_acks_with_the_flag_are_marked_unverified_and_a_token_user_cannot_be_forged() {
    let hub = hub_with_defaults(|c| c.anonymous_ack = true).await;
    for id in ["a", "b", "c"] {
        hub.publish("alarms", alarm(id)).await;
    }
    let mut anonymous = Client::anonymous(&hub).await;
    let nameless = ack(&mut anonymous, json!({"id": "a"})).await;
    assert_eq!(by(&nameless), "anonymous (unverified)");
    let forged = json!({"id": "b", "by": "alice (on-call lead)"});
    let claimed = ack(&mut anonymous, forged).await;
    assert_eq!(by(&claimed), "alice (on-call lead) (unverified)");

    let mut bob = with_token(&hub, json!({"sub": "bob", "telltale": {"caps": ["ack"]}})).await;
    let forged = json!({"id": "c", "by": "alice (on-call lead)"});
    assert_eq!(
        by(&ack(&mut bob, forged).await),
        "bob",
        "the token's sub wins"
    );
    let active = rpc(&mut bob, "alarms.active", json!({})).await;
    let recorded: Vec<_> = active["rpc"]["data"]["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["by"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        recorded.contains(&"alice (on-call lead) (unverified)".to_owned())
            && recorded.contains(&"bob".to_owned()),
        "{recorded:?}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn ack_and_silence_need_their_capability_in_the_token() {
    let hub = hub_with_defaults(|_| {}).await;
    for id in ["a", "b"] {
        hub.publish("alarms", alarm(id)).await;
    }
    let mut plain = with_token(&hub, json!({"sub": "carol"})).await;
    let refused = ack(&mut plain, json!({"id": "a"})).await;
    assert_eq!(
        error(&refused),
        (
            103,
            "permission denied: alarms.ack needs the \"ack\" capability in the token (claim telltale.caps)".into()
        )
    );

    let mut acker = with_token(&hub, json!({"sub": "dan", "telltale": {"caps": ["ack"]}})).await;
    let acked = ack(&mut acker, json!({"id": "a"})).await;
    assert_eq!(
        acked["rpc"]["data"]["alarm"]["state"], "acknowledged",
        "{acked}"
    );
    let silence = json!({"id": "b", "until": 99});
    let refused = rpc(&mut acker, "alarms.silence", silence.clone()).await;
    let (code, message) = error(&refused);
    assert_eq!(code, 103, "{refused}");
    assert!(message.contains("\"silence\" capability"), "{message}");

    // The flat claim key works as the nested one.
    let mut silencer = with_token(&hub, json!({"sub": "eve", "telltale.caps": ["silence"]})).await;
    let silenced = rpc(&mut silencer, "alarms.silence", silence).await;
    assert_eq!(
        silenced["rpc"]["data"]["alarm"]["silenced_until"], 99,
        "{silenced}"
    );
    let refused = ack(&mut silencer, json!({"id": "b"})).await;
    assert_eq!(error(&refused).0, 103, "{refused}");
    hub.stop().await;
}

#[tokio::test]
async fn closed_namespaces_are_refused_to_anonymous_and_plain_tokens() {
    let hub = hub_with_defaults(|_| {}).await;
    let mut anonymous = Client::anonymous(&hub).await;
    let mut plain = with_token(&hub, json!({"sub": "frank"})).await;
    let refused = anonymous
        .call("subscribe", json!({"channel": "private:payroll"}))
        .await;
    assert_eq!(
        error(&refused),
        (
            103,
            "permission denied: anonymous connections may not subscribe to \"private:payroll\" (namespace \"private\" has no rule; see docs/security.md)".into()
        )
    );
    for client in [&mut anonymous, &mut plain] {
        for channel in ["private:payroll", "$admin"] {
            for (method, body) in [
                ("subscribe", json!({"channel": channel})),
                ("history", json!({"channel": channel})),
                ("presence", json!({"channel": channel})),
                ("presence_stats", json!({"channel": channel})),
                ("publish", json!({"channel": channel, "data": {}})),
            ] {
                let reply = client.call(method, body).await;
                assert_eq!(error(&reply).0, 103, "{method} {channel}: {reply}");
            }
        }
        // The defaults: metrics and alarms readable, presence and publish off.
        client.subscribe("metrics:web-1").await;
        let history = client.call("history", json!({"channel": "alarms"})).await;
        assert_eq!(error(&history).0, 0, "{history}");
        let presence = client.call("presence", json!({"channel": "alarms"})).await;
        let (code, message) = error(&presence);
        assert_eq!(code, 103, "{presence}");
        assert!(
            message.contains("set presence = true under [namespaces.alarms]"),
            "{message}"
        );
        let publish = client
            .call("publish", json!({"channel": "metrics:web-1", "data": {}}))
            .await;
        assert_eq!(error(&publish).0, 103, "{publish}");
    }
    let metrics = hub.metrics().await;
    for (action, count) in [
        ("subscribe", 5),
        ("history", 4),
        ("presence", 10),
        ("publish", 6),
    ] {
        let line = format!("telltale_hub_permission_denied_total{{action=\"{action}\"}} {count}");
        assert!(metrics.contains(&line), "{line} not in:\n{metrics}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn namespace_rules_and_the_channels_claim_decide_per_channel() {
    let hub = hub_with_rules(vec![
        (
            "private",
            Namespace {
                subscribe: Subscribers::Claim,
                history: true,
                ..Namespace::default()
            },
        ),
        (
            "team",
            Namespace {
                subscribe: Subscribers::Any,
                presence: true,
                publish: true,
                ..Namespace::default()
            },
        ),
        (
            "$admin",
            Namespace {
                subscribe: Subscribers::None,
                history: true,
                ..Namespace::default()
            },
        ),
    ])
    .await;
    hub.publish("private:payroll", json!({"march": 1})).await;

    // A token limited to web metrics and payroll.
    let claims =
        json!({"sub": "gina", "channels": ["metrics:web-*", "private:pay*", "team:*", "$admin"]});
    let mut gina = with_token(&hub, claims).await;
    gina.subscribe("metrics:web-1").await;
    let db = gina
        .call("subscribe", json!({"channel": "metrics:db-1"}))
        .await;
    let (code, message) = error(&db);
    assert_eq!(code, 103, "{db}");
    assert!(
        message.contains("token's channels claim does not match \"metrics:db-1\""),
        "{message}"
    );
    let alarms = gina.call("subscribe", json!({"channel": "alarms"})).await;
    assert_eq!(error(&alarms).0, 103, "outside the claim: {alarms}");
    let payroll = gina.subscribe("private:payroll").await;
    assert_eq!(payroll["offset"], 1, "{payroll}");
    let history = gina
        .call(
            "history",
            json!({"channel": "private:payroll", "limit": -1}),
        )
        .await;
    assert_eq!(
        history["history"]["publications"][0]["data"],
        json!({"march": 1})
    );
    let hr = gina
        .call("subscribe", json!({"channel": "private:hr"}))
        .await;
    assert_eq!(error(&hr).0, 103, "{hr}");
    let admin = gina.call("subscribe", json!({"channel": "$admin"})).await;
    let (code, message) = error(&admin);
    assert_eq!(code, 103, "{admin}");
    assert!(message.contains("server API only"), "{message}");

    // A plain token: `any` namespaces, not `claim` ones.
    let mut plain = with_token(&hub, json!({"sub": "hal"})).await;
    plain.subscribe("team:ops").await;
    let presence = plain
        .call("presence_stats", json!({"channel": "team:ops"}))
        .await;
    assert_eq!(presence["presence_stats"]["num_clients"], 1, "{presence}");
    let history = plain.call("history", json!({"channel": "team:ops"})).await;
    assert_eq!(error(&history).0, 103, "history is off in team: {history}");
    let published = plain
        .call("publish", json!({"channel": "team:ops", "data": {"hi": 1}}))
        .await;
    assert_eq!(published["publish"], json!({}), "{published}");
    let refused = plain
        .call("subscribe", json!({"channel": "private:payroll"}))
        .await;
    let (code, message) = error(&refused);
    assert_eq!(code, 103, "{refused}");
    assert!(
        message.contains("needs a token whose channels claim matches"),
        "{message}"
    );
    // A recovery that is refused reads nothing from the broker.
    let recover = json!({"channel": "private:payroll", "recover": true, "offset": 0, "epoch": "x", "flag": 1});
    let refused = plain.call("subscribe", recover).await;
    assert_eq!(error(&refused).0, 103, "{refused}");
    assert!(refused.get("subscribe").is_none(), "{refused}");

    // Anonymous: only what says anonymous_subscribe.
    let mut anonymous = Client::anonymous(&hub).await;
    anonymous.subscribe("metrics:db-1").await;
    for channel in ["team:ops", "private:payroll", "$admin"] {
        let reply = anonymous
            .call("subscribe", json!({"channel": channel}))
            .await;
        assert_eq!(error(&reply).0, 103, "{channel}: {reply}");
    }
    let publish = anonymous
        .call("publish", json!({"channel": "team:ops", "data": {}}))
        .await;
    let (code, message) = error(&publish);
    assert_eq!(code, 103, "{publish}");
    assert!(
        message.contains("anonymous connections may not publish to \"team:ops\""),
        "{message}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn alarms_active_and_catalog_answer_only_what_the_caller_may_read() {
    let hub = hub_with_defaults(|c| {
        c.namespaces.remove("alarms");
        c.namespaces.insert(
            "metrics".into(),
            Namespace {
                anonymous_subscribe: false,
                ..Namespace::readable()
            },
        );
    })
    .await;
    for source in ["web-1", "db-1", "web-2"] {
        let sample = json!({"ts": 1, "values": {"cpu.total": 1}});
        hub.publish(&format!("metrics:{source}"), sample).await;
    }
    let mut web = with_token(&hub, json!({"sub": "ivy", "channels": ["metrics:web-*"]})).await;
    let catalog = rpc(&mut web, "catalog", json!({})).await;
    let sources: Vec<_> = catalog["rpc"]["data"]["sources"]
        .as_array()
        .unwrap_or_else(|| panic!("{catalog}"))
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["web-1", "web-2"]);
    let paged = rpc(&mut web, "catalog", json!({"offset": 1, "limit": 1})).await;
    assert_eq!(
        paged["rpc"]["data"]["sources"][0]["source"], "web-2",
        "{paged}"
    );
    let mut all = with_token(&hub, json!({"sub": "jo"})).await;
    let catalog = rpc(&mut all, "catalog", json!({})).await;
    assert_eq!(
        catalog["rpc"]["data"]["sources"].as_array().unwrap().len(),
        3
    );

    let mut anonymous = Client::anonymous(&hub).await;
    let refused = rpc(&mut anonymous, "catalog", json!({})).await;
    assert_eq!(error(&refused).0, 103, "no right on metrics: {refused}");
    for client in [&mut anonymous, &mut all] {
        let active = rpc(client, "alarms.active", json!({})).await;
        let (code, message) = error(&active);
        assert_eq!(code, 103, "alarms is closed: {active}");
        assert!(message.contains("\"alarms\" has no rule"), "{message}");
    }
    let metrics = hub.metrics().await;
    let line = "telltale_hub_permission_denied_total{action=\"rpc\"} 3";
    assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    hub.stop().await;
}
