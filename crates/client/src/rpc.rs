//! Request/reply calls (RPC, history, publish): bookkeeping in the
//! connection task, and the typed results.
//!
//! A call made while the client is connecting waits in a queue and goes out
//! as soon as the `connect` reply arrives. Once sent, it waits for the reply
//! with the same id. The caller's timeout bounds the whole wait; when the
//! connection drops, every sent call fails with [`Error::Disconnected`], and
//! in a terminal state every call fails with [`Error::Closed`].

use std::collections::{HashMap, VecDeque};

use telltale_protocol::command::{Command, StreamPosition};
use telltale_protocol::Reply;
use tokio::sync::oneshot;

use crate::{Error, Publication};

/// Where a call's outcome goes.
pub(crate) type ReplySender = oneshot::Sender<Result<Reply, Error>>;

/// A call on its way to the connection task.
#[derive(Debug)]
pub(crate) struct Request {
    /// The command; its id is set when it is sent.
    pub command: Command,
    pub reply: ReplySender,
}

/// Calls waiting to be sent and calls waiting for their reply.
#[derive(Debug, Default)]
pub(crate) struct Calls {
    queued: VecDeque<Request>,
    inflight: HashMap<u32, ReplySender>,
}

impl Calls {
    /// Keeps a call until the connection is up.
    pub(crate) fn queue(&mut self, request: Request) {
        self.queued.push_back(request);
    }

    /// The queued calls whose callers still wait.
    pub(crate) fn take_queued(&mut self) -> Vec<Request> {
        self.queued
            .drain(..)
            .filter(|r| !r.reply.is_closed())
            .collect()
    }

    /// Remembers a sent call.
    pub(crate) fn sent(&mut self, id: u32, reply: ReplySender) {
        self.inflight.insert(id, reply);
    }

    /// Hands a reply to its caller; `false` if no call has this id (the
    /// caller gave up, or it is not a call).
    pub(crate) fn resolve(&mut self, id: u32, reply: Reply) -> bool {
        match self.inflight.remove(&id) {
            Some(tx) => {
                let _ = tx.send(Ok(reply));
                true
            }
            None => false,
        }
    }

    /// Fails every sent call (the connection dropped).
    pub(crate) fn fail_inflight(&mut self, error: &Error) {
        for (_, tx) in self.inflight.drain() {
            let _ = tx.send(Err(error.clone()));
        }
    }

    /// Fails every call, sent or queued (terminal state).
    pub(crate) fn fail_all(&mut self, error: &Error) {
        self.fail_inflight(error);
        for request in self.queued.drain(..) {
            let _ = request.reply.send(Err(error.clone()));
        }
    }

    /// Forgets calls whose callers gave up (timed out).
    pub(crate) fn purge(&mut self) {
        self.inflight.retain(|_, tx| !tx.is_closed());
        self.queued.retain(|r| !r.reply.is_closed());
    }

    /// Number of calls queued or in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.queued.len() + self.inflight.len()
    }
}

/// What to read from a channel's history (see [`crate::Client::history`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryQuery {
    /// How many publications; 0 returns only the stream position.
    pub limit: i32,
    /// Only publications after this position.
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

/// A page of a channel's history.
#[derive(Debug, Clone)]
pub struct History {
    /// Publications, in the order asked for.
    pub publications: Vec<Publication>,
    /// Current epoch of the stream.
    pub epoch: String,
    /// Current top offset of the stream.
    pub offset: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> (Request, oneshot::Receiver<Result<Reply, Error>>) {
        let (tx, rx) = oneshot::channel();
        (
            Request {
                command: Command::default(),
                reply: tx,
            },
            rx,
        )
    }

    #[test]
    fn disconnect_fails_sent_calls_and_keeps_queued_ones() {
        let mut calls = Calls::default();
        let (sent, mut sent_rx) = request();
        calls.sent(7, sent.reply);
        let (queued, mut queued_rx) = request();
        calls.queue(queued);
        calls.fail_inflight(&Error::Disconnected {
            code: 2,
            reason: "no ping".into(),
        });
        assert!(matches!(
            sent_rx.try_recv(),
            Ok(Err(Error::Disconnected { code: 2, .. }))
        ));
        assert!(queued_rx.try_recv().is_err(), "queued call still waits");
        assert_eq!(calls.take_queued().len(), 1);
    }

    #[test]
    fn late_replies_and_abandoned_calls_are_dropped() {
        let mut calls = Calls::default();
        let (a, a_rx) = request();
        calls.sent(1, a.reply);
        drop(a_rx);
        let (b, b_rx) = request();
        calls.queue(b);
        drop(b_rx);
        calls.purge();
        assert_eq!(calls.len(), 0);
        assert!(
            !calls.resolve(1, Reply::default()),
            "no caller for a late reply"
        );
    }

    #[test]
    fn terminal_fails_everything() {
        let mut calls = Calls::default();
        let (a, mut a_rx) = request();
        calls.queue(a);
        calls.fail_all(&Error::Closed {
            code: 3500,
            reason: "invalid token".into(),
        });
        assert!(matches!(
            a_rx.try_recv(),
            Ok(Err(Error::Closed { code: 3500, .. }))
        ));
    }
}
