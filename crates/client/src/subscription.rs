//! Subscriptions that survive reconnects, and exactly-once delivery.
//!
//! Each subscription remembers its stream position (epoch and the offset of
//! the last publication delivered). On every (re)connect it is sent again
//! with `recover: true` and that position. The rules:
//!
//! - `recovered: true`: the missed publications follow, oldest first; any
//!   offset already delivered is skipped, so each is delivered once.
//! - `recovered: false` after asking to recover: an explicit [`Event::Gap`].
//! - A live publication at or below the position is a duplicate (skipped);
//!   one past `position + 1` means publications went missing on a live
//!   connection: the connection is restarted to recover them
//!   ([`code::INSUFFICIENT_STATE`](crate::code::INSUFFICIENT_STATE)).
//! - Publications that arrive while a subscribe is in flight wait for its
//!   reply, so they are checked against the recovered position.
//!
//! This file is pure bookkeeping: the connection task sends what it asks for.

use std::collections::{BTreeMap, HashMap};

use telltale_protocol::command::{StreamPosition, SubscribeRequest};
use telltale_protocol::reply::{CodeReason, SubscribeResult};
use telltale_protocol::{Publication as WirePublication, ReplyError};
use tokio::time::Instant;

use crate::backoff::{Backoff, BackoffConfig};
use crate::{Error, Event, Publication};

/// Unsubscribe push codes at or above this mean "resubscribe" (as the Centrifugo SDKs do).
const RESUBSCRIBE_FROM: u32 = 2500;

#[derive(Debug)]
enum Status {
    /// Not sent on the current connection (or waiting for a retry).
    Idle,
    /// Sent with this command id; the reply is awaited.
    Subscribing,
    /// The reply arrived.
    Active,
}

#[derive(Debug)]
struct Subscription {
    status: Status,
    /// Last delivered position; `None` until a positioned reply arrived.
    position: Option<StreamPosition>,
    /// Live publications received while the subscribe was in flight.
    early: Vec<WirePublication>,
    /// Retry after a temporary subscribe error.
    retry: Backoff,
    retry_at: Option<Instant>,
}

impl Subscription {
    fn new(backoff: BackoffConfig) -> Self {
        Self {
            status: Status::Idle,
            position: None,
            early: Vec::new(),
            retry: Backoff::new(backoff),
            retry_at: None,
        }
    }
}

/// The live stream skipped offsets; reconnect to recover them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamBroken {
    pub channel: String,
    pub expected: u64,
    pub got: u64,
}

/// What to do with one publication.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Deliver,
    Duplicate,
    Gap,
}

fn judge(position: &mut Option<StreamPosition>, offset: u64) -> Verdict {
    match position {
        _ if offset == 0 => Verdict::Deliver,
        None => Verdict::Deliver,
        Some(pos) if offset <= pos.offset => Verdict::Duplicate,
        Some(pos) if offset == pos.offset + 1 => {
            pos.offset = offset;
            Verdict::Deliver
        }
        Some(_) => Verdict::Gap,
    }
}

/// All subscriptions of one client, by channel.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    subs: BTreeMap<String, Subscription>,
    /// Subscribe command id → channel.
    pending: HashMap<u32, String>,
    backoff: BackoffConfig,
}

impl Subscriptions {
    pub(crate) fn new(backoff: BackoffConfig) -> Self {
        Self {
            backoff,
            ..Self::default()
        }
    }

    /// Adds a channel; `false` if it was already there.
    pub(crate) fn add(&mut self, channel: &str) -> bool {
        if self.subs.contains_key(channel) {
            return false;
        }
        self.subs
            .insert(channel.to_string(), Subscription::new(self.backoff));
        true
    }

    /// Removes a channel; `false` if it was not there.
    pub(crate) fn remove(&mut self, channel: &str) -> bool {
        self.pending.retain(|_, c| c != channel);
        self.subs.remove(channel).is_some()
    }

    /// The connection ended: everything must be sent again.
    pub(crate) fn on_disconnect(&mut self) {
        self.pending.clear();
        for sub in self.subs.values_mut() {
            sub.status = Status::Idle;
            sub.early.clear();
            sub.retry_at = None;
        }
    }

