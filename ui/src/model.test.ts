// The model with several hubs, over a small in-memory backend (a seam test: the real shell
// is exercised by tests/e2e/servers.test.mjs).
import { describe, expect, it } from 'vitest';
import type { Alarm, Backend, Catalog, ConnectionState, StreamBatch } from './backend/types';
import { qualify } from './data/servers';
import { Model } from './model';

const T0 = 1_700_000_000_000;

function alarm(id: string, over: Partial<Alarm> = {}): Alarm {
  return { id, source: id.split('/')[0]!, severity: 'critical', state: 'firing', title: id, message: '', ts: T0, ...over };
}

/** Hubs by id: their state, active alarms and catalog; records the calls. */
class Hubs implements Backend {
  readonly kind = 'mock' as const;
  readonly calls: string[] = [];
  private onBatch: (b: StreamBatch) => void = () => {};
  private onState: (s: ConnectionState) => void = () => {};
  constructor(readonly hubs: Record<string, { name: string; active: Alarm[]; sources: string[] }>) {}
  async connectStream(cb: (b: StreamBatch) => void) {
    this.onBatch = cb;
    return () => {};
  }
  async onConnectionState(cb: (s: ConnectionState) => void) {
    this.onState = cb;
    return () => {};
  }
  async onAlarmOpen() {
    return () => {};
  }
  async connectionStates(): Promise<ConnectionState[]> {
    return Object.entries(this.hubs).map(([id, h]) => ({ state: 'live', server: h.name, serverId: id }));
  }
  async alarmsActive(server: string) {
    this.calls.push(`active ${server}`);
    return this.hubs[server]!.active;
  }
  async alarmsAck(server: string, id: string) {
    this.calls.push(`ack ${server} ${id}`);
    return alarm(id, { state: 'acknowledged', by: 'ann', ts: T0 + 1 });
  }
  async alarmsSilence(_server: string, id: string, until: number) {
    return alarm(id, { silenced_until: until, ts: T0 + 1 });
  }
  snoozed: { server: string; id: string; until: number }[] = [];
  async alarmsSnooze(server: string, id: string, until: number | null) {
    this.snoozed = this.snoozed.filter((s) => !(s.server === server && s.id === id));
    if (until !== null) this.snoozed.push({ server, id, until });
    return this.snoozed;
  }
  async snoozes() {
    return this.snoozed;
  }
  async catalog(server: string): Promise<Catalog> {
    this.calls.push(`catalog ${server}`);
    return { sources: this.hubs[server]!.sources.map((s) => ({ source: s, channel: `metrics:${s}`, metrics: ['cpu.total'], last_seen: T0 })) };
  }
  async openUrl(url: string) {
    // As the shell's capability does: http(s) only.
    if (!/^https?:\/\//.test(url)) throw new Error(`forbidden url: ${url}`);
    this.calls.push(`open ${url}`);
  }
  batch(b: StreamBatch) {
    this.onBatch(b);
  }
  state(s: ConnectionState) {
    this.onState(s);
  }
}

async function twoHubs() {
  const hubs = new Hubs({
    prod: { name: 'Production', active: [alarm('web1/cpu')], sources: ['web1'] },
    lab: { name: 'Lab', active: [alarm('web1/cpu', { severity: 'warning' })], sources: ['web1', 'pi'] },
  });
  const model = new Model(hubs, () => T0);
  await model.start();
  return { hubs, model };
}

describe('several hubs in one model', () => {
  it('keeps the same source and alarm id of two hubs apart, and labels them', async () => {
    const { model } = await twoHubs();
    expect(model.metrics.sources()).toEqual([qualify('lab', 'pi'), qualify('lab', 'web1'), qualify('prod', 'web1')]);
    expect(model.alarms.activeSorted().map((e) => [e.alarm.id, e.alarm.severity, e.alarm.server])).toEqual([
      [qualify('prod', 'web1/cpu'), 'critical', 'prod'],
      [qualify('lab', 'web1/cpu'), 'warning', 'lab'],
    ]);
    expect(model.servers.label(qualify('lab', 'web1'))).toBe('web1 · Lab');
  });

  it("opens an alarm's link through the backend, and a refused one is reported in diagnostics", async () => {
    const { hubs, model } = await twoHubs();
    expect(await model.openUrl('https://wiki.example/runbook')).toBe(true);
    expect(hubs.calls).toContain('open https://wiki.example/runbook');
    expect(await model.openUrl('javascript:alert(1)')).toBe(false);
    expect(hubs.calls.filter((c) => c.startsWith('open '))).toEqual(['open https://wiki.example/runbook']);
    expect(model.diagnostics().lastError).toMatch(/open javascript:alert\(1\): forbidden url/);
  });

  it('routes samples by hub and acks to the hub the alarm came from, by its own id', async () => {
    const { hubs, model } = await twoHubs();
    hubs.batch({ metrics: [{ server: 'lab', source: 'web1', ts: [T0], names: ['cpu.total'], values: [[7]] }] });
    expect(model.metrics.series(qualify('lab', 'web1'))?.length).toBe(1);
    expect(model.metrics.series(qualify('prod', 'web1'))).toBeUndefined();
    // A duplicate is refused and not counted as stored.
    hubs.batch({ metrics: [{ server: 'lab', source: 'web1', ts: [T0, T0 + 1000], names: ['cpu.total'], values: [[7, 8]] }] });
    expect(model.samples).toBe(2);
    expect(await model.ack(qualify('lab', 'web1/cpu'))).toBe(true);
    expect(hubs.calls).toContain('ack lab web1/cpu');
    expect(model.alarms.get(qualify('lab', 'web1/cpu'))!.alarm.state).toBe('acknowledged');
    expect(model.alarms.get(qualify('prod', 'web1/cpu'))!.alarm.state).toBe('firing');
  });

  it("replaces one hub's active set without touching the other's", async () => {
    const { hubs, model } = await twoHubs();
    hubs.batch({ activeAlarms: [{ server: 'lab', alarms: [] }] });
    expect(model.alarms.activeSorted().map((e) => e.alarm.id)).toEqual([qualify('prod', 'web1/cpu')]);
    expect(model.alarms.recent()[0]).toMatchObject({ unknown: true, alarm: { id: qualify('lab', 'web1/cpu') } });
  });

  it('names the hub that is down, and only that one', async () => {
    const { hubs, model } = await twoHubs();
    hubs.state({ state: 'reconnecting', server: 'Lab', serverId: 'lab', retryInSecs: 3 });
    expect(model.connection).toMatchObject({ state: 'reconnecting', serverId: 'lab' });
    expect(model.connections().map((s) => [s.serverId, s.state])).toEqual([
      ['prod', 'live'],
      ['lab', 'reconnecting'],
    ]);
    hubs.state({ state: 'live', server: 'Lab', serverId: 'lab' });
    expect(model.connection?.state).toBe('live');
  });

  it('snoozes an alarm for this user only: hidden until then, per hub', async () => {
    const { hubs, model } = await twoHubs();
    const lab = qualify('lab', 'web1/cpu');
    expect(await model.snooze(lab, T0 + 60_000)).toBe(true);
    expect(hubs.snoozed).toEqual([{ server: 'lab', id: 'web1/cpu', until: T0 + 60_000 }]);
    expect(model.snoozedUntil(lab, T0)).toBe(T0 + 60_000);
    expect(model.snoozedUntil(qualify('prod', 'web1/cpu'), T0)).toBeNull();
    expect(model.snoozedUntil(lab, T0 + 60_001)).toBeNull();
    expect(await model.snooze(lab, null)).toBe(true);
    expect(model.snoozedUntil(lab, T0)).toBeNull();
  });

  it('loads a hub added later and drops one switched off', async () => {
    const { hubs, model } = await twoHubs();
    hubs.hubs.edge = { name: 'Edge', active: [alarm('gw/link')], sources: ['gw'] };
    hubs.state({ state: 'connecting', server: 'Edge', serverId: 'edge' });
    await new Promise((r) => setTimeout(r, 0));
    expect(hubs.calls).toEqual(expect.arrayContaining(['active edge', 'catalog edge']));
    expect(model.metrics.sources()).toContain(qualify('edge', 'gw'));
    expect(model.alarms.get(qualify('edge', 'gw/link'))).toBeDefined();
    hubs.state({ state: 'off', server: 'Lab', serverId: 'lab' });
    expect(model.metrics.sources().some((k) => k.startsWith('lab'))).toBe(false);
    expect(model.alarms.activeSorted().some((e) => e.alarm.server === 'lab')).toBe(false);
    expect(model.connections().map((s) => s.serverId)).toEqual(['prod', 'edge']);
  });
});

describe('flapping', () => {
  it('an alarm that resolves and fires again within the hold is flapping', async () => {
    const { hubs, model } = await twoHubs();
    model.flaps.setOptions({ holdMs: 60_000 });
    const key = qualify('prod', 'web1/cpu');
    hubs.batch({ alarms: [{ ...alarm('web1/cpu', { state: 'resolved', ts: T0 + 1000 }), server: 'prod' }] });
    expect(model.flaps.flapCount(key, T0 + 2000)).toBe(0);
    hubs.batch({ alarms: [{ ...alarm('web1/cpu', { ts: T0 + 30_000 }), server: 'prod' }] });
    expect(model.flaps.flapCount(key, T0 + 31_000)).toBe(1);
    expect(model.flaps.flapCount(qualify('lab', 'web1/cpu'), T0 + 31_000)).toBe(0);
  });
});
