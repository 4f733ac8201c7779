// The web backend with the real `centrifuge` SDK against a real telltale-hub: samples
// published over the HTTP API arrive as MetricBlocks, one batch per frame; a source that
// appears later is found in the catalog and backfilled; alarms arrive, are acknowledged and
// a second page sees it; a forced reconnect recovers what was missed; bad payloads are counted.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Hub, TestFrames, mintToken, sleep, waitFor } from './test-hub';
import { Recorder } from './web-recorder';
import { WebBackend, WEB_SERVER_ID, type WebBackendOptions } from './web';
import { StoredToken } from './web-token';
import { BackendError } from './command-error';
import type { Alarm } from './types';

const SECRET = 'web-hub-test-secret';
let hub: Hub;
const open: WebBackend[] = [];

beforeAll(async () => {
  hub = await Hub.start(['--token-secret', SECRET, '--allow-anonymous']);
});

afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

afterAll(async () => {
  await hub?.stop();
});

/** A backend on the test hub, anonymous unless `token` is given, with quick discovery. */
async function page(token?: string, extra: Partial<WebBackendOptions> = {}): Promise<{ backend: WebBackend; rec: Recorder }> {
  const tokens = new StoredToken(null);
  if (token) tokens.set(token);
  const frames = new TestFrames();
  const backend = new WebBackend({
    endpoint: hub.wsUrl,
    tokens,
    frame: frames.schedule,
    discoveryMs: 300,
    timeoutMs: 5000,
    reconnectDelayMs: { min: 1000, max: 2000 },
    ...extra,
  });
  open.push(backend);
  const rec = await Recorder.attach(backend, frames);
  await waitFor(() => rec.state?.state === 'live', () => `live; ${rec.describe()}`);
  return { backend, rec };
}

const sample = (ts: number, v: number) => ({ ts, values: { 'cpu.total': v, 'mem.used_percent': v / 2 } });

