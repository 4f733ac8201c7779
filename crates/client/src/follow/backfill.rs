//! Recent history for metric sources, delivered before their live samples.
//!
//! The app subscribes to a source seconds after it started publishing (the
//! catalog is polled), and a reconnect that cannot recover a channel misses
//! what was published meanwhile. The hub keeps each channel's recent
//! history, so in both cases the follower asks for it.
//!
//! Order matters: the UI drops a sample whose `ts` is not after the newest
//! one it holds for that source, so one live sample sent first would make it
//! drop the whole history. While the history request is in flight, that
//! source's live samples are held here; then the history (only what is newer
//! than the last sample already sent), then the held samples, go out in `ts`
//! order, and live samples pass straight through again.

use std::collections::{HashMap, VecDeque};

use crate::{Client, Error, HistoryQuery, Payload};
use telltale_protocol::{ErrorCode, MetricSample};

/// Publications asked for first: what the hub keeps per channel by default
/// (1000, and 300 s: a 1 Hz source has 300).
pub const HISTORY_LIMIT: i32 = 1000;
/// Below this the request is not halved again: a reply this small that
/// still does not fit means the hub is configured so it never will.
const MIN_HISTORY_LIMIT: i32 = 16;
/// Pause before asking again when the hub says this client sends too many
/// commands (after a reconnect every source resubscribes and asks at once).
const RATE_LIMITED_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);
/// Live samples held per source while its history loads; the oldest go
/// first, since the history read after them most likely has them.
pub const MAX_HELD: usize = 120;

/// Per source: what was sent last, and the live samples held back.
#[derive(Debug, Default)]
pub struct Backfill {
    sources: HashMap<String, Source>,
    next_ticket: u64,
}

#[derive(Debug, Default)]
struct Source {
    /// `ts` of the newest sample handed on, so history never repeats it.
    last_sent: Option<i64>,
    hold: Option<Hold>,
}

#[derive(Debug)]
struct Hold {
    ticket: u64,
    held: VecDeque<MetricSample>,
}

/// One history request of a source; only the newest one releases the hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The source, `<source>` of `metrics:<source>`.
    pub source: String,
    id: u64,
}

impl Backfill {
    /// Starts holding `source`'s live samples until [`Backfill::finish`]
    /// with the returned ticket. A request already in flight is superseded:
    /// its answer releases nothing.
    pub fn begin(&mut self, source: &str) -> Ticket {
        self.next_ticket += 1;
        let id = self.next_ticket;
        let state = self.sources.entry(source.to_owned()).or_default();
        let held = state.hold.take().map(|h| h.held).unwrap_or_default();
        state.hold = Some(Hold { ticket: id, held });
        Ticket {
            source: source.to_owned(),
            id,
        }
    }

    /// A live sample: `Some` to send now, `None` while it is held.
    pub fn live(&mut self, source: &str, sample: MetricSample) -> Option<MetricSample> {
        let state = self.sources.entry(source.to_owned()).or_default();
        match &mut state.hold {
            Some(hold) => {
                if hold.held.len() == MAX_HELD {
                    hold.held.pop_front();
                }
                hold.held.push_back(sample);
                None
            }
            None => {
                state.last_sent = state.last_sent.max(Some(sample.ts));
                Some(sample)
            }
        }
    }

    /// Ends the hold of `ticket` with `history` (any order; empty when the
    /// request failed): returns what to send, ascending by `ts`, each `ts`
    /// once and newer than anything sent before. Nothing for a superseded
    /// ticket.
    pub fn finish(&mut self, ticket: &Ticket, mut history: Vec<MetricSample>) -> Vec<MetricSample> {
        let Some(state) = self.sources.get_mut(&ticket.source) else {
            return Vec::new();
        };
        if state.hold.as_ref().map(|h| h.ticket) != Some(ticket.id) {
            return Vec::new();
        }
        let held = state.hold.take().map(|h| h.held).unwrap_or_default();
        history.sort_by_key(|s| s.ts);
        let mut out: Vec<MetricSample> = Vec::with_capacity(history.len() + held.len());
        // History first, then what arrived live during the request, each
        // only if newer than the last out: the UI would drop it anyway.
        for sample in history.into_iter().chain(held) {
            let newest = out.last().map(|s| s.ts).or(state.last_sent);
            if newest.is_none_or(|ts| sample.ts > ts) {
                out.push(sample);
            }
        }
        state.last_sent = out.last().map(|s| s.ts).or(state.last_sent);
        out
    }
}

