import { describe, expect, it } from 'vitest';
import { fill, plan } from './decimate';

const raw = (n: number) => new Float64Array(n); // width 0: every point a raw sample

function steady(n: number, step: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => i * step);
}

function ascending(x: ArrayLike<number>): boolean {
  for (let i = 1; i < x.length; i++) if (!(x[i]! > x[i - 1]!)) return false;
  return true;
}

describe('decimation', () => {
  it('keeps a single spike among 100k flat samples', () => {
    const n = 100_000;
    const x = steady(n, 10);
    const v = new Float64Array(n).fill(5);
    v[61_234] = 900;
    v[7_000] = -3;
    const p = plan(x, raw(n), { bucketMs: (n * 10) / 800, interval: 10 });
    const y = fill(p, v, v);
    expect(p.merged).toBe(true);
    expect(y.length).toBeLessThanOrEqual(2 * 801);
    expect(Math.max(...(y as number[]))).toBe(900);
    expect(Math.min(...(y as number[]))).toBe(-3);
    expect(ascending(p.x)).toBe(true);
  });

  it('keeps the min and the max of every pixel bucket', () => {
    const n = 5000;
    const x = steady(n, 1);
    const v = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 100 + (i % 7));
    const bucketMs = 50;
    const p = plan(x, raw(n), { bucketMs, interval: 1 });
    const y = fill(p, v, v);
    for (let b = 0; b < n / bucketMs; b++) {
      const slice = Array.from(v.subarray(b * bucketMs, (b + 1) * bucketMs));
      const rows = y.filter((_, r) => Math.floor(p.x[r]! / bucketMs) === b);
      expect(rows).toEqual([Math.min(...slice), Math.max(...slice)]);
    }
  });

  it('keeps every point when not asked to merge, and reads NaN as null', () => {
    const x = steady(4, 1000);
    const v = Float64Array.from([1, NaN, 3, 4]);
    const p = plan(x, raw(4), { bucketMs: 0, interval: 1000 });
    expect(Array.from(p.x)).toEqual([0, 1000, 2000, 3000]);
    expect(fill(p, v, v)).toEqual([1, null, 3, 4]);
    expect(p.merged).toBe(false);
  });

  it('draws a bucket as its min then its max, the max before the next point', () => {
    // Two 1 s buckets, then raw samples starting inside the second bucket's span.
    const x = Float64Array.from([0, 1000, 1300, 1400]);
    const width = Float64Array.from([1000, 1000, 0, 0]);
    const lo = Float64Array.from([1, 2, 7, 8]);
    const hi = Float64Array.from([10, 20, 7, 8]);
    const p = plan(x, width, { bucketMs: 0, interval: 100 });
    expect(Array.from(p.x)).toEqual([0, 500, 1000, 1150, 1300, 1400]);
    expect(fill(p, lo, hi)).toEqual([1, 10, 2, 20, 7, 8]);
  });

  it('inserts a null row halfway into a gap of more than 2.5 intervals, and none otherwise', () => {
    const x = Float64Array.from([0, 1000, 2000, 4400, 5400, 9000]);
    const p = plan(x, raw(6), { bucketMs: 0, interval: 1000 });
    const y = fill(p, x, x);
    expect(Array.from(p.x)).toEqual([0, 1000, 2000, 4400, 5400, 7200, 9000]);
    expect(y).toEqual([0, 1000, 2000, 4400, 5400, null, 9000]);
  });

  it('does not see a gap inside a merged pixel of steady data, but splits a pixel at a real gap', () => {
    const x = Float64Array.from([...steady(100, 10), ...Array.from({ length: 100 }, (_, i) => 2000 + i * 10)]);
    const p = plan(x, raw(x.length), { bucketMs: 5000, interval: 10 });
    const y = fill(p, x, x);
    expect(y).toEqual([0, 990, null, 2000, 2990]);
  });

  it('uses the bucket width, not the raw interval, as the expected spacing of buckets', () => {
    const x = Float64Array.from([0, 4000, 8000, 12000]);
    const p = plan(x, Float64Array.from([4000, 4000, 4000, 4000]), { bucketMs: 0, interval: 10 });
    expect(fill(p, x, x).includes(null)).toBe(false);
  });
});
