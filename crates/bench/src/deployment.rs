//! What a target runs as, started and stopped together: one server process,
//! or, for telltale-hub on Redis, a private redis-server and the hub nodes
//! that share it, all pinned to the same CPU as the lone servers so that
//! every target gets the same CPU budget.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use crate::cli::{Args, Target};
use crate::server::{Launch, Ready, Server};

/// Hub nodes of the `hub-redis` target.
pub const REDIS_NODES: usize = 2;

/// What redis-server prints once it accepts connections.
const REDIS_READY: &str = "Ready to accept connections";

/// Free ports tried for redis-server: another program may take the port
/// between the bench finding it free and redis-server binding it.
const REDIS_PORT_ATTEMPTS: usize = 5;

/// Where and how the processes of a target are started.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The bench's flags (binaries, hub arguments, file limit).
    pub args: &'a Args,
    /// The CPU every process is pinned to, if pinning.
    pub cpu: Option<usize>,
    /// The hub's `--config` file.
    pub hub_config: &'a Path,
    /// Whether the hub gets --client-queue-bytes (the closed loop, whose
    /// window queues a lot at once), or keeps its default (the open loop and
    /// the idle scenario, which judge the hub as it ships).
    pub large_queues: bool,
}

/// One process of a target.
pub struct Process {
    /// Its name in the report: the target's label, "node A", "redis-server".
    pub name: String,
    /// Whether WebSocket clients connect to it (every process but redis).
    pub serves_clients: bool,
    /// The running process.
    pub server: Server,
}

/// The running processes of a target, in start order.
pub struct Deployment {
    /// Redis first (the nodes need it), then the nodes; or the one server.
    pub processes: Vec<Process>,
    /// redis-server's working directory, removed after the run.
    scratch: Option<PathBuf>,
}

/// The name of the `index`th hub node: "node A", "node B", ...
pub fn node_name(index: usize) -> String {
    format!("node {}", char::from(b'A' + (index % 26) as u8))
}

/// The commands that start a target, as markdown for the report (`PORT`
/// stands for the port redis-server gets at start).
pub fn describe(target: Target, settings: Settings) -> String {
    match target {
        Target::Hub => format!("`{}`", hub_launch(settings, None).display()),
        Target::Node => format!("`{}`", node_launch(settings).display()),
        Target::Gorilla => format!("`{}`", gorilla_launch(settings).display()),
        Target::HubRedis => format!(
            "`{}`, then {REDIS_NODES} nodes (node A, node B), each `{}`",
            redis_launch(settings, 0, Path::new("TMPDIR"))
                .display()
                .replace("--port 0", "--port PORT"),
            hub_launch(settings, Some("redis://127.0.0.1:PORT")).display()
        ),
    }
}

impl Deployment {
    /// Starts every process of `target`, each within `timeout`; on failure
    /// the ones already started are killed.
    pub async fn start(
        target: Target,
        settings: Settings<'_>,
        timeout: Duration,
    ) -> Result<Deployment, String> {
        let mut deployment = Deployment {
            processes: Vec::new(),
            scratch: None,
        };
        let started = match target {
            Target::Hub => {
                deployment
                    .add(target.label(), true, &hub_launch(settings, None), timeout)
                    .await
            }
            Target::Node => {
                deployment
                    .add(target.label(), true, &node_launch(settings), timeout)
                    .await
            }
            Target::Gorilla => {
                deployment
                    .add(target.label(), true, &gorilla_launch(settings), timeout)
                    .await
            }
            Target::HubRedis => deployment.start_redis_cluster(settings, timeout).await,
        };
        match started {
            Ok(()) => Ok(deployment),
            Err(e) => {
                deployment.stop(Duration::from_secs(1)).await;
                Err(e)
            }
        }
    }

    async fn add(
        &mut self,
        name: &str,
        serves_clients: bool,
        launch: &Launch,
        timeout: Duration,
    ) -> Result<(), String> {
        let server = Server::start(launch, timeout).await?;
        self.processes.push(Process {
            name: name.to_owned(),
            serves_clients,
            server,
        });
        Ok(())
    }

