import { describe, expect, it } from 'vitest';
import { MAX_RAW_ROWS, SourceSeries } from './series';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const PIXELS = 800;

/** Feed `seconds` of samples at `rate` Hz from `start` through beginRow/set (the store's fast path). */
function feed(s: SourceSeries, start: number, rate: number, seconds: number, names: readonly string[], value: (i: number, k: number) => number = () => 1): number {
  const step = 1000 / rate;
  const n = Math.round(seconds * rate);
  for (let i = 0; i < n; i++) {
    const slot = s.beginRow(start + i * step);
    for (let k = 0; k < names.length; k++) s.set(slot, names[k]!, value(i, k));
  }
  return start + n * step;
}

const nulls = (ys: (number | null)[]) => ys.filter((v) => v === null).length;

describe('SourceSeries: samples', () => {
  it('appends, refuses samples not after the newest, and reads missing values as null', () => {
    const s = new SourceSeries();
    expect(s.lastTs).toBeNaN();
    expect(s.firstTs).toBeNaN();
    expect(s.push(1000, { a: 1, b: 10 })).toBe(true);
    expect(s.push(2000, { a: 2 })).toBe(true);
    expect(s.push(3000, { a: 3, c: 30 })).toBe(true);
    expect(s.push(3000, { a: 99 })).toBe(false);
    expect(s.push(2500, { a: 99 })).toBe(false);
    expect(s.push(NaN, { a: 99 })).toBe(false);
    expect(s.beginRow(1)).toBe(-1);
    expect(s.dropped).toBe(4);
    expect(s.length).toBe(3);
    expect([s.firstTs, s.lastTs]).toEqual([1000, 3000]);
    expect(s.names()).toEqual(['a', 'b', 'c']);
    expect([s.has('c'), s.has('zz')]).toEqual([true, false]);
    const q = s.query(0, 5000, ['a', 'b', 'c', 'zz'], PIXELS);
    expect(Array.from(q.x)).toEqual([1000, 2000, 3000]);
    expect(q.ys).toEqual([
      [1, 2, 3],
      [10, null, null],
      [null, null, 30],
      [null, null, null],
    ]);
    expect(q.decimated).toBe(false);
    expect(Array.from(s.query(1500, 2500, ['a'], PIXELS).x)).toEqual([2000]);
  });

  it('latest() returns the newest non-missing value with its ts', () => {
    const s = new SourceSeries();
    expect(s.latest('a')).toBeNull();
    s.push(1000, { a: 1, b: 10 });
    s.push(2000, { a: 2 });
    s.push(3000, { a: NaN, c: 5 });
    expect(s.latest('a')).toEqual({ value: 2, ts: 2000 });
    expect(s.latest('b')).toEqual({ value: 10, ts: 1000 });
    expect(s.latest('c')).toEqual({ value: 5, ts: 3000 });
    expect(s.latest('zz')).toBeNull();
  });

  it('newestAtOrBefore() and firstAfter() find raw samples around a time, also once the ring wrapped', () => {
    const s = new SourceSeries({ rawSpanMs: 1, maxRawRows: 1024 });
    expect(s.newestAtOrBefore(T0)).toBeNaN();
    expect(s.firstAfter(T0)).toBeNaN();
    feed(s, T0, 1, 1500, ['a']); // one a second: 1500 rows through a ring of 1024
    const first = T0 + 476_000;
    const last = T0 + 1_499_000;
    expect([s.length, s.lastTs]).toEqual([1024, last]);
    expect(s.newestAtOrBefore(last + 5)).toBe(last);
    expect(s.newestAtOrBefore(T0 + 1_000_500)).toBe(T0 + 1_000_000);
    expect(s.newestAtOrBefore(first - 1)).toBeNaN();
    expect(s.firstAfter(T0)).toBe(first);
    expect(s.firstAfter(T0 + 1_000_000)).toBe(T0 + 1_001_000);
    expect(s.firstAfter(T0 + 1_000_001)).toBe(T0 + 1_001_000);
    expect(s.firstAfter(last)).toBeNaN();
  });

  it('interval() is the median of recent deltas, robust to one late sample', () => {
    const s = new SourceSeries();
    expect(s.interval()).toBeNaN();
    s.push(0, { a: 1 });
    expect(s.interval()).toBeNaN();
    let t = 0;
    for (let i = 0; i < 40; i++) s.push((t += i === 20 ? 9000 : 250), { a: 1 });
    expect(s.interval()).toBe(250);
  });

  it('grows the raw ring while it holds less than rawSpanMs, then folds old rows into buckets', () => {
    const s = new SourceSeries({ rawSpanMs: 20_000 });
    feed(s, T0, 100, 30, ['a']); // 3000 rows: 20 s is 2000 rows, so 1024 → 2048 and no further
    expect(s.length).toBe(2048);
    expect(s.firstTs).toBe(T0); // the folded rows are still covered, by 1 s buckets
    const capped = new SourceSeries({ rawSpanMs: 10 * MIN, maxRawRows: 4096 });
    feed(capped, T0, 100, 60, ['a']);
    expect(capped.length).toBe(4096);
  });
});

