//! Where things live in Redis: key names, and which server (shard) holds a
//! channel.
//!
//! Every name starts with the cluster's prefix, so several clusters can
//! share one Redis. A channel's stream, meta hash and fan-out channel live
//! on the shard its name hashes to; the active alarms, the change claims
//! and the duties lease live on the shard of `alarms`, so that a
//! publication on `alarms` changes them in the same script.

use sha2::{Digest, Sha256};
use telltale_protocol::ALARMS_CHANNEL;

/// The key names of one cluster.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// A channel's history stream.
    pub fn stream(&self, channel: &str) -> String {
        format!("{}:stream:{channel}", self.prefix)
    }

    /// A channel's epoch and top offset.
    pub fn meta(&self, channel: &str) -> String {
        format!("{}:meta:{channel}", self.prefix)
    }

    /// The pub/sub channel that fans a channel's publications out to nodes.
    pub fn fanout(&self, channel: &str) -> String {
        format!("{}:pub:{channel}", self.prefix)
    }

    /// The channel a fan-out channel carries, if it is one of ours.
    pub fn channel_of<'a>(&self, fanout: &'a str) -> Option<&'a str> {
        fanout
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix(":pub:"))
    }

    /// Active alarms: id → the last transition that was not `resolved`.
    pub fn alarms(&self) -> String {
        format!("{}:alarms", self.prefix)
    }

    /// Acknowledgements of the active alarms: id → who and why.
    pub fn acks(&self) -> String {
        format!("{}:alarm-acks", self.prefix)
    }

    /// Silences of the active alarms: id → until (unix ms).
    pub fn silences(&self) -> String {
        format!("{}:alarm-silences", self.prefix)
    }

    /// Claim on changing alarm `id` (spacing client changes).
    pub fn change(&self, id: &str) -> String {
        format!("{}:alarm-change:{id}", self.prefix)
    }

    /// Sources' activity: name → "<last ms> <gaps ms>...".
    pub fn sources(&self) -> String {
        format!("{}:sources", self.prefix)
    }

    /// Sources' metric names: name → JSON array.
    pub fn names(&self) -> String {
        format!("{}:source-names", self.prefix)
    }

    /// Which node last evaluated each source's samples: name → node id.
    pub fn evaluators(&self) -> String {
        format!("{}:source-evaluators", self.prefix)
    }

    /// A random mark set once: gone or changed when Redis lost its data.
    pub fn generation(&self) -> String {
        format!("{}:generation", self.prefix)
    }

    /// The lease on the cluster's duties: the holder's node id.
    pub fn lease(&self) -> String {
        format!("{}:duties", self.prefix)
    }
}

/// The shard (of `shards`) that holds `channel`: a stable hash of its name,
/// the same on every node and across restarts.
pub fn shard_of(channel: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let digest = Sha256::digest(channel.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % shards as u64) as usize
}

/// The shard of the alarms, their claims and the lease.
pub fn home_shard(shards: usize) -> usize {
    shard_of(ALARMS_CHANNEL, shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("metrics:web1", 1), 0);
        let first: Vec<usize> = (0..64).map(|i| shard_of(&format!("c{i}"), 3)).collect();
        let again: Vec<usize> = (0..64).map(|i| shard_of(&format!("c{i}"), 3)).collect();
        assert_eq!(first, again);
        for shard in 0..3 {
            assert!(first.contains(&shard), "shard {shard} gets channels");
        }
    }

    #[test]
    fn fanout_names_map_back_to_their_channel() {
        let keys = Keys::new("tt");
        let name = keys.fanout("metrics:web:1");
        assert_eq!(keys.channel_of(&name), Some("metrics:web:1"));
        assert_eq!(keys.channel_of("other:pub:x"), None);
    }
}
