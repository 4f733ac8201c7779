//! The real `telltale-hub` binary as a child process, for what only a
//! process shows: signals (SIGHUP reloads), start-up errors, its logs.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::WAIT;

/// The real binary, its stderr collected for assertions.
pub struct HubProcess {
    pub child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl HubProcess {
    /// Starts the binary (`TELLTALE_HUB_BIN` or this build's) on a free
    /// loopback port with `args`, and reads the address it prints.
    pub fn start(args: &[&str]) -> Self {
        let bin = std::env::var("TELLTALE_HUB_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_telltale-hub").to_owned());
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--allow-anonymous"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("telltale-hub starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut sink = sink.lock().unwrap();
                sink.push_str(&line);
                sink.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        // From here on the child is killed on drop, even if no address comes.
        let mut hub = Self {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            stderr,
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        hub.addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no listening line: {line:?}"));
        hub
    }

    /// Sends SIGHUP (reload).
    pub fn hangup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Everything it wrote on stderr so far, for failure messages.
    pub fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Whether stderr holds `text` so far.
    pub fn logged(&self, text: &str) -> bool {
        self.stderr.lock().unwrap().contains(text)
    }

    /// Waits until stderr holds `text`, for at most [`WAIT`].
    pub async fn wait_logged(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.logged(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{text:?} not logged within {WAIT:?}: {}",
                self.stderr.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