/// The newest samples of `channel` in its history, oldest first. Starts
/// with [`HISTORY_LIMIT`] and halves while the hub answers that the reply
/// would not fit this connection's queue (106): samples of many metrics are
/// large. Asks again after a pause when rate-limited (111); the caller
/// bounds the whole wait.
pub async fn recent_samples(client: &Client, channel: &str) -> Result<Vec<MetricSample>, Error> {
    let mut limit = HISTORY_LIMIT;
    loop {
        let query = HistoryQuery {
            limit,
            since: None,
            reverse: true,
        };
        match client.history(channel, query).await {
            Ok(history) => return Ok(samples_oldest_first(history.publications)),
            Err(e) if too_large(&e) && limit > MIN_HISTORY_LIMIT => limit /= 2,
            Err(e) if rate_limited(&e) => tokio::time::sleep(RATE_LIMITED_PAUSE).await,
            Err(e) => return Err(e),
        }
    }
}

fn too_large(error: &Error) -> bool {
    error.server_code() == Some(ErrorCode::LimitExceeded.code())
}

fn rate_limited(error: &Error) -> bool {
    error.server_code() == Some(ErrorCode::TooManyRequests.code())
}

/// Newest-first publications → their samples oldest first; what is not a
/// sample is skipped (the live path counts it as invalid).
fn samples_oldest_first(publications: Vec<crate::Publication>) -> Vec<MetricSample> {
    publications
        .into_iter()
        .rev()
        .filter_map(|p| match p.payload {
            Payload::Metric(sample) => Some(sample),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64) -> MetricSample {
        MetricSample {
            ts,
            values: [("x".to_string(), ts as f64)].into(),
        }
    }

    fn ts(samples: &[MetricSample]) -> Vec<i64> {
        samples.iter().map(|s| s.ts).collect()
    }

    #[test]
    fn a_new_source_gets_history_then_the_samples_held_meanwhile() {
        let mut backfill = Backfill::default();
        let ticket = backfill.begin("h");
        assert_eq!(backfill.live("h", sample(10)), None, "held");
        assert_eq!(backfill.live("h", sample(11)), None, "held");
        assert!(
            backfill.live("g", sample(1)).is_some(),
            "other sources pass"
        );
        // Newest first as the hub answers, overlapping the held ones.
        let history = vec![sample(10), sample(9), sample(8), sample(8)];
        let out = backfill.finish(&ticket, history);
        assert_eq!(ts(&out), [8, 9, 10, 11], "ascending, each ts once");
        assert_eq!(backfill.live("h", sample(12)).map(|s| s.ts), Some(12));
    }

    #[test]
    fn after_a_gap_only_what_is_newer_than_sent_is_backfilled() {
        let mut backfill = Backfill::default();
        for t in 1..=5 {
            backfill.live("h", sample(t)).unwrap();
        }
        let ticket = backfill.begin("h");
        assert_eq!(backfill.live("h", sample(9)), None);
        let out = backfill.finish(&ticket, (3..=8).map(sample).collect());
        assert_eq!(ts(&out), [6, 7, 8, 9]);
    }

    #[test]
    fn a_failed_request_releases_the_held_samples_in_order() {
        let mut backfill = Backfill::default();
        backfill.live("h", sample(5)).unwrap();
        let ticket = backfill.begin("h");
        for t in [6, 4, 7] {
            assert_eq!(backfill.live("h", sample(t)), None);
        }
        let out = backfill.finish(&ticket, Vec::new());
        assert_eq!(ts(&out), [6, 7], "4 is older than what was sent");
    }

    #[test]
    fn only_the_newest_request_releases() {
        let mut backfill = Backfill::default();
        let first = backfill.begin("h");
        assert_eq!(backfill.live("h", sample(3)), None);
        let second = backfill.begin("h");
        assert!(backfill.finish(&first, vec![sample(1)]).is_empty());
        assert_eq!(backfill.live("h", sample(4)), None, "still held");
        let out = backfill.finish(&second, vec![sample(1), sample(2)]);
        assert_eq!(ts(&out), [1, 2, 3, 4], "samples held before keep waiting");
        assert!(backfill.finish(&second, vec![sample(9)]).is_empty(), "once");
    }

    #[test]
    fn the_hold_is_bounded_dropping_the_oldest() {
        let mut backfill = Backfill::default();
        let ticket = backfill.begin("h");
        let extra = 5;
        for t in 0..(MAX_HELD as i64 + extra) {
            assert_eq!(backfill.live("h", sample(t)), None);
        }
        let out = backfill.finish(&ticket, Vec::new());
        assert_eq!(out.len(), MAX_HELD);
        assert_eq!(out[0].ts, extra);
    }
}
