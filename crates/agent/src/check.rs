//! Checks, Nagios-plugin compatible: a command's exit status is its state
//! (0 OK, 1 WARNING, 2 CRITICAL, 3 or anything else UNKNOWN), its first line
//! the message, and the performance data after `|` its measurements.
//!
//! A command that outlives its timeout is killed (with its process group,
//! so a shell's children go too) and reported UNKNOWN; so is one that
//! cannot start or dies from a signal. A check changes an alarm only when
//! its state changes ([`Tracker`]), not at every run.

use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::perfdata::{self, PerfValue};

/// Most output read from a check; plugins print a line or a few.
const MAX_OUTPUT: u64 = 64 * 1024;
/// Longest message kept (the first line of output).
const MAX_MESSAGE: usize = 512;

/// One `[[check]]` entry of the agent's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Name: the alarm id is `<source>/<name>` and the metrics
    /// `check.<name>.<label>`.
    pub name: String,
    /// Shell command (`sh -c`), e.g. `/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6`.
    pub command: String,
    /// How often it runs.
    #[serde(with = "humantime_serde", default = "default_interval")]
    pub interval: Duration,
    /// How long one run may take before it is killed and reported UNKNOWN.
    #[serde(with = "humantime_serde", default = "default_timeout")]
    pub timeout: Duration,
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// A check's state, from its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Exit 0.
    Ok,
    /// Exit 1.
    Warning,
    /// Exit 2.
    Critical,
    /// Exit 3, any other status, a signal, a timeout, or no start.
    Unknown,
}

impl Status {
    /// The status an exit code means.
    pub fn from_exit(code: Option<i32>) -> Self {
        match code {
            Some(0) => Status::Ok,
            Some(1) => Status::Warning,
            Some(2) => Status::Critical,
            _ => Status::Unknown,
        }
    }
}

/// What one run of a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Its state.
    pub status: Status,
    /// The first line of output (before `|`), or why there is none.
    pub message: String,
    /// Its performance data.
    pub perfdata: Vec<PerfValue>,
}

impl Outcome {
    fn unknown(message: String) -> Self {
        Self {
            status: Status::Unknown,
            message,
            perfdata: Vec::new(),
        }
    }

    /// The performance data as metric names and values:
    /// `check.<name>.<label>`.
    pub fn metrics(&self, check: &str) -> Vec<(String, f64)> {
        self.perfdata
            .iter()
            .map(|p| (format!("check.{check}.{}", p.metric_label()), p.value))
            .collect()
    }
}

/// Runs `spec` once.
pub async fn run(spec: &CheckSpec) -> Outcome {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&spec.command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::unknown(format!("cannot run sh: {e}")),
    };
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let run = async {
        let mut output = Vec::new();
        let _ = (&mut stdout)
            .take(MAX_OUTPUT)
            .read_to_end(&mut output)
            .await;
        (child.wait().await, output)
    };
    match tokio::time::timeout(spec.timeout, run).await {
        Ok((Ok(status), output)) => outcome(status.code(), &output),
        Ok((Err(e), _)) => Outcome::unknown(format!("cannot wait for the command: {e}")),
        Err(_) => {
            kill_group(&child);
            Outcome::unknown(format!(
                "timed out after {}; killed",
                humantime_seconds(spec.timeout)
            ))
        }
    }
}

/// Kills the command's whole process group: `sh -c 'sleep 100'` leaves
/// `sleep` behind if only `sh` is killed.
fn kill_group(child: &tokio::process::Child) {
    if let Some(pid) = child.id() {
        // `kill -- -PGID` signals the group without unsafe code.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
}

fn humantime_seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

fn outcome(code: Option<i32>, output: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(output);
    let first = text.lines().next().unwrap_or("");
    let message = first.split('|').next().unwrap_or("").trim();
    let message = match message {
        "" => format!("no output (exit status {})", exit_text(code)),
        m => m.chars().take(MAX_MESSAGE).collect(),
    };
    Outcome {
        status: Status::from_exit(code),
        message,
        perfdata: perfdata::of_output(&text),
    }
}

fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "none: killed by a signal".into(), |c| c.to_string())
}

