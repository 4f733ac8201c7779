//! Every scenario at toy sizes on the memory hub, on two hub nodes sharing
//! a real redis-server and on the Go gorilla peer (built from bench/ by the
//! bench, as in a real run), through the same path as a real run (processes,
//! subscribers, publisher, CPU readings, the report, the document and the
//! sweep's PNG plots, written into a temporary directory), so that the bench
//! cannot rot between the rare real runs. Only that it runs and delivers is
//! checked: the figures of a debug build on a shared machine mean nothing.
//! The Go peer is required: scripts/install-deps.sh installs Go and
//! gorilla/websocket.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::{Args, Target};
use crate::document::SWEEP_SECTION;
use crate::ends::Ends;
use crate::sweep::{Point, PAYLOAD_PNG, SUBSCRIBERS_PNG};
use crate::{measure, write_files};

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

/// Where the Go peer is built: target/bench/gorilla-hub, beside the
/// profile directories (the default path of a real run from the checkout).
fn gorilla_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target_dir = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in target/<profile>/deps");
    target_dir.join("bench/gorilla-hub")
}

/// No subscriber was closed (3008 or otherwise) or lost before the run's
/// end, and the publisher got no error reply (`what`: "telltale-hub
/// fan-out").
fn assert_ended_cleanly(what: &str, ends: &Ends) {
    assert_eq!(
        (ends.slow_closes, ends.other_ends, ends.publish_errors),
        (0, 0, 0),
        "{what}: {:?} {:?}",
        ends.examples,
        ends.publisher_problem
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_and_delivers_on_the_hub_the_redis_pair_and_the_gorilla_peer() {
    let scratch = std::env::temp_dir().join(format!("telltale-bench-smoke-{}", std::process::id()));
    let doc_path = scratch.join("benchmarks.md");
    let hub = hub_binary();
    assert!(
        hub.is_file(),
        "{} is missing: `cargo build -p telltale-hub` (or set TELLTALE_HUB_BIN)",
        hub.display()
    );
    let go_found = crate::runnable("go".as_ref());
    assert!(
        go_found,
        "go is not installed: run scripts/install-deps.sh (Debian's golang-go and \
         golang-github-gorilla-websocket-dev)"
    );
    let hub = hub.to_string_lossy().into_owned();
    let gorilla = gorilla_binary();
    let gorilla_source = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/gorilla-hub");
    let args = Args::try_parse_from([
        "telltale-bench",
        "--hub",
        &hub,
        "--gorilla-hub",
        &gorilla.to_string_lossy(),
        "--gorilla-source",
        gorilla_source,
        "--targets",
        "hub,hub-redis,gorilla",
        "--scenarios",
        "fanout,open-loop,idle,sweep,capacity",
        // Sweep: 2 and 5 subscribers at 100 B, then 5 subscribers at 2 KiB:
        // three points (5 × 100 B is in both series), a short run each.
        "--sweep-subscribers",
        "2,5",
        "--sweep-payloads",
        "100,2048",
        "--sweep-payload-subscribers",
        "5",
        "--sweep-warmup",
        "100ms",
        "--sweep-duration",
        "300ms",
        "--write",
        &doc_path.to_string_lossy(),
        // 10 subscribers: 5 and then 10 publications/s, each for half a
        // second; a generous grace, so every delivery counts whatever the
        // machine's load.
        "--open-loop-rates",
        "50,100",
        "--open-loop-step",
        "500ms",
        "--open-loop-grace",
        "20s",
        "--subscribers",
        "10",
        "--idle-connections",
        "10",
        // The capacity scenario's path (client sockets bound to several
        // loopback source addresses) at a toy size.
        "--capacity-connections",
        "12",
        "--source-addresses",
        "3",
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

    assert!(gorilla.is_file(), "the bench built {}", gorilla.display());
    for target in [Target::Hub, Target::HubRedis, Target::Gorilla] {
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
        assert_ended_cleanly(&format!("{name} fan-out"), &f.ends);
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
    // The idle scenario and the open loop are not run on the Redis pair,
    // and are on the others.
    assert!(redis.idle.is_none() && redis.open_loop.is_none());
    for target in [Target::Hub, Target::Gorilla] {
        let results = report.targets.iter().find(|t| t.target == target);
        let name = target.label();
        let idle = results.and_then(|t| t.idle.as_ref());
        match idle {
            Some(Ok(i)) => assert_eq!(i.connected, 10, "{name}: {:?}", i.errors),
            other => panic!("{name}: idle {other:?}"),
        }
        let open = match results.and_then(|t| t.open_loop.as_ref()) {
            Some(Ok(o)) => o,
            other => panic!("{name}: open loop {other:?}"),
        };
        assert_eq!(open.ready, 10, "{name}: {:?}", open.setup_errors);
        // The first step always runs; every delivery of it arrives within
        // the 20 s grace.
        let first = open.steps.first().expect("at least one step");
        assert_eq!(first.rate, 50);
        assert!(first.published > 0, "{name}: nothing published");
        assert_eq!(first.in_time, first.expected, "{name}: {first:?}");
        assert!(first.latency_ms(0.99).is_some(), "{name}");
        assert_ended_cleanly(&format!("{name} open loop"), &open.ends);
        // One message in flight: the server's CPU time per delivery is read.
        let Some(Ok(f)) = results.and_then(|t| t.fanout.as_ref()) else {
            unreachable!()
        };
        assert!(f.light_delivered > 0, "{name}: the light phase delivered");
    }
    // Capacity: the hub only, every connection up, from every address.
    let hub = report.targets.iter().find(|t| t.target == Target::Hub);
    match hub.and_then(|t| t.capacity.as_ref()) {
        Some(Ok(c)) => {
            assert_eq!(
                (c.connected, c.failed, c.dropped),
                (12, 0, 0),
                "{:?}",
                c.errors
            );
            assert_eq!(c.source_addresses, 3, "one per --source-addresses");
        }
        other => panic!("hub capacity: {other:?}"),
    }
    for t in report.targets.iter().filter(|t| t.target != Target::Hub) {
        assert!(
            t.capacity.is_none(),
            "{}: capacity is the hub's",
            t.target.label()
        );
    }
    let table = report.table();
    assert!(
        table.contains("| Capacity: connections open / failed / dropped (12 asked, from 3 source addresses) | 12 / 0 / 0 (from 3 addresses) |"),
        "{table}"
    );

    let steps = report.open_loop_steps_table().expect("the open loop ran");
    assert!(steps.contains("| 50 |"), "{steps}");

    let table = report.redis_table().expect("the Redis target ran");
    assert!(
        table.contains("| 10 / 0 / 0 | 5 on node A + 5 on node B / 0 / 0 |"),
        "{table}"
    );

    // The sweep: every point on the hub and the Go peer (not on the Redis
    // pair), each delivering everything it published.
    assert!(redis.sweep.is_none(), "the Redis pair runs no sweep");
    let points = [(2, 100), (5, 100), (5, 2048)].map(|(subscribers, payload_bytes)| Point {
        subscribers,
        payload_bytes,
    });
    for target in [Target::Hub, Target::Gorilla] {
        let name = target.label();
        let sweep = report
            .targets
            .iter()
            .find(|t| t.target == target)
            .and_then(|t| t.sweep.as_ref())
            .expect("the sweep ran");
        let run: Vec<Point> = sweep.points.iter().map(|p| p.point).collect();
        assert_eq!(run, points, "{name}");
        for p in &sweep.points {
            let f = match &p.outcome {
                Ok(f) => f,
                Err(e) => panic!("{name} {:?}: {e}", p.point),
            };
            assert_eq!(f.subscribers, p.point.subscribers);
            assert_eq!(f.ready, p.point.subscribers, "{name}: {:?}", f.setup_errors);
            assert!(f.published > 0, "{name} {:?}: nothing published", p.point);
            if target == Target::Hub {
                assert_eq!(f.delivered, f.expected, "{name} {:?}", p.point);
            } else {
                // On a loaded machine the Go peer has once ended a point two
                // publications short (the last ones, for every subscriber):
                // a run without a light phase ends with a full window in
                // flight, and the peer has no acks to count them by. What
                // this checks is the sweep's machinery: at most a window's
                // tail may be missing (the default window, 64), nothing in
                // the middle (no gaps, below).
                let tail = 64 * p.point.subscribers as u64;
                assert!(
                    f.delivered + tail >= f.expected,
                    "{name} {:?}: {} of {}",
                    p.point,
                    f.delivered,
                    f.expected
                );
            }
            assert_eq!(
                (f.gaps, f.reordered, f.ends.slow_closes),
                (0, 0, 0),
                "{name}"
            );
            assert_eq!(f.light_published, 0, "no light phase in the sweep");
        }
    }
    let tables = report.sweep_tables();
    assert_eq!(tables.len(), 2);
    assert!(tables[0].contains("| subscribers (100 B payloads) | telltale-hub | Go gorilla Hub |"));
    assert!(tables[1].contains("\n| 2 KiB |"), "{}", tables[1]);

    // What --write writes: the document and both plots, 800×500 PNGs.
    let machine = crate::sys::Machine::describe("node".as_ref());
    let written = write_files(&report, &machine, "2026-01-01", "telltale-bench", &doc_path)
        .expect("the document and the plots are written");
    let pngs = [SUBSCRIBERS_PNG, PAYLOAD_PNG].map(|name| scratch.join(name));
    let mut expected = pngs.to_vec();
    expected.push(doc_path.clone());
    assert_eq!(written, expected);
    for png in &pngs {
        let bytes = std::fs::read(png).expect("the plot exists");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", png.display());
        let dimension = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        assert_eq!((dimension(16), dimension(20)), crate::plot::SIZE);
        assert!(
            bytes.len() > 5_000,
            "{}: lines and text drawn",
            png.display()
        );
    }
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    assert!(doc.contains(&format!("## {SWEEP_SECTION}\n")), "{doc}");
    assert!(doc.contains(&format!("]({SUBSCRIBERS_PNG})")), "{doc}");
    assert!(doc.contains(&format!("]({PAYLOAD_PNG})")), "{doc}");
    let _ = std::fs::remove_dir_all(&scratch);
}
