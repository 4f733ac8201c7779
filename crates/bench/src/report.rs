//! The results as a markdown table, the notes on anything odd, and the
//! docs/benchmarks.md file.

use std::fmt::Write as _;

use crate::cli::{Args, Target};
use crate::document::{OPEN_LOOP_SECTION, REDIS_SECTION, SWEEP_SECTION};
use crate::ends::Loop;
use crate::fanout::FanoutResult;
use crate::idle::IdleResult;
use crate::openloop::{OpenLoopResult, StepResult};
use crate::plot::{self, Chart, Series};
use crate::sweep::{self, Point, SweepResult, PAYLOAD_PNG, SUBSCRIBERS_PNG};
use crate::sys::Machine;

/// Delivered msg/s telltale-hub must reach, as a multiple of Node ws.
pub const TARGET_RATIO: f64 = 3.0;
/// Most bytes per idle connection telltale-hub may use.
pub const TARGET_IDLE_BYTES: f64 = 16.0 * 1024.0;
/// Issue 14: connections one hub holds at once.
pub const TARGET_CONNECTIONS: usize = 15_000;
/// Issue 14: closed-loop delivered msg/s, as a multiple of the gorilla Hub.
pub const CLOSED_VS_GORILLA: f64 = 1.5;
/// Issue 14: max sustained open-loop deliveries/s, as a multiple of the
/// gorilla Hub ...
pub const OPEN_VS_GORILLA: f64 = 1.5;
/// ... and of Node ws.
pub const OPEN_VS_NODE: f64 = 10.0;
/// Issue 14: the open-loop rate (deliveries/s) at which the p99 is judged ...
pub const P99_RATE: u64 = 50_000;
/// ... and the most it may be, in ms.
pub const P99_AT_RATE_MS: f64 = 5.0;

/// Everything measured for one server.
#[derive(Debug)]
pub struct TargetResults {
    /// Which server.
    pub target: Target,
    /// The commands that start it, as markdown.
    pub command: String,
    /// Its open-file limit, as seen in /proc/PID/limits.
    pub nofile: Option<u64>,
    /// Closed-loop fan-out outcome, if run.
    pub fanout: Option<Result<FanoutResult, String>>,
    /// Open-loop outcome, if run.
    pub open_loop: Option<Result<OpenLoopResult, String>>,
    /// Idle outcome, if run.
    pub idle: Option<Result<IdleResult, String>>,
    /// Sweep outcome (each point's), if run.
    pub sweep: Option<SweepResult>,
    /// Capacity outcome (the idle scenario with more connections, from
    /// several source addresses), if run.
    pub capacity: Option<Result<IdleResult, String>>,
}

/// A whole run.
#[derive(Debug)]
pub struct Report {
    /// The bench's flags.
    pub args: Args,
    /// One entry per server, in --targets order.
    pub targets: Vec<TargetResults>,
    /// Things that went wrong or look wrong.
    pub notes: Vec<String>,
    /// (server CPU, bench CPU) when pinned.
    pub pinned: Option<(usize, usize)>,
    /// RLIMIT_NOFILE of the bench.
    pub nofile: u64,
}

impl Report {
    fn get(&self, target: Target) -> Option<&TargetResults> {
        self.targets.iter().find(|t| t.target == target)
    }

    /// Adds notes derived from the figures (losses, closes, saturation).
    pub fn derive_notes(&mut self) {
        let mut notes = Vec::new();
        for t in &self.targets {
            let name = t.target.label();
            match &t.fanout {
                Some(Err(e)) => notes.push(format!("{name} fan-out failed: {e}")),
                Some(Ok(f)) => {
                    notes.extend(fanout_problems(
                        &format!("{name} fan-out"),
                        f,
                        t.target,
                        self.args.drain,
                    ));
                    if f.bench_cpu >= 0.9 && f.server_cpu < 0.9 {
                        notes.push(format!(
                            "{name} fan-out: the bench (load generator) used {:.2} cores and the server {:.2}: the \
                             bench may be the limit, so the figure is a lower bound for the server",
                            f.bench_cpu, f.server_cpu
                        ));
                    } else if f.bench_cpu >= 0.9 {
                        notes.push(format!(
                            "{name} fan-out: server and bench were both near one full core ({:.2} / {:.2}); the \
                             server's core was saturated, so the figure is about its capacity",
                            f.server_cpu, f.bench_cpu
                        ));
                    } else if f.server_cpu < 0.8 {
                        notes.push(format!(
                            "{name} fan-out: the server used only {:.2} cores and the bench {:.2}: the run was \
                             limited by the window (round trips) or by other work on the machine, not by the server",
                            f.server_cpu, f.bench_cpu
                        ));
                    }
                }
                None => {}
            }
            match &t.open_loop {
                Some(Err(e)) => notes.push(format!("{name} open loop failed: {e}")),
                Some(Ok(o)) => notes.extend(self.open_loop_notes(name, o)),
                None => {}
            }
            for (scenario, result) in [("idle", &t.idle), ("capacity", &t.capacity)] {
                match result {
                    Some(Err(e)) => notes.push(format!("{name} {scenario} failed: {e}")),
                    Some(Ok(i)) => {
                        if i.failed > 0 {
                            notes.push(format!(
                                "{name} {scenario}: {} of {} connections failed to open, e.g. {}",
                                i.failed,
                                i.requested,
                                i.errors.join("; ")
                            ));
                        }
                        if i.dropped > 0 {
                            notes.push(format!(
                                "{name} {scenario}: the server closed {} idle connections ({} with 3008)",
                                i.dropped, i.slow_closes
                            ));
                        }
                    }
                    None => {}
                }
            }
            for p in t.sweep.iter().flat_map(|s| &s.points) {
                let what = format!(
                    "{name} sweep at {} subscribers, {} B",
                    group(p.point.subscribers as u64),
                    p.point.payload_bytes
                );
                match &p.outcome {
                    Err(e) => notes.push(format!("{what}: failed: {e}")),
                    Ok(f) => notes.extend(fanout_problems(&what, f, t.target, self.args.drain)),
                }
            }
        }
        let light = |t: Target| {
            self.get(t)
                .and_then(|t| t.fanout.as_ref())
                .and_then(|f| f.as_ref().ok())
                .filter(|f| f.light_published > 0 && !f.light_latency.is_empty())
                .map(|f| (f.light_latency_ms(0.5), f.light_latency_ms(0.99)))
        };
        for peer in [Target::Gorilla, Target::Node] {
            if let (Some(hub), Some(other)) = (light(Target::Hub), light(peer)) {
                if hub.0 >= other.0 || hub.1 >= other.1 {
                    notes.push(format!(
                        "with one message in flight, telltale-hub was not faster than {} to reach all subscribers \
                         (p50 {:.2} vs {:.2} ms, p99 {:.2} vs {:.2} ms)",
                        peer.label(),
                        hub.0,
                        other.0,
                        hub.1,
                        other.1
                    ));
                }
            }
        }
        self.notes.extend(notes);
    }

    fn open_loop_notes(&self, name: &str, o: &OpenLoopResult) -> Vec<String> {
        let mut notes = Vec::new();
        if o.ready < o.subscribers {
            notes.push(format!(
                "{name} open loop: {} of {} subscribers could not connect/subscribe, e.g. {}",
                o.subscribers - o.ready,
                o.subscribers,
                o.setup_errors.join("; ")
            ));
        }
        let what = format!("{name} open loop");
        notes.extend(o.ends.subscriber_notes(&what, Loop::Open));
        notes.extend(o.ends.publisher_note(&what));
        match o.first_failure() {
            Some(s) => {
                let late = if s.late > 0 {
                    format!(
                        ", {} more arrived after the step's {} grace",
                        group(s.late),
                        humantime::format_duration(self.args.open_loop_grace)
                    )
                } else {
                    String::new()
                };
                let limit = match (s.server_cpu >= 0.9, s.bench_cpu >= 0.9) {
                    (false, true) => {
                        " The bench (load generator) was near a full core and the server was not: the bench \
                         may be the limit there, so the sustained figure is a lower bound for the server."
                    }
                    (true, true) => {
                        " The server's core was saturated, and the bench's nearly so: the figure is about the \
                         server's capacity, with the bench close to its own."
                    }
                    (true, false) => " The server's core was saturated.",
                    (false, false) => "",
                };
                notes.push(format!(
                    "{name} open loop: {} deliveries/s ({:.1} publications/s) was not sustained: {} of {} \
                     deliveries within the step ({:.2} %){late}, p99 {}, publisher sent {} of {} due; \
                     server CPU {:.2}, bench CPU {:.2}.{limit}",
                    group(s.rate),
                    s.publish_rate,
                    group(s.in_time),
                    group(s.expected),
                    s.delivered_percent(),
                    s.latency_ms(0.99)
                        .map(|ms| format!("{ms:.1} ms"))
                        .unwrap_or_else(|| "n/a (too few arrived)".into()),
                    group(s.published),
                    group((s.publish_rate * self.args.open_loop_step.as_secs_f64()).round() as u64),
                    s.server_cpu,
                    s.bench_cpu,
                ));
            }
            None => {
                if let Some(top) = o.steps.last() {
                    notes.push(format!(
                        "{name} open loop: every rate up to {} deliveries/s was sustained (the last of \
                         --open-loop-rates): its figure is a lower bound",
                        group(top.rate)
                    ));
                }
            }
        }
        notes
    }

