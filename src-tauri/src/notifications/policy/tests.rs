use telltale_protocol::{Alarm, AlarmState, Severity};

use super::{AlarmKey, Effect, Policy};
use crate::notifications::note::NoteUrgency;
use crate::settings::{NotifyPrefs, Snooze};

const MIN: i64 = 60_000;

fn alarm(id: &str, severity: Severity, state: AlarmState) -> Alarm {
    Alarm {
        id: id.into(),
        source: "web1".into(),
        severity,
        state,
        title: "Disk above 90%".into(),
        message: "disk.used_percent is 93.1".into(),
        ts: 1,
        value: None,
        labels: Default::default(),
        by: None,
        silenced_until: None,
        comment: None,
        links: Default::default(),
    }
}

fn firing(id: &str) -> Alarm {
    alarm(id, Severity::Warning, AlarmState::Firing)
}

fn with_state(alarm: &Alarm, state: AlarmState) -> Alarm {
    Alarm {
        state,
        ..alarm.clone()
    }
}

/// Prefs with no flap hold, so resolves act at once unless a test wants one.
fn prefs() -> NotifyPrefs {
    NotifyPrefs {
        flap_hold_secs: 0,
        ..NotifyPrefs::default()
    }
}

fn kinds(effects: &[(AlarmKey, Effect)]) -> Vec<&'static str> {
    effects
        .iter()
        .map(|(_, e)| match e {
            Effect::Show(_) => "show",
            Effect::Replace(_) => "replace",
            Effect::Close => "close",
        })
        .collect()
}

fn on(policy: &mut Policy, alarm: &Alarm, now: i64) -> Vec<(AlarmKey, Effect)> {
    policy.on_alarm("prod", "Production", alarm, now)
}

#[test]
fn one_note_per_firing_per_server() {
    let mut policy = Policy::new(prefs());
    let disk = firing("web1/disk");
    let effects = on(&mut policy, &disk, 0);
    assert_eq!(kinds(&effects), ["show"]);
    let (key, Effect::Show(note)) = &effects[0] else {
        unreachable!()
    };
    assert_eq!(
        key,
        &AlarmKey {
            server: "prod".into(),
            id: "web1/disk".into()
        }
    );
    assert_eq!(note.body, "disk.used_percent is 93.1\nweb1 · Production");
    assert!(on(&mut policy, &disk, 10).is_empty(), "same firing again");
    assert_eq!(
        kinds(&policy.on_alarm("staging", "Staging", &disk, 10)),
        ["show"],
        "the same alarm id on another server is another alarm"
    );
    assert_eq!(kinds(&on(&mut policy, &firing("web1/cpu"), 10)), ["show"]);
    assert_eq!(policy.next_wake(10), None, "no repeats configured");
}

#[test]
fn acknowledge_closes_and_keeps_the_episode_quiet() {
    let mut policy = Policy::new(NotifyPrefs {
        repeat_mins: Some(5),
        ..prefs()
    });
    let disk = firing("web1/disk");
    on(&mut policy, &disk, 0);
    assert_eq!(policy.next_wake(0), Some(5 * MIN));
    let acked = with_state(&disk, AlarmState::Acknowledged);
    assert_eq!(kinds(&on(&mut policy, &acked, 1)), ["close"]);
    assert_eq!(policy.next_wake(1), None, "no repeat after an ack");
    assert!(on(&mut policy, &disk, 2).is_empty(), "someone is on it");
    assert!(
        on(
            &mut policy,
            &with_state(&firing("x"), AlarmState::Acknowledged),
            3
        )
        .is_empty(),
        "nothing on screen to close"
    );
}

#[test]
fn resolved_note_only_for_alarms_the_user_was_told_about() {
    let mut policy = Policy::new(prefs());
    let disk = firing("web1/disk");
    on(&mut policy, &disk, 0);
    let effects = on(&mut policy, &with_state(&disk, AlarmState::Resolved), 5);
    assert_eq!(kinds(&effects), ["close", "show"]);
    let Effect::Show(note) = &effects[1].1 else {
        unreachable!()
    };
    assert_eq!(note.summary, "Resolved: Disk above 90%");
    assert_eq!(note.urgency, NoteUrgency::Low);
    assert!(!note.acknowledge);
    assert!(on(
        &mut policy,
        &with_state(&firing("never/seen"), AlarmState::Resolved),
        6
    )
    .is_empty());
    assert_eq!(policy.next_wake(6), None);
    assert_eq!(kinds(&on(&mut policy, &disk, 7)), ["show"], "fires anew");
}