    async fn start_redis_cluster(
        &mut self,
        settings: Settings<'_>,
        timeout: Duration,
    ) -> Result<(), String> {
        let scratch =
            std::env::temp_dir().join(format!("telltale-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&scratch)
            .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
        self.scratch = Some(scratch.clone());
        let mut failures = Vec::new();
        let mut port = None;
        for _ in 0..REDIS_PORT_ATTEMPTS {
            let free = free_port()?;
            match self
                .add(
                    "redis-server",
                    false,
                    &redis_launch(settings, free, &scratch),
                    timeout,
                )
                .await
            {
                Ok(()) => {
                    port = Some(free);
                    break;
                }
                Err(e) => failures.push(e),
            }
        }
        let Some(port) = port else {
            return Err(format!(
                "redis-server did not start on any of {REDIS_PORT_ATTEMPTS} free ports; last: {}",
                failures.last().map(String::as_str).unwrap_or("?")
            ));
        };
        // Every node with the same --redis and the default key prefix: they
        // share history and fan-out, as nodes behind a load balancer would.
        let url = format!("redis://127.0.0.1:{port}");
        for index in 0..REDIS_NODES {
            let launch = hub_launch(settings, Some(&url));
            self.add(&node_name(index), true, &launch, timeout).await?;
        }
        Ok(())
    }

    /// The processes WebSocket clients connect to, in start order.
    pub fn endpoints(&self) -> impl Iterator<Item = &Process> {
        self.processes.iter().filter(|p| p.serves_clients)
    }

    /// CPU time of each process so far, in seconds (`None`: unreadable).
    pub fn cpu_seconds(&self) -> Vec<Option<f64>> {
        self.processes
            .iter()
            .map(|p| p.server.cpu_seconds().ok())
            .collect()
    }

    /// Notes on processes that died or ran out of file descriptors.
    pub fn check(&mut self, what: &str) -> Vec<String> {
        let mut notes = Vec::new();
        let several = self.processes.len() > 1;
        for p in &mut self.processes {
            let who = if several {
                format!("{what}: {}", p.name)
            } else {
                what.to_owned()
            };
            if !p.server.is_running() {
                notes.push(format!(
                    "{who}: the process exited during the run; last output:\n{}",
                    p.server.tail()
                ));
            }
            let emfile = p.server.emfile_lines();
            if emfile > 0 {
                notes.push(format!(
                    "{who}: the process printed {emfile} lines about running out of file descriptors \
                     (EMFILE); last output: {}",
                    p.server.tail().trim()
                ));
            }
        }
        notes
    }

    /// Stops the processes, the last started first (the nodes before the
    /// Redis they use), each with SIGTERM and SIGKILL after `grace`; notes
    /// on those that needed SIGKILL or exited with an error.
    pub async fn stop(&mut self, grace: Duration) -> Vec<Stopped> {
        let mut stopped = Vec::new();
        while let Some(mut p) = self.processes.pop() {
            let (status, killed) = p.server.stop(grace).await;
            stopped.push(Stopped {
                name: p.name,
                status,
                killed,
            });
        }
        if let Some(dir) = self.scratch.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        stopped
    }
}

/// How one process ended.
pub struct Stopped {
    /// Its name.
    pub name: String,
    /// Its exit status, if known.
    pub status: Option<ExitStatus>,
    /// Whether it needed SIGKILL.
    pub killed: bool,
}

/// A port on 127.0.0.1 that nothing listens on right now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

fn hub_launch(settings: Settings, redis: Option<&str>) -> Launch {
    let args = settings.args;
    let mut argv: Vec<OsString> = vec![
        args.hub.clone().into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--allow-anonymous".into(),
        "--config".into(),
        settings.hub_config.into(),
    ];
    if settings.large_queues {
        argv.extend([
            "--client-queue-bytes".into(),
            args.client_queue_bytes.to_string().into(),
        ]);
    }
    if let Some(url) = redis {
        argv.extend(["--redis".into(), url.into()]);
    }
    argv.extend(args.hub_args.iter().map(OsString::from));
    Launch {
        argv,
        cpu: settings.cpu,
        nofile: args.nofile,
        ready: Ready::ListeningOn,
    }
}

fn node_launch(settings: Settings) -> Launch {
    let args = settings.args;
    Launch {
        argv: vec![
            args.node.clone().into(),
            args.node_server.clone().into(),
            "0".into(),
        ],
        cpu: settings.cpu,
        nofile: args.nofile,
        ready: Ready::ListeningOn,
    }
}

/// The Go peer on any free port (it prints `listening on PORT`).
fn gorilla_launch(settings: Settings) -> Launch {
    let args = settings.args;
    Launch {
        argv: vec![args.gorilla_hub.clone().into(), "0".into()],
        cpu: settings.cpu,
        nofile: args.nofile,
        ready: Ready::ListeningOn,
    }
}

/// redis-server on `port`, keeping nothing on disk (no RDB snapshots, no
/// AOF), in the foreground so that it dies with the bench.
fn redis_launch(settings: Settings, port: u16, dir: &Path) -> Launch {
    let args = settings.args;
    let argv: Vec<OsString> = vec![
        args.redis_server.clone().into(),
        "--port".into(),
        port.to_string().into(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--daemonize".into(),
        "no".into(),
        "--dir".into(),
        dir.into(),
    ];
    Launch {
        argv,
        cpu: settings.cpu,
        nofile: args.nofile,
        ready: Ready::Says(REDIS_READY, port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn the_redis_target_is_redis_then_two_nodes_on_it_all_on_the_server_cpu() {
        let args = Args::try_parse_from(["telltale-bench", "--hub-arg", "--x"]).unwrap();
        let settings = Settings {
            args: &args,
            cpu: Some(0),
            hub_config: Path::new("bench.toml"),
            large_queues: true,
        };
        let text = describe(Target::HubRedis, settings);
        assert!(
            text.starts_with(
                "`taskset -c 0 redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "2 nodes (node A, node B), each `taskset -c 0 target/release/telltale-hub --listen 127.0.0.1:0"
            ),
            "{text}"
        );
        assert!(
            text.contains("--redis redis://127.0.0.1:PORT --x`"),
            "{text}"
        );
        let hub = describe(Target::Hub, settings);
        assert!(!hub.contains("--redis"), "{hub}");
        assert!(hub.contains("--client-queue-bytes 67108864"), "{hub}");
        let defaults = Settings {
            large_queues: false,
            ..settings
        };
        let hub = describe(Target::Hub, defaults);
        assert!(!hub.contains("--client-queue-bytes"), "{hub}");
        assert_eq!(node_name(0), "node A");
        assert_eq!(node_name(1), "node B");
    }
}