    /// The results table: telltale-hub beside both peers; empty when none
    /// of its scenarios ran (e.g. `--scenarios sweep`).
    pub fn table(&self) -> String {
        let ours = [Target::Hub, Target::Gorilla, Target::Node].map(|t| self.get(t));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| | telltale-hub | {} | {} | hub ÷ gorilla | hub ÷ Node | target (telltale-hub) |",
            Target::Gorilla.label(),
            Target::Node.label()
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|");
        let fans = ours.map(fan);
        if fans.iter().any(Option::is_some) {
            self.closed_loop_rows(&mut out, &fans);
        }
        let open = ours.map(open_loop);
        if open.iter().any(Option::is_some) {
            self.open_loop_rows(&mut out, &open);
        }
        let idles = ours.map(idle);
        if idles.iter().any(Option::is_some) {
            self.idle_rows(&mut out, &idles);
        }
        let capacities = ours.map(capacity);
        if capacities.iter().any(Option::is_some) {
            self.capacity_rows(&mut out, &capacities);
        }
        // The header and its rule only.
        if out.lines().count() <= 2 {
            return String::new();
        }
        out
    }

    fn closed_loop_rows(&self, out: &mut String, f: &[Option<Result<&FanoutResult, &String>>; 3]) {
        let a = &self.args;
        let rates = ratios(f, |f| Some(f.rate()));
        let verdict = format!(
            "≥ {CLOSED_VS_GORILLA}× gorilla: {}; ≥ {TARGET_RATIO}× Node ws: {}",
            judge(rates[0].map(|r| r >= CLOSED_VS_GORILLA)),
            judge(rates[1].map(|r| r >= TARGET_RATIO)),
        );
        row(
            out,
            &format!(
                "Closed loop: delivered msg/s ({} subscribers, {} B, {} in flight)",
                group(a.subscribers as u64),
                a.payload_bytes,
                a.window
            ),
            f.map(|f| cell(f, |f| group(f.rate() as u64))),
            rates.map(times),
            verdict,
        );
        row(
            out,
            "Closed loop: latency p50 / p99 / p99.9 (ms)",
            f.map(|f| cell(f, latencies)),
            ratios(f, |f| (!f.latency.is_empty()).then(|| f.latency_ms(0.5)))
                .map(|r| p50(times(r))),
            String::new(),
        );
        let light = |f: &FanoutResult, q: f64| {
            (f.light_published > 0 && !f.light_latency.is_empty()).then(|| f.light_latency_ms(q))
        };
        let below_both = |q: f64| {
            let hub = ok(f[0]).and_then(|h| light(h, q))?;
            let peers = [ok(f[1]), ok(f[2])].map(|p| p.and_then(|p| light(p, q)));
            peers
                .iter()
                .all(Option::is_some)
                .then(|| peers.iter().flatten().all(|&p| hub < p))
        };
        let verdict = match (below_both(0.5), below_both(0.99)) {
            (Some(a), Some(b)) => judge(Some(a && b)),
            _ => judge(None),
        };
        row(
            out,
            "One message in flight: latency p50 / p99 / p99.9 (ms)",
            f.map(|f| cell(f, light_latencies)),
            ratios(f, |f| light(f, 0.5)).map(|r| p50(times(r))),
            format!("p50 and p99 below both peers: {verdict}"),
        );
        let cpu = ratios(f, FanoutResult::light_cpu_us_per_delivery);
        row(
            out,
            "One message in flight: server CPU per delivery (µs)",
            f.map(|f| {
                cell(f, |f| {
                    f.light_cpu_us_per_delivery()
                        .map(|us| format!("{us:.2}"))
                        .unwrap_or_else(|| "not measured".into())
                })
            }),
            cpu.map(times),
            format!(
                "below the gorilla Hub's: {}",
                judge(cpu[0].map(|r| r < 1.0))
            ),
        );
        row(
            out,
            "Closed loop: published msg/s",
            f.map(|f| cell(f, |f| group(f.publish_rate() as u64))),
            [String::new(), String::new()],
            String::new(),
        );
        row(
            out,
            "Closed loop: deliveries lost / expected",
            f.map(|f| {
                cell(f, |f| {
                    format!("{} / {}", group(f.lost()), group(f.expected))
                })
            }),
            [String::new(), String::new()],
            "0 lost".into(),
        );
        row(
            out,
            "Closed loop: subscribers ready / closed 3008 / other ends",
            f.map(|f| {
                cell(f, |f| {
                    format!(
                        "{} / {} / {}",
                        group(f.ready as u64),
                        f.ends.slow_closes,
                        f.ends.other_ends
                    )
                })
            }),
            [String::new(), String::new()],
            "no 3008".into(),
        );
        row(
            out,
            "Closed loop: CPU used, server / bench (cores)",
            f.map(|f| cell(f, |f| format!("{:.2} / {:.2}", f.server_cpu, f.bench_cpu))),
            [String::new(), String::new()],
            String::new(),
        );
    }

    fn open_loop_rows(&self, out: &mut String, o: &[Option<Result<&OpenLoopResult, &String>>; 3]) {
        let a = &self.args;
        let max = |o: &OpenLoopResult| o.max_sustained().map(|s| s.rate as f64);
        let rates = ratios(o, max);
        let verdict = format!(
            "≥ {OPEN_VS_GORILLA}× gorilla: {}; ≥ {OPEN_VS_NODE}× Node ws: {}",
            judge(rates[0].map(|r| r >= OPEN_VS_GORILLA)),
            judge(rates[1].map(|r| r >= OPEN_VS_NODE)),
        );
        row(
            out,
            &format!(
                "Open loop: max sustained deliveries/s ({} subscribers, {} B; ≥ {} % within the step, p99 ≤ {} ms)",
                group(a.subscribers as u64),
                a.payload_bytes,
                a.open_loop_min_delivered,
                a.open_loop_max_p99.as_millis()
            ),
            o.map(|o| {
                cell(o, |o| match o.max_sustained() {
                    Some(s) => group(s.rate),
                    None => "none".into(),
                })
            }),
            rates.map(times),
            verdict,
        );
        row(
            out,
            "Open loop: latency p50 / p99 at that rate (ms)",
            o.map(|o| {
                cell(o, |o| {
                    o.max_sustained().map(step_latencies).unwrap_or_default()
                })
            }),
            [String::new(), String::new()],
            String::new(),
        );
        fn at(o: &OpenLoopResult) -> Option<&StepResult> {
            o.at_rate(P99_RATE)
        }
        let hub_p99 = ok(o[0]).and_then(at).and_then(|s| s.latency_ms(0.99));
        row(
            out,
            &format!(
                "Open loop: latency p50 / p99 at {} deliveries/s (ms)",
                group(P99_RATE)
            ),
            o.map(|o| {
                cell(o, |o| match at(o) {
                    Some(s) => step_latencies(s),
                    None => "not reached".into(),
                })
            }),
            ratios(o, |o| at(o).and_then(|s| s.latency_ms(0.99)))
                .map(|r| r.map(|r| format!("{r:.2}× (p99)")).unwrap_or_default()),
            format!(
                "p99 ≤ {P99_AT_RATE_MS} ms: {}",
                judge(hub_p99.map(|p| p <= P99_AT_RATE_MS))
            ),
        );
        row(
            out,
            "Open loop: first rate not sustained: delivered within the step, p99",
            o.map(|o| {
                cell(o, |o| match o.first_failure() {
                    Some(s) => format!(
                        "{}: {:.1} %, {}",
                        group(s.rate),
                        s.delivered_percent(),
                        s.latency_ms(0.99)
                            .map(|ms| format!("{ms:.1} ms"))
                            .unwrap_or_else(|| "n/a".into())
                    ),
                    None => "every rate was sustained".into(),
                })
            }),
            [String::new(), String::new()],
            String::new(),
        );
    }

    fn idle_rows(&self, out: &mut String, i: &[Option<Result<&IdleResult, &String>>; 3]) {
        let per = |i: &IdleResult| (i.connected > 0).then(|| i.bytes_per_connection());
        let bytes = ratios(i, per);
        let hub = ok(i[0]).and_then(per);
        let below_node = match (hub, ok(i[2]).and_then(per)) {
            (Some(h), Some(n)) => Some(h <= n),
            _ => None,
        };
        row(
            out,
            &format!(
                "Idle: server RSS per connection ({} connections)",
                group(self.args.idle_connections as u64)
            ),
            i.map(|i| {
                cell(i, |i| {
                    format!("{:.1} KiB", i.bytes_per_connection() / 1024.0)
                })
            }),
            bytes.map(|r| r.map(|r| format!("{r:.2}×")).unwrap_or_default()),
            format!(
                "≤ Node ws's: {}; ≤ 16 KiB: {}",
                judge(below_node),
                judge(hub.map(|h| h <= TARGET_IDLE_BYTES))
            ),
        );
        row(
            out,
            "Idle: server RSS before → after (MiB)",
            i.map(|i| cell(i, rss_span)),
            [String::new(), String::new()],
            String::new(),
        );
        row(
            out,
            "Idle: connections open / failed / dropped",
            i.map(|i| {
                cell(i, |i| {
                    format!(
                        "{} / {} / {}",
                        group(i.connected as u64),
                        i.failed,
                        i.dropped
                    )
                })
            }),
            [String::new(), String::new()],
            String::new(),
        );
        row(
            out,
            "Idle: server file descriptors before → after",
            i.map(|i| {
                cell(i, |i| {
                    format!("{} → {}", group(i.fds.0 as u64), group(i.fds.1 as u64))
                })
            }),
            [String::new(), String::new()],
            String::new(),
        );
        row(
            out,
            "Idle: time to open them all (s)",
            i.map(|i| cell(i, |i| format!("{:.1}", i.open_time.as_secs_f64()))),
            [String::new(), String::new()],
            String::new(),
        );
    }

