//! Which offsets of one channel a client received: the loss and duplicate
//! accounting of the soak test.
//!
//! A client's expected stream starts right after the position its first
//! subscribe reported and ends at the channel's final top offset; every
//! offset in between must arrive exactly once, live or through recovery.
//! Offsets are kept as ranges, so a client that received everything in
//! order holds one pair however long the run.

/// The offsets one client received on one channel.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    /// Stream position reported by the first subscribe: offsets above it are
    /// expected. `None` until then.
    start: Option<u64>,
    /// Distinct offsets received above `start`: sorted, disjoint, not
    /// adjacent, inclusive ranges.
    ranges: Vec<(u64, u64)>,
    /// Deliveries of an offset already received.
    duplicates: u64,
    /// Deliveries at or below the start position, or before the first
    /// subscribe reply: the client should never have seen them.
    before_start: u64,
}

/// A ledger checked against the channel's final top offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Offsets the client should have received: (start, top].
    pub expected: u64,
    /// Distinct offsets of (start, top] it received.
    pub received: u64,
    /// Offsets of (start, top] it never received.
    pub lost: u64,
    /// Deliveries of an offset it already had.
    pub duplicated: u64,
    /// Deliveries outside (start, top].
    pub out_of_range: u64,
    /// The first missing range, for the report.
    pub first_missing: Option<(u64, u64)>,
}

impl Tally {
    /// Nothing lost, duplicated or out of range.
    pub fn is_exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_range == 0
    }

    /// Adds another client's tally (the first missing range of the first
    /// tally that has one is kept).
    pub fn add(&mut self, other: &Tally) {
        self.expected += other.expected;
        self.received += other.received;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_range += other.out_of_range;
        if self.first_missing.is_none() {
            self.first_missing = other.first_missing;
        }
    }
}

impl Ledger {
    /// Sets the stream position of the first subscribe; later calls (the
    /// resubscribes after a reconnect) do not move it.
    pub fn begin(&mut self, position: u64) {
        if self.start.is_none() {
            self.start = Some(position);
        }
    }

    /// The first subscribe's position, once known.
    pub fn start(&self) -> Option<u64> {
        self.start
    }

    /// The offset to recover from: the highest received, else the start.
    pub fn resume_from(&self) -> u64 {
        let start = self.start.unwrap_or(0);
        self.ranges.last().map_or(start, |r| r.1.max(start))
    }

    /// Records one delivered offset.
    pub fn record(&mut self, offset: u64) {
        match self.start {
            Some(start) if offset > start => {}
            _ => {
                self.before_start += 1;
                return;
            }
        }
        // The usual case: the next offset in order.
        if let Some(last) = self.ranges.last_mut() {
            if offset == last.1 + 1 {
                last.1 = offset;
                return;
            }
            if offset > last.1 + 1 {
                self.ranges.push((offset, offset));
                return;
            }
        } else {
            self.ranges.push((offset, offset));
            return;
        }
        // Below the highest offset: a duplicate or a late fill of a gap.
        let i = self.ranges.partition_point(|r| r.1 < offset);
        if self.ranges[i].0 <= offset {
            self.duplicates += 1;
            return;
        }
        let joins_left = i > 0 && self.ranges[i - 1].1 + 1 == offset;
        let joins_right = self.ranges[i].0 == offset + 1;
        match (joins_left, joins_right) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = offset,
            (false, true) => self.ranges[i].0 = offset,
            (false, false) => self.ranges.insert(i, (offset, offset)),
        }
    }

    /// Checks the ledger against the channel's final top offset. A ledger
    /// that never began (no subscribe reply) expects nothing.
    pub fn check(&self, top: u64) -> Tally {
        let mut tally = Tally {
            duplicated: self.duplicates,
            out_of_range: self.before_start,
            ..Tally::default()
        };
        let Some(start) = self.start else {
            return tally;
        };
        tally.expected = top.saturating_sub(start);
        let mut next = start + 1; // first offset not yet accounted for
        for &(lo, hi) in &self.ranges {
            if lo > top {
                tally.out_of_range += hi - lo + 1;
                continue;
            }
            if lo > next && tally.first_missing.is_none() {
                tally.first_missing = Some((next, lo - 1));
            }
            let in_range_hi = hi.min(top);
            tally.received += in_range_hi - lo + 1;
            tally.out_of_range += hi - in_range_hi;
            next = in_range_hi + 1;
        }
        if next <= top && tally.first_missing.is_none() {
            tally.first_missing = Some((next, top));
        }
        tally.lost = tally.expected - tally.received;
        tally
    }
}

