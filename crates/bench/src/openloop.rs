//! Open loop: N subscribers on one channel, one publisher at a fixed rate
//! whatever the deliveries, ramped step by step (--open-loop-rates) until a
//! rate is not sustained: fewer than --open-loop-min-delivered percent of its
//! deliveries arrived within the step, or its publish→receive p99 was above
//! --open-loop-max-p99. The highest sustained rate is the server's capacity
//! under latency-bounded load, where a closed loop measures it under deep
//! queues.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::cli::{Args, Target};
use crate::deployment::Deployment;
use crate::ends::Ends;
use crate::fanout::{self, new_histogram, Plan, Shared};
use crate::sys;

/// Where deliveries are counted, by the step their publication belongs to.
/// Written by every subscriber, read by the ramp between steps.
pub struct Steps {
    /// Sequence number of each step's first publication; `u64::MAX` until
    /// the step starts.
    starts: Vec<AtomicU64>,
    /// Set when a step's time for deliveries is over: later ones are late.
    closed: Vec<AtomicBool>,
    /// Deliveries that arrived before the step closed.
    in_time: Vec<AtomicU64>,
    /// Deliveries that arrived after.
    late: Vec<AtomicU64>,
    /// Latency (µs) of the deliveries in time.
    latency: Vec<Mutex<Histogram<u64>>>,
}

impl Steps {
    /// Room for `n` steps.
    pub fn new(n: usize) -> Steps {
        Steps {
            starts: (0..n).map(|_| AtomicU64::new(u64::MAX)).collect(),
            closed: (0..n).map(|_| AtomicBool::new(false)).collect(),
            in_time: (0..n).map(|_| AtomicU64::new(0)).collect(),
            late: (0..n).map(|_| AtomicU64::new(0)).collect(),
            latency: (0..n).map(|_| Mutex::new(new_histogram())).collect(),
        }
    }

    /// The step publication `seq` belongs to: the last one started at or
    /// before it.
    fn step_of(&self, seq: u64) -> Option<usize> {
        self.starts
            .iter()
            .rposition(|start| start.load(Ordering::Acquire) <= seq)
    }

    /// Counts one delivery of publication `seq`, `latency_us` after it was
    /// due.
    pub fn record(&self, seq: u64, latency_us: u64) {
        let Some(step) = self.step_of(seq) else {
            return;
        };
        if self.closed[step].load(Ordering::Acquire) {
            self.late[step].fetch_add(1, Ordering::Relaxed);
        } else {
            self.in_time[step].fetch_add(1, Ordering::Relaxed);
            self.latency[step]
                .lock()
                .expect("latency lock")
                .saturating_record(latency_us);
        }
    }
}

/// One rate of the ramp.
#[derive(Debug)]
pub struct StepResult {
    /// Deliveries/s asked for (publications/s × subscribers).
    pub rate: u64,
    /// Publications/s that makes.
    pub publish_rate: f64,
    /// Publications sent.
    pub published: u64,
    /// Deliveries expected: published × subscribers connected at its start.
    pub expected: u64,
    /// Deliveries that arrived within the step (before it closed).
    pub in_time: u64,
    /// Deliveries that arrived later (counted at the end of the run).
    pub late: u64,
    /// Latency of the deliveries in time, µs.
    pub latency: Histogram<u64>,
    /// Server CPU while publishing, cores (all processes of the target).
    pub server_cpu: f64,
    /// Bench CPU while publishing, cores.
    pub bench_cpu: f64,
    /// Whether the publisher's connection failed during the step.
    pub publisher_failed: bool,
}

impl StepResult {
    /// Percentage of the expected deliveries that arrived within the step.
    pub fn delivered_percent(&self) -> f64 {
        if self.expected == 0 {
            return 0.0;
        }
        self.in_time as f64 * 100.0 / self.expected as f64
    }

