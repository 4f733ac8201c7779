//! A real `redis-server` (Debian's) on a free loopback port for one test:
//! no persistence, its own scratch directory, killed on drop. `restart`
//! brings it back on the same port with nothing in it, as a Redis without
//! persistence comes back after a crash. Also the check that `make
//! test-redis` really puts the suite's hubs on its Redis.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use telltale_hub::Config;

use crate::support::{Hub, TEST_REDIS_ENV, WAIT};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// Upper bound of the wait for a started server to answer PING.
const READY_WAIT: Duration = Duration::from_secs(10);
/// Ports tried when another process takes the free port first.
const PORT_ATTEMPTS: usize = 5;

/// A running `redis-server` process and its scratch directory.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free 127.0.0.1 port and waits until it answers
    /// PING.
    pub fn start() -> Self {
        assert!(
            Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: run scripts/install-deps.sh (it installs Debian's \
             redis-server)"
        );
        let dir = std::env::temp_dir().join(format!("telltale-redis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            child: None,
            port: 0,
            dir,
        };
        // The port is free when asked for, but another test may bind it
        // before redis-server does; then redis-server exits and we retry.
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port();
            if server.spawn_and_wait() {
                return server;
            }
        }
        panic!(
            "redis-server did not start on any of {PORT_ATTEMPTS} free ports; its last log:\n{}",
            server.log()
        );
    }

    /// `redis://127.0.0.1:PORT`, for `Config::redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL, as a crash: nothing is saved).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server and starts a new one on the same port, empty: what a
    /// Redis without persistence looks like after a restart.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn_and_wait(),
            "redis-server did not come back on port {}; its log:\n{}",
            self.port,
            self.log()
        );
    }

    /// Whether the server answers `PING` with `PONG` now.
    pub fn answers_ping(&self) -> bool {
        ping(self.port)
    }

    /// Spawns redis-server on `self.port`; true once it answers PING, false
    /// when it exited first (its port was taken). Panics when it neither
    /// answers nor exits within [`READY_WAIT`].
    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.join("redis.log")).unwrap();
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start redis-server");
        let child = self.child.insert(child);
        let deadline = Instant::now() + READY_WAIT;
        loop {
            if ping(self.port) {
                return true;
            }
            if child.try_wait().unwrap().is_some() {
                self.child = None;
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within {READY_WAIT:?}; its log:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A raw inline `PING` on a fresh connection, so readiness does not depend
/// on the client library under test.
fn ping(port: u16) -> bool {
    let timeout = Duration::from_millis(500);
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = BufReader::new(stream).read_line(&mut reply);
    reply == "+PONG\r\n"
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_restarted_server_answers_on_the_same_port_with_its_data_gone() {
    let mut server = RedisServer::start();
    assert!(server.answers_ping());
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));

    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    redis::cmd("SET")
        .arg("telltale-fixture")
        .arg("kept?")
        .exec(&mut connection)
        .unwrap();
    let value: Option<String> = redis::cmd("GET")
        .arg("telltale-fixture")
        .query(&mut connection)
        .unwrap();
    assert_eq!(value.as_deref(), Some("kept?"));

    server.restart();
    assert_eq!(server.port(), port, "the same port");
    assert!(server.answers_ping());
    let mut connection = client.get_connection().unwrap();
    let value: Option<String> = redis::cmd("GET")
        .arg("telltale-fixture")
        .query(&mut connection)
        .unwrap();
    assert_eq!(value, None, "no persistence: the restart lost the key");

    server.stop();
    assert!(!server.answers_ping(), "stopped");
}

/// `make test-redis` runs the suite with `TELLTALE_TEST_REDIS` set: every
/// test hub is then on that Redis, which answers, each under a prefix of its
/// own. Without it (`make test-rust`) they keep everything in memory.
#[tokio::test]
async fn test_hubs_run_on_the_suites_redis_under_prefixes_of_their_own() {
    let one = Hub::start().await;
    let two = Hub::start().await;
    let (a, b) = (one.node.config(), two.node.config());
    match std::env::var(TEST_REDIS_ENV).ok().filter(|u| !u.is_empty()) {
        Some(url) => {
            assert_eq!(
                (&a.redis, &b.redis),
                (&vec![url.clone()], &vec![url.clone()])
            );
            assert_ne!(a.redis_prefix, b.redis_prefix, "one prefix per hub");
            assert_ne!(a.redis_prefix, Config::default().redis_prefix);
            let mut connection = redis::Client::open(url)
                .unwrap()
                .get_connection_with_timeout(WAIT)
                .unwrap();
            let pong: String = redis::cmd("PING").query(&mut connection).unwrap();
            assert_eq!(pong, "PONG", "the suite's Redis is up");
        }
        None => assert!(a.redis.is_empty() && b.redis.is_empty(), "memory broker"),
    }
    one.stop().await;
    two.stop().await;
}
