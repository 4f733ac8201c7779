import { describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { Alarm } from '../backend/types';
import { Model, UI_ALARMS } from '../model';
import { SHOW_ALL, toggleSeverity } from './alarm-filter';
import { AlarmStore } from './alarms';
import { KeyMap } from './keys';
import { nameOf, qualify } from './servers';

const T0 = 1_700_000_000_000;

function alarm(id: string, severity: Alarm['severity'], ts: number, over: Partial<Alarm> = {}): Alarm {
  return { id, source: id.split('/')[0]!, severity, state: 'firing', title: id, message: '', ts, ...over };
}

async function started() {
  let t = T0;
  const mock = new MockBackend({ now: () => t });
  const model = new Model(mock, () => t);
  await model.start();
  return { mock, model, advance: (ms: number) => (t += ms) };
}

const ids = (m: Model) => m.alarms.activeSorted().map((e) => nameOf(e.alarm.id));
/** The model's key of an alarm id of the mock's hub. */
const K = (id: string) => qualify('mock', id);

describe('alarm ordering and dedup (through the mock backend)', () => {
  it('sorts critical > warning > info, then newest first', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/old-crit', 'critical', T0 - 50_000));
    mock.publishAlarm(alarm('h/info', 'info', T0));
    mock.publishAlarm(alarm('h/warn', 'warning', T0 - 10_000));
    mock.publishAlarm(alarm('h/new-crit', 'critical', T0 - 1000));
    expect(ids(model)).toEqual(['h/new-crit', 'h/old-crit', 'h/warn', 'h/info']);
    expect(model.alarms.counts()).toEqual({ critical: 2, warning: 1, info: 1 });
  });

  it('keeps one entry per id: a repeated firing updates value and ts but keeps the episode start', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0 - 30_000, { value: 91 }));
    mock.publishAlarm(alarm('h/cpu', 'critical', T0 - 20_000, { value: 94 }));
    mock.emit({ alarms: [{ ...alarm('h/cpu', 'critical', T0 - 20_000, { value: 94 }), server: 'mock' }] }); // the same transition again
    const rows = model.alarms.activeSorted();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.alarm.value).toBe(94);
    expect(rows[0]!.since).toBe(T0 - 30_000);
  });

  it('ignores a transition older than the one it has', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0, { value: 95 }));
    mock.publishAlarm(alarm('h/cpu', 'critical', T0 - 5000, { state: 'resolved' }));
    expect(ids(model)).toEqual(['h/cpu']);
    expect(model.alarms.recent()).toHaveLength(0);
  });

  it('firing → acknowledged through alarms_ack, with who acknowledged it', async () => {
    const { mock, model, advance } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0));
    advance(2000);
    const ok = await model.ack(K('h/cpu'));
    expect(ok).toBe(true);
    expect(mock.acks).toEqual(['h/cpu']);
    const e = model.alarms.get(K('h/cpu'))!;
    expect(e.alarm.state).toBe('acknowledged');
    expect(e.alarm.by).toBe('you');
    expect(e.pending).toBeUndefined();
    expect(model.alarms.activeSorted()).toHaveLength(1);
    // acknowledging again is a no-op: no second request
    expect(await model.ack(K('h/cpu'))).toBe(false);
    expect(mock.acks).toEqual(['h/cpu']);
  });

  it('shows an acknowledgement made by another client live', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/disk', 'warning', T0));
    mock.publishAlarm(alarm('h/disk', 'warning', T0 + 1000, { state: 'acknowledged', by: 'bob' }));
    expect(model.alarms.get(K('h/disk'))!.alarm.by).toBe('bob');
    // a later repeated firing of the same episode does not lose the ack
    mock.publishAlarm(alarm('h/disk', 'warning', T0 + 2000, { value: 88 }));
    const e = model.alarms.get(K('h/disk'))!;
    expect(e.alarm.state).toBe('acknowledged');
    expect(e.alarm.value).toBe(88);
    expect(e.alarm.by).toBe('bob');
  });

  it('moves a resolved alarm to the recent list, and a re-fire back (never in both)', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/load', 'warning', T0));
    mock.publishAlarm(alarm('h/load', 'warning', T0 + 1000, { state: 'resolved' }));
    expect(ids(model)).toEqual([]);
    expect(model.alarms.recent().map((e) => nameOf(e.alarm.id))).toEqual(['h/load']);
    expect(model.alarms.recent()[0]!.since).toBe(T0);
    mock.publishAlarm(alarm('h/load', 'warning', T0 + 5000));
    expect(ids(model)).toEqual(['h/load']);
    expect(model.alarms.recent()).toEqual([]);
    expect(model.alarms.get(K('h/load'))!.since).toBe(T0 + 5000); // a new episode
  });

  it('limits the recent list, newest first', () => {
    const s = new AlarmStore(3);
    for (let i = 0; i < 5; i++) s.apply(alarm(`h/r${i}`, 'info', T0 + i, { state: 'resolved' }));
    expect(s.recent().map((e) => e.alarm.id)).toEqual(['h/r4', 'h/r3', 'h/r2']);
  });

  it('resyncs from the active set the shell sends when the connection comes back', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/a', 'warning', T0));
    mock.publishAlarm(alarm('h/b', 'critical', T0));
    mock.setConnection({ state: 'reconnecting', retryInSecs: 2, reason: 'closed' });
    // while we were away: h/a resolved and h/c fired; we saw neither
    mock.changeWhileAway([alarm('h/b', 'critical', T0), alarm('h/c', 'info', T0 + 500)]);
    mock.setConnection({ state: 'live' });
    mock.resync();
    expect(ids(model)).toEqual(['h/b', 'h/c']);
    // we never saw h/a resolve: its state is unknown, not "resolved"
    expect(model.alarms.recent().map((e) => [nameOf(e.alarm.id), e.alarm.state, e.unknown])).toEqual([['h/a', 'firing', true]]);
  });

  it('replaces the active set from a batch (activeAlarms) before applying transitions', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/x', 'warning', T0));
    mock.emit({
      activeAlarms: [{ server: 'mock', alarms: [alarm('h/y', 'critical', T0 + 1)] }],
      alarms: [{ ...alarm('h/y', 'critical', T0 + 2, { state: 'acknowledged', by: 'ann' }), server: 'mock' }],
    });
    expect(ids(model)).toEqual(['h/y']);
    expect(model.alarms.get(K('h/y'))!.alarm.by).toBe('ann');
    expect(model.alarms.get(K('h/x'))!.unknown).toBe(true);
  });

  it('records a failed acknowledge on the row and lets the user retry', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0));
    mock.setConnection({ state: 'reconnecting', retryInSecs: 3 });
    expect(await model.ack(K('h/cpu'))).toBe(false);
    const e = model.alarms.get(K('h/cpu'))!;
    expect(e.failed).toEqual({ action: 'ack', error: 'not connected' });
    expect(e.pending).toBeUndefined();
    expect(e.alarm.state).toBe('firing');
    mock.setConnection({ state: 'live' });
    expect(await model.ack(K('h/cpu'))).toBe(true);
    expect(model.alarms.get(K('h/cpu'))!.failed).toBeUndefined();
  });

  it('counts malformed alarms instead of showing them', async () => {
    const { mock, model } = await started();
    mock.emit({ alarms: [{ id: 'h/bad', severity: 'loud', state: 'firing', ts: 1, server: 'mock' } as unknown as Alarm & { server: string }, { ...alarm('h/ok', 'info', T0), server: 'mock' }] });
    expect(ids(model)).toEqual(['h/ok']);
    expect(model.diagnostics().invalid[UI_ALARMS]).toBe(1);
  });
});

