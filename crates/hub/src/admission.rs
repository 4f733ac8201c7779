//! Who gets in: the budgets that keep one kind of connection from taking
//! the capacity meant for another.
//!
//! - Per IP address (`--max-connections-per-ip`), from accept to close, HTTP
//!   and WebSocket alike.
//! - HTTP connections that are not WebSockets (`--max-http-connections`):
//!   API calls, `/metrics`, `/healthz`. A WebSocket leaves this budget when
//!   it is upgraded.
//! - Sockets that have not completed `connect` (`--max-pending-connections`):
//!   past the budget the *oldest* is closed with 3502. A flood of idle
//!   upgrades therefore delays a real client by one round trip at most; it
//!   can never lock it out, which refusing the newest would.
//! - Connected clients (`--max-connections`): a slot is taken only when
//!   `connect` succeeds, so sockets without a credential never hold one.
//!
//! Every permit gives its place back when dropped, so a session that ends
//! in any way (a panic included) never leaks a slot.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;
use telltale_protocol::Disconnect;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::writer::ClientQueue;
use crate::Config;

/// 3502: no `connect` in time, or pushed out of the pending budget.
pub const STALE: Disconnect = Disconnect::STALE;

/// The hub's connection budgets.
pub struct Admission {
    per_ip: DashMap<IpAddr, usize>,
    per_ip_limit: usize,
    http: Arc<Semaphore>,
    pending: Mutex<BTreeMap<u64, Arc<ClientQueue>>>,
    pending_limit: usize,
    next_pending: AtomicU64,
    connected: AtomicUsize,
    connected_limit: usize,
}

impl Admission {
    /// Budgets from the hub's settings.
    pub fn new(config: &Config) -> Self {
        Self {
            per_ip: DashMap::new(),
            per_ip_limit: config.max_connections_per_ip,
            http: Arc::new(Semaphore::new(config.max_http_connections)),
            pending: Mutex::new(BTreeMap::new()),
            pending_limit: config.max_pending_connections,
            next_pending: AtomicU64::new(0),
            connected: AtomicUsize::new(0),
            connected_limit: config.max_connections,
        }
    }

    /// Counts a TCP connection from `ip`; `None` when that address already
    /// has `--max-connections-per-ip`.
    pub fn admit_ip(self: &Arc<Self>, ip: IpAddr) -> Option<IpPermit> {
        if self.per_ip_limit == 0 {
            return Some(IpPermit {
                admission: None,
                ip,
            });
        }
        let mut count = self.per_ip.entry(ip).or_insert(0);
        if *count >= self.per_ip_limit {
            return None;
        }
        *count += 1;
        Some(IpPermit {
            admission: Some(self.clone()),
            ip,
        })
    }

    /// A place for one HTTP connection; `None` when all are taken.
    pub fn admit_http(&self) -> Option<OwnedSemaphorePermit> {
        self.http.clone().try_acquire_owned().ok()
    }

    /// Admits a socket that has not sent `connect`; when the budget is full
    /// the oldest such socket is closed with [`STALE`] to make room.
    pub fn admit_pending(self: &Arc<Self>, queue: Arc<ClientQueue>) -> PendingPermit {
        let id = self.next_pending.fetch_add(1, Ordering::Relaxed);
        let evicted = {
            let mut pending = self.pending.lock();
            pending.insert(id, queue);
            let over = pending.len() > self.pending_limit;
            over.then(|| pending.pop_first()).flatten()
        };
        if let Some((_, oldest)) = evicted {
            oldest.disconnect(STALE);
        }
        PendingPermit {
            admission: self.clone(),
            id,
        }
    }

    /// Sockets that have not completed `connect`.
    pub fn pending(&self) -> usize {
        self.pending.lock().len()
    }

    /// A slot for a connected client; `None` at `--max-connections`.
    pub fn take_slot(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let limit = self.connected_limit;
        self.connected
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionSlot {
                admission: self.clone(),
            })
    }

    /// Connected clients holding a slot.
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Acquire)
    }
}

/// One TCP connection counted against its address.
pub struct IpPermit {
    admission: Option<Arc<Admission>>,
    ip: IpAddr,
}

impl Drop for IpPermit {
    fn drop(&mut self) {
        let Some(admission) = &self.admission else {
            return;
        };
        let emptied = match admission.per_ip.get_mut(&self.ip) {
            Some(mut count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if emptied {
            admission.per_ip.remove_if(&self.ip, |_, count| *count == 0);
        }
    }
}

/// A socket waiting for its `connect`.
pub struct PendingPermit {
    admission: Arc<Admission>,
    id: u64,
}

impl Drop for PendingPermit {
    fn drop(&mut self) {
        self.admission.pending.lock().remove(&self.id);
    }
}

/// A connected client's place under `--max-connections`.
pub struct ConnectionSlot {
    admission: Arc<Admission>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.admission.connected.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(edit: impl FnOnce(&mut Config)) -> Arc<Admission> {
        let mut config = Config::default();
        edit(&mut config);
        Arc::new(Admission::new(&config))
    }

    #[test]
    fn per_ip_limit_counts_until_permits_drop() {
        let admission = admission(|c| c.max_connections_per_ip = 2);
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let a = admission.admit_ip(ip).unwrap();
        let _b = admission.admit_ip(ip).unwrap();
        assert!(admission.admit_ip(ip).is_none());
        assert!(admission.admit_ip("127.0.0.10".parse().unwrap()).is_some());
        drop(a);
        assert!(admission.admit_ip(ip).is_some());
    }

    #[test]
    fn full_pending_budget_closes_the_oldest() {
        let admission = admission(|c| c.max_pending_connections = 2);
        let queues: Vec<_> = (0..3).map(|_| ClientQueue::new(1024)).collect();
        let permits: Vec<_> = queues
            .iter()
            .map(|(q, _)| admission.admit_pending(q.clone()))
            .collect();
        assert_eq!(queues[0].0.reason(), Some(STALE));
        assert_eq!(queues[1].0.reason(), None);
        assert_eq!(queues[2].0.reason(), None);
        assert_eq!(admission.pending(), 2);
        drop(permits);
        assert_eq!(admission.pending(), 0);
    }

    #[test]
    fn slots_are_given_back_on_drop() {
        let admission = admission(|c| c.max_connections = 1);
        let slot = admission.take_slot().unwrap();
        assert!(admission.take_slot().is_none());
        drop(slot);
        assert!(admission.take_slot().is_some());
    }
}