describe('SourceSeries: windows', () => {
  // Every window is full whatever the rate: the first drawn x is within one bucket width
  // (4 s at most, tier 2) of `from`, and within one interval when raw data covers it.
  for (const rate of [1, 10, 100]) {
    it(`fills 1, 5, 15 and 60 minute windows at ${rate} Hz`, () => {
      const s = new SourceSeries();
      const end = feed(s, T0, rate, 62 * 60, ['a', 'b'], (i, k) => (i % 50) + k);
      const to = end - 1000 / rate;
      for (const minutes of [1, 5, 15, 60]) {
        const from = to - minutes * MIN;
        const q = s.query(from, to, ['a', 'b'], PIXELS);
        const tol = minutes === 1 ? 1000 / rate : 4000;
        expect(Math.abs(q.x[0]! - from), `${minutes} min`).toBeLessThanOrEqual(tol);
        expect(q.x[q.x.length - 1]).toBe(to);
        expect(nulls(q.ys[0]!), `${minutes} min has no gap`).toBe(0);
        expect(q.x.length).toBeLessThanOrEqual(4 * PIXELS + 2);
      }
    });
  }

  it('inserts a null row when samples stop for more than 2.5 intervals', () => {
    const s = new SourceSeries();
    let t = feed(s, T0, 10, 30, ['a']);
    t = feed(s, t + 250, 10, 30, ['a']); // 350 ms between samples: 3.5 intervals
    feed(s, t + 100, 10, 30, ['a']); // 200 ms: 2 intervals, not a gap
    const q = s.query(T0, T0 + 2 * MIN, ['a'], PIXELS);
    expect(q.decimated).toBe(false);
    expect(nulls(q.ys[0]!)).toBe(1);
    const gap = q.ys[0]!.indexOf(null);
    expect(q.x[gap]).toBeCloseTo(T0 + 29_900 + 175);
  });

  it('breaks the line across a long outage even after it aged into buckets, and nowhere else', () => {
    const s = new SourceSeries();
    let t = feed(s, T0, 1, 20 * 60, ['a']);
    t = feed(s, t + 5 * MIN, 1, 40 * 60, ['a']);
    const q = s.query(t - 65 * MIN, t, ['a'], PIXELS);
    expect(q.decimated).toBe(true);
    expect(nulls(q.ys[0]!)).toBe(1);
    const gap = q.x[q.ys[0]!.indexOf(null)]!;
    expect(gap).toBeGreaterThan(T0 + 20 * MIN - 4000);
    expect(gap).toBeLessThan(T0 + 25 * MIN);
  });

  it('keeps a one-sample spike and dip visible in every window, also after they aged into buckets', () => {
    const s = new SourceSeries();
    const spikeAt = 30_037; // sample index: 5 min into 100 Hz data, not at a bucket start
    const dipAt = spikeAt + 500;
    const end = feed(s, T0, 100, 20 * 60, ['a'], (i) => (i === spikeAt ? 1e6 : i === dipAt ? -1e6 : 1));
    const to = end - 10;
    for (const minutes of [5, 15, 60]) {
      const q = s.query(to - minutes * MIN, to, ['a'], PIXELS);
      const inWindow = T0 + spikeAt * 10 >= to - minutes * MIN;
      const ys = q.ys[0]!.filter((v): v is number => v !== null);
      expect(Math.max(...ys), `${minutes} min`).toBe(inWindow ? 1e6 : 1);
      expect(Math.min(...ys), `${minutes} min`).toBe(inWindow ? -1e6 : 1);
    }
  });

  it('stays within 32 MiB and maxRawRows for 200 series at 100 Hz over 16 minutes', () => {
    const names = Array.from({ length: 200 }, (_, k) => `proc.${k}.cpu_percent`);
    const s = new SourceSeries();
    const end = feed(s, T0, 100, 16 * 60, names, (i, k) => (i + k) % 100);
    const bytes = s.bytes();
    expect(bytes).toBeLessThan(32 * 2 ** 20);
    expect(s.length).toBeLessThanOrEqual(MAX_RAW_ROWS);
    const q = s.query(end - 15 * MIN, end, names, PIXELS);
    expect(q.x[0]! - (end - 15 * MIN)).toBeLessThanOrEqual(1000);
    expect(q.x.length).toBeLessThanOrEqual(4 * PIXELS + 2);
  }, 20_000); // ~1.5 s alone; the margin is for a loaded CI machine

  it('stays within 128 MiB for 500 sources of 10 series at 1 Hz with the hour full', () => {
    // Sources share nothing, so one source's footprint × 500 is the fleet's.
    const s = new SourceSeries();
    feed(s, T0, 1, 65 * 60, Array.from({ length: 10 }, (_, k) => `m.${k}`), (i, k) => i + k);
    expect(500 * s.bytes()).toBeLessThan(128 * 2 ** 20);
    expect(s.firstTs).toBe(T0);
  });

  it('lets a slow source pay only for its raw ring', () => {
    const s = new SourceSeries();
    feed(s, T0, 1, 10 * 60, Array.from({ length: 10 }, (_, k) => `m${k}`));
    expect(s.bytes()).toBeLessThan(11 * 1024 * 8 + 10 * 64 + 1);
  });
});