    /// Subscribe requests for every channel not sent on this connection and
    /// not waiting for a retry; `next_id` numbers the commands.
    pub(crate) fn requests_due(
        &mut self,
        now: Instant,
        mut next_id: impl FnMut() -> u32,
    ) -> Vec<(u32, SubscribeRequest)> {
        let mut out = Vec::new();
        for (channel, sub) in &mut self.subs {
            let due = sub.retry_at.is_none_or(|at| at <= now);
            if !matches!(sub.status, Status::Idle) || !due {
                continue;
            }
            let id = next_id();
            sub.status = Status::Subscribing;
            sub.retry_at = None;
            self.pending.insert(id, channel.clone());
            let mut request = SubscribeRequest {
                channel: channel.clone(),
                recoverable: true,
                positioned: true,
                ..SubscribeRequest::default()
            };
            if let Some(pos) = &sub.position {
                request.recover = true;
                request.offset = pos.offset;
                request.epoch = pos.epoch.clone();
            }
            out.push((id, request));
        }
        out
    }

    /// When the next retry of a failed subscribe is due.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.subs.values().filter_map(|s| s.retry_at).min()
    }

    /// Whether `id` is a subscribe command of ours.
    pub(crate) fn is_pending(&self, id: u32) -> bool {
        self.pending.contains_key(&id)
    }

    /// Handles the reply to subscribe command `id`.
    pub(crate) fn on_reply(
        &mut self,
        id: u32,
        reply: Result<SubscribeResult, ReplyError>,
        now: Instant,
        out: &mut Vec<Event>,
    ) -> Result<(), StreamBroken> {
        let Some(channel) = self.pending.remove(&id) else {
            return Ok(());
        };
        let Some(sub) = self.subs.get_mut(&channel) else {
            return Ok(());
        };
        let result = match reply {
            Ok(result) => result,
            Err(error) if error.temporary => {
                sub.status = Status::Idle;
                sub.retry_at = Some(now + sub.retry.next_delay());
                out.push(Event::Error(Error::Server(error)));
                return Ok(());
            }
            Err(error) => {
                self.subs.remove(&channel);
                out.push(Event::Unsubscribed {
                    channel,
                    code: error.code,
                    reason: error.message,
                });
                return Ok(());
            }
        };
        sub.status = Status::Active;
        sub.retry.reset();
        let positioned = result.positioned || result.recoverable;
        let asked = sub.position.clone();
        let now_at = StreamPosition {
            offset: result.offset,
            epoch: result.epoch.clone(),
        };
        let mut gap = None;
        let recovered = asked.is_some() && result.recovered;
        if recovered {
            // Keep our own offset as the base: the recovered publications
            // are checked against it, so nothing is delivered twice.
            if let Some(pos) = &mut sub.position {
                if !result.epoch.is_empty() {
                    pos.epoch = result.epoch.clone();
                }
            }
        } else {
            if asked.is_some() {
                gap = Some(Event::Gap {
                    channel: channel.clone(),
                    last_seen: asked.clone(),
                    now: now_at.clone(),
                });
            }
            sub.position = positioned.then_some(now_at);
        }
        out.push(Event::Subscribed {
            channel: channel.clone(),
            was_recovering: asked.is_some(),
            recovered,
            position: sub.position.clone(),
        });
        out.extend(gap);
        for publication in result.publications {
            match judge(&mut sub.position, publication.offset) {
                Verdict::Deliver => out.push(deliver(&channel, publication)),
                Verdict::Duplicate => {}
                Verdict::Gap => {
                    // The server claimed a full recovery but skipped offsets:
                    // say so, and carry on from what it sent.
                    let last_seen = sub.position.clone();
                    let now = StreamPosition {
                        offset: publication.offset,
                        epoch: last_seen
                            .as_ref()
                            .map(|p| p.epoch.clone())
                            .unwrap_or_default(),
                    };
                    out.push(Event::Gap {
                        channel: channel.clone(),
                        last_seen,
                        now: now.clone(),
                    });
                    sub.position = Some(now);
                    out.push(deliver(&channel, publication));
                }
            }
        }
        let early = std::mem::take(&mut sub.early);
        for publication in early {
            live(&channel, sub, publication, out)?;
        }
        Ok(())
    }

    /// Handles a live publication pushed on `channel`.
    pub(crate) fn on_publication(
        &mut self,
        channel: &str,
        publication: WirePublication,
        out: &mut Vec<Event>,
    ) -> Result<(), StreamBroken> {
        match self.subs.get_mut(channel) {
            // Not ours (e.g. a server-side subscription): deliver as is.
            None => {
                out.push(deliver(channel, publication));
                Ok(())
            }
            Some(sub) => match sub.status {
                Status::Subscribing => {
                    sub.early.push(publication);
                    Ok(())
                }
                // A publication for a subscription not (re)sent yet cannot
                // be placed; recovery will bring it.
                Status::Idle => Ok(()),
                Status::Active => live(channel, sub, publication, out),
            },
        }
    }

    /// Handles an `unsubscribe` push: below 2500 the subscription ends,
    /// otherwise it is sent again (recovering).
    pub(crate) fn on_unsubscribe_push(
        &mut self,
        channel: &str,
        push: CodeReason,
        out: &mut Vec<Event>,
    ) {
        if push.code >= RESUBSCRIBE_FROM {
            if let Some(sub) = self.subs.get_mut(channel) {
                self.pending.retain(|_, c| c != channel);
                sub.status = Status::Idle;
                sub.early.clear();
            }
            return;
        }
        if self.remove(channel) {
            out.push(Event::Unsubscribed {
                channel: channel.to_string(),
                code: push.code,
                reason: push.reason,
            });
        }
    }

    /// The position of `channel`, if known.
    #[cfg(test)]
    pub(crate) fn position(&self, channel: &str) -> Option<StreamPosition> {
        self.subs.get(channel).and_then(|s| s.position.clone())
    }
}

