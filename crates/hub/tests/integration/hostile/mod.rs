//! A hostile client's view: every attack gets its documented answer, the
//! hub holds nothing for it that it does not give back, and a well-behaved
//! subscriber next to the attack keeps receiving everything.

mod connections;
mod http;
mod rates;
mod rebinding;
mod replies;
mod state;
mod tokens;

use serde_json::json;

use crate::support::{Client, Hub};

/// A well-behaved subscriber on `ch`, to check after an attack.
pub async fn bystander(hub: &Hub) -> Client {
    let mut client = Client::anonymous(hub).await;
    client.subscribe("ch").await;
    client
}

/// The bystander still receives a new publication, after every earlier one
/// it had not read yet, in order and without a gap.
pub async fn still_served(hub: &Hub, bystander: &mut Client) {
    let offset = hub.publish("ch", json!({"still": "here"})).await;
    let mut previous = None;
    loop {
        let (_, received, _) = bystander.next_publication().await;
        if let Some(previous) = previous {
            assert_eq!(received, previous + 1, "no gap, no repeat");
        }
        if received >= offset {
            assert_eq!(received, offset);
            return;
        }
        previous = Some(received);
    }
}