#[test]
fn silenced_alarm_sends_nothing_even_when_it_resolves() {
    let mut policy = Policy::new(NotifyPrefs::default());
    let mut disk = firing("web1/disk");
    disk.silenced_until = Some(100 * MIN);
    assert!(on(&mut policy, &disk, 0).is_empty());
    let mut resolved = with_state(&disk, AlarmState::Resolved);
    resolved.silenced_until = None;
    assert!(on(&mut policy, &resolved, MIN).is_empty());
    assert!(policy.wake(10 * MIN).is_empty());
    assert_eq!(policy.next_wake(10 * MIN), None, "forgotten");

    // Told first, silenced later: the note closes, no "Resolved" note.
    let cpu = firing("web1/cpu");
    assert_eq!(kinds(&on(&mut policy, &cpu, 0)), ["show"]);
    let mut silenced = cpu.clone();
    silenced.silenced_until = Some(100 * MIN);
    assert_eq!(
        kinds(&on(&mut policy, &silenced, 1)),
        ["close"],
        "silencing takes the note down"
    );
    assert!(on(&mut policy, &silenced, 1).is_empty(), "once");
    let resolved = with_state(&cpu, AlarmState::Resolved);
    on(&mut policy, &resolved, 2);
    assert_eq!(kinds(&policy.wake(2 + MIN)), ["close"]);
}

#[test]
fn silence_ending_while_firing_notifies_then() {
    let mut policy = Policy::new(prefs());
    let mut disk = firing("web1/disk");
    disk.silenced_until = Some(30 * MIN);
    assert!(on(&mut policy, &disk, 0).is_empty());
    assert_eq!(policy.next_wake(0), Some(30 * MIN));
    assert!(policy.wake(30 * MIN - 1).is_empty());
    assert_eq!(kinds(&policy.wake(30 * MIN)), ["show"]);
    assert_eq!(policy.next_wake(30 * MIN), None);
}

#[test]
fn snoozed_alarm_reminds_when_the_snooze_ends() {
    let snoozed = NotifyPrefs {
        snoozes: vec![Snooze {
            server: "prod".into(),
            id: "web1/disk".into(),
            until: 20 * MIN,
        }],
        ..prefs()
    };
    let mut policy = Policy::new(snoozed);
    let disk = firing("web1/disk");
    assert!(on(&mut policy, &disk, 0).is_empty());
    assert_eq!(
        kinds(&policy.on_alarm("other", "Other", &disk, 0)),
        ["show"],
        "a snooze is per server"
    );
    assert_eq!(policy.next_wake(1), Some(20 * MIN));
    assert_eq!(kinds(&policy.wake(20 * MIN)), ["show"]);

    // Acknowledged during the snooze: nothing to remind.
    let mut policy = Policy::new(policy.prefs.clone());
    on(&mut policy, &disk, 0);
    on(&mut policy, &with_state(&disk, AlarmState::Acknowledged), 1);
    assert_eq!(policy.next_wake(1), None);
    assert!(policy.wake(20 * MIN).is_empty());
}

#[test]
fn muted_and_minor_alarms_stay_quiet_for_the_episode() {
    let mut policy = Policy::new(NotifyPrefs {
        muted_sources: vec!["prod/web1".into()],
        muted_servers: vec!["lab".into()],
        min_severity: Severity::Warning,
        ..prefs()
    });
    let disk = firing("web1/disk");
    assert!(on(&mut policy, &disk, 0).is_empty(), "muted source");
    assert!(
        policy.on_alarm("lab", "Lab", &firing("db/x"), 0).is_empty(),
        "muted server"
    );
    let info = Alarm {
        source: "db1".into(),
        ..alarm("db1/info", Severity::Info, AlarmState::Firing)
    };
    assert!(on(&mut policy, &info, 0).is_empty(), "below min severity");
    let db = Alarm {
        source: "db1".into(),
        ..firing("db1/disk")
    };
    assert_eq!(kinds(&on(&mut policy, &db, 0)), ["show"], "not muted");
    assert_eq!(policy.next_wake(0), None);
    policy.set_prefs(prefs());
    assert!(policy.wake(MIN).is_empty(), "unmuting replays nothing");
    assert!(on(&mut policy, &with_state(&disk, AlarmState::Resolved), MIN).is_empty());
}

#[test]
fn flapping_alarm_notifies_once_and_resolves_once() {
    let mut policy = Policy::new(NotifyPrefs::default()); // 60 s hold
    let disk = firing("web1/disk");
    let resolved = with_state(&disk, AlarmState::Resolved);
    assert_eq!(kinds(&on(&mut policy, &disk, 0)), ["show"]);
    for round in 1..=5 {
        let t = round * 20_000;
        assert!(on(&mut policy, &resolved, t).is_empty(), "resolve held");
        assert_eq!(policy.next_wake(t), Some(t + 60_000));
        assert!(on(&mut policy, &disk, t + 10_000).is_empty(), "flap");
    }
    assert_eq!(policy.next_wake(200_000), None, "no repeat, nothing held");
    on(&mut policy, &resolved, 200_000);
    assert!(policy.wake(259_999).is_empty());
    assert_eq!(kinds(&policy.wake(260_000)), ["close", "show"]);
    assert_eq!(policy.next_wake(260_000), None);
    assert_eq!(
        kinds(&on(&mut policy, &disk, 400_000)),
        ["show"],
        "a later firing is news"
    );

    // The hold passed but no wake ran yet: the new firing is news too.
    on(&mut policy, &resolved, 500_000);
    assert_eq!(kinds(&on(&mut policy, &disk, 600_000)), ["show"]);
}