/// Mixes an offset with the sequence number found in its payload; a
/// client's digest is the wrapping sum of this over its deliveries, so it
/// matches [`Digests::expected`] only when every offset carried the payload
/// published at that offset.
pub fn mix(offset: u64, seq: u64) -> u64 {
    let mut z = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seq;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What each client's digest should be, from the publisher's confirmed
/// (offset, sequence number) pairs.
#[derive(Debug, Clone, Default)]
pub struct Digests {
    /// `prefix[o]`: sum of `mix` over offsets 1..=o.
    prefix: Vec<u64>,
    /// `unknown[o]`: offsets in 1..=o with no confirmed pair.
    unknown: Vec<u64>,
}

impl Digests {
    /// From (offset, seq) pairs in any order, for offsets up to `top`.
    pub fn new(pairs: &[(u64, u64)], top: u64) -> Self {
        let n = top as usize;
        let mut seq_of: Vec<Option<u64>> = vec![None; n + 1];
        for &(offset, seq) in pairs {
            if let Some(slot) = seq_of.get_mut(offset as usize) {
                *slot = Some(seq);
            }
        }
        let mut prefix = Vec::with_capacity(n + 1);
        let mut unknown = Vec::with_capacity(n + 1);
        prefix.push(0u64);
        unknown.push(0u64);
        for (offset, seq) in seq_of.iter().enumerate().skip(1) {
            let (p, u) = (prefix[offset - 1], unknown[offset - 1]);
            match seq {
                Some(seq) => {
                    prefix.push(p.wrapping_add(mix(offset as u64, *seq)));
                    unknown.push(u);
                }
                None => {
                    prefix.push(p);
                    unknown.push(u + 1);
                }
            }
        }
        Digests { prefix, unknown }
    }

    /// The digest of offsets (start, end]; `None` if one of them has no
    /// confirmed sequence number (or lies beyond the table).
    pub fn expected(&self, start: u64, end: u64) -> Option<u64> {
        if end < start {
            return None;
        }
        let (s, e) = (start as usize, end as usize);
        if e >= self.prefix.len() || self.unknown[e] != self.unknown[s] {
            return None;
        }
        Some(self.prefix[e].wrapping_sub(self.prefix[s]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(start: u64, offsets: impl IntoIterator<Item = u64>) -> Ledger {
        let mut l = Ledger::default();
        l.begin(start);
        for o in offsets {
            l.record(o);
        }
        l
    }

    #[test]
    fn contiguous_stream_is_exact_and_compact() {
        let l = ledger(10, 11..=5000);
        assert_eq!(l.ranges.len(), 1);
        let t = l.check(5000);
        assert!(t.is_exact(), "{t:?}");
        assert_eq!((t.expected, t.received), (4990, 4990));
        assert_eq!(l.resume_from(), 5000);
    }

    #[test]
    fn nothing_expected_when_subscribed_at_the_top() {
        let t = ledger(7, []).check(7);
        assert!(t.is_exact());
        assert_eq!(t.expected, 0);
    }

    #[test]
    fn a_gap_is_lost_and_named() {
        let l = ledger(0, (1..=4).chain(8..=10));
        let t = l.check(10);
        assert_eq!((t.lost, t.duplicated, t.received), (3, 0, 7));
        assert_eq!(t.first_missing, Some((5, 7)));
        assert!(!t.is_exact());
    }

    #[test]
    fn a_missing_tail_is_lost() {
        let t = ledger(0, 1..=8).check(10);
        assert_eq!(t.lost, 2);
        assert_eq!(t.first_missing, Some((9, 10)));
    }

    #[test]
    fn repeats_are_duplicates_wherever_they_fall() {
        // A recovery that resent what was already live, and a repeat in the
        // middle after a gap was filled.
        let l = ledger(0, [1, 2, 3, 2, 3, 4, 6, 5, 5, 1]);
        let t = l.check(6);
        assert_eq!((t.lost, t.duplicated, t.received), (0, 4, 6));
        assert_eq!(l.ranges, [(1, 6)]);
    }

    #[test]
    fn late_fills_merge_ranges() {
        let mut l = ledger(0, [1, 5, 9, 3]);
        assert_eq!(l.ranges, [(1, 1), (3, 3), (5, 5), (9, 9)]);
        l.record(2);
        l.record(4);
        assert_eq!(l.ranges, [(1, 5), (9, 9)]);
        for o in 6..=8 {
            l.record(o);
        }
        assert_eq!(l.ranges, [(1, 9)]);
        assert!(l.check(9).is_exact());
    }

    #[test]
    fn offsets_outside_the_window_are_counted() {
        let mut l = Ledger::default();
        l.record(3); // before the subscribe reply
        l.begin(5);
        l.record(5); // at the start position: already before the client
        l.record(6);
        l.record(7);
        l.record(12); // above the top
        let t = l.check(7);
        assert_eq!(t.out_of_range, 3);
        assert_eq!((t.lost, t.duplicated, t.received), (0, 0, 2));
    }

    #[test]
    fn the_start_is_the_first_subscribe_only() {
        let mut l = ledger(3, [4, 5]);
        l.begin(100); // a later resubscribe reports the top: ignored
        assert_eq!(l.start(), Some(3));
        assert_eq!(l.resume_from(), 5);
        assert_eq!(l.check(6).lost, 1);
    }

    #[test]
    fn a_ledger_that_never_began_expects_nothing() {
        let t = Ledger::default().check(50);
        assert_eq!(t, Tally::default());
    }

    #[test]
    fn digests_catch_a_payload_at_the_wrong_offset() {
        let pairs: Vec<(u64, u64)> = (1..=100).map(|o| (o, o + 7)).collect();
        let d = Digests::new(&pairs, 100);
        let client = |range: std::ops::RangeInclusive<u64>, swap: bool| {
            range.fold(0u64, |acc, o| {
                let seq = match (swap, o) {
                    (true, 50) => 51 + 7,
                    (true, 51) => 50 + 7,
                    _ => o + 7,
                };
                acc.wrapping_add(mix(o, seq))
            })
        };
        assert_eq!(d.expected(10, 100), Some(client(11..=100, false)));
        assert_eq!(d.expected(0, 100), Some(client(1..=100, false)));
        assert_ne!(d.expected(10, 100), Some(client(11..=100, true)));
        assert_eq!(d.expected(100, 100), Some(0));
        assert_eq!(d.expected(10, 101), None);
        // An offset whose publish answer was lost cannot be checked.
        let holes: Vec<(u64, u64)> = pairs.iter().copied().filter(|p| p.0 != 60).collect();
        let d = Digests::new(&holes, 100);
        assert_eq!(d.expected(10, 100), None);
        assert_eq!(d.expected(60, 100), Some(client(61..=100, false)));
        assert_eq!(d.expected(10, 59), Some(client(11..=59, false)));
    }

    #[test]
    fn tallies_add_up() {
        let mut sum = ledger(0, 1..=3).check(3);
        sum.add(&ledger(1, [2, 2, 4]).check(4));
        assert_eq!(
            (sum.expected, sum.received, sum.lost, sum.duplicated),
            (6, 5, 1, 1)
        );
        assert_eq!(sum.first_missing, Some((3, 3)));
    }
}
