//! Bad input closes or errors that one client; everyone else is served.

use futures_util::SinkExt;
use serde_json::json;

use crate::support::{Client, Hub};

/// A bystander subscribed to `ch` that must keep receiving.
async fn bystander(hub: &Hub) -> Client {
    let mut client = Client::anonymous(hub).await;
    client.subscribe("ch").await;
    client
}

async fn still_served(hub: &Hub, bystander: &mut Client) {
    let offset = hub.publish("ch", json!({"still": "here"})).await;
    assert_eq!(bystander.next_publication().await.1, offset);
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let hub = Hub::with(|c| c.max_message_size = 1024).await;
    let mut other = bystander(&hub).await;
    let mut client = Client::anonymous(&hub).await;
    let big = json!({"id": 9, "rpc": {"method": "x", "data": "y".repeat(2000)}}).to_string();
    client.send_text(big).await;
    assert_eq!(client.closed().await, Some(1009));
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};
    let hub = Hub::start().await;
    let mut other = bystander(&hub).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(hub.ws_url())
        .await
        .unwrap();
    let frame = Frame::message(vec![0xff, 0xfe, b'{'], OpCode::Data(Data::Text), true);
    ws.send(tokio_tungstenite::tungstenite::Message::Frame(frame))
        .await
        .unwrap();
    let code = loop {
        match futures_util::StreamExt::next(&mut ws).await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => {
                break frame.map(|f| u16::from(f.code))
            }
            Some(Ok(_)) => continue,
            _ => break None,
        }
    };
    assert_eq!(code, Some(1007));
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn malformed_json_closes_with_3501() {
    let hub = Hub::start().await;
    let mut other = bystander(&hub).await;
    let mut client = Client::anonymous(&hub).await;
    client.send_text("{\"id\": 2, \"subscribe\": ").await;
    assert_eq!(client.closed().await, Some(3501));
    let mut early = Client::open(&hub).await;
    early.command("subscribe", json!({"channel": "ch"})).await;
    assert_eq!(early.closed().await, Some(3501), "commands before connect");
    still_served(&hub, &mut other).await;
    hub.stop().await;
}

#[tokio::test]
async fn unknown_command_and_bad_params_get_error_replies_and_the_connection_lives() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    let reply = client.call("frobnicate", json!({})).await;
    assert_eq!(reply["error"]["code"], 104, "{reply}");
    let reply = client
        .call("subscribe", json!({"channel": "has space"}))
        .await;
    assert_eq!(reply["error"]["code"], 102, "{reply}");
    let reply = client.call("subscribe", json!({"channel": ""})).await;
    assert_eq!(reply["error"]["code"], 107, "{reply}");
    client.subscribe("ch").await;
    let reply = client.call("subscribe", json!({"channel": "ch"})).await;
    assert_eq!(reply["error"]["code"], 105, "{reply}");
    still_served(&hub, &mut client).await;
    hub.stop().await;
}

#[tokio::test]
async fn api_bad_bodies_get_clear_errors() {
    let hub = Hub::start().await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/api/publish", hub.addr);
    let response = http
        .post(&url)
        .header("X-API-Key", crate::support::API_KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("not valid JSON"));

    let reply = hub.api("publish", json!({"channel": "ch"})).await;
    assert_eq!(reply["error"]["code"], 107, "{reply}");
    assert_eq!(reply["error"]["message"], "data is required");
    let reply = hub.api("publish", json!({"channel": 5, "data": {}})).await;
    assert_eq!(reply["error"]["code"], 107, "{reply}");
    let reply = hub
        .api("publish", json!({"channel": "alarms", "data": {"id": "x"}}))
        .await;
    assert_eq!(
        reply["error"]["code"], 107,
        "alarms must be Alarms: {reply}"
    );
    let reply = hub
        .api("publish", json!({"channel": "a b", "data": {}}))
        .await;
    assert_eq!(reply["error"]["code"], 102, "{reply}");
    let reply = hub.api("history_remove", json!({"channel": "ch"})).await;
    assert_eq!(
        reply["error"]["code"], 108,
        "known but unsupported method: {reply}"
    );

    let batch = hub
        .api("batch", json!({"commands": [{"publish": {"channel": "ch", "data": 1}}, {"publish": {"channel": ""}}, {"info": {}}]}))
        .await;
    let replies = batch["replies"].as_array().unwrap();
    assert_eq!(replies[0]["publish"]["offset"], 1, "{batch}");
    assert_eq!(replies[1]["error"]["code"], 107);
    assert!(replies[2]["info"]["nodes"].is_array());
    hub.stop().await;
}

#[tokio::test]
async fn multiline_data_is_compacted_so_frames_stay_parseable() {
    let hub = Hub::start().await;
    let mut client = Client::anonymous(&hub).await;
    client.subscribe("ch").await;
    let response = reqwest::Client::new()
        .post(format!("http://{}/api/publish", hub.addr))
        .header("X-API-Key", crate::support::API_KEY)
        .body("{\"channel\":\"ch\",\"data\":{\n  \"a\": [1,\n 2]\n}}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(client.next_publication().await.2, json!({"a": [1, 2]}));
    hub.stop().await;
}
