//! The history on real SQLite files in a temporary directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use telltale_history::{AlarmHistory, HistoryError, HistoryFilter, HistoryOptions, HistoryRow};
use telltale_protocol::{Alarm, AlarmState, Severity};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn alarm(id: &str, severity: Severity, state: AlarmState, ts: i64) -> Alarm {
    Alarm {
        id: id.into(),
        source: id.split('/').next().unwrap_or(id).into(),
        severity,
        state,
        title: format!("{id} is high"),
        message: String::new(),
        ts,
        value: None,
        labels: BTreeMap::new(),
        by: None,
        silenced_until: None,
        comment: None,
        links: Default::default(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn open(path: &Path) -> AlarmHistory {
    AlarmHistory::open(path, Duration::from_secs(30 * 24 * 3600)).unwrap()
}

fn ids(rows: &[HistoryRow]) -> Vec<(&str, i64)> {
    rows.iter().map(|r| (r.alarm_id.as_str(), r.ts)).collect()
}

#[test]
fn transitions_survive_a_restart_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("history.sqlite3");
    let t0 = now_ms() - 60_000;
    let mut acked = alarm(
        "db-1/disk",
        Severity::Critical,
        AlarmState::Acknowledged,
        t0 + 2,
    );
    acked.by = Some("alice@desk".into());
    acked.comment = Some("restarting, see #42".into());
    acked.value = Some(97.5);
    acked.message = "disk / at 97.5 %".into();
    acked.labels = BTreeMap::from([("team".to_string(), "storage".to_string())]);
    acked.silenced_until = Some(t0 + 3_600_000);
    {
        let history = open(&path);
        history.record(
            "s1",
            "Prod",
            &alarm("db-1/disk", Severity::Critical, AlarmState::Firing, t0),
        );
        history.record("s1", "Prod", &acked);
        history.flush().unwrap();
    } // dropped: the app quits

    let history = open(&path);
    let page = history.query(&HistoryFilter::default()).unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(
        ids(&page.rows),
        vec![("db-1/disk", t0 + 2), ("db-1/disk", t0)]
    );
    let row = &page.rows[0];
    assert_eq!(row.server_id, "s1");
    assert_eq!(row.server_name, "Prod");
    assert_eq!(row.source, "db-1");
    assert_eq!(row.severity, Severity::Critical);
    assert_eq!(row.state, AlarmState::Acknowledged);
    assert_eq!(row.title, "db-1/disk is high");
    assert_eq!(row.message, "disk / at 97.5 %");
    assert_eq!(row.value, Some(97.5));
    assert_eq!(row.labels, acked.labels);
    assert_eq!(row.by.as_deref(), Some("alice@desk"));
    assert_eq!(row.comment.as_deref(), Some("restarting, see #42"));
    assert_eq!(row.silenced_until, Some(t0 + 3_600_000));
    assert!(
        row.received_at >= t0,
        "received_at is the time of recording"
    );
    assert_eq!(page.rows[1].state, AlarmState::Firing);
}

#[test]
fn a_transition_received_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let t0 = now_ms();
    let firing = alarm("web/cpu", Severity::Warning, AlarmState::Firing, t0);
    {
        let history = open(&path);
        history.record("s1", "Prod", &firing);
        history.record("s1", "Prod", &firing); // recovery replay
        history.flush().unwrap();
    }
    let history = open(&path);
    history.record("s1", "Prod", &firing); // active-set resync after a restart
    history.record("s2", "Staging", &firing); // another server: its own transition
    let mut repeat = firing.clone();
    repeat.ts = t0 + 1; // a repeated firing with a new time is a new transition
    history.record("s1", "Prod", &repeat);
    history.flush().unwrap();
    let page = history.query(&HistoryFilter::default()).unwrap();
    assert_eq!(page.total, 3);
    let servers: Vec<_> = page
        .rows
        .iter()
        .map(|r| (r.server_id.as_str(), r.ts))
        .collect();
    assert!(servers.contains(&("s1", t0)));
    assert!(servers.contains(&("s2", t0)));
    assert!(servers.contains(&("s1", t0 + 1)));
    assert_eq!(history.stats().dropped, 0);
}

fn filled(path: &Path, t0: i64) -> AlarmHistory {
    let history = open(path);
    let mut disk = alarm("db-1/disk", Severity::Critical, AlarmState::Firing, t0);
    disk.message = "Volume /VAR almost full".into();
    let mut cpu = alarm(
        "Web-Ünïcode/cpu",
        Severity::Warning,
        AlarmState::Firing,
        t0 + 10,
    );
    cpu.labels = BTreeMap::from([("team".to_string(), "Frontend".to_string())]);
    let mut resolved = cpu.clone();
    resolved.state = AlarmState::Resolved;
    resolved.ts = t0 + 20;
    let info = alarm("db-2/backup", Severity::Info, AlarmState::Firing, t0 + 30);
    history.record("prod", "Prod", &disk);
    history.record("prod", "Prod", &cpu);
    history.record("prod", "Prod", &resolved);
    history.record("lab", "Lab", &info);
    history.flush().unwrap();
    history
}

#[test]
fn each_filter_selects_what_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = now_ms() - 1000;
    let history = filled(&dir.path().join("h.sqlite3"), t0);
    let query = |filter: HistoryFilter| {
        let page = history.query(&filter).unwrap();
        assert_eq!(page.total as usize, page.rows.len());
        ids(&page.rows)
            .into_iter()
            .map(|(id, ts)| (id.to_string(), ts - t0))
            .collect::<Vec<_>>()
    };
    let row = |id: &str, dt: i64| (id.to_string(), dt);

    let severities = query(HistoryFilter {
        severities: vec![Severity::Critical, Severity::Info],
        ..HistoryFilter::default()
    });
    assert_eq!(
        severities,
        vec![row("db-2/backup", 30), row("db-1/disk", 0)]
    );

    let source = query(HistoryFilter {
        source: Some(" wEB-üNÏ ".into()),
        ..HistoryFilter::default()
    });
    assert_eq!(
        source,
        vec![row("Web-Ünïcode/cpu", 20), row("Web-Ünïcode/cpu", 10)]
    );

    let server = query(HistoryFilter {
        server_id: Some("lab".into()),
        ..HistoryFilter::default()
    });
    assert_eq!(server, vec![row("db-2/backup", 30)]);
    let no_such_server = query(HistoryFilter {
        server_id: Some("la".into()),
        ..HistoryFilter::default()
    });
    assert!(no_such_server.is_empty(), "the server id matches exactly");

    let in_message = query(HistoryFilter {
        text: Some("/var".into()),
        ..HistoryFilter::default()
    });
    assert_eq!(in_message, vec![row("db-1/disk", 0)]);
    let in_labels = query(HistoryFilter {
        text: Some("frontend".into()),
        ..HistoryFilter::default()
    });
    assert_eq!(in_labels.len(), 2);
    let in_id = query(HistoryFilter {
        text: Some("BACKUP".into()),
        ..HistoryFilter::default()
    });
    assert_eq!(in_id, vec![row("db-2/backup", 30)]);

    let range = query(HistoryFilter {
        from: Some(t0 + 10),
        to: Some(t0 + 30),
        ..HistoryFilter::default()
    });
    assert_eq!(
        range,
        vec![row("Web-Ünïcode/cpu", 20), row("Web-Ünïcode/cpu", 10)],
        "[from, to)"
    );

    let limited = history
        .query(&HistoryFilter {
            limit: Some(1),
            ..HistoryFilter::default()
        })
        .unwrap();
    assert_eq!(limited.total, 4, "the total ignores the limit");
    assert_eq!(
        ids(&limited.rows),
        vec![("db-2/backup", t0 + 30)],
        "newest first"
    );
}

