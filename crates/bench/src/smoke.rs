//! The fan-out at toy sizes on the memory hub and on two hub nodes sharing a
//! real redis-server, through the same path as a real run (processes,
//! subscribers, publisher, CPU readings, the report), so that the bench
//! cannot rot between the rare real runs. Only that it runs and delivers is
//! checked: the figures of a debug build on a shared machine mean nothing.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Args, Target};
use crate::measure;

/// Longest the whole smoke may take; a normal run takes seconds.
const SMOKE_WITHIN: Duration = Duration::from_secs(240);

/// The hub binary: `TELLTALE_HUB_BIN` (what the Makefile exports), or the one
/// next to this test's build (`cargo test --workspace` builds it; `cargo
/// test -p telltale-bench` alone does not: build it first).
fn hub_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("TELLTALE_HUB_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/telltale_bench-HASH → target/<profile>/telltale-hub
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    profile_dir.join("telltale-hub")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fanout_runs_and_delivers_on_memory_and_on_two_nodes_on_redis() {
    let hub = hub_binary();
    assert!(
        hub.is_file(),
        "{} is missing: `cargo build -p telltale-hub` (or set TELLTALE_HUB_BIN)",
        hub.display()
    );
    let hub = hub.to_string_lossy().into_owned();
    let args = Args::try_parse_from([
        "telltale-bench",
        "--hub",
        &hub,
        "--targets",
        "hub,hub-redis",
        "--scenarios",
        "fanout,idle",
        "--subscribers",
        "10",
        "--idle-connections",
        "10",
        "--settle",
        "100ms",
        "--warmup",
        "200ms",
        "--duration",
        "1s",
        "--light-duration",
        "300ms",
        "--drain",
        "30s",
        "--setup-timeout",
        "60s",
        "--connect-timeout",
        "30s",
        "--nofile",
        "4096",
    ])
    .unwrap();
    let (report, failed) = tokio::time::timeout(SMOKE_WITHIN, measure(args, None, 4096))
        .await
        .expect("the smoke run ends")
        .expect("the smoke run starts");
    assert!(!failed, "a run failed: {:#?}", report.notes);

    for target in [Target::Hub, Target::HubRedis] {
        let results = report
            .targets
            .iter()
            .find(|t| t.target == target)
            .expect("every target has results");
        let f = match &results.fanout {
            Some(Ok(f)) => f,
            other => panic!("{}: fan-out {other:?}", target.label()),
        };
        let name = target.label();
        assert_eq!(f.ready, 10, "{name}: {:?}", f.setup_errors);
        assert!(f.published > 0, "{name}: nothing published");
        assert_eq!(
            f.delivered, f.expected,
            "{name}: every publication reaches every subscriber; notes {:#?}",
            report.notes
        );
        assert_eq!((f.gaps, f.reordered), (0, 0), "{name}: in order, once");
        assert_eq!(
            (f.slow_closes, f.other_ends, f.publish_errors),
            (0, 0, 0),
            "{name}: {:?} {:?}",
            f.end_examples,
            f.publisher_problem
        );
    }

    let redis = report
        .targets
        .iter()
        .find(|t| t.target == Target::HubRedis)
        .unwrap();
    let Some(Ok(f)) = &redis.fanout else {
        unreachable!()
    };
    // Half the subscribers on each node: node B's only way to get a
    // publication made on node A is through Redis.
    assert_eq!(
        f.ready_per_endpoint,
        [("node A".to_owned(), 5), ("node B".to_owned(), 5)]
    );
    let processes: Vec<&str> = f.process_cpu.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(processes, ["redis-server", "node A", "node B"]);
    // The idle scenario is not run on the Redis pair, and is on the hub.
    assert!(redis.idle.is_none());
    let hub = report.targets.iter().find(|t| t.target == Target::Hub);
    assert!(matches!(hub.and_then(|t| t.idle.as_ref()), Some(Ok(_))));

    let table = report.redis_table().expect("the Redis target ran");
    assert!(
        table.contains("| 10 / 0 / 0 | 5 on node A + 5 on node B / 0 / 0 |"),
        "{table}"
    );
}