describe('keyboard', () => {
  it('moves the selection in display order and clamps at the ends', () => {
    const s = new AlarmStore();
    s.apply(alarm('h/i', 'info', T0));
    s.apply(alarm('h/c', 'critical', T0));
    s.apply(alarm('h/w', 'warning', T0));
    expect(s.moveSelection(1)).toBe('h/c');
    expect(s.moveSelection(1)).toBe('h/w');
    expect(s.moveSelection(1)).toBe('h/i');
    expect(s.moveSelection(1)).toBe('h/i');
    expect(s.moveSelection(-1)).toBe('h/w');
    s.apply(alarm('h/w', 'warning', T0 + 1, { state: 'resolved' }));
    expect(s.selected).toBeNull();
  });

  it('maps keys to actions, with 1 then 5 meaning 15 minutes', () => {
    const k = new KeyMap();
    expect(k.handle('j', 0)).toEqual({ type: 'select', delta: 1 });
    expect(k.handle('ArrowUp', 10)).toEqual({ type: 'select', delta: -1 });
    expect(k.handle('a', 20)).toEqual({ type: 'ack' });
    expect(k.handle('A', 21)).toEqual({ type: 'ackComment' });
    expect(k.handle('s', 22)).toEqual({ type: 'silence', ms: 3_600_000 });
    expect(k.handle('5', 30)).toEqual({ type: 'window', minutes: 5 });
    expect(k.handle('1', 1000)).toEqual({ type: 'window', minutes: 1 });
    expect(k.handle('5', 1300)).toEqual({ type: 'window', minutes: 15 });
    expect(k.handle('5', 1400)).toEqual({ type: 'window', minutes: 5 });
    expect(k.handle('1', 5000)).toEqual({ type: 'window', minutes: 1 });
    expect(k.handle('5', 6000)).toEqual({ type: 'window', minutes: 5 }); // too slow for a chord
    expect(k.handle('x', 7000)).toBeNull();
  });
});