#[test]
fn the_csv_export_reads_back_oldest_first_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_700_000_000_000;
    let history = open(&dir.path().join("h.sqlite3"));
    let mut tricky = alarm(
        "db-1/disk",
        Severity::Critical,
        AlarmState::Acknowledged,
        t0 + 1,
    );
    tricky.message = "line one, \"quoted\"\nline two".into();
    tricky.by = Some("bob".into());
    tricky.labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
    history.record("prod", "Prod, EU", &tricky);
    history.record(
        "prod",
        "Prod, EU",
        &alarm("db-1/disk", Severity::Critical, AlarmState::Firing, t0),
    );
    history.record(
        "lab",
        "Lab",
        &alarm("lab/x", Severity::Info, AlarmState::Firing, t0 + 2),
    );
    history.flush().unwrap();

    let filter = HistoryFilter {
        server_id: Some("prod".into()),
        limit: Some(1), // ignored by the export
        ..HistoryFilter::default()
    };
    let mut out = Vec::new();
    let written = history.export_csv(&filter, &mut out).unwrap();
    assert_eq!(written, 2);

    let mut reader = csv::Reader::from_reader(out.as_slice());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..4], ["time", "ts_ms", "received", "received_ms"]);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 2);
    let (first, second) = (&records[0], &records[1]);
    assert_eq!(&first[column("time")], "2023-11-14T22:13:20.000Z");
    assert_eq!(&first[column("ts_ms")], "1700000000000");
    assert_eq!(&first[column("state")], "firing");
    assert_eq!(&second[column("time")], "2023-11-14T22:13:20.001Z");
    assert_eq!(&second[column("state")], "acknowledged");
    assert_eq!(&second[column("server_name")], "Prod, EU");
    assert_eq!(&second[column("message")], "line one, \"quoted\"\nline two");
    assert_eq!(&second[column("by")], "bob");
    assert_eq!(&second[column("labels")], r#"{"k":"v"}"#);
    assert!(second[column("received")].ends_with('Z'));
}

