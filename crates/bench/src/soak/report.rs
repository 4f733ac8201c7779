//! The soak's summary table, its verdict, and the "## Soak" markdown section.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::attack::{AttackOutcome, SlowOutcome};
use super::ledger::Tally;
use super::publish::Stats;
use super::rss;
use crate::report::group;
use crate::sys::Machine;

/// Everything the soak measured.
#[derive(Debug, Default)]
pub struct Summary {
    /// `--duration`.
    pub duration: Duration,
    /// Time the ramp-up took.
    pub ramp: Duration,
    /// Seed of the random choices.
    pub seed: u64,
    /// The hub's command line.
    pub hub_command: String,
    /// Initial clients asked for, and the ramp-up rate.
    pub clients: usize,
    /// Clients per second during the ramp-up.
    pub ramp_rate: u64,
    /// Initial clients that subscribed.
    pub ready: usize,
    /// Initial clients that never subscribed, with examples.
    pub setup_failed: (usize, Vec<String>),
    /// Clients that joined during the soak.
    pub joined: u64,
    /// Clients connected and subscribed when the soak phase ended.
    pub live_at_end: u64,
    /// Subscriptions: alarms, metrics channels, the busy channel.
    pub subscriptions: (u64, u64, u64),
    /// Metric sources (channels) and the busy channel's name.
    pub metric_sources: usize,
    /// The busy channel.
    pub busy_channel: String,
    /// Its samples per second.
    pub busy_rate: u32,
    /// Hub --history-size.
    pub history_size: u64,
    /// Churn events: FIN drops, RST resets, normal closes, left for good.
    pub churn: (u64, u64, u64, u64),
    /// Churn percent of clients per second asked for.
    pub churn_percent: f64,
    /// Recoveries ok / failed, publications recovered.
    pub recoveries: (u64, u64, u64),
    /// Longest time from losing a connection to being subscribed again.
    pub longest_gap: Duration,
    /// Alarm rate asked for, per second.
    pub alarm_rate: u32,
    /// Alarm publisher figures.
    pub alarm_publisher: Stats,
    /// Metric publishers' figures.
    pub metric_publisher: Stats,
    /// Final top offsets: alarms, sum over metric channels, busy channel.
    pub tops: (u64, u64, u64),
    /// Alarms of clients that stayed, checked to the final top.
    pub alarms_stayed: Tally,
    /// Clients that stayed (subscribed to alarms and checked).
    pub stayed: u64,
    /// Alarms of clients that left, checked up to what they saw.
    pub alarms_left: Tally,
    /// Clients that left.
    pub left: u64,
    /// Metric channels of every client.
    pub metrics: Tally,
    /// Clients whose alarm payloads matched their offsets / did not / could
    /// not be checked.
    pub payloads: (u64, u64, u64),
    /// Subscribe replies with another epoch than the first.
    pub epoch_changes: u64,
    /// Connections of well-behaved clients the hub ended, with examples.
    pub unexpected_ends: (u64, Vec<String>),
    /// Clients that gave up reconnecting, with examples.
    pub gave_up: (u64, Vec<String>),
    /// Clients that had not caught up with the final tops by the deadline.
    pub not_caught_up: u64,
    /// Examples of clients whose stream was not exact.
    pub bad_clients: Vec<String>,
    /// The slow client, if run.
    pub slow: Option<SlowOutcome>,
    /// The attacker, if run.
    pub attack: Option<AttackOutcome>,
    /// The hub's `disconnects_total` by code, or why it could not be read.
    pub disconnects: Option<Result<Vec<(u16, u64)>, String>>,
    /// The RSS judgment, or why there is none.
    pub rss: Option<Result<rss::Verdict, String>>,
    /// The allowance used.
    pub allowance: Option<rss::Allowance>,
    /// Hub CPU seconds: whole run, soak phase.
    pub hub_cpu: (f64, f64),
    /// Bench CPU seconds during the soak phase.
    pub bench_cpu: f64,
    /// Things that make the run a failure.
    pub failures: Vec<String>,
    /// Remarks that are not failures.
    pub notes: Vec<String>,
}

fn mib(kib: f64) -> String {
    format!("{:.1}", kib / 1024.0)
}

