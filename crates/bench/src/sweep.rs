//! Sweep: delivered msg/s as the load changes shape. The closed-loop
//! fan-out of fanout.rs (same publisher window, same pinning) is run again
//! at each point of two series, on a fresh server each time: by subscriber
//! count (--sweep-subscribers, each at --sweep-payload-bytes) and by payload
//! size (--sweep-payloads, each to --sweep-payload-subscribers). A point in
//! both series is measured once. Each point is short (--sweep-warmup, then
//! --sweep-duration, no one-message-in-flight phase) so that the whole sweep
//! over the hub and both peers takes a few minutes.

use std::time::Duration;

use crate::cli::{Args, Scenario, Target};
use crate::deployment::Settings;
use crate::fanout::FanoutResult;

/// The subscriber series' plot, written beside the --write file.
pub const SUBSCRIBERS_PNG: &str = "bench-subscribers.png";
/// The payload series' plot, written beside the --write file.
pub const PAYLOAD_PNG: &str = "bench-payload.png";

/// One load shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Subscribers on the channel.
    pub subscribers: usize,
    /// Size of each payload.
    pub payload_bytes: u64,
}

/// A point and what its run measured.
#[derive(Debug)]
pub struct PointResult {
    /// The load shape.
    pub point: Point,
    /// The closed-loop fan-out at that shape, or why it failed.
    pub outcome: Result<FanoutResult, String>,
}

/// Every point of the sweep on one server, in the order run.
#[derive(Debug, Default)]
pub struct SweepResult {
    /// One entry per distinct point.
    pub points: Vec<PointResult>,
}

impl SweepResult {
    /// What was measured at `point`, if it was run.
    pub fn at(&self, point: Point) -> Option<&Result<FanoutResult, String>> {
        self.points
            .iter()
            .find(|p| p.point == point)
            .map(|p| &p.outcome)
    }

    /// Points that failed.
    pub fn failures(&self) -> usize {
        self.points.iter().filter(|p| p.outcome.is_err()).count()
    }
}

/// The subscriber series: (subscribers, its point).
pub fn subscriber_series(args: &Args) -> Vec<(usize, Point)> {
    args.sweep_subscribers
        .iter()
        .map(|&subscribers| {
            (
                subscribers,
                Point {
                    subscribers,
                    payload_bytes: args.sweep_payload_bytes,
                },
            )
        })
        .collect()
}

/// The payload series: (payload bytes, its point).
pub fn payload_series(args: &Args) -> Vec<(u64, Point)> {
    args.sweep_payloads
        .iter()
        .map(|&payload_bytes| {
            (
                payload_bytes,
                Point {
                    subscribers: args.sweep_payload_subscribers,
                    payload_bytes,
                },
            )
        })
        .collect()
}

/// Every distinct point, the subscriber series first.
pub fn points(args: &Args) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    let all = subscriber_series(args)
        .into_iter()
        .map(|(_, p)| p)
        .chain(payload_series(args).into_iter().map(|(_, p)| p));
    for point in all {
        if !out.contains(&point) {
            out.push(point);
        }
    }
    out
}

/// The flags of one point's closed loop: the sweep's shape and timing, no
/// light phase; everything else (window, drain, timeouts) as given.
pub fn point_args(args: &Args, point: Point) -> Args {
    Args {
        subscribers: point.subscribers,
        payload_bytes: point.payload_bytes,
        warmup: args.sweep_warmup,
        duration: args.sweep_duration,
        light_duration: Duration::ZERO,
        ..args.clone()
    }
}

/// The largest number of subscribers a point has.
pub fn max_subscribers(args: &Args) -> usize {
    points(args)
        .iter()
        .map(|p| p.subscribers)
        .max()
        .unwrap_or(0)
}

/// Runs every point on `target`, each on a freshly started server; a
/// point that fails is recorded and the sweep goes on.
pub async fn run(
    target: Target,
    settings: Settings<'_>,
    notes: &mut Vec<String>,
    nofile: &mut Option<u64>,
) -> SweepResult {
    let points = points(settings.args);
    let mut result = SweepResult::default();
    for (n, &point) in points.iter().enumerate() {
        let args = point_args(settings.args, point);
        let what = format!(
            "{} sweep at {} subscribers, {} B",
            target.label(),
            crate::report::group(point.subscribers as u64),
            point.payload_bytes
        );
        eprintln!("  point {}/{}: {what}", n + 1, points.len());
        let settings = Settings {
            args: &args,
            ..settings
        };
        let outcome = crate::run_one(target, Scenario::Fanout, settings, &what, notes, nofile)
            .await
            .and_then(|o| o.into_fanout());
        if let Err(e) = &outcome {
            eprintln!("  {what}: {e}");
        }
        result.points.push(PointResult { point, outcome });
        // Let the sockets of the last point close before the next server.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn the_default_points_are_the_two_series_with_their_common_point_once() {
        let args = Args::try_parse_from(["telltale-bench"]).unwrap();
        let p = |subscribers, payload_bytes| Point {
            subscribers,
            payload_bytes,
        };
        assert_eq!(
            points(&args),
            [
                p(100, 100),
                p(1000, 100),
                p(5000, 100),
                p(10_000, 100),
                p(1000, 1024),
                p(1000, 16_384)
            ]
        );
        assert_eq!(max_subscribers(&args), 10_000);
        let one = point_args(&args, p(5000, 1024));
        assert_eq!((one.subscribers, one.payload_bytes), (5000, 1024));
        assert_eq!(one.duration, Duration::from_secs(3));
        assert_eq!(one.warmup, Duration::from_millis(500));
        assert!(one.light_duration.is_zero());
        assert_eq!(one.window, args.window);
    }

    #[test]
    fn bad_series_are_refused() {
        for bad in [
            ["--sweep-subscribers", "1000,100"],
            ["--sweep-subscribers", "0,100"],
            ["--sweep-payloads", "100,70000"],
            ["--sweep-payloads", "1024,100"],
            ["--sweep-duration", "0s"],
        ] {
            let args = Args::try_parse_from(["telltale-bench", bad[0], bad[1]]).unwrap();
            let e = args.validate().unwrap_err();
            assert!(e.contains(bad[0]), "{bad:?}: {e}");
        }
    }
}
