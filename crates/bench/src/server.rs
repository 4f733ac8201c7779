//! A server under test as a child process: start (pinned, with a raised
//! file limit), wait for the line that says it is ready, watch its output,
//! stop.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::sys;

/// How a server is started.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program and arguments.
    pub argv: Vec<OsString>,
    /// CPU to pin it to.
    pub cpu: Option<usize>,
    /// RLIMIT_NOFILE set in the child before it runs.
    pub nofile: u64,
    /// The line that says it accepts connections.
    pub ready: Ready,
}

/// How a server says it accepts connections, and on which port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// A `listening on ADDR:PORT` line (the hub, server.js): the port is
    /// read from it.
    ListeningOn,
    /// A line containing this text (redis-server's "Ready to accept
    /// connections"), on a port the bench chose.
    Says(&'static str, u16),
}

impl Ready {
    /// The port, once `line` says the server is ready.
    fn port_in(self, line: &str) -> Option<u16> {
        match self {
            Ready::ListeningOn => listening_port(line),
            Ready::Says(text, port) => line.contains(text).then_some(port),
        }
    }
}

impl Launch {
    /// The command as a shell would show it.
    pub fn display(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(cpu) = self.cpu {
            parts.push(format!("taskset -c {cpu}"));
        }
        let cwd = std::env::current_dir().ok();
        parts.push(crate::report::shell_join(self.argv.iter().map(|a| {
            crate::report::relative_to(cwd.as_deref(), &a.to_string_lossy())
        })));
        parts.join(" ")
    }
}

const TAIL_LINES: usize = 40;

/// What a server printed: the last lines, and whether it ran out of file
/// descriptors.
#[derive(Debug, Default)]
pub struct Output {
    tail: VecDeque<String>,
    /// Lines mentioning EMFILE / "Too many open files".
    pub emfile_lines: usize,
}

/// A running server.
pub struct Server {
    child: Child,
    /// Process id (the server itself: taskset execs it).
    pub pid: u32,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    output: Arc<Mutex<Output>>,
}