    fn capacity_rows(&self, out: &mut String, c: &[Option<Result<&IdleResult, &String>>; 3]) {
        // Held at once: opened, less those the server closed before the end.
        let held = |i: &IdleResult| i.connected.saturating_sub(i.dropped);
        row(
            out,
            &format!(
                "Capacity: connections open / failed / dropped ({} asked, from {} source addresses)",
                group(self.args.capacity_connections as u64),
                self.args.source_addresses
            ),
            c.map(|i| {
                cell(i, |i| {
                    format!(
                        "{} / {} / {} (from {} addresses)",
                        group(i.connected as u64),
                        i.failed,
                        i.dropped,
                        i.source_addresses
                    )
                })
            }),
            [String::new(), String::new()],
            format!(
                "≥ {} connections: {}",
                group(TARGET_CONNECTIONS as u64),
                judge(ok(c[0]).map(|i| held(i) >= TARGET_CONNECTIONS))
            ),
        );
        row(
            out,
            "Capacity: server RSS per connection; before → after (MiB)",
            c.map(|i| {
                cell(i, |i| {
                    format!(
                        "{:.1} KiB; {}",
                        i.bytes_per_connection() / 1024.0,
                        rss_span(i)
                    )
                })
            }),
            [String::new(), String::new()],
            String::new(),
        );
    }

    /// Every open-loop step of every target: rate asked, delivered within
    /// the step, latency, server CPU.
    pub fn open_loop_steps_table(&self) -> Option<String> {
        let runs: Vec<(Target, &OpenLoopResult)> = self
            .targets
            .iter()
            .filter_map(|t| Some((t.target, t.open_loop.as_ref()?.as_ref().ok()?)))
            .collect();
        if runs.is_empty() {
            return None;
        }
        let mut out = String::new();
        let _ = write!(out, "| deliveries/s asked |");
        for (target, _) in &runs {
            let _ = write!(out, " {} |", target.label());
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "|---:|{}", "---|".repeat(runs.len()));
        let rates: Vec<u64> = {
            let mut all: Vec<u64> = runs
                .iter()
                .flat_map(|(_, o)| o.steps.iter().map(|s| s.rate))
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        for rate in rates {
            let _ = write!(out, "| {} |", group(rate));
            for (_, o) in &runs {
                let text = match o.steps.iter().position(|s| s.rate == rate) {
                    Some(i) => {
                        let s = &o.steps[i];
                        format!(
                            "{}{:.1} % · {} ms · CPU {:.2} / {:.2}",
                            if o.sustained[i] {
                                ""
                            } else {
                                "**not sustained**: "
                            },
                            s.delivered_percent(),
                            step_latencies(s),
                            s.server_cpu,
                            s.bench_cpu
                        )
                    }
                    None => String::new(),
                };
                let _ = write!(out, " {text} |");
            }
            let _ = writeln!(out);
        }
        Some(out)
    }

    /// The sweep's results of telltale-hub and both peers, in that order
    /// (those that ran it).
    fn sweeps(&self) -> Vec<(Target, &SweepResult)> {
        [Target::Hub, Target::Gorilla, Target::Node]
            .into_iter()
            .filter_map(|t| Some((t, self.get(t)?.sweep.as_ref()?)))
            .collect()
    }

    /// The sweep as two markdown tables, by subscribers and by payload
    /// size (none when it did not run). Each cell: delivered msg/s · CPU
    /// of the server / the bench.
    pub fn sweep_tables(&self) -> Vec<String> {
        if self.sweeps().is_empty() {
            return Vec::new();
        }
        let a = &self.args;
        let by_subscribers: Vec<(String, Point)> = sweep::subscriber_series(a)
            .into_iter()
            .map(|(n, p)| (group(n as u64), p))
            .collect();
        let by_payload: Vec<(String, Point)> = sweep::payload_series(a)
            .into_iter()
            .map(|(b, p)| (plot::bytes(b), p))
            .collect();
        vec![
            self.sweep_table(
                &format!("subscribers ({} B payloads)", group(a.sweep_payload_bytes)),
                &by_subscribers,
            ),
            self.sweep_table(
                &format!(
                    "payload ({} subscribers)",
                    group(a.sweep_payload_subscribers as u64)
                ),
                &by_payload,
            ),
        ]
    }

    fn sweep_table(&self, first: &str, rows: &[(String, Point)]) -> String {
        let sweeps = self.sweeps();
        let mut out = String::new();
        let _ = write!(out, "| {first} |");
        for (target, _) in &sweeps {
            let _ = write!(out, " {} |", target.label());
        }
        let peers: Vec<Target> = sweeps
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t != Target::Hub)
            .collect();
        let has_hub = sweeps.iter().any(|(t, _)| *t == Target::Hub);
        let ratio_columns: Vec<Target> = if has_hub { peers } else { Vec::new() };
        for peer in &ratio_columns {
            let name = if *peer == Target::Gorilla {
                "gorilla"
            } else {
                "Node"
            };
            let _ = write!(out, " hub ÷ {name} |");
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "|---:|{}",
            "---:|".repeat(sweeps.len() + ratio_columns.len())
        );
        for (label, point) in rows {
            let _ = write!(out, "| {label} |");
            for (_, result) in &sweeps {
                let text = match result.at(*point) {
                    Some(Ok(f)) => format!(
                        "{} · {:.2} / {:.2}",
                        group(f.rate() as u64),
                        f.server_cpu,
                        f.bench_cpu
                    ),
                    Some(Err(_)) => "failed (see notes)".into(),
                    None => "not run".into(),
                };
                let _ = write!(out, " {text} |");
            }
            let rate = |t: Target| {
                sweeps
                    .iter()
                    .find(|(s, _)| *s == t)
                    .and_then(|(_, r)| r.at(*point)?.as_ref().ok())
                    .map(FanoutResult::rate)
            };
            for peer in &ratio_columns {
                let ratio = match (rate(Target::Hub), rate(*peer)) {
                    (Some(h), Some(p)) if p > 0.0 => Some(h / p),
                    _ => None,
                };
                let _ = write!(out, " {} |", times(ratio));
            }
            let _ = writeln!(out);
        }
        out
    }

    /// The sweep's plots, with the file names they are written under
    /// (none when it did not run).
    pub fn sweep_charts(&self) -> Vec<(&'static str, Chart)> {
        let sweeps = self.sweeps();
        if sweeps.is_empty() {
            return Vec::new();
        }
        let a = &self.args;
        let series = |points: &[(f64, Point)]| -> Vec<Series> {
            sweeps
                .iter()
                .map(|(target, result)| Series {
                    label: target.label().to_owned(),
                    color: color(*target),
                    points: points
                        .iter()
                        .filter_map(|&(x, point)| {
                            let f = result.at(point)?.as_ref().ok()?;
                            Some((x, f.rate()))
                        })
                        .collect(),
                })
                .collect()
        };
        let by_subscribers: Vec<(f64, Point)> = sweep::subscriber_series(a)
            .into_iter()
            .map(|(n, p)| (n as f64, p))
            .collect();
        let by_payload: Vec<(f64, Point)> = sweep::payload_series(a)
            .into_iter()
            .map(|(b, p)| (b as f64, p))
            .collect();
        let y_label = "delivered msg/s (all subscribers)".to_owned();
        vec![
            (
                SUBSCRIBERS_PNG,
                Chart {
                    title: format!(
                        "Closed-loop fan-out, {} B payloads, {} in flight",
                        group(a.sweep_payload_bytes),
                        a.window
                    ),
                    x_label: "subscribers (log scale)".into(),
                    y_label: y_label.clone(),
                    x_ticks: sweep::subscriber_series(a)
                        .into_iter()
                        .map(|(n, _)| (n as f64, group(n as u64)))
                        .collect(),
                    series: series(&by_subscribers),
                },
            ),
            (
                PAYLOAD_PNG,
                Chart {
                    title: format!(
                        "Closed-loop fan-out, {} subscribers, {} in flight",
                        group(a.sweep_payload_subscribers as u64),
                        a.window
                    ),
                    x_label: "payload size (log scale)".into(),
                    y_label,
                    x_ticks: sweep::payload_series(a)
                        .into_iter()
                        .map(|(b, _)| (b as f64, plot::bytes(b)))
                        .collect(),
                    series: series(&by_payload),
                },
            ),
        ]
    }