fn live(
    channel: &str,
    sub: &mut Subscription,
    publication: WirePublication,
    out: &mut Vec<Event>,
) -> Result<(), StreamBroken> {
    let expected = sub.position.as_ref().map_or(0, |p| p.offset + 1);
    match judge(&mut sub.position, publication.offset) {
        Verdict::Deliver => out.push(deliver(channel, publication)),
        Verdict::Duplicate => {}
        Verdict::Gap => {
            return Err(StreamBroken {
                channel: channel.to_string(),
                expected,
                got: publication.offset,
            })
        }
    }
    Ok(())
}

fn deliver(channel: &str, publication: WirePublication) -> Event {
    Event::Publication(Publication::new(
        channel.to_string(),
        publication.offset,
        publication.data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(offset: u64) -> WirePublication {
        WirePublication {
            data: serde_json::value::RawValue::from_string(format!("{{\"n\":{offset}}}")).unwrap(),
            offset,
            info: None,
            tags: None,
        }
    }

    fn result(epoch: &str, offset: u64, recovered: bool, pubs: &[u64]) -> SubscribeResult {
        SubscribeResult {
            recoverable: true,
            positioned: true,
            epoch: epoch.into(),
            offset,
            recovered,
            was_recovering: recovered,
            publications: pubs.iter().map(|o| publication(*o)).collect(),
            ..SubscribeResult::default()
        }
    }

    fn delivered(events: &[Event]) -> Vec<u64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Publication(p) => Some(p.offset),
                _ => None,
            })
            .collect()
    }

    struct Harness {
        subs: Subscriptions,
        id: u32,
    }

    impl Harness {
        fn new() -> Self {
            let mut subs = Subscriptions::new(BackoffConfig::default());
            subs.add("alarms");
            Self { subs, id: 0 }
        }

        fn send(&mut self) -> Vec<(u32, SubscribeRequest)> {
            let id = &mut self.id;
            self.subs.requests_due(Instant::now(), || {
                *id += 1;
                *id
            })
        }

        fn reply(
            &mut self,
            id: u32,
            result: SubscribeResult,
        ) -> (Vec<Event>, Result<(), StreamBroken>) {
            let mut out = Vec::new();
            let r = self.subs.on_reply(id, Ok(result), Instant::now(), &mut out);
            (out, r)
        }

        fn push(&mut self, offset: u64) -> (Vec<Event>, Result<(), StreamBroken>) {
            let mut out = Vec::new();
            let r = self
                .subs
                .on_publication("alarms", publication(offset), &mut out);
            (out, r)
        }
    }

    #[test]
    fn first_subscribe_then_recovery_delivers_each_offset_once() {
        let mut h = Harness::new();
        let sent = h.send();
        assert_eq!(sent.len(), 1);
        assert!(!sent[0].1.recover);
        let (events, _) = h.reply(sent[0].0, result("e1", 2, false, &[]));
        assert!(matches!(
            &events[0],
            Event::Subscribed {
                recovered: false,
                was_recovering: false,
                ..
            }
        ));
        assert!(
            !events.iter().any(|e| matches!(e, Event::Gap { .. })),
            "first subscribe is no gap"
        );
        for offset in 3..=5 {
            assert_eq!(delivered(&h.push(offset).0), [offset]);
        }
        assert_eq!(
            delivered(&h.push(4).0),
            Vec::<u64>::new(),
            "live duplicate skipped"
        );

        h.subs.on_disconnect();
        let sent = h.send();
        let request = &sent[0].1;
        assert!(request.recover);
        assert_eq!((request.offset, request.epoch.as_str()), (5, "e1"));
        // The server replays 4..8 (overlapping what we have): 6, 7, 8 are new.
        let (events, r) = h.reply(sent[0].0, result("e1", 5, true, &[4, 5, 6, 7, 8]));
        assert!(r.is_ok());
        assert!(matches!(
            &events[0],
            Event::Subscribed {
                recovered: true,
                was_recovering: true,
                ..
            }
        ));
        assert_eq!(delivered(&events), [6, 7, 8]);
        assert_eq!(h.subs.position("alarms").unwrap().offset, 8);
    }

    #[test]
    fn failed_recovery_is_an_explicit_gap() {
        let mut h = Harness::new();
        let sent = h.send();
        let _ = h.reply(sent[0].0, result("e1", 7, false, &[]));
        h.subs.on_disconnect();
        let sent = h.send();
        let mut fresh = result("e2", 0, false, &[]);
        fresh.was_recovering = true;
        let (events, _) = h.reply(sent[0].0, fresh);
        let gap = events
            .iter()
            .find_map(|e| match e {
                Event::Gap { last_seen, now, .. } => Some((last_seen.clone(), now.clone())),
                _ => None,
            })
            .expect("no gap event");
        assert_eq!(
            gap.0.unwrap(),
            StreamPosition {
                offset: 7,
                epoch: "e1".into()
            }
        );
        assert_eq!(
            gap.1,
            StreamPosition {
                offset: 0,
                epoch: "e2".into()
            }
        );
        assert_eq!(delivered(&h.push(1).0), [1], "the new stream continues");
    }

    #[test]
    fn publications_during_subscribe_wait_for_the_reply() {
        let mut h = Harness::new();
        let sent = h.send();
        let _ = h.reply(sent[0].0, result("e1", 3, false, &[]));
        h.subs.on_disconnect();
        let sent = h.send();
        // Live pushes race the recovery reply: they wait, then dedupe.
        assert!(delivered(&h.push(5).0).is_empty());
        assert!(delivered(&h.push(6).0).is_empty());
        let (events, r) = h.reply(sent[0].0, result("e1", 3, true, &[4, 5]));
        assert!(r.is_ok());
        assert_eq!(delivered(&events), [4, 5, 6]);
    }

    #[test]
    fn live_offset_jump_asks_for_a_reconnect() {
        let mut h = Harness::new();
        let sent = h.send();
        let _ = h.reply(sent[0].0, result("e1", 3, false, &[]));
        let (events, r) = h.push(6);
        assert!(events.is_empty());
        assert_eq!(
            r.unwrap_err(),
            StreamBroken {
                channel: "alarms".into(),
                expected: 4,
                got: 6
            }
        );
        assert_eq!(
            h.subs.position("alarms").unwrap().offset,
            3,
            "position unchanged"
        );
    }

    #[test]
    fn errors_retry_or_end_the_subscription() {
        let mut h = Harness::new();
        let sent = h.send();
        let mut out = Vec::new();
        let now = Instant::now();
        let temporary = ReplyError::new(telltale_protocol::ErrorCode::Internal);
        h.subs
            .on_reply(sent[0].0, Err(temporary), now, &mut out)
            .unwrap();
        assert!(matches!(out[0], Event::Error(Error::Server(_))));
        assert!(h.subs.requests_due(now, || 99).is_empty(), "retry waits");
        let at = h.subs.next_retry().expect("a retry is scheduled");
        let sent = h.subs.requests_due(at, || 100);
        assert_eq!(sent.len(), 1);

        let mut out = Vec::new();
        let denied = ReplyError::new(telltale_protocol::ErrorCode::PermissionDenied);
        h.subs.on_reply(100, Err(denied), now, &mut out).unwrap();
        assert!(matches!(&out[0], Event::Unsubscribed { code: 103, .. }));
        assert!(h.subs.requests_due(at, || 101).is_empty(), "gone for good");
    }

    #[test]
    fn unsubscribe_push_ends_or_resubscribes() {
        let mut h = Harness::new();
        let sent = h.send();
        let _ = h.reply(sent[0].0, result("e1", 1, false, &[]));
        let mut out = Vec::new();
        h.subs.on_unsubscribe_push(
            "alarms",
            CodeReason {
                code: 2500,
                reason: "insufficient state".into(),
            },
            &mut out,
        );
        assert!(out.is_empty());
        let sent = h.send();
        assert!(sent[0].1.recover, "resubscribes with recovery");
        h.subs.on_unsubscribe_push(
            "alarms",
            CodeReason {
                code: 2000,
                reason: "server unsubscribe".into(),
            },
            &mut out,
        );
        assert!(matches!(&out[0], Event::Unsubscribed { code: 2000, .. }));
        assert!(h.send().is_empty());
    }

    #[test]
    fn foreign_channels_pass_through() {
        let mut subs = Subscriptions::new(BackoffConfig::default());
        let mut out = Vec::new();
        subs.on_publication("metrics:h", publication(9), &mut out)
            .unwrap();
        assert_eq!(delivered(&out), [9]);
    }
}
