//! A token bucket per connection: how many commands a client may send.
//!
//! Written against tokio's clock rather than taken from a crate so that
//! tests can drive it with `tokio::time::pause()`.

use std::time::Duration;

use tokio::time::Instant;

/// `rate` tokens per second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Takes `cost` tokens if there are that many; `false` leaves the bucket
    /// as it was.
    pub fn take(&mut self, cost: u32) -> bool {
        let now = Instant::now();
        let earned = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.last = now;
        let cost = f64::from(cost);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }

    /// How long until `cost` tokens are there.
    pub fn wait_for(&self, cost: u32) -> Duration {
        let missing = (f64::from(cost) - self.tokens).max(0.0);
        Duration::from_secs_f64(missing / self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let mut bucket = TokenBucket::new(10, 5);
        assert!((0..5).all(|_| bucket.take(1)));
        assert!(!bucket.take(1), "burst used up");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(bucket.take(1), "one token per 100 ms");
        assert!(!bucket.take(1));
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!((0..5).all(|_| bucket.take(1)), "never more than the burst");
        assert!(!bucket.take(1));
        assert!(!bucket.take(2));
        tokio::time::advance(Duration::from_millis(200)).await;
        assert!(bucket.take(2), "a double cost needs two tokens");
    }
}
