// The web backend when its hub goes away and a new one comes up on the same address (a
// restart loses the hub's memory: recovery cannot work, so the page resyncs): the states go
// reconnecting (with a countdown) → live, the samples the new hub got before the page came
// back are backfilled, and the active alarms are those of the new hub.
import { afterAll, describe, expect, it } from 'vitest';
import { Hub, TestFrames, sleep, waitFor } from './test-hub';
import { Recorder } from './web-recorder';
import { WebBackend } from './web';

let hub: Hub | null = null;
let backend: WebBackend | null = null;

afterAll(async () => {
  backend?.close();
  await hub?.stop();
});

const sample = (ts: number, v: number) => ({ ts, values: { 'cpu.total': v } });

describe('WebBackend across a hub restart', () => {
  it('resyncs samples and alarms from the new hub, reconnecting → live', async () => {
    hub = await Hub.start(['--allow-anonymous']);
    const addr = hub.addr;
    const frames = new TestFrames();
    backend = new WebBackend({ endpoint: hub.wsUrl, frame: frames.schedule, discoveryMs: 300, reconnectDelayMs: { min: 1000, max: 2000 } });
    const rec = await Recorder.attach(backend, frames);
    const t0 = Date.now() - 60_000;
    await hub.publish('metrics:restart', sample(t0, 0));
    await hub.publish('alarms', { id: 'restart/old', source: 'restart', severity: 'info', state: 'firing', title: 'Old', message: '', ts: Date.now() });
    await waitFor(() => rec.ts('restart').length === 1 && rec.alarms('restart/old').length === 1, () => `the first sample and alarm; ${rec.describe()}`);

    await hub.stop('SIGKILL');
    await waitFor(() => rec.state?.state === 'reconnecting', () => `reconnecting; ${rec.describe()}`);
    const down = rec.states.length - 1;
    hub = await Hub.start(['--allow-anonymous'], { listen: addr });
    // The new hub gets samples and an alarm before (or while) the page reconnects.
    for (let i = 1; i <= 3; i++) await hub.publish('metrics:restart', sample(t0 + i * 1000, i));
    await hub.publish('alarms', { id: 'restart/new', source: 'restart', severity: 'critical', state: 'firing', title: 'New', message: '', ts: Date.now() });

    await waitFor(() => rec.state?.state === 'live', () => `live again; ${rec.describe()}`);
    await waitFor(() => rec.ts('restart').length === 4, () => `the new hub's samples; ${rec.describe()}`);
    for (let i = 4; i <= 5; i++) await hub.publish('metrics:restart', sample(t0 + i * 1000, i));
    await waitFor(() => rec.ts('restart').length === 6, () => `live samples after the resync; ${rec.describe()}`);
    await sleep(200);
    expect(rec.ts('restart')).toEqual([0, 1, 2, 3, 4, 5].map((i) => t0 + i * 1000));

    // The complete active set of the new hub: the old alarm is gone from it, the new one is there.
    await waitFor(() => rec.activeSets().some((set) => set.some((a) => a.id === 'restart/new')) || rec.alarms('restart/new').length > 0, 'the new alarm');
    const lastSet = rec.activeSets().at(-1)!;
    expect(lastSet.map((a) => a.id)).not.toContain('restart/old');

    const phases = rec.states.slice(down).map((s) => s.state);
    expect(phases[0]).toBe('reconnecting');
    expect(phases.at(-1)).toBe('live');
    expect(rec.states.slice(down).some((s) => s.state === 'reconnecting' && typeof s.retryInSecs === 'number' && s.retryInSecs >= 1)).toBe(true);
  });
});