    /// Latency at `quantile` of every expected delivery, in ms, a delivery
    /// that did not arrive within the step counting as slower than all
    /// others (`None`: too few arrived to know it).
    pub fn latency_ms(&self, quantile: f64) -> Option<f64> {
        let needed = (quantile * self.expected as f64).ceil() as u64;
        if needed == 0 || self.in_time < needed || self.latency.is_empty() {
            return None;
        }
        let q = needed as f64 / self.in_time as f64;
        Some(self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    /// Whether the rate was sustained.
    pub fn sustained(&self, args: &Args) -> bool {
        let max_ms = args.open_loop_max_p99.as_secs_f64() * 1000.0;
        !self.publisher_failed
            && self.expected > 0
            && self.delivered_percent() >= args.open_loop_min_delivered
            && self.latency_ms(0.99).is_some_and(|p99| p99 <= max_ms)
    }
}

/// What the ramp measured on one target.
#[derive(Debug)]
pub struct OpenLoopResult {
    /// Subscribers asked for.
    pub subscribers: usize,
    /// Subscribers that connected (and subscribed).
    pub ready: usize,
    /// Examples of subscribers that could not.
    pub setup_errors: Vec<String>,
    /// Every step run, in order; the last one is the first not sustained,
    /// unless every rate was.
    pub steps: Vec<StepResult>,
    /// Whether each step was sustained (same order).
    pub sustained: Vec<bool>,
    /// Subscribers that ended before the ramp did, and the publishers'
    /// errors.
    pub ends: Ends,
}

impl OpenLoopResult {
    /// The highest rate sustained: the last step before the first that was
    /// not (its rate is the figure: the rate asked for, which it delivered
    /// within the bounds).
    pub fn max_sustained(&self) -> Option<&StepResult> {
        let passed = self.sustained.iter().take_while(|&&ok| ok).count();
        passed.checked_sub(1).map(|i| &self.steps[i])
    }

    /// The first step that was not sustained.
    pub fn first_failure(&self) -> Option<&StepResult> {
        self.sustained
            .iter()
            .position(|&ok| !ok)
            .map(|i| &self.steps[i])
    }

    /// The step at exactly `rate` deliveries/s, if it was run.
    pub fn at_rate(&self, rate: u64) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.rate == rate)
    }
}

