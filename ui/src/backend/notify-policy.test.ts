// The desktop's notification rules, ported: the cases of src-tauri/src/notifications/policy/tests.rs.
import { describe, expect, it } from 'vitest';
import { NotifyPolicy, defaultPrefs, firingNote, type KeyedEffect } from './notify-policy';
import type { Alarm, AlarmState, Severity } from './types';
import type { NotifyPrefs } from './settings';

const MIN = 60_000;

function alarm(id: string, severity: Severity, state: AlarmState): Alarm {
  return { id, source: 'web1', severity, state, title: 'Disk above 90%', message: 'disk.used_percent is 93.1', ts: 1 };
}
const firing = (id: string) => alarm(id, 'warning', 'firing');
const withState = (a: Alarm, state: AlarmState): Alarm => ({ ...a, state });
/** No flap hold, so resolves act at once unless a test wants one. */
const prefs = (over: Partial<NotifyPrefs> = {}): NotifyPrefs => ({ ...defaultPrefs(), flapHoldSecs: 0, ...over });
const kinds = (effects: KeyedEffect[]) => effects.map((e) => e.effect.kind);
const on = (p: NotifyPolicy, a: Alarm, now: number) => p.onAlarm('prod', 'Production', a, now);

describe('NotifyPolicy (the desktop rules)', () => {
  it('notifies once per firing per server', () => {
    const p = new NotifyPolicy(prefs());
    const disk = firing('web1/disk');
    const effects = on(p, disk, 0);
    expect(kinds(effects)).toEqual(['show']);
    expect(effects[0]!.key).toEqual({ server: 'prod', id: 'web1/disk' });
    expect(effects[0]!.effect).toMatchObject({ note: { body: 'disk.used_percent is 93.1\nweb1 · Production', urgency: 'normal' } });
    expect(on(p, disk, 10)).toEqual([]);
    expect(kinds(p.onAlarm('staging', 'Staging', disk, 10))).toEqual(['show']);
    expect(p.nextWake(10)).toBeNull();
  });

  it('maps severity to urgency and leaves the server out of the body when unnamed', () => {
    expect(firingNote(alarm('a', 'critical', 'firing'), 'P').urgency).toBe('critical');
    expect(firingNote(alarm('a', 'info', 'firing'), 'P').urgency).toBe('low');
    expect(firingNote({ ...alarm('a', 'info', 'firing'), message: '' }, '').body).toBe('web1');
  });

  it('closes on acknowledge and keeps the episode quiet', () => {
    const p = new NotifyPolicy(prefs({ repeatMins: 5 }));
    const disk = firing('web1/disk');
    on(p, disk, 0);
    expect(p.nextWake(0)).toBe(5 * MIN);
    expect(kinds(on(p, withState(disk, 'acknowledged'), 1))).toEqual(['close']);
    expect(p.nextWake(1)).toBeNull();
    expect(on(p, disk, 2)).toEqual([]);
    expect(on(p, withState(firing('x'), 'acknowledged'), 3)).toEqual([]);
  });

  it('says "Resolved" only about alarms the user was told about', () => {
    const p = new NotifyPolicy(prefs());
    const disk = firing('web1/disk');
    on(p, disk, 0);
    const effects = on(p, withState(disk, 'resolved'), 5);
    expect(kinds(effects)).toEqual(['close', 'show']);
    expect(effects[1]!.effect).toMatchObject({ note: { summary: 'Resolved: Disk above 90%', urgency: 'low', acknowledge: false } });
    expect(on(p, withState(firing('never/seen'), 'resolved'), 6)).toEqual([]);
    expect(kinds(on(p, disk, 7))).toEqual(['show']);
  });

  it('defers a silenced or snoozed alarm and reminds when it ends', () => {
    const p = new NotifyPolicy(prefs());
    const disk = { ...firing('web1/disk'), silenced_until: 30 * MIN };
    expect(on(p, disk, 0)).toEqual([]);
    expect(p.nextWake(0)).toBe(30 * MIN);
    expect(p.wake(30 * MIN - 1)).toEqual([]);
    expect(kinds(p.wake(30 * MIN))).toEqual(['show']);

    const snoozed = new NotifyPolicy(prefs({ snoozes: [{ server: 'prod', id: 'web1/disk', until: 20 * MIN }] }));
    expect(on(snoozed, firing('web1/disk'), 0)).toEqual([]);
    expect(kinds(snoozed.onAlarm('other', 'Other', firing('web1/disk'), 0))).toEqual(['show']);
    expect(snoozed.nextWake(1)).toBe(20 * MIN);
    expect(kinds(snoozed.wake(20 * MIN))).toEqual(['show']);
  });

  it('closes the note when someone silences the alarm, and says nothing when it resolves', () => {
    const p = new NotifyPolicy(defaultPrefs());
    const cpu = firing('web1/cpu');
    expect(kinds(on(p, cpu, 0))).toEqual(['show']);
    expect(kinds(on(p, { ...cpu, silenced_until: 100 * MIN }, 1))).toEqual(['close']);
    on(p, withState(cpu, 'resolved'), 2);
    expect(kinds(p.wake(2 + MIN))).toEqual(['close']);
  });

  it('keeps muted and minor alarms quiet for the episode', () => {
    const p = new NotifyPolicy(prefs({ mutedSources: ['prod/web1'], mutedServers: ['lab'], minSeverity: 'warning' }));
    expect(on(p, firing('web1/disk'), 0)).toEqual([]);
    expect(p.onAlarm('lab', 'Lab', firing('db/x'), 0)).toEqual([]);
    expect(on(p, { ...alarm('db1/info', 'info', 'firing'), source: 'db1' }, 0)).toEqual([]);
    expect(kinds(on(p, { ...firing('db1/disk'), source: 'db1' }, 0))).toEqual(['show']);
    p.setPrefs(prefs());
    expect(p.wake(MIN)).toEqual([]);
  });

  it('notifies a flapping alarm once and resolves it once, after the hold', () => {
    const p = new NotifyPolicy(defaultPrefs()); // 60 s hold
    const disk = firing('web1/disk');
    const resolved = withState(disk, 'resolved');
    expect(kinds(on(p, disk, 0))).toEqual(['show']);
    for (let round = 1; round <= 5; round++) {
      const t = round * 20_000;
      expect(on(p, resolved, t)).toEqual([]);
      expect(p.nextWake(t)).toBe(t + 60_000);
      expect(on(p, disk, t + 10_000)).toEqual([]);
    }
    on(p, resolved, 200_000);
    expect(p.wake(259_999)).toEqual([]);
    expect(kinds(p.wake(260_000))).toEqual(['close', 'show']);
    expect(kinds(on(p, disk, 400_000))).toEqual(['show']);
  });

  it('lets a critical alarm break do not disturb when allowed', () => {
    const p = new NotifyPolicy(prefs({ dndUntil: 60 * MIN }));
    expect(on(p, firing('web1/disk'), 0)).toEqual([]);
    expect(kinds(on(p, alarm('web1/down', 'critical', 'firing'), 0))).toEqual(['show']);
    expect(kinds(on(p, alarm('web1/down', 'critical', 'resolved'), MIN))).toEqual(['close']);
    expect(kinds(p.wake(60 * MIN))).toEqual(['show']);
    const strict = new NotifyPolicy(prefs({ dndUntil: 60 * MIN, criticalBreaksDnd: false }));
    expect(on(strict, alarm('web1/down', 'critical', 'firing'), 0)).toEqual([]);
  });

  it('repeats until acknowledged, once per late wake', () => {
    const p = new NotifyPolicy(prefs({ repeatMins: 5 }));
    const disk = firing('web1/disk');
    on(p, disk, 0);
    expect(kinds(p.wake(5 * MIN))).toEqual(['replace']);
    expect(kinds(p.wake(30 * MIN))).toEqual(['replace']);
    expect(p.nextWake(30 * MIN)).toBe(35 * MIN);
    on(p, withState(disk, 'acknowledged'), 31 * MIN);
    expect(p.nextWake(31 * MIN)).toBeNull();
  });

  it('resolves what a resync no longer lists and notifies what is new', () => {
    const p = new NotifyPolicy(prefs());
    on(p, firing('web1/disk'), 0);
    on(p, firing('web1/cpu'), 0);
    const effects = p.onActive('prod', 'Production', [firing('web1/cpu'), firing('web1/mem')], 10);
    expect(effects.map((e) => [e.key.id, e.effect.kind]).sort()).toEqual([
      ['web1/disk', 'close'],
      ['web1/disk', 'show'],
      ['web1/mem', 'show'],
    ]);
    expect(p.onActive('other', 'Other', [], 11)).toEqual([]);
  });
});
