//! Reconnect delays: exponential, with full jitter, bounded.
//!
//! Attempt `n` (0-based) waits a uniformly random time in
//! `[min, ceiling(n)]`, where `ceiling(n) = min(max, min · 2^(n+1))`. The
//! ceiling doubles until it reaches `max`; the jitter spreads the clients of
//! a restarted hub over the whole window instead of having them all come
//! back at once. The floor `min` keeps a flapping link from being hammered.
//!
//! The connection resets the sequence only after a session that stayed up
//! for [`crate::Options::stable_after`]; a connection closed sooner (e.g.
//! 3008 right after `connect`) counts as one more attempt, so the ceiling
//! keeps doubling.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Bounds of the reconnect delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Shortest delay, and the base of the exponential (default 500 ms).
    pub min: Duration,
    /// Longest delay (default 20 s).
    pub max: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(500),
            max: Duration::from_secs(20),
        }
    }
}

impl BackoffConfig {
    /// The shortest delay: `min`, or `max` if that is smaller.
    pub fn floor(&self) -> Duration {
        self.min.min(self.max)
    }

    /// The longest delay attempt `attempt` (0-based) may wait:
    /// `min(max, floor · 2^(attempt+1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let max = self.max.as_nanos();
        let min = self.floor().as_nanos();
        let doubled = min.saturating_mul(1u128 << attempt.saturating_add(1).min(64));
        Duration::from_nanos(doubled.min(max).min(u64::MAX as u128) as u64)
    }
}

/// A sequence of reconnect delays; [`Backoff::reset`] after a stable
/// connection.
#[derive(Debug)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    rng: StdRng,
}

impl Backoff {
    /// A backoff with a random seed.
    pub fn new(config: BackoffConfig) -> Self {
        Self::with_rng(config, StdRng::from_rng(&mut rand::rng()))
    }

    /// A backoff whose jitter is reproducible (tests).
    pub fn with_seed(config: BackoffConfig, seed: u64) -> Self {
        Self::with_rng(config, StdRng::seed_from_u64(seed))
    }

    fn with_rng(config: BackoffConfig, rng: StdRng) -> Self {
        Self {
            config,
            attempt: 0,
            rng,
        }
    }

    /// The delay before the next attempt; each call moves one attempt on.
    pub fn next_delay(&mut self) -> Duration {
        let floor = self.config.floor();
        let ceiling = self.config.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        if ceiling <= floor {
            return floor;
        }
        self.rng.random_range(floor..=ceiling)
    }

    /// How many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts over from the shortest delays (after a connection that stayed
    /// up for [`crate::Options::stable_after`], or an explicit reconnect).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// The bounds in use.
    pub fn config(&self) -> BackoffConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(min_ms: u64, max_ms: u64) -> BackoffConfig {
        BackoffConfig {
            min: Duration::from_millis(min_ms),
            max: Duration::from_millis(max_ms),
        }
    }

    #[test]
    fn ceiling_doubles_then_stays_at_max() {
        let c = config(100, 1000);
        let ceilings: Vec<u64> = (0..6).map(|n| c.ceiling(n).as_millis() as u64).collect();
        assert_eq!(ceilings, [200, 400, 800, 1000, 1000, 1000]);
        // No overflow for absurd attempt numbers or bounds.
        assert_eq!(c.ceiling(u32::MAX), Duration::from_millis(1000));
        let huge = BackoffConfig {
            min: Duration::from_secs(1),
            max: Duration::MAX,
        };
        assert!(huge.ceiling(200) > Duration::from_secs(1));
    }

    #[test]
    fn delays_stay_within_floor_and_ceiling() {
        for seed in 0..50 {
            let c = config(100, 5000);
            let mut backoff = Backoff::with_seed(c, seed);
            for n in 0..12 {
                let delay = backoff.next_delay();
                assert!(delay >= c.min, "attempt {n}: {delay:?} below min");
                assert!(
                    delay <= c.ceiling(n),
                    "attempt {n}: {delay:?} above ceiling"
                );
            }
        }
    }

    #[test]
    fn delays_grow_on_average_and_are_jittered() {
        let c = config(100, 100_000);
        let runs = 200u32;
        let mut sums = [Duration::ZERO; 6];
        let mut distinct_first = std::collections::BTreeSet::new();
        for seed in 0..runs as u64 {
            let mut backoff = Backoff::with_seed(c, seed);
            for sum in sums.iter_mut() {
                *sum += backoff.next_delay();
            }
            distinct_first.insert(Backoff::with_seed(c, seed).next_delay());
        }
        let means: Vec<Duration> = sums.iter().map(|s| *s / runs).collect();
        assert!(means.windows(2).all(|w| w[1] > w[0]), "means {means:?}");
        assert!(distinct_first.len() > 100, "first delays are not jittered");
    }

    #[test]
    fn reset_starts_over_and_degenerate_bounds_are_safe() {
        let mut backoff = Backoff::with_seed(config(100, 100_000), 7);
        for _ in 0..10 {
            backoff.next_delay();
        }
        assert_eq!(backoff.attempts(), 10);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(200));

        let mut zero = Backoff::with_seed(config(0, 0), 1);
        assert_eq!(zero.next_delay(), Duration::ZERO);
        // min above max: max wins as the bound, no panic.
        let mut inverted = Backoff::with_seed(config(500, 100), 1);
        assert_eq!(inverted.next_delay(), Duration::from_millis(100));
    }
}