    /// The memory hub (one node) and the Redis cluster (two nodes) side by
    /// side, when the Redis target ran.
    pub fn redis_table(&self) -> Option<String> {
        let redis = fan(Some(self.get(Target::HubRedis)?));
        let memory = fan(self.get(Target::Hub));
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| | telltale-hub, memory broker, 1 node | {} | Redis ÷ memory |",
            Target::HubRedis.label()
        );
        let _ = writeln!(out, "|---|---:|---:|---:|");
        let (on_memory, on_redis, pinning) = match self.pinned {
            Some((server, bench)) => (
                format!("CPU {server}: the hub"),
                format!("CPU {server}, shared by node A, node B and redis-server"),
                format!("Server side pinned to (the bench: CPU {bench})"),
            ),
            None => (
                "not pinned".to_owned(),
                "not pinned".to_owned(),
                "Pinning".to_owned(),
            ),
        };
        row4(&mut out, &pinning, on_memory, on_redis, String::new());
        let ratio = |f: &dyn Fn(&FanoutResult) -> f64| match (memory, redis) {
            (Some(Ok(m)), Some(Ok(r))) if f(m) > 0.0 => format!("{:.2}×", f(r) / f(m)),
            _ => String::new(),
        };
        row4(
            &mut out,
            &format!(
                "Fan-out: delivered msg/s ({} subscribers, {} B)",
                group(self.args.subscribers as u64),
                self.args.payload_bytes
            ),
            cell(memory, |f| group(f.rate() as u64)),
            cell(redis, |f| group(f.rate() as u64)),
            ratio(&|f| f.rate()),
        );
        row4(
            &mut out,
            "Fan-out: latency p50 / p99 / p99.9 (ms)",
            cell(memory, latencies),
            cell(redis, latencies),
            p50(ratio(&|f| f.latency_ms(0.5))),
        );
        row4(
            &mut out,
            "Fan-out: latency with one message in flight, p50 / p99 / p99.9 (ms)",
            cell(memory, light_latencies),
            cell(redis, light_latencies),
            p50(ratio(&|f| {
                if f.light_published == 0 || f.light_latency.is_empty() {
                    0.0
                } else {
                    f.light_latency_ms(0.5)
                }
            })),
        );
        row4(
            &mut out,
            "Fan-out: published msg/s",
            cell(memory, |f| group(f.publish_rate() as u64)),
            cell(redis, |f| group(f.publish_rate() as u64)),
            ratio(&|f| f.publish_rate()),
        );
        row4(
            &mut out,
            "Fan-out: deliveries lost / expected",
            cell(memory, |f| {
                format!("{} / {}", group(f.lost()), group(f.expected))
            }),
            cell(redis, |f| {
                format!("{} / {}", group(f.lost()), group(f.expected))
            }),
            String::new(),
        );
        row4(
            &mut out,
            "Fan-out: subscribers ready / closed 3008 / other ends",
            cell(memory, subscriber_counts),
            cell(redis, subscriber_counts),
            String::new(),
        );
        row4(
            &mut out,
            "Fan-out: CPU used, all server processes / bench (cores)",
            cell(memory, |f| {
                format!("{:.2} / {:.2}", f.server_cpu, f.bench_cpu)
            }),
            cell(redis, |f| {
                format!("{:.2} / {:.2}", f.server_cpu, f.bench_cpu)
            }),
            ratio(&|f| f.server_cpu),
        );
        row4(
            &mut out,
            "Fan-out: CPU per process (% of one core)",
            cell(memory, cpu_per_process),
            cell(redis, cpu_per_process),
            String::new(),
        );
        row4(
            &mut out,
            "Fan-out: delivered msg/s per core used by the servers",
            cell(memory, |f| group(per_core(f) as u64)),
            cell(redis, |f| group(per_core(f) as u64)),
            ratio(&per_core),
        );
        Some(out)
    }

    /// What the Redis comparison shows, in words, with this run's figures.
    fn redis_explanation(&self) -> String {
        let cpu = match self.pinned {
            Some((server, _)) => format!(
                "All three processes of the Redis variant are pinned to CPU {server}, the one core the memory hub \
                 gets alone, so both columns have the same CPU budget: whatever Redis costs shows as fewer msg/s, \
                 not as a second core."
            ),
            None => "The processes were not pinned, so the two columns did not have the same CPU budget.".into(),
        };
        let mut text = format!(
            "Both columns come from the same run. *Memory, 1 node*: the hub of the table above, every subscriber \
             on it. *Redis, 2 nodes*: the bench starts its own redis-server (loopback, no persistence) and two hub \
             nodes with `--redis` on it (same key prefix); the subscribers are split evenly over the two nodes (every \
             other one on node B), and the publisher publishes through node A. Each publication is one Lua script on \
             Redis (history stream append + `PUBLISH`), answered to the publisher when Redis has it; Redis sends it \
             once to each node (pub/sub on the channel), and each node writes it to its own subscribers. {cpu}"
        );
        let memory = fan(self.get(Target::Hub)).and_then(Result::ok);
        let redis = fan(self.get(Target::HubRedis)).and_then(Result::ok);
        if let (Some(m), Some(r)) = (memory, redis) {
            let cores = |name: &str| {
                r.process_cpu
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, cores)| *cores)
            };
            let percent = |name: &str| {
                cores(name)
                    .map(|c| format!("{:.0} %", c * 100.0))
                    .unwrap_or_else(|| "?".into())
            };
            if m.rate() > 0.0 {
                let _ = write!(
                    text,
                    "\n\nIn this run the two nodes on Redis delivered {:.0} % of the memory hub's msg/s; of the core, \
                     redis-server used {}, node A (the publisher and half the subscribers) {} and node B {}.",
                    r.rate() / m.rate() * 100.0,
                    percent("redis-server"),
                    percent("node A"),
                    percent("node B"),
                );
                let redis_cores = cores("redis-server").unwrap_or(0.0);
                if r.rate() < 0.75 * m.rate() && redis_cores < 0.25 && r.server_cpu >= 0.8 {
                    let _ = write!(
                        text,
                        " Redis itself was not the limit; the nodes' writes were. A node runs a client's publish \
                         commands one after the other, each waiting for its Redis round trip, so with one publisher \
                         a single publication is on its way at a time and each node writes it to its subscribers \
                         nearly alone. The memory hub takes the publisher's queued publishes back to back and \
                         writes many publications to a subscriber in one write: compare the msg/s per core used."
                    );
                }
            }
        }
        text
    }

    /// The notes as a markdown list ("none" when empty).
    pub fn notes_markdown(&self) -> String {
        if self.notes.is_empty() {
            return "- none: nothing was lost, no connection failed or was closed by a server.\n"
                .into();
        }
        self.notes
            .iter()
            .map(|n| format!("- {}\n", n.replace('\n', " ")))
            .collect()
    }

    /// docs/benchmarks.md.
    pub fn document(&self, machine: &Machine, date: &str, command: &str) -> String {
        let a = &self.args;
        let mut out = String::new();
        let _ = writeln!(out, "# Benchmarks\n");
        let _ = writeln!(
            out,
            "telltale-hub against two peers, the classic Go gorilla/websocket chat Hub and a plain Node `ws` \
             broadcast server, and one hub node against two nodes on Redis, measured in the same run by \
             `telltale-bench` (crates/bench) on {date}. Generated file: rerun the command below to refresh it \
             (sections written by other tools, such as \"Desktop UI\", are kept).\n"
        );
        let _ = writeln!(out, "## Results\n");
        let table = self.table();
        if table.is_empty() {
            let _ = writeln!(
                out,
                "None of the closed-loop, open-loop or idle scenarios ran (`--scenarios`)."
            );
        }
        out.push_str(&table);
        let _ = writeln!(
            out,
            "\nTargets for telltale-hub, with the hub's default settings (issue 14, beside issue 2's ≥ \
             {TARGET_RATIO}× Node `ws` closed loop and ≤ 16 KiB per idle connection): open loop ≥ \
             {OPEN_VS_GORILLA}× the gorilla Hub's and ≥ {OPEN_VS_NODE}× Node `ws`'s max sustained deliveries/s; \
             closed loop ≥ {CLOSED_VS_GORILLA}× the gorilla Hub's; with one message in flight, p50 and p99 below \
             both peers' and less server CPU per delivery than the gorilla Hub; publish→receive p99 ≤ \
             {P99_AT_RATE_MS} ms at {} deliveries/s; idle memory per connection at 10,000 connections ≤ Node \
             `ws`'s; ≥ {} connections held at once by one hub. A target marked **not met** is missed in this \
             run; it is not lowered.\n",
            group(P99_RATE),
            group(TARGET_CONNECTIONS as u64)
        );
        if let Some(steps) = self.open_loop_steps_table() {
            let _ = writeln!(out, "## {OPEN_LOOP_SECTION}\n");
            let _ = writeln!(
                out,
                "Each cell: deliveries within the step (% of expected) · publish→receive latency p50 / p99 (ms; \
                 deliveries that did not arrive in time count as slower than all others) · CPU used by the \
                 server / the bench while publishing (cores). The ramp stops at the first rate not sustained.\n"
            );
            out.push_str(&steps);
            out.push('\n');
        }
        if let Some(redis) = self.redis_table() {
            let _ = writeln!(out, "## {REDIS_SECTION}\n");
            out.push_str(&redis);
            let _ = writeln!(out, "\n{}\n", self.redis_explanation());
        }
        let sweep_tables = self.sweep_tables();
        if let [by_subscribers, by_payload] = &sweep_tables[..] {
            let _ = writeln!(out, "## {SWEEP_SECTION}\n");
            let _ = writeln!(
                out,
                "The closed loop of the Results table (one publisher, {window} messages in flight, the same \
                 pinning) at each point below, on a freshly started server per point: {warmup} of warm-up, then \
                 {dur} measured, without the one-message-in-flight phase. Each cell: delivered msg/s (every \
                 message received by every subscriber) · CPU used by the server / the bench (cores); a bench \
                 near 1.00 while the server is not means the bench was the limit and the figure is a lower \
                 bound for that server.\n",
                window = a.window,
                warmup = humantime::format_duration(a.sweep_warmup),
                dur = humantime::format_duration(a.sweep_duration),
            );
            let _ = writeln!(
                out,
                "![Delivered msg/s vs subscribers, one line per server]({SUBSCRIBERS_PNG})\n"
            );
            out.push_str(by_subscribers);
            let _ = writeln!(
                out,
                "\n![Delivered msg/s vs payload size, one line per server]({PAYLOAD_PNG})\n"
            );
            out.push_str(by_payload);
            out.push('\n');
        }
        let _ = writeln!(out, "## What is measured\n");
        let _ = writeln!(
            out,
            "- **Closed loop (fan-out)**: {subs} subscribers on one channel (`bench`), one publisher sending {bytes}-byte JSON \
             payloads that carry the send time and a sequence number. The publisher keeps at most {window} messages \
             in flight (published but not yet delivered to every subscriber, on average) and sends as fast as the \
             server drains them, so the figure is throughput, not queue growth. {warmup} of warm-up, then {dur} \
             measured. *Delivered msg/s* counts every message received by every subscriber during the measured \
             interval. *Latency* is from just before the publisher's send to the subscriber's read, over every \
             delivery of the interval (HdrHistogram, µs precision); with a closed window it is about \
             window ÷ publish rate, so compare it between servers rather than as an absolute. Then, for {light}, \
             the publisher sends one message at a time (the next once every subscriber has the last): *latency with \
             one message in flight* is the fan-out time without queueing (its p99 is about the time the last of \
             the {subs} subscribers gets a message). *Server CPU per delivery* is the server's CPU time during that \
             phase ÷ its deliveries: nothing can be joined into one write there.\n\
             - **Open loop**: the same {subs} subscribers and {bytes}-byte payloads, but the publisher publishes at \
             a fixed rate whatever the deliveries (the *n*th publication of a step is due at start + *n* ÷ rate and \
             carries that due time as its send time, so a publisher held back by the server shows as latency, not \
             as a lower rate). The rate is ramped through {rates} deliveries/s (publications/s × subscribers), \
             {step} per rate; a step's deliveries may arrive until {grace} after its last publication, then the \
             step is closed and the queues drain before the next. A rate is *sustained* when at least \
             {min_delivered} % of its deliveries arrived within the step and their p99 (missing ones counting as \
             slowest) is at most {max_p99}; the ramp stops at the first rate that is not. *Max sustained* is the \
             last rate sustained, so it is only as fine as the ramp's steps.\n\
             - telltale-hub: subscribers send `connect` + `subscribe` (Centrifugo JSON), the publisher uses the \
             `publish` command (a `--config` file opens the `bench` namespace to anonymous subscribers and \
             publishers and lifts the per-connection command rate for the one publisher); in the closed loop the hub \
             runs with `--client-queue-bytes {queue}` so bench subscribers are not cut as slow, in the open loop \
             and the idle scenario with its default settings; a 3008 close is counted as a failure. Several publications may share one frame (newline \
             separated), each is counted. The window matters for telltale-hub, which joins everything queued \
             for a client into one write: a larger window means larger writes and more msg/s (`--window` changes it); \
             Node `ws` writes every message to every socket on its own, the gorilla Hub joins what is queued \
             when its write pump gets to run.\n\
             - telltale-hub on Redis, 2 nodes: the closed-loop fan-out only (not the open loop, the idle scenario or the \
             sweep); a private redis-server and two nodes started for it, as described under the Redis table.\n\
             - Go gorilla Hub (bench/gorilla-hub/main.go, gorilla/websocket and Go from Debian, \
             built in GOPATH mode): the classic chat example's structure: one hub goroutine with register, \
             unregister and broadcast channels; per client a 256-message send queue (a client whose queue is full \
             is dropped), a read pump, and a write pump with write deadlines and pings that writes a message and \
             every message queued behind it in one WebSocket message, newline separated, as the chat example \
             does (each line counts as one delivery, and the subscribers read messages of any size: \
             tungstenite's 64 MiB limit). Every connection is a subscriber; every message read is broadcast to \
             all (the publisher too, which discards it).\n\
             - Node `ws` (bench/node-ws-broadcast/server.js, `ws` 8): every connection is a subscriber; each incoming \
             message is sent to every connected client (the publisher too, which discards it).\n\
             - **Sweep**: the closed loop again, on telltale-hub and both peers, at {sweep_subs} subscribers \
             ({sweep_bytes}-byte payloads) and at {sweep_payloads} payloads ({sweep_payload_subs} subscribers), a \
             fresh server per point, {sweep_dur} measured per point; `--write` also draws both series as PNG \
             files beside this file ({SUBSCRIBERS_PNG}, {PAYLOAD_PNG}).\n\
             - **Idle**: {idle} connections opened (hub: connected and subscribed; the peers: connected) and left idle, \
             answering pings. *RSS per connection* = (server VmRSS with all of them open after {settle} − VmRSS \
             before the first) ÷ connections, read from /proc/PID/status.\n\
             - **Capacity** (telltale-hub only): {capacity} connections opened as in the idle scenario and held \
             at once, the client sockets bound in turn to {sources} loopback source addresses (127.0.0.2, \
             127.0.0.3, ...; the port picked at connect time, `IP_BIND_ADDRESS_NO_PORT`), so that no one source \
             address runs out of ephemeral ports; the hub with its default settings (its connection budgets \
             included). *Dropped* are connections the hub closed before the end.\n\
             - Each server is started fresh for each scenario as a child process of the bench, asked for an \
             open-file limit of {nofile} (what it got is listed below; the bench's own: {bench_nofile}), and stopped \
             with SIGTERM afterwards. Everything runs on 127.0.0.1.",
            subs = group(a.subscribers as u64),
            bytes = a.payload_bytes,
            window = a.window,
            warmup = humantime::format_duration(a.warmup),
            dur = humantime::format_duration(a.duration),
            queue = a.client_queue_bytes,
            idle = group(a.idle_connections as u64),
            capacity = group(a.capacity_connections as u64),
            sources = a.source_addresses,
            settle = humantime::format_duration(a.settle),
            light = humantime::format_duration(a.light_duration),
            nofile = a.nofile,
            bench_nofile = self.nofile,
            rates = a
                .open_loop_rates
                .iter()
                .map(|&r| group(r))
                .collect::<Vec<_>>()
                .join(", "),
            step = humantime::format_duration(a.open_loop_step),
            grace = humantime::format_duration(a.open_loop_grace),
            min_delivered = a.open_loop_min_delivered,
            max_p99 = humantime::format_duration(a.open_loop_max_p99),
            sweep_subs = a
                .sweep_subscribers
                .iter()
                .map(|&n| group(n as u64))
                .collect::<Vec<_>>()
                .join(", "),
            sweep_bytes = a.sweep_payload_bytes,
            sweep_payloads = a
                .sweep_payloads
                .iter()
                .map(|&b| plot::bytes(b))
                .collect::<Vec<_>>()
                .join(", "),
            sweep_payload_subs = group(a.sweep_payload_subscribers as u64),
            sweep_dur = humantime::format_duration(a.sweep_duration),
        );
        match self.pinned {
            Some((server, bench)) => {
                let _ = writeln!(
                    out,
                    "- CPU pinning: the server under test on CPU {server} (`taskset -c {server}`), the bench on CPU \
                     {bench}, one core each, so the server gets one core; for telltale-hub on Redis, both nodes and \
                     redis-server share CPU {server}.\n"
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "- No CPU pinning (one CPU, no `taskset`, or `--no-pin`).\n"
                );
            }
        }
        let _ = writeln!(out, "## Machine\n");
        let _ = writeln!(
            out,
            "- CPUs (nproc): {}\n- CPU model: {}\n- Memory: {:.1} GiB\n- OS: {}, kernel {}\n- Node: {}\n- Rust: {}\n- Go: {}, gorilla/websocket {} (Debian)\n\
             - 1-minute load average when the run started: {:.2} (this machine is shared; anything above 0 is \
             other work competing for the same two cores, so figures vary between runs)\n",
            machine.nproc,
            machine.cpu_model,
            machine.mem_gib,
            machine.os,
            machine.kernel,
            machine.node,
            machine.rustc,
            machine.go,
            machine.gorilla,
            machine.load_at_start
        );
        let _ = writeln!(out, "Servers as started:\n");
        for t in &self.targets {
            let limit = t
                .nofile
                .map(|n| format!(" (open-file limit {n})"))
                .unwrap_or_default();
            let _ = writeln!(out, "- {}: {}{limit}", t.target.label(), t.command);
        }
        let _ = writeln!(out, "\n## Reproduce\n");
        let _ = writeln!(
            out,
            "```sh\ncargo build --release -p telltale-hub -p telltale-bench\n\
             (cd bench/node-ws-broadcast && npm ci)\n{command}\n```\n"
        );
        let _ = writeln!(
            out,
            "The Redis variant needs `redis-server` on PATH (or `--redis-server PATH`), the Go peer Debian's \
             `golang-go` and `golang-github-gorilla-websocket-dev`; scripts/install-deps.sh installs them. The bench \
             starts and stops its own redis-server, on a free loopback port, and builds the Go peer into \
             target/bench/gorilla-hub (`GOPATH=/usr/share/gocode GO111MODULE=off go build`) when it is missing \
             or older than bench/gorilla-hub.\n"
        );
        let _ = writeln!(
            out,
            "`make bench-servers` does the same (it builds both in release and writes this file and the plots); \
             `make bench` runs it and then the desktop UI benchmark (`make bench-ui`), so one command refreshes \
             the whole file. `telltale-bench --help` lists every knob (subscribers, duration, window, payload \
             size, the sweep's points, idle connections, pinning).\n"
        );
        let _ = writeln!(out, "## Notes from this run\n");
        out.push_str(&self.notes_markdown());
        out
    }
}

