// One StreamBatch per frame from what arrived: the shell's Pending (src-tauri/src/stream.rs).
import { describe, expect, it } from 'vitest';
import { MAX_ROWS_UNSENT, PendingBatch } from './pending-batch';
import type { Alarm } from './types';

const alarm = (id: string, ts: number): Alarm => ({ id, source: 'h', severity: 'warning', state: 'firing', title: 't', message: '', ts });

describe('PendingBatch', () => {
  it('puts samples column-major per source with null where a sample lacks a name', () => {
    const p = new PendingBatch();
    p.samples('s', 'h', [{ ts: 1, values: { 'cpu.total': 10 } }]);
    p.samples('s', 'h', [{ ts: 2, values: { 'cpu.total': 20, 'load.1': 0.5 } }]);
    p.samples('s', 'g', [{ ts: 2, values: { 'cpu.total': 1 } }]);
    const batch = p.take()!;
    expect(batch.metrics).toEqual([
      { server: 's', source: 'h', ts: [1, 2], names: ['cpu.total', 'load.1'], values: [[10, 20], [null, 0.5]] },
      { server: 's', source: 'g', ts: [2], names: ['cpu.total'], values: [[1]] },
    ]);
    expect(batch.alarms).toBeUndefined();
    expect(batch.diagnostics).toBeUndefined();
    expect(p.take()).toBeNull();
  });

  it('lets an active set replace the transitions of its hub received before it', () => {
    const p = new PendingBatch();
    p.alarm('s', alarm('a', 1));
    p.alarm('t', alarm('b', 1));
    p.activeSet('s', [alarm('c', 2)]);
    p.alarm('s', alarm('d', 3));
    const batch = p.take()!;
    expect(batch.activeAlarms).toEqual([{ server: 's', alarms: [alarm('c', 2)] }]);
    expect(batch.alarms!.map((a) => [a.server, a.id])).toEqual([
      ['t', 'b'],
      ['s', 'd'],
    ]);
  });

  it('sends the cumulative diagnostics when they change', () => {
    const p = new PendingBatch();
    p.invalid('metrics:h', 'missing field `ts`');
    expect(p.take()!.diagnostics).toEqual({ invalid: { 'metrics:h': 1 }, lastError: 'metrics:h: missing field `ts`', lagged: 0 });
    p.invalid('metrics:h', 'x');
    expect(p.take()!.diagnostics!.invalid).toEqual({ 'metrics:h': 2 });
    expect(p.take()).toBeNull();
  });

  it('keeps at most MAX_ROWS_UNSENT samples per source while nothing takes them', () => {
    const p = new PendingBatch();
    for (let t = 0; t < MAX_ROWS_UNSENT + 10; t++) p.samples('s', 'h', [{ ts: t, values: { x: t } }]);
    p.trimUnsent();
    const block = p.take()!.metrics![0]!;
    expect(block.ts.length).toBe(MAX_ROWS_UNSENT);
    expect([block.ts[0], block.values[0]![0]]).toEqual([10, 10]);
  });
});
