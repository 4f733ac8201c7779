//! Who is connected to this node and who is subscribed to what.
//!
//! A new subscriber starts *pending*: publications that arrive while its
//! subscribe reply is being prepared are buffered, then flushed right after
//! the reply (skipping those the reply already covers). That way a client
//! never sees a publication twice, never misses one, and never sees one
//! before its subscribe reply, whichever broker runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;
use telltale_protocol::reply::{ClientInfo, PresenceStatsResult};
use telltale_protocol::Disconnect;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::permissions::{Access, Caller};
use crate::writer::ClientQueue;

/// One live connection, as the rest of the node sees it.
pub struct Connection {
    /// Node-local numeric id.
    pub id: u64,
    /// Client id sent to the client (a UUID).
    pub client: String,
    /// User from the token ("" when anonymous).
    pub user: String,
    /// What its connect token lets it do (see [`crate::permissions`]).
    pub access: Access,
    /// Its outgoing queue.
    pub queue: Arc<ClientQueue>,
}

impl Connection {
    /// The connection as an RPC caller.
    pub fn caller(&self) -> Caller<'_> {
        Caller {
            user: &self.user,
            access: &self.access,
        }
    }

    /// The connection as it appears in publications and presence.
    pub fn info(&self) -> ClientInfo {
        ClientInfo {
            user: self.user.clone(),
            client: self.client.clone(),
        }
    }
}

enum Member {
    /// Receiving: publications above `covered` (what its subscribe reply
    /// held). With several nodes a publication may reach this node after
    /// a subscriber read its position, so the offset is checked each time.
    Live {
        connection: Arc<Connection>,
        covered: u64,
    },
    Pending {
        connection: Arc<Connection>,
        buffer: Vec<(u64, Utf8Bytes)>,
    },
}

impl Member {
    fn connection(&self) -> &Arc<Connection> {
        match self {
            Member::Live { connection: c, .. } | Member::Pending { connection: c, .. } => c,
        }
    }
}

/// Subscriptions and connections of this node.
#[derive(Default)]
pub struct Hub {
    channels: DashMap<String, Mutex<HashMap<u64, Member>>>,
    connections: DashMap<u64, Arc<Connection>>,
}

impl Hub {
    /// Registers a connection (after a successful `connect`).
    pub fn register(&self, connection: Arc<Connection>) {
        self.connections.insert(connection.id, connection);
    }

    /// Forgets a connection and all its subscriptions.
    pub fn unregister(&self, connection: &Connection, channels: impl IntoIterator<Item = String>) {
        for channel in channels {
            self.remove(&channel, connection.id);
        }
        self.connections.remove(&connection.id);
    }

    /// Adds a pending subscriber: publications are buffered until
    /// [`Hub::activate`].
    pub fn add_pending(&self, channel: &str, connection: Arc<Connection>) {
        let member = Member::Pending {
            connection: connection.clone(),
            buffer: Vec::new(),
        };
        self.channels
            .entry(channel.to_owned())
            .or_default()
            .lock()
            .insert(connection.id, member);
    }

    /// Makes a pending subscriber live: sends what was buffered with an
    /// offset above `covered` (the reply already holds the rest).
    pub fn activate(&self, channel: &str, id: u64, covered: u64) {
        let Some(members) = self.channels.get(channel) else {
            return;
        };
        let mut members = members.lock();
        let Some(member) = members.get_mut(&id) else {
            return;
        };
        if let Member::Pending { connection, buffer } = member {
            let connection = connection.clone();
            for (_, frame) in std::mem::take(buffer)
                .into_iter()
                .filter(|(o, _)| *o > covered)
            {
                connection.queue.push(frame);
            }
            *member = Member::Live {
                connection,
                covered,
            };
        }
    }

    /// Removes one subscription.
    pub fn remove(&self, channel: &str, id: u64) {
        let now_empty = match self.channels.get(channel) {
            Some(members) => {
                let mut members = members.lock();
                members.remove(&id);
                members.is_empty()
            }
            None => false,
        };
        if now_empty {
            self.channels
                .remove_if(channel, |_, members| members.lock().is_empty());
        }
    }