describe('WebBackend against a real hub', () => {
  it('delivers samples published over the API as MetricBlocks, several per frame, only inside frames', async () => {
    const { rec } = await page();
    // The source exists before the page subscribes: the catalog lists it after its first sample.
    const t0 = Date.now() - 60_000;
    await hub.publish('metrics:coalesce', sample(t0, 1));
    await waitFor(() => rec.ts('coalesce').length === 1, () => `the first sample; ${rec.describe()}`);
    // Fifty samples in one HTTP call: they reach the page within a few frames, not fifty.
    const items = Array.from({ length: 50 }, (_, i) => ({ channel: 'metrics:coalesce', data: sample(t0 + 1000 * (i + 1), i) }));
    const batchesBefore = rec.batches.length;
    await hub.publishAll(items);
    await waitFor(() => rec.ts('coalesce').length === 51, () => `51 samples, got ${rec.ts('coalesce').length}`);
    const ts = rec.ts('coalesce');
    expect(ts).toEqual(Array.from({ length: 51 }, (_, i) => t0 + 1000 * i));
    expect(rec.values('coalesce', 'cpu.total').slice(1)).toEqual(items.map((_, i) => i));
    const block = rec.batches.flatMap((b) => b.metrics ?? []).find((m) => m.source === 'coalesce')!;
    expect(block.server).toBe(WEB_SERVER_ID);
    expect(block.names.sort()).toEqual(['cpu.total', 'mem.used_percent']);
    const batches = rec.batches.length - batchesBefore;
    expect(batches).toBeLessThan(50);
    expect(batches).toBeLessThanOrEqual(rec.frames.frames);
    expect(rec.outsideFrames).toBe(0);
  });

  it('subscribes a source that appears in the catalog later and backfills its recent history', async () => {
    const { rec } = await page();
    await sleep(400); // at least one catalog poll without the source
    const t0 = Date.now() - 30_000;
    // Published before the page knows the source: only the history has them.
    for (let i = 0; i < 5; i++) await hub.publish('metrics:late', sample(t0 + i * 1000, i));
    await waitFor(() => rec.ts('late').length >= 5, () => `the backfilled history; ${rec.describe()}`);
    for (let i = 5; i < 8; i++) await hub.publish('metrics:late', sample(t0 + i * 1000, i));
    await waitFor(() => rec.ts('late').length >= 8, () => `the live samples after the history; ${rec.describe()}`);
    await sleep(200); // room for a duplicate to show up
    expect(rec.ts('late')).toEqual(Array.from({ length: 8 }, (_, i) => t0 + i * 1000));
    expect(rec.values('late', 'cpu.total')).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  // The hub refuses a bad alarm at the API (107), so only samples can be sent bad here;
  // payload.test.ts checks the alarm decoder.
  it('counts invalid samples per channel and goes on', async () => {
    const { rec } = await page();
    await hub.publish('metrics:badly', sample(Date.now(), 1));
    await waitFor(() => rec.ts('badly').length === 1, 'the good first sample');
    await hub.publish('metrics:badly', { ts: 'yesterday', values: {} });
    await hub.publish('metrics:badly', { ts: Date.now(), values: { 'cpu.total': 'high' } });
    await hub.publish('metrics:badly', sample(Date.now() + 1, 2));
    await waitFor(() => rec.ts('badly').length === 2, 'the good sample after the bad ones');
    await waitFor(() => rec.diagnostics?.invalid['metrics:badly'] === 2, () => `the bad samples counted; ${rec.describe()}`);
    expect(rec.diagnostics!.lastError).toBe('metrics:badly: values["cpu.total"]: expected a number, found a string');
    expect(rec.batches.flatMap((b) => b.metrics ?? []).filter((m) => m.source === 'badly').flatMap((m) => m.values.flat())).toEqual([1, 0.5, 2, 1]);
  });

  it('delivers an alarm, acknowledges it with a comment, and a second page sees the ack', async () => {
    const operator = await page(mintToken(SECRET, ['--user', 'ann', '--caps', 'ack,silence']));
    const viewer = await page();
    const id = `web-src/cpu-${Date.now()}`;
    const alarm: Alarm = { id, source: 'web-src', severity: 'critical', state: 'firing', title: 'CPU high', message: 'cpu.total 97%', ts: Date.now() };
    await hub.publish('alarms', alarm);
    await waitFor(() => operator.rec.alarms(id).length === 1 && viewer.rec.alarms(id).length === 1, 'the firing alarm on both pages');
    expect(operator.rec.alarms(id)[0]).toMatchObject({ ...alarm, server: WEB_SERVER_ID });
    expect((await operator.backend.alarmsActive(WEB_SERVER_ID)).find((a) => a.id === id)?.state).toBe('firing');

    const acked = await operator.backend.alarmsAck(WEB_SERVER_ID, id, 'on it');
    expect(acked).toMatchObject({ id, state: 'acknowledged', by: 'ann', comment: 'on it' });
    await waitFor(() => viewer.rec.alarms(id).some((a) => a.state === 'acknowledged'), () => `the ack on the second page; ${viewer.rec.describe()}`);
    expect(viewer.rec.alarms(id).at(-1)).toMatchObject({ state: 'acknowledged', by: 'ann', comment: 'on it' });
    expect((await viewer.backend.alarmsActive(WEB_SERVER_ID)).find((a) => a.id === id)).toMatchObject({ state: 'acknowledged', comment: 'on it' });
    // Another alarm: the hub refuses a second change of one alarm within a second (111).
    const other = { ...alarm, id: `${id}-silenced` };
    await hub.publish('alarms', other);
    await waitFor(() => operator.rec.alarms(other.id).length === 1, 'the second alarm');
    const until = Date.now() + 3_600_000;
    expect((await operator.backend.alarmsSilence(WEB_SERVER_ID, other.id, until)).silenced_until).toBe(until);
    await waitFor(() => viewer.rec.alarms(other.id).some((a) => a.silenced_until === until), 'the silence on the second page');

    // Refusals keep the shell's CommandError shape.
    const refused = await viewer.backend.alarmsAck(WEB_SERVER_ID, id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BackendError);
    expect(refused).toMatchObject({ code: 'hub', hubCode: 103 });
    expect((refused as Error).message).toMatch(/^cannot acknowledge web-src\/cpu-\d+: server error 103: /);
    await expect(operator.backend.alarmsAck(WEB_SERVER_ID, id, 'x'.repeat(501))).rejects.toMatchObject({ code: 'hub', hubCode: 107 });
    await expect(operator.backend.alarmsAck('elsewhere', id)).rejects.toMatchObject({ code: 'unknown_server' });
  });

  it('recovers what was published while a forced reconnect kept it away, and says reconnecting → live', async () => {
    const { rec } = await page(mintToken(SECRET, ['--user', 'away']));
    const t0 = Date.now() - 10_000;
    await hub.publish('metrics:away', sample(t0, 0));
    await waitFor(() => rec.ts('away').length === 1, 'the first sample');
    const id = `away/disk-${Date.now()}`;
    const statesBefore = rec.states.length;
    await hub.call('disconnect', { user: 'away', disconnect: { code: 3011, reason: 'force reconnect' } });
    await waitFor(() => rec.state?.state === 'reconnecting', () => `reconnecting; ${rec.describe()}`);
    // While it waits (at least 1 s) before reconnecting:
    for (let i = 1; i <= 3; i++) await hub.publish('metrics:away', sample(t0 + i * 1000, i));
    await hub.publish('alarms', { id, source: 'away', severity: 'warning', state: 'firing', title: 'Disk', message: '', ts: Date.now() });
    await waitFor(() => rec.state?.state === 'live', () => `live again; ${rec.describe()}`);
    await waitFor(() => rec.ts('away').length === 4 && rec.alarms(id).length === 1, () => `the missed sample and alarm; ${rec.describe()}`);
    await sleep(200);
    expect(rec.ts('away')).toEqual([0, 1, 2, 3].map((i) => t0 + i * 1000));
    const after = rec.states.slice(statesBefore).map((s) => s.state);
    expect(after[0]).toBe('reconnecting');
    expect(after.at(-1)).toBe('live');
    const countdown = rec.states.slice(statesBefore).find((s) => s.retryInSecs !== undefined);
    expect(countdown).toMatchObject({ state: 'reconnecting', reason: 'force reconnect (code 3011)' });
    expect(countdown!.retryInSecs).toBeGreaterThanOrEqual(1);
  });
});