fn counts<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, n)| format!("{k} × {}", group(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tally(t: &Tally) -> String {
    format!(
        "{} / {} / {} / {}",
        group(t.expected),
        group(t.received),
        group(t.lost),
        group(t.duplicated)
    )
}

impl Summary {
    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The summary as a markdown table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        let mut row = |k: &str, v: String| rows.push((k.to_owned(), v));
        let secs = self.duration.as_secs_f64();
        row(
            "Run",
            format!(
                "{} soak after a {:.1} s ramp-up; seed {}",
                humantime::format_duration(self.duration),
                self.ramp.as_secs_f64(),
                self.seed
            ),
        );
        row(
            "Clients",
            format!(
                "{} initial (ramp-up {}/s), {} subscribed{}; {} joined, {} left for good; {} live at the end",
                group(self.clients as u64),
                self.ramp_rate,
                group(self.ready as u64),
                if self.setup_failed.0 > 0 {
                    format!(", **{} never subscribed**", self.setup_failed.0)
                } else {
                    String::new()
                },
                group(self.joined),
                group(self.churn.3),
                group(self.live_at_end),
            ),
        );
        row(
            "Subscriptions",
            format!(
                "{} on `alarms`; {} on {} `metrics:soak-src-NN` channels; {} on `{}`",
                group(self.subscriptions.0),
                group(self.subscriptions.1),
                self.metric_sources,
                group(self.subscriptions.2),
                self.busy_channel
            ),
        );
        let churned = self.churn.0 + self.churn.1 + self.churn.2 + self.churn.3;
        row(
            "Churn events",
            format!(
                "{} ({:.2} %/s of {} clients, asked {} %/s): {} dropped (FIN, no close frame), {} reset (RST), {} \
                 closed (1000), {} left for good",
                group(churned),
                churned as f64 * 100.0 / secs.max(1e-9) / (self.clients.max(1) as f64),
                group(self.clients as u64),
                self.churn_percent,
                group(self.churn.0),
                group(self.churn.1),
                group(self.churn.2),
                group(self.churn.3)
            ),
        );
        row(
            "Recoveries ok / failed",
            format!(
                "{} / {} ({} publications recovered; longest reconnect gap {:.1} s)",
                group(self.recoveries.0),
                group(self.recoveries.1),
                group(self.recoveries.2),
                self.longest_gap.as_secs_f64()
            ),
        );
        let ap = &self.alarm_publisher;
        row(
            "Alarms published",
            format!(
                "{} ({:.1}/s from the start of the ramp-up, asked {}/s) through `/api/publish`, {} failed; final top \
                 offset {}",
                group(ap.published),
                ap.rate(),
                self.alarm_rate,
                ap.failed,
                group(self.tops.0)
            ),
        );
        row(
            "Publish request time (HTTP API) p50 / p99 / max",
            format!(
                "alarms {:.1} / {:.1} / {:.1} ms; metric samples {:.1} / {:.1} / {:.1} ms",
                ap.latency_ms(0.5),
                ap.latency_ms(0.99),
                ap.latency_ms(1.0),
                self.metric_publisher.latency_ms(0.5),
                self.metric_publisher.latency_ms(0.99),
                self.metric_publisher.latency_ms(1.0)
            ),
        );
        row(
            "Alarm deliveries expected / delivered / lost / duplicated",
            format!(
                "{} ({} clients that stayed, from their first subscribe to the final top)",
                tally(&self.alarms_stayed),
                group(self.stayed)
            ),
        );
        row(
            "… of clients that left, up to their last offset",
            format!(
                "{} ({} clients)",
                tally(&self.alarms_left),
                group(self.left)
            ),
        );
        row(
            "Alarm payloads (sequence number ↔ offset) matching / not / unchecked",
            format!(
                "{} / {} / {} clients",
                group(self.payloads.0),
                group(self.payloads.1),
                group(self.payloads.2)
            ),
        );
        let mp = &self.metric_publisher;
        row(
            "Metric samples published",
            format!(
                "{} ({:.1}/s: {} sources × 1/s + `{}` at {}/s), {} failed",
                group(mp.published),
                mp.rate(),
                self.metric_sources,
                self.busy_channel,
                self.busy_rate,
                mp.failed
            ),
        );
        row(
            "Metric deliveries expected / delivered / lost / duplicated",
            tally(&self.metrics),
        );
        if let Some(slow) = &self.slow {
            row(
                &format!(
                    "Slow client (`{}`, 4 KiB receive buffer, never reads)",
                    slow.channel
                ),
                format!("{}{}", slow.describe(), self.slow_close_code()),
            );
        }
        if let Some(a) = &self.attack {
            row(
                "Attacker: command flood (`history`, `presence_stats`, `catalog` RPC; one connection per round)",
                format!(
                    "{} rounds, {} commands sent at {}/s: {} answered, errors {}; connections: {}{}",
                    a.rounds,
                    group(a.flood_sent),
                    group(a.flood_rate() as u64),
                    group(a.flood_ok),
                    counts(&a.flood_errors),
                    counts(&a.flood_ends),
                    match &a.flood_setup_errors {
                        (0, _) => String::new(),
                        (n, e) => format!("; {n} could not connect ({})", e.as_deref().unwrap_or("?")),
                    }
                ),
            );
            row(
                "Attacker: WebSocket upgrades that never send `connect`",
                format!(
                    "{} opened ({} failed to open): {}; longest open {:.1} s",
                    group(a.stalled_opened),
                    a.stalled_failed,
                    counts(&a.stalled_ends),
                    a.stalled_longest.as_secs_f64()
                ),
            );
            row(
                "Attacker: keyless `/api/publish` with 1 MiB / 100 KiB bodies",
                format!("{}: {}", group(a.keyless_sent), counts(&a.keyless_outcomes)),
            );
        }
        row(
            "Hub disconnects by close code (its `/metrics`)",
            match &self.disconnects {
                Some(Ok(list)) => counts(&list.iter().copied().collect::<BTreeMap<u16, u64>>()),
                Some(Err(e)) => format!("unknown: {e}"),
                None => "not read".into(),
            },
        );
        match &self.rss {
            Some(Ok(v)) => {
                row(
                    "Hub RSS min / warm (2nd-quarter mean) / last-quarter mean / final / max",
                    format!(
                        "{} / {} / {} / {} / {} MiB",
                        mib(v.min_kib as f64),
                        mib(v.warm_kib),
                        mib(v.late_kib),
                        mib(v.final_kib as f64),
                        mib(v.max_kib as f64)
                    ),
                );
                let allowance = self.allowance.unwrap_or(rss::Allowance {
                    fraction: 0.0,
                    slack_kib: 0.0,
                });
                row(
                    "RSS flat after warm-up",
                    format!(
                        "{}: last quarter {:+.1} % on the second (limit {} MiB = +{:.0} % + {:.0} MiB; {} and {} samples)",
                        if v.flat { "yes" } else { "**no**" },
                        v.growth_percent(),
                        mib(v.limit_kib),
                        allowance.fraction * 100.0,
                        allowance.slack_kib / 1024.0,
                        v.counts.0,
                        v.counts.1
                    ),
                );
            }
            Some(Err(e)) => row("Hub RSS", format!("no judgment: {e}")),
            None => row("Hub RSS", "not judged".into()),
        }
        row(
            "Hub CPU",
            format!(
                "{:.1} s in all, {:.2} cores during the soak; bench {:.2} cores",
                self.hub_cpu.0,
                self.hub_cpu.1 / secs.max(1e-9),
                self.bench_cpu / secs.max(1e-9)
            ),
        );
        row(
            "Verdict",
            if self.passed() {
                "**pass**".into()
            } else {
                format!("**FAIL**: {}", self.failures.len())
            },
        );
        let mut out = String::from("| | |\n|---|---|\n");
        for (k, v) in rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out
    }

    /// When the slow client got no close frame: the code the hub's
    /// `/metrics` implies, if only one closure of that kind is unexplained.
    fn slow_close_code(&self) -> String {
        let (Some(slow), Some(Ok(codes))) = (&self.slow, &self.disconnects) else {
            return String::new();
        };
        if slow.close_code.is_some() || slow.hub_closed.is_none() {
            return String::new();
        }
        let by_attacker = |code: u16| {
            self.attack.as_ref().map_or(0, |a| {
                a.flood_ends
                    .iter()
                    .chain(&a.stalled_ends)
                    .filter(|(end, _)| end.starts_with(&format!("close {code} ")))
                    .map(|(_, n)| *n)
                    .sum::<u64>()
            })
        };
        let candidates: Vec<u16> = codes
            .iter()
            .filter(|(code, n)| [3008, 3012].contains(code) && *n > by_attacker(*code))
            .map(|(code, _)| *code)
            .collect();
        match candidates.as_slice() {
            [code] => format!(" (the hub's `/metrics` counts one more {code} close than anyone else received: this one)"),
            _ => String::new(),
        }
    }

    /// Failures and notes as markdown lists.
    pub fn findings(&self) -> String {
        let mut out = String::new();
        if !self.failures.is_empty() {
            out.push_str("\nFailures:\n\n");
            for f in &self.failures {
                let _ = writeln!(out, "- {f}");
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\nNotes:\n\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }

    /// The "## Soak" section for docs/reliability.md.
    pub fn document(&self, machine: &Machine, date: &str, command: &str, history: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Soak\n");
        let _ = writeln!(
            out,
            "`telltale-bench soak` (crates/bench) on {date}: the hub under {clients} clients that churn and \
             recover, alarm and metric publishers on the HTTP API, a client that never reads and an attacker, for \
             {duration}. Generated section: rerun the command to refresh it.\n",
            clients = group(self.clients as u64),
            duration = humantime::format_duration(self.duration),
        );
        let _ = writeln!(out, "```sh\n{command}\n```\n");
        let _ = writeln!(out, "The hub ran as `{}`.\n", self.hub_command);
        let _ = writeln!(
            out,
            "Machine: {} CPUs ({}), {:.1} GiB, {} (kernel {}), {}; 1-minute load average at the start {:.2} (a \
             shared machine: other work competes for the same cores).\n",
            machine.nproc,
            machine.cpu_model,
            machine.mem_gib,
            machine.os,
            machine.kernel,
            machine.rustc,
            machine.load_at_start
        );
        out.push_str(&self.table());
        out.push_str(&self.findings());
        let _ = writeln!(out, "\nWhat is checked:\n");
        let _ = writeln!(
            out,
            "- Every client tracks, per channel, the offsets it receives (live pushes and the publications of \
             recovery replies) and the epoch. For every client subscribed to `alarms` that stayed to the end, \
             churned or not, the offsets must be exactly the sequence from the position of its first subscribe to \
             the final top offset (read after the publishers stopped with `POST /api/history`): zero lost, zero \
             duplicated; clients that left are checked up to the last offset they saw, and metric channels the \
             same way. A recovery answered `recovered: false`, an epoch change, or a connection of a well-behaved \
             client ended by the hub is a failure. Each alarm's payload carries a unique sequence number (`value`, \
             `labels.seq`); a per-client digest of (offset, sequence number) over everything it received must \
             match the offsets the publisher got back for those sequence numbers, so every offset carried the \
             alarm published at it.\n\
             - Publishers: alarms at --alarm-rate (ids cycling over 20 sources, each alternating firing and \
             resolved), one sample a second on each of --metric-sources `metrics:soak-src-NN` channels, and \
             --busy-rate samples of --busy-bytes on `metrics:soak-busy`, all through `POST /api/publish`, up to 4 \
             requests in flight per publisher; they start with the ramp-up.\n\
             - The slow client subscribes to `metrics:soak-busy` through a socket with a 4 KiB receive buffer and \
             never reads; the hub's side of its connection is watched in /proc/net/tcp. The attacker, every \
             --attack-interval: one connection flooding commands (up to 5,000 in 3 s), 50 upgraded sockets that \
             never send `connect`, 10 keyless `/api/publish` requests with 1 MiB / 100 KiB bodies. What they get \
             is reported, not judged; what is judged is that nobody else is affected.\n\
             - Churn: each 100 ms a share of the clients (--churn-percent per second) drops its connection: a third \
             closes the TCP connection without a close frame (FIN), a third resets it (RST), a third closes \
             normally; they come back after 50 ms to --max-reconnect-delay and resubscribe with `recover: true`, \
             their last offset and the epoch. One churn event in ten (--leave-percent) leaves for good and a new \
             client joins in its place, accounted from its first subscribe.\n\
             - {history}\n\
             - Hub RSS is read from /proc/PID/status every second; it must be flat after warm-up: the mean of the \
             last quarter of the soak at most the mean of the second quarter + 20 % + 8 MiB (the first quarter is \
             warm-up: histories fill, allocator arenas grow; the allowance absorbs what glibc malloc keeps after \
             connection churn (5–10 % in our runs); between the middles of the two quarters of a 5-minute run lie \
             150 s and 6,000 churned connections, so on a ~58 MiB hub anything above about 3.5 KiB kept per churned \
             connection fails. The 30-second run only catches gross leaks)."
        );
        out
    }
}