/// Remembers a check's last state, so that an alarm changes once per
/// change of state and not at every run.
#[derive(Debug, Default)]
pub struct Tracker {
    last: Option<Status>,
}

impl Tracker {
    /// `Some(status)` when `status` differs from the last one seen. The
    /// first OK is not a change (nothing was firing).
    pub fn observe(&mut self, status: Status) -> Option<Status> {
        let previous = self.last.replace(status);
        match previous {
            None if status == Status::Ok => None,
            Some(p) if p == status => None,
            _ => Some(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGINS: &str = "/usr/lib/nagios/plugins";

    fn spec(command: &str, timeout: Duration) -> CheckSpec {
        CheckSpec {
            name: "t".into(),
            command: command.into(),
            interval: Duration::from_secs(60),
            timeout,
        }
    }

    fn plugin(args: &str) -> CheckSpec {
        spec(&format!("{PLUGINS}/{args}"), Duration::from_secs(10))
    }

    #[tokio::test]
    async fn check_dummy_exit_codes_map_to_states() {
        for (code, status) in [
            (0, Status::Ok),
            (1, Status::Warning),
            (2, Status::Critical),
            (3, Status::Unknown),
        ] {
            let outcome = run(&plugin(&format!("check_dummy {code} 'said {code}'"))).await;
            assert_eq!(outcome.status, status, "{outcome:?}");
            assert!(
                outcome.message.ends_with(&format!("said {code}")),
                "{outcome:?}"
            );
        }
    }

    #[tokio::test]
    async fn check_load_gives_its_load_as_metrics() {
        let outcome = run(&plugin("check_load -w 1000,1000,1000 -c 2000,2000,2000")).await;
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        assert!(outcome.message.starts_with("LOAD OK"), "{outcome:?}");
        let names: Vec<String> = outcome
            .metrics("load")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            ["check.load.load1", "check.load.load5", "check.load.load15"]
        );
    }

    #[tokio::test]
    async fn check_disk_reports_the_root_filesystem() {
        let outcome = run(&plugin("check_disk -w 0% -c 0% -p /")).await;
        assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
        let metrics = outcome.metrics("disk");
        assert_eq!(metrics[0].0, "check.disk.root", "{metrics:?}");
        assert!(metrics[0].1 > 0.0);
    }

    #[tokio::test]
    async fn a_hanging_check_is_killed_and_unknown() {
        let started = std::time::Instant::now();
        let outcome = run(&spec("sleep 30; echo never", Duration::from_millis(300))).await;
        assert_eq!(outcome.status, Status::Unknown);
        assert!(
            outcome.message.contains("timed out after 0.3 s"),
            "{outcome:?}"
        );
        // Bounded: the check did not wait for `sleep 30`.
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[tokio::test]
    async fn garbage_output_and_odd_exits_are_unknown_or_kept() {
        let outcome = run(&spec(
            "printf '\\377\\376 binary|x=junk y=2'; exit 7",
            Duration::from_secs(5),
        ))
        .await;
        assert_eq!(outcome.status, Status::Unknown);
        assert_eq!(outcome.perfdata.len(), 1, "{outcome:?}");
        let silent = run(&spec("exit 1", Duration::from_secs(5))).await;
        assert_eq!(silent.status, Status::Warning);
        assert_eq!(silent.message, "no output (exit status 1)");
        let missing = run(&spec("/nonexistent/check_x", Duration::from_secs(5))).await;
        assert_eq!(missing.status, Status::Unknown, "{missing:?}");
    }

    #[test]
    fn one_transition_per_change() {
        let mut tracker = Tracker::default();
        assert_eq!(tracker.observe(Status::Ok), None);
        assert_eq!(tracker.observe(Status::Ok), None);
        assert_eq!(tracker.observe(Status::Critical), Some(Status::Critical));
        assert_eq!(tracker.observe(Status::Critical), None);
        assert_eq!(tracker.observe(Status::Warning), Some(Status::Warning));
        assert_eq!(tracker.observe(Status::Ok), Some(Status::Ok));
        let mut fresh = Tracker::default();
        assert_eq!(fresh.observe(Status::Unknown), Some(Status::Unknown));
    }
}