/// What went wrong in one closed-loop run (`what`: "telltale-hub fan-out"):
/// subscribers that did not connect or were closed, lost, skipped or
/// repeated deliveries, publisher errors.
fn fanout_problems(
    what: &str,
    f: &FanoutResult,
    target: Target,
    drain: std::time::Duration,
) -> Vec<String> {
    let mut notes = Vec::new();
    if f.ready < f.subscribers {
        notes.push(format!(
            "{what}: {} of {} subscribers could not connect/subscribe, e.g. {}",
            f.subscribers - f.ready,
            f.subscribers,
            f.setup_errors.join("; ")
        ));
    }
    notes.extend(f.ends.subscriber_notes(what, Loop::Closed));
    if f.lost() > 0 {
        notes.push(format!(
            "{what}: {} of {} expected deliveries did not arrive within --drain {:?}",
            f.lost(),
            f.expected,
            drain
        ));
    }
    if f.gaps > 0 || f.reordered > 0 {
        notes.push(format!(
            "{what}: subscribers saw {} skipped and {} repeated/out-of-order sequence numbers",
            f.gaps, f.reordered
        ));
    }
    notes.extend(f.ends.publisher_note(what));
    if target.is_hub() && f.acked + 1 < f.published {
        notes.push(format!(
            "{what}: {} of {} publish commands got no reply by the end",
            f.published - f.acked,
            f.published
        ));
    }
    notes
}