#[test]
fn transitions_older_than_the_retention_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let now = now_ms();
    {
        let history = AlarmHistory::open(&path, Duration::from_secs(30 * 24 * 3600)).unwrap();
        for (id, age_days) in [("a/old", 40), ("b/month", 29), ("c/week", 5), ("d/now", 0)] {
            history.record(
                "s",
                "S",
                &alarm(
                    id,
                    Severity::Info,
                    AlarmState::Firing,
                    now - age_days * DAY_MS,
                ),
            );
        }
        history.flush().unwrap();
        // Explicit prune, at a chosen time.
        assert_eq!(history.prune(now).unwrap(), 1);
        assert_eq!(history.query(&HistoryFilter::default()).unwrap().total, 3);
        assert_eq!(history.prune(now).unwrap(), 0);
        assert_eq!(
            history.prune(now + 2 * DAY_MS).unwrap(),
            1,
            "b/month ages out"
        );
    }
    // The background pruner runs at open: a shorter retention takes effect.
    let history = AlarmHistory::open(&path, Duration::from_secs(7 * 24 * 3600)).unwrap();
    history.flush().unwrap();
    let page = history.query(&HistoryFilter::default()).unwrap();
    assert_eq!(
        ids(&page.rows).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec!["d/now", "c/week"]
    );
}

#[test]
fn a_file_that_is_not_a_history_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.sqlite3");
    let bytes = b"this is a text file, not SQLite ....................................................................".repeat(50);
    std::fs::write(&garbage, &bytes).unwrap();
    let error = AlarmHistory::open(&garbage, Duration::from_secs(60)).unwrap_err();
    assert!(
        matches!(error, HistoryError::NotHistory { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&garbage.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("not a Telltale history database: move it aside"),
        "{message}"
    );
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes, "left as it was");

    // Another application's SQLite database.
    let other = dir.path().join("other.sqlite3");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');")
        .unwrap();
    let error = AlarmHistory::open(&other, Duration::from_secs(60)).unwrap_err();
    assert!(
        matches!(error, HistoryError::NotHistory { .. }),
        "{error:?}"
    );
    let kept: String = rusqlite::Connection::open(&other)
        .unwrap()
        .query_row("SELECT body FROM notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "keep me");

    // A history from a newer Telltale.
    let newer = dir.path().join("newer.sqlite3");
    drop(open(&newer));
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = AlarmHistory::open(&newer, Duration::from_secs(60)).unwrap_err();
    assert!(
        error.to_string().contains("newer Telltale (schema 99"),
        "{error}"
    );
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let capacity = 4;
    let history = AlarmHistory::open_with(
        &path,
        HistoryOptions {
            queue_capacity: capacity,
            ..HistoryOptions::default()
        },
    )
    .unwrap();
    history.flush().unwrap();

    // Another connection holds the write lock: the writer blocks on its
    // first batch, so recording must not.
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let sent: i64 = 600;
    let t0 = now_ms();
    for i in 0..sent {
        history.record(
            "s",
            "S",
            &alarm("a/b", Severity::Info, AlarmState::Firing, t0 + i),
        );
    }
    let dropped = history.stats().dropped as i64;
    // At most one batch (500) in the writer's hands plus the queue got in.
    assert!(dropped >= sent - 500 - capacity as i64, "dropped {dropped}");
    blocker.execute_batch("COMMIT").unwrap();

    history.flush().unwrap();
    let stored = history.query(&HistoryFilter::default()).unwrap().total as i64;
    assert_eq!(
        stored + dropped,
        sent,
        "every transition is either stored or counted"
    );
    assert_eq!(history.stats().failed, 0);
}