    /// Queues `frame` (an already-serialized push with `offset`) for every
    /// subscriber of `channel`. Returns how many received it.
    pub fn broadcast(&self, channel: &str, offset: u64, frame: &Utf8Bytes) -> usize {
        let Some(members) = self.channels.get(channel) else {
            return 0;
        };
        let mut members = members.lock();
        let mut delivered = 0;
        for member in members.values_mut() {
            match member {
                Member::Live {
                    connection,
                    covered,
                } => {
                    if offset > *covered {
                        delivered += connection.queue.push(frame.clone()) as usize
                    }
                }
                Member::Pending { buffer, .. } => buffer.push((offset, frame.clone())),
            }
        }
        delivered
    }

    /// Whether anyone on this node is subscribed to `channel`.
    pub fn has_subscribers(&self, channel: &str) -> bool {
        self.channels
            .get(channel)
            .is_some_and(|members| !members.lock().is_empty())
    }

    /// Live connections of `user`.
    pub fn connections_of(&self, user: &str) -> Vec<Arc<Connection>> {
        self.connections
            .iter()
            .filter(|c| c.user == user)
            .map(|c| c.value().clone())
            .collect()
    }

    /// Closes every connection subscribed to `channel` with `reason`, e.g.
    /// when publications on it were lost and they must recover.
    pub fn disconnect_subscribers(&self, channel: &str, reason: Disconnect) {
        let Some(members) = self.channels.get(channel) else {
            return;
        };
        for member in members.lock().values() {
            let (Member::Live { connection, .. } | Member::Pending { connection, .. }) = member;
            connection.queue.disconnect(reason);
        }
    }

    /// Channels with at least one subscriber on this node.
    pub fn channels(&self) -> Vec<String> {
        (self.channels.iter())
            .filter(|entry| !entry.value().lock().is_empty())
            .map(|entry| entry.key().clone())
            .collect()
    }

    /// Closes every connection with `reason` (e.g. shutdown).
    pub fn disconnect_all(&self, reason: Disconnect) {
        for connection in self.connections.iter() {
            connection.queue.disconnect(reason);
        }
    }

    /// Who is subscribed to `channel`, by client id.
    pub fn presence(&self, channel: &str) -> HashMap<String, ClientInfo> {
        self.channels
            .get(channel)
            .map(|members| {
                members
                    .lock()
                    .values()
                    .map(|m| (m.connection().client.clone(), m.connection().info()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many connections and distinct users are subscribed to `channel`.
    pub fn presence_stats(&self, channel: &str) -> PresenceStatsResult {
        let presence = self.presence(channel);
        let users: HashSet<&str> = presence.values().map(|info| info.user.as_str()).collect();
        PresenceStatsResult {
            num_clients: presence.len() as u32,
            num_users: users.len() as u32,
        }
    }

    /// Channels with subscribers and how many each has.
    pub fn channel_counts(&self) -> BTreeMap<String, usize> {
        self.channels
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().lock().len()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Number of connections.
    pub fn num_connections(&self) -> usize {
        self.connections.len()
    }

    /// Number of distinct users.
    pub fn num_users(&self) -> usize {
        self.connections
            .iter()
            .map(|c| c.user.clone())
            .collect::<HashSet<_>>()
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(id: u64) -> (Arc<Connection>, crate::writer::QueueReceiver) {
        let (queue, rx) = ClientQueue::new(1 << 20);
        let connection = Connection {
            id,
            client: format!("c{id}"),
            user: "u".into(),
            access: Access::default(),
            queue,
        };
        (Arc::new(connection), rx)
    }

    #[test]
    fn pending_subscriber_gets_only_what_the_reply_did_not_cover() {
        let hub = Hub::default();
        let (conn, mut rx) = connection(1);
        hub.add_pending("ch", conn);
        for offset in 1..=3 {
            hub.broadcast("ch", offset, &Utf8Bytes::from(offset.to_string()));
        }
        assert!(rx.try_recv().is_none(), "nothing before activation");
        hub.activate("ch", 1, 2);
        assert_eq!(rx.try_recv().unwrap(), "3");
        hub.broadcast("ch", 4, &Utf8Bytes::from_static("4"));
        assert_eq!(rx.try_recv().unwrap(), "4");
        assert!(rx.try_recv().is_none());
    }

    #[test]
    fn removing_last_subscriber_forgets_channel() {
        let hub = Hub::default();
        let (conn, _rx) = connection(1);
        hub.add_pending("ch", conn.clone());
        hub.activate("ch", 1, 0);
        assert_eq!(hub.channel_counts().get("ch"), Some(&1));
        hub.unregister(&conn, ["ch".to_owned()]);
        assert!(hub.channel_counts().is_empty());
        assert_eq!(hub.broadcast("ch", 1, &Utf8Bytes::default()), 0);
    }
}