/// Runs the ramp against a started target.
pub async fn run(
    target: Target,
    deployment: &Deployment,
    args: &Args,
) -> Result<OpenLoopResult, String> {
    let rates = &args.open_loop_rates;
    let steps = Arc::new(Steps::new(rates.len()));
    // The window is not used: the publisher is paced.
    let shared = Shared::new(u64::MAX, Some(steps.clone()));
    let mut crowd = fanout::open_crowd(target, deployment, args, shared.clone()).await?;
    let subscribers = crowd.ready;
    let mut results = Vec::new();
    let mut sustained = Vec::new();
    let mut publishers = Vec::new();
    for (index, &rate) in rates.iter().enumerate() {
        let alive = shared.alive();
        if alive == 0 {
            break;
        }
        // Publications/s for this many deliveries/s to the subscribers that
        // connected.
        let publish_rate = rate as f64 / subscribers as f64;
        let first_seq = shared.published() + 1;
        steps.starts[index].store(first_seq, Ordering::Release);
        let cpu0 = deployment.cpu_seconds();
        let bench0 = sys::cpu_seconds(None).unwrap_or(0.0);
        // Each step has its own publisher, closed after the step: with the
        // peers every connection receives every broadcast, so a publisher
        // left open would add a recipient per step.
        let (step_stop, step_stop_rx) = tokio::sync::watch::channel(false);
        let started = Instant::now();
        let publisher = fanout::start_publisher(
            target,
            crowd.publisher_port,
            shared.clone(),
            Plan {
                payload_bytes: args.payload_bytes as usize,
                end_at: started + args.open_loop_step,
                max_messages: u64::MAX,
                first_seq,
                pace: Some((started, publish_rate)),
            },
            step_stop_rx,
            args.connect_timeout,
        );
        // Bounded: the publisher stops at end_at (or when its connection
        // fails); --connect-timeout more covers a slow connect.
        let give_up = started + args.open_loop_step + args.connect_timeout;
        while !publisher.is_finished_publishing() && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let duration = started.elapsed();
        let cpu1 = deployment.cpu_seconds();
        let bench1 = sys::cpu_seconds(None).unwrap_or(bench0);
        let published = shared.published() + 1 - first_seq;
        // Deliveries may still arrive for --open-loop-grace.
        let close_at = Instant::now() + args.open_loop_grace;
        while !shared.all_delivered() && Instant::now() < close_at {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        steps.closed[index].store(true, Ordering::Release);
        let in_time = steps.in_time[index].load(Ordering::Acquire);
        let latency = steps.latency[index].lock().expect("latency lock").clone();
        let seconds = duration.as_secs_f64().max(1e-9);
        let server_cpu = cpu0
            .iter()
            .zip(&cpu1)
            .map(|pair| match pair {
                (Some(before), Some(after)) => after - before,
                _ => 0.0,
            })
            .sum::<f64>()
            / seconds;
        // The publisher's task lives until the run's end unless it could not
        // connect; one that sent far fewer than were due lost its connection.
        let due = publish_rate * args.open_loop_step.as_secs_f64();
        let publisher_failed =
            publisher.handle.is_finished() || (published as f64) < 0.9 * due - 1.0;
        let step = StepResult {
            rate,
            publish_rate,
            published,
            expected: published * alive,
            in_time,
            late: 0,
            latency,
            server_cpu,
            bench_cpu: (bench1 - bench0) / seconds,
            publisher_failed,
        };
        let ok = step.sustained(args);
        eprintln!(
            "  {}: {} deliveries/s: {:.2} % within the step, p99 {}, server CPU {:.2}, bench CPU {:.2}{}",
            target.label(),
            crate::report::group(rate),
            step.delivered_percent(),
            step.latency_ms(0.99)
                .map(|ms| format!("{ms:.2} ms"))
                .unwrap_or_else(|| "n/a".into()),
            step.server_cpu,
            step.bench_cpu,
            if ok { "" } else { ": not sustained" }
        );
        results.push(step);
        sustained.push(ok);
        // Let what is still queued arrive (or give up after --drain), so the
        // next step starts with empty queues.
        let until = Instant::now() + args.drain;
        while !shared.all_delivered() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = step_stop.send(true);
        publishers.push(publisher);
        if !ok {
            break;
        }
    }
    let setup_errors = std::mem::take(&mut crowd.setup_errors);
    let end = crowd.stop().await?;
    for (index, step) in results.iter_mut().enumerate() {
        step.late = steps.late[index].load(Ordering::Acquire);
    }
    let totals = fanout::collect_publishers(publishers).await;
    Ok(OpenLoopResult {
        subscribers: args.subscribers,
        ready: subscribers,
        setup_errors,
        steps: results,
        sustained,
        ends: Ends {
            publish_errors: totals.errors,
            publisher_problem: totals.problem,
            ..end.ends
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn step(expected: u64, in_time: u64, latencies_us: &[u64]) -> StepResult {
        let mut latency = new_histogram();
        for &us in latencies_us {
            latency.record(us).unwrap();
        }
        StepResult {
            rate: 10_000,
            publish_rate: 10.0,
            published: 10,
            expected,
            in_time,
            late: 0,
            latency,
            server_cpu: 0.1,
            bench_cpu: 0.1,
            publisher_failed: false,
        }
    }

    #[test]
    fn deliveries_count_in_the_step_of_their_publication_until_it_closes() {
        let steps = Steps::new(3);
        steps.record(1, 5);
        assert_eq!(steps.in_time[0].load(Ordering::Relaxed), 0, "no step yet");
        steps.starts[0].store(1, Ordering::Relaxed);
        steps.starts[1].store(11, Ordering::Relaxed);
        steps.record(10, 5);
        steps.record(11, 7);
        steps.closed[0].store(true, Ordering::Relaxed);
        steps.record(3, 9);
        assert_eq!(steps.in_time[0].load(Ordering::Relaxed), 1);
        assert_eq!(steps.late[0].load(Ordering::Relaxed), 1);
        assert_eq!(steps.in_time[1].load(Ordering::Relaxed), 1);
        assert_eq!(steps.latency[1].lock().unwrap().max(), 7);
    }

    #[test]
    fn a_rate_is_sustained_when_enough_arrive_soon_enough() {
        let args = Args::try_parse_from(["telltale-bench"]).unwrap();
        // 100 expected, 100 in time, all at 2 ms.
        let fast = step(100, 100, &[2_000; 100]);
        assert!(fast.sustained(&args));
        assert_eq!(fast.latency_ms(0.99), Some(2.0));
        // 2 % missing: p99 unknown, not sustained.
        let lossy = step(100, 98, &[2_000; 98]);
        assert_eq!(lossy.latency_ms(0.99), None);
        assert!(!lossy.sustained(&args));
        // 1 missing of 100: the p99 is the slowest that arrived.
        let mut slow_tail = vec![1_000; 98];
        slow_tail.push(150_000);
        let tail = step(100, 99, &slow_tail);
        assert!((tail.latency_ms(0.99).unwrap() - 150.0).abs() < 1.0);
        assert!(!tail.sustained(&args), "p99 above 100 ms");
        let result = OpenLoopResult {
            subscribers: 10,
            ready: 10,
            setup_errors: Vec::new(),
            steps: vec![fast, lossy],
            sustained: vec![true, false],
            ends: Ends::default(),
        };
        assert_eq!(result.max_sustained().unwrap().in_time, 100);
        assert_eq!(result.first_failure().unwrap().in_time, 98);
    }
}