/// A server's colour in the plots, the same in every chart.
fn color(target: Target) -> (u8, u8, u8) {
    match target {
        Target::Hub => (0x1f, 0x5f, 0xbf),
        Target::HubRedis => (0x7f, 0x3f, 0xbf),
        Target::Gorilla => (0x00, 0x96, 0x88),
        Target::Node => (0xe0, 0x6c, 0x00),
    }
}

fn fan(t: Option<&TargetResults>) -> Option<Result<&FanoutResult, &String>> {
    t.and_then(|t| t.fanout.as_ref()).map(|r| r.as_ref())
}

fn idle(t: Option<&TargetResults>) -> Option<Result<&IdleResult, &String>> {
    t.and_then(|t| t.idle.as_ref()).map(|r| r.as_ref())
}

fn capacity(t: Option<&TargetResults>) -> Option<Result<&IdleResult, &String>> {
    t.and_then(|t| t.capacity.as_ref()).map(|r| r.as_ref())
}

fn row(out: &mut String, name: &str, cells: [String; 3], ratios: [String; 2], target: String) {
    let [hub, gorilla, node] = cells;
    let [vs_gorilla, vs_node] = ratios;
    let _ = writeln!(
        out,
        "| {name} | {hub} | {gorilla} | {node} | {vs_gorilla} | {vs_node} | {target} |"
    );
}

/// hub ÷ gorilla and hub ÷ Node of a figure, where all are known and the
/// peer's is not 0.
fn ratios<T>(
    results: &[Option<Result<&T, &String>>; 3],
    figure: impl Fn(&T) -> Option<f64>,
) -> [Option<f64>; 2] {
    let value = |r: Option<Result<&T, &String>>| ok(r).and_then(&figure);
    let hub = value(results[0]);
    [results[1], results[2]].map(|peer| match (hub, value(peer)) {
        (Some(h), Some(p)) if p > 0.0 => Some(h / p),
        _ => None,
    })
}

fn ok<'a, T>(r: Option<Result<&'a T, &String>>) -> Option<&'a T> {
    r.and_then(Result::ok)
}

fn times(ratio: Option<f64>) -> String {
    match ratio {
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        Some(r) => format!("{r:.2}×"),
        None => String::new(),
    }
}