describe('alarms the hub forgot (restart, lost history)', () => {
  it('marks an active alarm missing from an authoritative set unknown, keeping its state', () => {
    const s = new AlarmStore();
    s.apply(alarm('h/a', 'warning', T0));
    s.apply(alarm('h/b', 'critical', T0 + 10, { state: 'acknowledged', by: 'ann' }));
    s.select('h/b');
    s.replaceActive([]);
    expect(s.activeSorted()).toEqual([]);
    expect(s.recent().map((e) => [e.alarm.id, e.alarm.state, e.unknown, e.since])).toEqual([
      ['h/b', 'acknowledged', true, T0 + 10],
      ['h/a', 'firing', true, T0],
    ]);
    expect(s.selected).toBeNull();
  });

  it('lets a later real transition replace the unknown entry', () => {
    const s = new AlarmStore();
    s.apply(alarm('h/a', 'warning', T0));
    s.apply(alarm('h/b', 'warning', T0));
    s.replaceActive([]);
    s.apply(alarm('h/a', 'warning', T0 + 1000, { state: 'resolved' }));
    const a = s.get('h/a')!;
    expect([a.alarm.state, a.unknown, a.since]).toEqual(['resolved', undefined, T0]);
    s.apply(alarm('h/b', 'warning', T0 + 2000));
    expect(s.activeSorted().map((e) => e.alarm.id)).toEqual(['h/b']);
    expect(s.get('h/b')!.unknown).toBeUndefined();
    expect(s.recent().map((e) => e.alarm.id)).toEqual(['h/a']);
  });

  it('brings an unknown alarm back when the hub lists it again', () => {
    const s = new AlarmStore();
    s.apply(alarm('h/a', 'warning', T0));
    s.replaceActive([]);
    s.replaceActive([alarm('h/a', 'warning', T0)]);
    expect(s.activeSorted().map((e) => [e.alarm.id, e.unknown])).toEqual([['h/a', undefined]]);
    expect(s.recent()).toEqual([]);
  });
});