impl Server {
    /// Starts the server and waits (at most `timeout`) for its port.
    pub async fn start(launch: &Launch, timeout: Duration) -> Result<Server, String> {
        let (program, args) = match launch.cpu {
            Some(cpu) => {
                let mut args: Vec<OsString> = vec!["-c".into(), cpu.to_string().into()];
                args.extend(launch.argv.iter().cloned());
                (OsString::from("taskset"), args)
            }
            None => (launch.argv[0].clone(), launch.argv[1..].to_vec()),
        };
        let mut cmd = Command::new(&program);
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let nofile = launch.nofile;
        // SAFETY: the closure runs in the forked child before exec and only
        // makes async-signal-safe system calls (setrlimit, prctl).
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: nofile,
                    rlim_max: nofile,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    // Keep going with the inherited limit; the report shows
                    // EMFILE if it was not enough.
                    let mut old = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) == 0 {
                        old.rlim_cur = old.rlim_max;
                        libc::setrlimit(libc::RLIMIT_NOFILE, &old);
                    }
                }
                // The server must not outlive the bench.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", launch.display()))?;
        let pid = child.id().ok_or("server exited at once")?;
        let output = Arc::new(Mutex::new(Output::default()));
        let (port_tx, port_rx) = oneshot::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // One ready line is enough, on either stream.
        let port_tx = Arc::new(Mutex::new(Some(port_tx)));
        tokio::spawn(watch_lines(
            stdout,
            output.clone(),
            launch.ready,
            port_tx.clone(),
        ));
        tokio::spawn(watch_lines(stderr, output.clone(), launch.ready, port_tx));

        let waited = tokio::time::timeout(timeout, port_rx).await;
        let mut server = Server {
            child,
            pid,
            port: 0,
            output,
        };
        match waited {
            Ok(Ok(port)) => {
                server.port = port;
                Ok(server)
            }
            Ok(Err(_)) => {
                let status = server.child.wait().await.ok();
                Err(format!(
                    "`{}` closed its output without saying it was ready (exit: {}); last output:\n{}",
                    launch.display(),
                    status.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                    server.tail()
                ))
            }
            Err(_) => {
                let tail = server.tail();
                server.stop(Duration::from_secs(1)).await;
                Err(format!(
                    "`{}` did not say it was ready within {timeout:?}; last output:\n{tail}",
                    launch.display()
                ))
            }
        }
    }

    /// The server's resident set size in KiB.
    pub fn rss_kib(&self) -> io::Result<u64> {
        sys::rss_kib(self.pid)
    }

    /// The server's CPU time in seconds.
    pub fn cpu_seconds(&self) -> io::Result<f64> {
        sys::cpu_seconds(Some(self.pid))
    }

    /// The server's soft RLIMIT_NOFILE, as /proc/PID/limits shows it.
    pub fn nofile(&self) -> Option<u64> {
        sys::nofile_of(self.pid)
    }

    /// The server's open file descriptors.
    pub fn fd_count(&self) -> io::Result<usize> {
        sys::fd_count(self.pid)
    }

    /// Lines so far that mention running out of file descriptors.
    pub fn emfile_lines(&self) -> usize {
        self.output.lock().expect("output lock").emfile_lines
    }

    /// The last lines the server printed.
    pub fn tail(&self) -> String {
        let out = self.output.lock().expect("output lock");
        out.tail.iter().map(|l| format!("    {l}\n")).collect()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`. Returns the
    /// exit status and whether SIGKILL was needed.
    pub async fn stop(&mut self, grace: Duration) -> (Option<ExitStatus>, bool) {
        if let Ok(Some(status)) = self.child.try_wait() {
            return (Some(status), false);
        }
        // SAFETY: kill has no memory preconditions; pid is our child's.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => (status.ok(), false),
            Err(_) => {
                let _ = self.child.start_kill();
                (self.child.wait().await.ok(), true)
            }
        }
    }
}

async fn watch_lines(
    stream: impl AsyncRead + Unpin,
    output: Arc<Mutex<Output>>,
    ready: Ready,
    port_tx: Arc<Mutex<Option<oneshot::Sender<u16>>>>,
) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(port) = ready.port_in(&line) {
            if let Some(tx) = port_tx.lock().expect("port lock").take() {
                let _ = tx.send(port);
            }
        }
        let mut out = output.lock().expect("output lock");
        if line.contains("EMFILE") || line.contains("Too many open files") {
            out.emfile_lines += 1;
        }
        if out.tail.len() == TAIL_LINES {
            out.tail.pop_front();
        }
        out.tail.push_back(line);
    }
}

/// The port in `telltale-hub listening on 127.0.0.1:PORT` or `listening on PORT`.
pub fn listening_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let addr = rest.split_whitespace().next()?;
    let port = addr.rsplit(':').next()?;
    port.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_port() {
        assert_eq!(
            listening_port("telltale-hub listening on 127.0.0.1:40123"),
            Some(40123)
        );
        assert_eq!(listening_port("listening on 8080"), Some(8080));
        assert_eq!(
            listening_port("2026 INFO listening on [::1]:99 (ws)"),
            Some(99)
        );
        assert_eq!(listening_port("starting"), None);
    }

    #[test]
    fn redis_says_it_is_ready_on_the_port_it_was_given() {
        let ready = Ready::Says("Ready to accept connections", 6400);
        assert_eq!(
            ready.port_in("1:M 01 Dec 2026 02:29:54.072 * Ready to accept connections"),
            Some(6400)
        );
        assert_eq!(
            ready.port_in("1:M 01 Dec 2026 * Running mode=standalone, port=6400."),
            None
        );
        assert_eq!(
            Ready::ListeningOn.port_in("telltale-hub listening on 127.0.0.1:5"),
            Some(5)
        );
    }
}