/// Whether a target is met, in bold, or "not measured".
fn judge(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "**met**",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

fn step_latencies(s: &StepResult) -> String {
    let ms = |q| {
        s.latency_ms(q)
            .map(|ms| format!("{ms:.2}"))
            .unwrap_or_else(|| "n/a".into())
    };
    format!("{} / {}", ms(0.5), ms(0.99))
}

fn open_loop(t: Option<&TargetResults>) -> Option<Result<&OpenLoopResult, &String>> {
    t.and_then(|t| t.open_loop.as_ref()).map(|r| r.as_ref())
}

fn row4(out: &mut String, name: &str, memory: String, redis: String, ratio: String) {
    let _ = writeln!(out, "| {name} | {memory} | {redis} | {ratio} |");
}

fn cell<T>(value: Option<Result<&T, &String>>, f: impl Fn(&T) -> String) -> String {
    match value {
        Some(Ok(v)) => f(v),
        Some(Err(_)) => "failed (see notes)".into(),
        None => "not run".into(),
    }
}

fn latencies(f: &FanoutResult) -> String {
    if f.latency.is_empty() {
        return "no samples".into();
    }
    format!(
        "{:.2} / {:.2} / {:.2}",
        f.latency_ms(0.5),
        f.latency_ms(0.99),
        f.latency_ms(0.999)
    )
}

fn light_latencies(f: &FanoutResult) -> String {
    if f.light_published == 0 || f.light_latency.is_empty() {
        return "not measured".into();
    }
    format!(
        "{:.2} / {:.2} / {:.2}",
        f.light_latency_ms(0.5),
        f.light_latency_ms(0.99),
        f.light_latency_ms(0.999)
    )
}

/// A ratio of latencies is one of the medians.
fn p50(ratio: String) -> String {
    if ratio.is_empty() {
        ratio
    } else {
        format!("{ratio} (p50)")
    }
}

fn subscriber_counts(f: &FanoutResult) -> String {
    let ready = if f.ready_per_endpoint.len() > 1 {
        f.ready_per_endpoint
            .iter()
            .map(|(name, n)| format!("{} on {name}", group(*n as u64)))
            .collect::<Vec<_>>()
            .join(" + ")
    } else {
        group(f.ready as u64)
    };
    format!("{ready} / {} / {}", f.ends.slow_closes, f.ends.other_ends)
}

fn cpu_per_process(f: &FanoutResult) -> String {
    f.process_cpu
        .iter()
        .map(|(name, cores)| format!("{name} {:.0}", cores * 100.0))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Delivered msg/s for each core the server processes used.
fn per_core(f: &FanoutResult) -> f64 {
    if f.server_cpu > 0.0 {
        f.rate() / f.server_cpu
    } else {
        0.0
    }
}

fn rss_span(i: &IdleResult) -> String {
    format!(
        "{:.1} → {:.1}",
        i.rss_before_kib as f64 / 1024.0,
        i.rss_after_kib as f64 / 1024.0
    )
}

/// 1234567 → "1,234,567".
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `arg` with a leading `dir/` removed (also after `--flag=`), so that the
/// command in the document does not depend on where the checkout is.
pub fn relative_to(dir: Option<&std::path::Path>, arg: &str) -> String {
    let Some(prefix) = dir
        .and_then(|d| d.to_str())
        .map(|d| format!("{}/", d.trim_end_matches('/')))
    else {
        return arg.to_owned();
    };
    match arg.split_once('=') {
        Some((flag, value)) if flag.starts_with("--") => {
            format!("{flag}={}", value.strip_prefix(&prefix).unwrap_or(value))
        }
        _ => arg.strip_prefix(&prefix).unwrap_or(arg).to_owned(),
    }
}

/// A command line as a POSIX shell would read it back.
pub fn shell_join<I: IntoIterator<Item = String>>(argv: I) -> String {
    argv.into_iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ends::Ends;
    use clap::Parser as _;
    use std::time::Duration;

    fn fanout(rate_per_s: u64, slow: usize, light_p99_us: u64) -> FanoutResult {
        let mut latency = crate::fanout::new_histogram();
        latency.record(2_000).unwrap();
        let mut light_latency = crate::fanout::new_histogram();
        light_latency.record(light_p99_us).unwrap();
        FanoutResult {
            subscribers: 1000,
            ready: 1000,
            ready_per_endpoint: vec![("telltale-hub".into(), 1000)],
            setup_errors: Vec::new(),
            published: 100,
            acked: 100,
            measured: Duration::from_secs(2),
            delivered_measured: rate_per_s * 2,
            published_measured: 50,
            expected: 100_000,
            delivered: 100_000 - 5,
            gaps: 0,
            reordered: 0,
            ends: Ends {
                slow_closes: slow,
                ..Ends::default()
            },
            latency,
            light_latency,
            light_published: 10,
            light_delivered: 10_000,
            light_server_cpu_seconds: 0.02,
            server_cpu: 0.95,
            process_cpu: vec![("telltale-hub".into(), 0.95)],
            bench_cpu: 0.5,
        }
    }

    /// What two nodes on Redis report: half the subscribers on each, CPU
    /// split over three processes.
    fn on_redis(rate_per_s: u64) -> FanoutResult {
        FanoutResult {
            ready_per_endpoint: vec![("node A".into(), 500), ("node B".into(), 500)],
            server_cpu: 0.96,
            process_cpu: vec![
                ("redis-server".into(), 0.21),
                ("node A".into(), 0.40),
                ("node B".into(), 0.35),
            ],
            ..fanout(rate_per_s, 0, 12_000)
        }
    }

    /// An open-loop ramp whose steps at `rates` were sustained, then one
    /// that was not (95 % delivered).
    fn ramp(rates: &[u64], p99_us: u64) -> OpenLoopResult {
        // One-second steps: deliveries = deliveries/s.
        let step = |rate: u64, in_time_percent: u64| {
            let in_time = rate * in_time_percent / 100;
            let mut latency = crate::fanout::new_histogram();
            latency.record_n(p99_us, in_time).unwrap();
            StepResult {
                rate,
                publish_rate: rate as f64 / 1000.0,
                published: rate / 1000,
                expected: rate,
                in_time,
                late: 0,
                latency,
                server_cpu: 0.5,
                bench_cpu: 0.5,
                publisher_failed: false,
            }
        };
        let mut steps: Vec<StepResult> = rates.iter().map(|&r| step(r, 100)).collect();
        steps.push(step(rates.last().unwrap() * 2, 95));
        let mut sustained = vec![true; rates.len()];
        sustained.push(false);
        OpenLoopResult {
            subscribers: 1000,
            ready: 1000,
            setup_errors: Vec::new(),
            steps,
            sustained,
            ends: Ends {
                other_ends: 3,
                examples: vec!["close 1005 ".into()],
                ..Ends::default()
            },
        }
    }

    #[test]
    fn table_and_notes() {
        let args =
            Args::try_parse_from(["telltale-bench", "--scenarios", "fanout,open-loop"]).unwrap();
        let mut report = Report {
            args,
            targets: vec![
                TargetResults {
                    target: Target::Hub,
                    command: "hub".into(),
                    nofile: Some(1024),
                    fanout: Some(Ok(fanout(900_000, 2, 30_000))),
                    open_loop: Some(Ok(ramp(&[10_000, 20_000, 50_000], 3_000))),
                    idle: None,
                    sweep: None,
                    capacity: None,
                },
                TargetResults {
                    target: Target::Gorilla,
                    command: "gorilla".into(),
                    nofile: None,
                    fanout: Some(Ok(fanout(450_000, 0, 20_000))),
                    open_loop: Some(Ok(ramp(&[10_000], 1_000))),
                    idle: None,
                    sweep: None,
                    capacity: None,
                },
                TargetResults {
                    target: Target::Node,
                    command: "node".into(),
                    nofile: None,
                    fanout: Some(Ok(fanout(100_000, 0, 10_000))),
                    open_loop: Some(Err("boom".into())),
                    idle: Some(Err("boom".into())),
                    sweep: None,
                    capacity: None,
                },
            ],
            notes: Vec::new(),
            pinned: Some((0, 1)),
            nofile: 20_000,
        };
        report.derive_notes();
        let table = report.table();
        for expected in [
            "| telltale-hub | Go gorilla Hub | Node ws | hub ÷ gorilla | hub ÷ Node |",
            "| 900,000 | 450,000 | 100,000 | 2.00× | 9.00× | ≥ 1.5× gorilla: **met**; ≥ 3× Node ws: **met** |",
            "| 5 / 100,000 |",
            // The hub sustained 50,000 deliveries/s, gorilla 10,000.
            "| 50,000 | 10,000 | failed (see notes) | 5.00× |  | ≥ 1.5× gorilla: **met**; ≥ 10× Node ws: not measured |",
            "| Open loop: latency p50 / p99 at 50,000 deliveries/s (ms) | 3.00 / 3.00 | not reached |",
            "p99 ≤ 5 ms: **met** |",
            "p50 and p99 below both peers: **not met** |",
            // 0.02 s of CPU for 10,000 deliveries, the same for every server.
            "| One message in flight: server CPU per delivery (µs) | 2.00 | 2.00 | 2.00 | 1.00× | 1.00× | below the gorilla Hub's: **not met** |",
        ] {
            assert!(table.contains(expected), "{expected}\n{table}");
        }
        for line in table.lines().filter(|l| !l.starts_with("|---")) {
            assert_eq!(line.matches(" | ").count(), 6, "seven columns: {line}");
        }
        let steps = report.open_loop_steps_table().expect("open loop ran");
        assert!(
            steps.contains(
                "| 20,000 | 100.0 % · 3.00 / 3.00 ms · CPU 0.50 / 0.50 | **not sustained**: 95.0 % · 1.00 / n/a ms"
            ),
            "{steps}"
        );
        let notes = report.notes_markdown();
        for expected in [
            "FAILURE: 2 subscribers were closed with 3008",
            "5 of 100000 expected deliveries did not arrive",
            "Node ws idle failed: boom",
            "Node ws open loop failed: boom",
            "not faster than Node ws",
            "telltale-hub open loop: 100,000 deliveries/s (100.0 publications/s) was not sustained: 95,000 of 100,000",
            "closed or lost 3 subscribers",
        ] {
            assert!(notes.contains(expected), "{expected}\n{notes}");
        }
        let machine = crate::sys::Machine::describe("node".as_ref());
        let doc = report.document(&machine, "2026-01-01", "telltale-bench --write x.md");
        assert!(doc.starts_with("# Benchmarks"));
        assert!(doc.contains("telltale-bench --write x.md"));
        assert!(doc.contains("(open-file limit 1024)"));
        assert!(doc.contains(&format!("## {OPEN_LOOP_SECTION}\n")), "{doc}");
        for heading in crate::document::headings(&doc) {
            assert!(
                crate::document::OWN_SECTIONS.contains(&heading),
                "{heading}"
            );
        }
    }

    fn held(connected: usize, dropped: usize) -> IdleResult {
        IdleResult {
            requested: 15_000,
            connected,
            failed: 15_000 - connected,
            errors: Vec::new(),
            dropped,
            slow_closes: 0,
            rss_before_kib: 10 * 1024,
            rss_after_kib: 10 * 1024 + connected as u64 * 6,
            fds: (12, 12 + connected),
            open_time: std::time::Duration::from_secs(2),
            source_addresses: 4,
        }
    }

    #[test]
    fn capacity_is_judged_on_the_connections_held_at_once() {
        let args = Args::try_parse_from(["telltale-bench", "--scenarios", "capacity"]).unwrap();
        let hub = |capacity| TargetResults {
            target: Target::Hub,
            command: "`x`".into(),
            nofile: None,
            fanout: None,
            open_loop: None,
            idle: None,
            sweep: None,
            capacity: Some(capacity),
        };
        let table = |capacity| {
            let mut report = Report {
                args: args.clone(),
                targets: vec![hub(capacity)],
                notes: Vec::new(),
                pinned: None,
                nofile: 65_536,
            };
            report.derive_notes();
            (report.table(), report.notes_markdown())
        };
        let (all, notes) = table(Ok(held(15_000, 0)));
        assert!(
            all.contains(
                "| Capacity: connections open / failed / dropped (15,000 asked, from 4 source addresses) \
                 | 15,000 / 0 / 0 (from 4 addresses) | not run | not run |  |  | ≥ 15,000 connections: **met** |"
            ),
            "{all}"
        );
        assert!(all.contains("| 6.0 KiB; 10.0 → 97.9 |"), "{all}");
        assert!(!notes.contains("capacity"), "{notes}");
        // Opened, but the hub closed some: fewer held at once.
        let (dropped, notes) = table(Ok(held(15_000, 1)));
        assert!(
            dropped.contains("≥ 15,000 connections: **not met**"),
            "{dropped}"
        );
        assert!(
            notes.contains("capacity: the server closed 1 idle connections"),
            "{notes}"
        );
        let (short, notes) = table(Ok(held(14_000, 0)));
        assert!(short.contains("**not met**"), "{short}");
        assert!(
            notes.contains("capacity: 1000 of 15000 connections failed"),
            "{notes}"
        );
        let (failed, notes) = table(Err("no server".into()));
        assert!(
            failed.contains("≥ 15,000 connections: not measured"),
            "{failed}"
        );
        assert!(
            notes.contains("telltale-hub capacity failed: no server"),
            "{notes}"
        );
    }

    #[test]
    fn memory_and_redis_side_by_side() {
        let args = Args::try_parse_from(["telltale-bench", "--scenarios", "fanout"]).unwrap();
        let result = |target, fanout| TargetResults {
            target,
            command: "`x`".into(),
            nofile: None,
            fanout: Some(Ok(fanout)),
            open_loop: None,
            idle: None,
            sweep: None,
            capacity: None,
        };
        let mut report = Report {
            args,
            targets: vec![
                result(Target::Hub, fanout(1_000_000, 0, 10_000)),
                result(Target::HubRedis, on_redis(400_000)),
            ],
            notes: Vec::new(),
            pinned: Some((0, 1)),
            nofile: 20_000,
        };
        report.derive_notes();
        let table = report.redis_table().expect("the Redis target ran");
        for expected in [
            "| | telltale-hub, memory broker, 1 node | telltale-hub on Redis, 2 nodes | Redis ÷ memory |",
            "| Server side pinned to (the bench: CPU 1) | CPU 0: the hub | CPU 0, shared by node A, node B and redis-server |  |",
            "| 1,000,000 | 400,000 | 0.40× |",
            "| 1,000 / 0 / 0 | 500 on node A + 500 on node B / 0 / 0 |",
            "| telltale-hub 95 | redis-server 21 · node A 40 · node B 35 |",
        ] {
            assert!(table.contains(expected), "{expected}\n{table}");
        }
        for line in table.lines().filter(|l| !l.starts_with("|---")) {
            assert_eq!(line.matches(" | ").count(), 3, "four columns: {line}");
        }
        let machine = crate::sys::Machine::describe("node".as_ref());
        let doc = report.document(&machine, "2026-01-01", "telltale-bench");
        assert!(doc.contains(&format!("## {REDIS_SECTION}\n\n| |")), "{doc}");
        assert!(
            doc.contains("delivered 40 % of the memory hub's msg/s; of the core, redis-server used 21 %, node A"),
            "{doc}"
        );
        assert!(doc.contains("Redis itself was not the limit"), "{doc}");
        // Every section the bench writes is one it owns when merging.
        for heading in crate::document::headings(&doc) {
            assert!(
                crate::document::OWN_SECTIONS.contains(&heading),
                "{heading}"
            );
        }
        // Without the Redis target there is no Redis table.
        report.targets.pop();
        assert!(report.redis_table().is_none());
    }

    #[test]
    fn the_sweep_as_tables_charts_notes_and_a_section() {
        let args = Args::try_parse_from([
            "telltale-bench",
            "--scenarios",
            "sweep",
            "--sweep-subscribers",
            "100,1000",
            "--sweep-payloads",
            "100,16384",
        ])
        .unwrap();
        let point = |subscribers, payload_bytes| Point {
            subscribers,
            payload_bytes,
        };
        // msg/s at 100 × 100 B, 1,000 × 100 B and 1,000 × 16 KiB; 0: failed.
        let sweep = |rates: [u64; 3]| SweepResult {
            points: [point(100, 100), point(1000, 100), point(1000, 16_384)]
                .into_iter()
                .zip(rates)
                .map(|(point, rate)| crate::sweep::PointResult {
                    point,
                    outcome: if rate == 0 {
                        Err("no subscriber could connect".into())
                    } else {
                        Ok(fanout(rate, 0, 10_000))
                    },
                })
                .collect(),
        };
        let result = |target, rates| TargetResults {
            target,
            command: "`x`".into(),
            nofile: None,
            fanout: None,
            open_loop: None,
            idle: None,
            sweep: Some(sweep(rates)),
            capacity: None,
        };
        let mut report = Report {
            args,
            targets: vec![
                result(Target::Hub, [1_000_000, 2_000_000, 400_000]),
                result(Target::Gorilla, [500_000, 800_000, 0]),
                result(Target::Node, [100_000, 200_000, 100_000]),
            ],
            notes: Vec::new(),
            pinned: Some((0, 1)),
            nofile: 20_000,
        };
        report.derive_notes();
        assert_eq!(report.table(), "", "only the sweep ran");
        let tables = report.sweep_tables();
        let [by_subscribers, by_payload] = &tables[..] else {
            panic!("two tables: {tables:?}");
        };
        for expected in [
            "| subscribers (100 B payloads) | telltale-hub | Go gorilla Hub | Node ws | hub ÷ gorilla | hub ÷ Node |\n|---:|---:|---:|---:|---:|---:|\n",
            "| 100 | 1,000,000 · 0.95 / 0.50 | 500,000 · 0.95 / 0.50 | 100,000 · 0.95 / 0.50 | 2.00× | 10× |",
            "| 1,000 | 2,000,000 · 0.95 / 0.50 | 800,000 · 0.95 / 0.50 | 200,000 · 0.95 / 0.50 | 2.50× | 10× |",
        ] {
            assert!(by_subscribers.contains(expected), "{expected}\n{by_subscribers}");
        }
        for expected in [
            "| payload (1,000 subscribers) |",
            "| 100 B | 2,000,000 · 0.95 / 0.50 |",
            "| 16 KiB | 400,000 · 0.95 / 0.50 | failed (see notes) | 100,000 · 0.95 / 0.50 |  | 4.00× |",
        ] {
            assert!(by_payload.contains(expected), "{expected}\n{by_payload}");
        }
        let notes = report.notes_markdown();
        assert!(
            notes.contains(
                "Go gorilla Hub sweep at 1,000 subscribers, 16384 B: failed: no subscriber could connect"
            ),
            "{notes}"
        );
        // The fabricated runs lost 5 deliveries each: named per point.
        assert!(
            notes.contains("telltale-hub sweep at 100 subscribers, 100 B: 5 of 100000 expected"),
            "{notes}"
        );

        let charts = report.sweep_charts();
        let names: Vec<&str> = charts.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, [SUBSCRIBERS_PNG, PAYLOAD_PNG]);
        let (_, by_payload) = &charts[1];
        let ticks: Vec<&str> = by_payload.x_ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(ticks, ["100 B", "16 KiB"]);
        let lines: Vec<(&str, &[(f64, f64)])> = by_payload
            .series
            .iter()
            .map(|s| (s.label.as_str(), &s.points[..]))
            .collect();
        assert_eq!(
            lines,
            [
                ("telltale-hub", &[(100.0, 2e6), (16_384.0, 4e5)][..]),
                // The failed point is left out of the line.
                ("Go gorilla Hub", &[(100.0, 8e5)][..]),
                ("Node ws", &[(100.0, 2e5), (16_384.0, 1e5)][..]),
            ]
        );

        let machine = crate::sys::Machine::describe("node".as_ref());
        let doc = report.document(&machine, "2026-01-01", "telltale-bench");
        let section = format!("## {SWEEP_SECTION}\n");
        assert!(doc.contains(&section), "{doc}");
        assert!(
            doc.contains(&format!("]({SUBSCRIBERS_PNG})\n\n| subscribers")),
            "{doc}"
        );
        assert!(
            doc.contains(&format!("]({PAYLOAD_PNG})\n\n| payload")),
            "{doc}"
        );
        for heading in crate::document::headings(&doc) {
            assert!(
                crate::document::OWN_SECTIONS.contains(&heading),
                "{heading}"
            );
        }
        // Without a sweep there is no section, no table and no chart.
        for t in &mut report.targets {
            t.sweep = None;
        }
        assert!(report.sweep_tables().is_empty() && report.sweep_charts().is_empty());
        let doc = report.document(&machine, "2026-01-01", "telltale-bench");
        assert!(!doc.contains(&section));
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn paths_become_relative() {
        let dir = Some(std::path::Path::new("/work/main"));
        assert_eq!(
            relative_to(dir, "/work/main/target/release/telltale-hub"),
            "target/release/telltale-hub"
        );
        assert_eq!(
            relative_to(dir, "--hub=/work/main/target/x"),
            "--hub=target/x"
        );
        assert_eq!(relative_to(dir, "/usr/bin/node"), "/usr/bin/node");
        assert_eq!(relative_to(None, "/work/main/x"), "/work/main/x");
    }

    #[test]
    fn quotes_for_the_shell() {
        let argv = [
            "target/release/telltale-bench",
            "--write",
            "docs/benchmarks.md",
            "--hub-arg",
            "a b",
            "it's",
        ];
        assert_eq!(
            shell_join(argv.map(String::from)),
            r"target/release/telltale-bench --write docs/benchmarks.md --hub-arg 'a b' 'it'\''s'"
        );
    }
}