#[test]
fn do_not_disturb_defers_all_but_critical_when_allowed() {
    let dnd = NotifyPrefs {
        dnd_until: Some(60 * MIN),
        critical_breaks_dnd: true,
        ..prefs()
    };
    let mut policy = Policy::new(dnd.clone());
    let warning = firing("web1/disk");
    let critical = alarm("web1/down", Severity::Critical, AlarmState::Firing);
    assert!(on(&mut policy, &warning, 0).is_empty());
    assert_eq!(
        kinds(&on(&mut policy, &critical, 0)),
        ["show"],
        "breaks through"
    );
    assert_eq!(policy.next_wake(0), Some(60 * MIN));
    // The critical one resolves during do not disturb: it closes, but good
    // news waits for no one.
    let effects = on(
        &mut policy,
        &with_state(&critical, AlarmState::Resolved),
        MIN,
    );
    assert_eq!(kinds(&effects), ["close"]);
    assert_eq!(
        kinds(&policy.wake(60 * MIN)),
        ["show"],
        "still firing at the end"
    );

    let mut strict = Policy::new(NotifyPrefs {
        critical_breaks_dnd: false,
        ..dnd
    });
    assert!(on(&mut strict, &critical, 0).is_empty());
    let resolved = with_state(&critical, AlarmState::Resolved);
    assert!(on(&mut strict, &resolved, MIN).is_empty());
    assert!(
        strict.wake(60 * MIN).is_empty(),
        "resolved meanwhile: nothing to say"
    );
}

#[test]
fn repeats_until_acknowledged() {
    let mut policy = Policy::new(NotifyPrefs {
        repeat_mins: Some(5),
        ..prefs()
    });
    let disk = firing("web1/disk");
    on(&mut policy, &disk, 0);
    assert!(policy.wake(5 * MIN - 1).is_empty());
    assert_eq!(kinds(&policy.wake(5 * MIN)), ["replace"]);
    assert_eq!(policy.next_wake(5 * MIN), Some(10 * MIN));
    // A late timer repeats once, not once per missed period.
    assert_eq!(kinds(&policy.wake(30 * MIN)), ["replace"]);
    assert_eq!(policy.next_wake(30 * MIN), Some(35 * MIN));
    on(
        &mut policy,
        &with_state(&disk, AlarmState::Acknowledged),
        31 * MIN,
    );
    assert_eq!(policy.next_wake(31 * MIN), None);
}

#[test]
fn resync_resolves_what_is_gone_and_notifies_what_is_new() {
    let mut policy = Policy::new(prefs());
    let disk = firing("web1/disk");
    let cpu = firing("web1/cpu");
    on(&mut policy, &disk, 0);
    on(&mut policy, &cpu, 0);
    let mem = firing("web1/mem");
    let effects = policy.on_active("prod", "Production", &[cpu.clone(), mem], 10);
    let mut summary: Vec<(String, &str)> = effects
        .iter()
        .zip(kinds(&effects))
        .map(|((key, _), kind)| (key.id.clone(), kind))
        .collect();
    summary.sort();
    assert_eq!(
        summary,
        [
            ("web1/disk".into(), "close"),
            ("web1/disk".into(), "show"),
            ("web1/mem".into(), "show"),
        ]
    );
    assert!(
        policy.on_active("other", "Other", &[], 11).is_empty(),
        "another server's resync leaves these alone"
    );
}

#[test]
fn sound_comes_from_the_preferences() {
    let mut prefs = prefs();
    prefs.sounds.warning = "dialog-information".into();
    let mut policy = Policy::new(prefs);
    let effects = on(&mut policy, &firing("web1/disk"), 0);
    let Effect::Show(note) = &effects[0].1 else {
        unreachable!()
    };
    assert_eq!(note.sound.as_deref(), Some("dialog-information"));
}

#[test]
fn a_removed_server_closes_its_notes_and_says_nothing_more() {
    let mut policy = Policy::new(NotifyPrefs {
        repeat_mins: Some(5),
        ..prefs()
    });
    on(&mut policy, &firing("web1/disk"), 0);
    let mut silenced = firing("web1/cpu");
    silenced.silenced_until = Some(60 * MIN);
    on(&mut policy, &silenced, 0);
    policy.on_alarm("other", "Other", &firing("web1/disk"), 0);
    let effects = policy.forget_server("prod");
    assert_eq!(kinds(&effects), ["close"], "only the note on screen");
    assert_eq!(effects[0].0.id, "web1/disk");
    assert_eq!(
        policy.next_wake(0),
        Some(5 * MIN),
        "the other server's repeat"
    );
    assert!(policy
        .wake(60 * MIN)
        .iter()
        .all(|(key, _)| key.server == "other"));
}
