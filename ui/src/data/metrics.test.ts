import { describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { StreamBatch } from '../backend/types';
import { Model, UI_STREAM } from '../model';
import { groupMetrics, seriesLabel, unitOf } from './groups';
import { MetricStore } from './metrics';
import { qualify } from './servers';

const T0 = 1_700_000_000_000;
/** The model's key of a source of the mock's hub. */
const K = (source: string) => qualify('mock', source);

function clock(start = T0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function started(opts: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const c = clock();
  const mock = new MockBackend({ now: c.now, ...opts });
  const model = new Model(mock, c.now);
  await model.start();
  return { mock, model, c };
}

describe('batch decode into per-source series (through the mock backend)', () => {
  it('stores the history batch column by column, aligned with ts', async () => {
    const { mock, model } = await started({ historySecs: 60 });
    expect(model.metrics.sources()).toEqual([K('mock-host'), K('web-1')]);
    const batch = mock.sent[0]!;
    for (const block of batch.metrics!) {
      const series = model.metrics.series(K(block.source))!;
      expect(series.length).toBe(60);
      expect(series.firstTs).toBe(T0 - 60_000);
      expect(series.lastTs).toBe(T0 - 1000);
      // every value lands in the right column at the right row
      const q = series.query(T0 - 60_000, T0, block.names, 1000);
      expect(Array.from(q.x)).toEqual(block.ts);
      expect(q.ys).toEqual(block.values);
    }
    expect(model.metrics.names(K('mock-host'))).toContain('cpu.core.3');
    expect(model.metrics.names(K('web-1'))).not.toContain('cpu.core.2');
  });

  it('appends live ticks and refuses a replayed sample', async () => {
    const { mock, model, c } = await started({ historySecs: 10 });
    c.advance(1000);
    mock.tick();
    const series = model.metrics.series(K('mock-host'))!;
    expect(series.length).toBe(11);
    expect(series.lastTs).toBe(T0 + 1000);
    const replay = mock.sent[mock.sent.length - 1]!;
    model.applyBatch(replay);
    expect(series.length).toBe(11);
    expect(series.dropped).toBe(1);
  });

  it('keeps history by time: raw rows are bounded, older samples stay covered by buckets', () => {
    const store = new MetricStore({ rawSpanMs: 10_000, maxRawRows: 1024 });
    const ts = Array.from({ length: 3000 }, (_, i) => T0 + i * 1000);
    const res = store.applyBlocks([{ source: 'a', ts, names: ['x'], values: [ts.map((_, i) => i % 10)] }]);
    expect(res.accepted).toBe(3000);
    const series = store.series('a')!;
    expect(series.length).toBe(1024);
    expect(series.firstTs).toBe(T0);
    expect(store.lastSeenOf('a')).toBe(T0 + 2_999_000);
    expect(store.bytes()).toBe(series.bytes());
    store.applyBlocks([{ source: 'b', ts: [T0], names: ['x'], values: [[1]] }]);
    expect(store.bytes()).toBe(series.bytes() + store.series('b')!.bytes());
  });

  it('reads null values as gaps and tells listeners which sources changed', async () => {
    const { mock, model } = await started();
    const touched: string[][] = [];
    let structure = 0;
    model.on('metrics', (s) => touched.push([...s]));
    model.on('structure', () => structure++);
    mock.emit({ metrics: [{ server: 'mock', source: 'edge', ts: [1, 2, 3], names: ['temp.gpu_celsius', 'cpu.total'], values: [[50, null, 52], [1, 2, 3]] }] });
    expect(touched).toEqual([[qualify('mock', 'edge')]]);
    expect(structure).toBe(1);
    const s = model.metrics.series(qualify('mock', 'edge'))!.query(0, 10, ['temp.gpu_celsius'], 800);
    expect(s.ys[0]).toEqual([50, null, 52]);
  });

  it('counts malformed blocks in diagnostics and still applies the good ones', async () => {
    const { mock, model } = await started();
    const bad = {
      metrics: [
        { server: 'mock', source: 'ok', ts: [1], names: ['x'], values: [[1]] },
        { server: 'mock', source: 'short', ts: [1, 2], names: ['x'], values: [[1]] },
        { server: 'mock', ts: [1], names: ['x'], values: [[1]] },
        { source: 'no-hub', ts: [1], names: ['x'], values: [[1]] },
        'nonsense',
      ],
    } as unknown as StreamBatch;
    expect(() => mock.emit(bad)).not.toThrow();
    expect(model.metrics.series(K('ok'))!.length).toBe(1);
    expect(model.metrics.series(K('short'))).toBeUndefined();
    const d = model.diagnostics();
    expect(model.metrics.sources().some((k) => k.includes('no-hub'))).toBe(false);
    expect(d.invalid[UI_STREAM]).toBe(4);
    expect(d.lastError).toMatch(/not an object/);
  });

  it('merges the backend diagnostics snapshot with what the UI refused', async () => {
    const { mock, model } = await started();
    mock.setDiagnostics({ invalid: { 'metrics:web-1': 4 }, lastError: 'metrics:web-1: bad value', lagged: 7 });
    mock.tick();
    expect(model.diagnostics()).toEqual({ invalid: { 'metrics:web-1': 4 }, lastError: 'metrics:web-1: bad value', lagged: 7 });
  });

  it('learns sources from the catalog before any sample arrives', async () => {
    const store = new MetricStore();
    const mock = new MockBackend({ now: () => T0 });
    expect(store.applyCatalog(await mock.catalog('mock'))).toBe(true);
    expect(store.applyCatalog(await mock.catalog('mock'))).toBe(false);
    expect(store.names('mock-host')).toContain('load.15');
    expect(store.series('mock-host')).toBeUndefined();
  });
});

describe('chart grouping by prefix', () => {
  it('groups the collector names into the known charts in a fixed order', () => {
    const names = ['load.15', 'cpu.core.10', 'cpu.core.2', 'cpu.total', 'mem.used_bytes', 'mem.used_percent', 'net.tx_bytes_per_s', 'net.rx_bytes_per_s', 'disk.used_percent', 'load.1', 'load.5'];
    const groups = groupMetrics(names);
    expect(groups.map((g) => g.title)).toEqual(['CPU', 'CPU per core', 'Memory used', 'Memory', 'Network', 'Disk used', 'Load average']);
    expect(groups[1]!.names).toEqual(['cpu.core.2', 'cpu.core.10']);
    expect(groups[6]!.names).toEqual(['load.1', 'load.5', 'load.15']);
    expect(groups.flatMap((g) => g.names).sort()).toEqual([...names].sort());
  });

  it('still charts names it has never heard of, after the known ones', () => {
    const groups = groupMetrics(['zz.queue_depth', 'temp.gpu', 'temp.cpu', 'cpu.total', 'gpu.0.util_percent']);
    expect(groups.map((g) => g.key)).toEqual(['cpu|percent', 'gpu|percent', 'temp|plain', 'zz|plain']);
    expect(groups.find((g) => g.key === 'temp|plain')!.names).toEqual(['temp.cpu', 'temp.gpu']);
  });

  it('labels series and infers units from the suffix', () => {
    expect(seriesLabel('cpu.core.3')).toBe('core 3');
    expect(seriesLabel('net.rx_bytes_per_s')).toBe('rx');
    expect(seriesLabel('load.5')).toBe('5 min');
    expect(unitOf('net.rx_bytes_per_s')).toBe('bytesPerSec');
    expect(unitOf('mem.used_bytes')).toBe('bytes');
    expect(unitOf('disk.used_percent')).toBe('percent');
    expect(unitOf('cpu.core.0')).toBe('percent');
    expect(unitOf('queue.depth')).toBe('plain');
  });
});
