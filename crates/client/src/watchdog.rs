//! The ping watchdog: detects a dead connection that looks alive.
//!
//! A half-open TCP connection (the peer vanished, a laptop slept, a NAT
//! forgot the flow) delivers nothing and reports no error. The server
//! promises a ping (`{}`) every `ping` seconds (the `connect` reply says
//! how often), so when no frame at all arrives within `ping + allowance`,
//! the connection is dead: the client closes it with code 2 "no ping" and
//! reconnects. Like centrifuge-js, any inbound frame restarts the timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{sleep_until, Instant, Sleep};

/// Default time allowed on top of the server's ping interval (the
/// Centrifugo SDKs' `maxServerPingDelay`, 10 s).
pub const DEFAULT_ALLOWANCE: Duration = Duration::from_secs(10);

/// A resettable deadline; disabled until armed with a ping interval.
#[derive(Debug)]
pub struct Watchdog {
    limit: Option<Duration>,
    sleep: Pin<Box<Sleep>>,
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::disabled()
    }
}

impl Watchdog {
    /// A watchdog that never fires.
    pub fn disabled() -> Self {
        Self {
            limit: None,
            sleep: Box::pin(sleep_until(Instant::now())),
        }
    }

    /// Starts watching: the connection must deliver a frame at least every
    /// `ping + allowance`. `ping` of `None` or zero disables the watchdog.
    pub fn arm(&mut self, ping: Option<Duration>, allowance: Duration) {
        self.limit = ping.filter(|p| !p.is_zero()).map(|p| p + allowance);
        self.feed();
    }

    /// A frame arrived: the deadline moves to now + limit.
    pub fn feed(&mut self) {
        if let Some(limit) = self.limit {
            self.sleep.as_mut().reset(Instant::now() + limit);
        }
    }

    /// The time allowed between two frames, when armed.
    pub fn limit(&self) -> Option<Duration> {
        self.limit
    }

    /// Completes when the deadline passes; never, while disabled.
    pub fn expired(&mut self) -> Expired<'_> {
        Expired { watchdog: self }
    }
}

/// Future returned by [`Watchdog::expired`].
#[derive(Debug)]
pub struct Expired<'a> {
    watchdog: &'a mut Watchdog,
}

impl Future for Expired<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.watchdog.limit.is_none() {
            return Poll::Pending;
        }
        self.watchdog.sleep.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_after_interval_plus_allowance_without_frames() {
        let mut watchdog = Watchdog::disabled();
        watchdog.arm(Some(Duration::from_secs(25)), DEFAULT_ALLOWANCE);
        let start = Instant::now();
        watchdog.expired().await;
        assert_eq!(start.elapsed(), Duration::from_secs(35));
    }

    #[tokio::test(start_paused = true)]
    async fn every_frame_pushes_the_deadline() {
        let mut watchdog = Watchdog::disabled();
        watchdog.arm(Some(Duration::from_secs(1)), Duration::from_secs(1));
        let start = Instant::now();
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            watchdog.feed();
        }
        watchdog.expired().await;
        assert_eq!(start.elapsed(), Duration::from_millis(7500 + 2000));
    }

    #[tokio::test(start_paused = true)]
    async fn disabled_or_zero_ping_never_fires() {
        for ping in [None, Some(Duration::ZERO)] {
            let mut watchdog = Watchdog::disabled();
            watchdog.arm(ping, DEFAULT_ALLOWANCE);
            assert_eq!(watchdog.limit(), None);
            let outcome = tokio::time::timeout(Duration::from_secs(3600), watchdog.expired()).await;
            assert!(outcome.is_err(), "a disabled watchdog fired");
        }
    }
}