describe('silence and ack comments', () => {
  it('silences through alarms_silence and keeps the silence over repeated firings', async () => {
    const { mock, model, advance } = await started();
    // As the hub answers alarms.silence: the alarm after the change, stamped now.
    mock.alarmsSilence = async (_server: string, id: string, until: number) => ({ ...model.alarms.get(K(id))!.alarm, id, source: 'h', silenced_until: until, ts: T0 + 1000 });
    mock.publishAlarm(alarm('h/cpu', 'critical', T0));
    advance(1000);
    const until = T0 + 3_600_000;
    expect(await model.silence(K('h/cpu'), until)).toBe(true);
    expect(model.alarms.get(K('h/cpu'))!.alarm.silenced_until).toBe(until);
    mock.publishAlarm(alarm('h/cpu', 'critical', T0 + 5000, { value: 97 }));
    expect(model.alarms.get(K('h/cpu'))!.alarm).toMatchObject({ value: 97, silenced_until: until, state: 'firing' });
  });

  it('marks a silence pending while in flight and records its failure', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0));
    mock.alarmsSilence = async () => {
      throw new Error('not connected');
    };
    const req = model.silence(K('h/cpu'), T0 + 1000);
    expect(model.alarms.get(K('h/cpu'))!.pending).toBe('silence');
    expect(await model.ack(K('h/cpu'))).toBe(false); // one request at a time
    expect(await req).toBe(false);
    const e = model.alarms.get(K('h/cpu'))!;
    expect(e.pending).toBeUndefined();
    expect(e.failed).toEqual({ action: 'silence', error: 'not connected' });
    expect(e.alarm.silenced_until).toBeUndefined();
  });

  it('does not silence what is not active', async () => {
    const { mock, model } = await started();
    mock.publishAlarm(alarm('h/cpu', 'critical', T0, { state: 'resolved' }));
    expect(await model.silence(K('h/cpu'), T0 + 1000)).toBe(false);
    expect(await model.silence(K('h/none'), T0 + 1000)).toBe(false);
  });

  it('sends a trimmed ack comment, and no comment for a blank one', async () => {
    const calls: [string, string | undefined][] = [];
    const { mock, model } = await started();
    mock.alarmsAck = async (_server: string, id: string, comment?: string) => {
      calls.push([id, comment]);
      return alarm(id, 'critical', T0 + 1, { state: 'acknowledged', by: 'ann', comment });
    };
    mock.publishAlarm(alarm('h/a', 'critical', T0));
    mock.publishAlarm(alarm('h/b', 'critical', T0));
    expect(await model.ack(K('h/a'), '  rebooting ')).toBe(true);
    expect(await model.ack(K('h/b'), '   ')).toBe(true);
    expect(calls).toEqual([
      ['h/a', 'rebooting'],
      ['h/b', undefined],
    ]);
    expect(model.alarms.get(K('h/a'))!.alarm).toMatchObject({ state: 'acknowledged', by: 'ann', comment: 'rebooting' });
  });

  it('keeps who acked and their comment when the alarm fires again in the same episode', () => {
    const s = new AlarmStore();
    s.apply(alarm('h/a', 'warning', T0));
    s.apply(alarm('h/a', 'warning', T0 + 1, { state: 'acknowledged', by: 'ann', comment: 'rebooting' }));
    s.apply(alarm('h/a', 'warning', T0 + 2, { value: 3 }));
    expect(s.get('h/a')!.alarm).toMatchObject({ state: 'acknowledged', by: 'ann', comment: 'rebooting', value: 3 });
  });
});

describe('filter and selection', () => {
  it('lists and selects only what the filter lets through; counts stay whole', () => {
    const s = new AlarmStore();
    s.apply(alarm('web/c', 'critical', T0));
    s.apply(alarm('db/w', 'warning', T0));
    s.apply(alarm('web/i', 'info', T0));
    s.select('web/i');
    s.setFilter(toggleSeverity(SHOW_ALL, 'info'));
    expect(s.visibleSorted().map((e) => e.alarm.id)).toEqual(['web/c', 'db/w']);
    expect(s.selected).toBeNull(); // hidden, so the keyboard cannot ack it
    expect(s.moveSelection(-1)).toBe('db/w');
    s.setFilter({ ...SHOW_ALL, source: 'web' });
    expect(s.visibleSorted().map((e) => e.alarm.id)).toEqual(['web/c', 'web/i']);
    s.select('db/w');
    expect(s.selected).toBeNull();
    expect(s.counts()).toEqual({ critical: 1, warning: 1, info: 1 });
  });
});
