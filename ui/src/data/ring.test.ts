import { describe, expect, it } from 'vitest';
import { SeriesRing } from './ring';

function filled(capacity: number, n: number): SeriesRing {
  const r = new SeriesRing(capacity);
  for (let i = 1; i <= n; i++) r.push(i * 1000, { a: i, b: -i });
  return r;
}

describe('SeriesRing', () => {
  it('stores samples in order until full', () => {
    const r = filled(4, 3);
    expect(r.length).toBe(3);
    expect([0, 1, 2].map((i) => r.tsAt(i))).toEqual([1000, 2000, 3000]);
    expect(r.valueAt('b', 2)).toBe(-3);
    expect(r.names()).toEqual(['a', 'b']);
  });

  it('overwrites the oldest sample on wraparound', () => {
    const r = filled(4, 10);
    expect(r.length).toBe(4);
    expect(r.firstTs).toBe(7000);
    expect(r.lastTs).toBe(10000);
    expect([0, 1, 2, 3].map((i) => r.valueAt('a', i))).toEqual([7, 8, 9, 10]);
    expect(r.tsAt(4)).toBeNaN();
    expect(r.tsAt(-1)).toBeNaN();
  });

  it('refuses samples that are not after the newest one (duplicates after a recovery)', () => {
    const r = filled(8, 3);
    expect(r.push(3000, { a: 99 })).toBe(false);
    expect(r.push(2500, { a: 99 })).toBe(false);
    expect(r.push(NaN, { a: 99 })).toBe(false);
    expect(r.dropped).toBe(3);
    expect(r.length).toBe(3);
    expect(r.latest('a')).toBe(3);
  });

  it('clears every column of a reused slot, so a missing value reads as a gap', () => {
    const r = new SeriesRing(2);
    r.push(1, { a: 1, b: 1 });
    r.push(2, { a: 2, b: 2 });
    r.push(3, { a: 3 }); // reuses slot of ts=1; b must not leak the old 1
    expect(r.valueAt('b', 1)).toBeNaN();
    expect(r.slice(0, 10, ['a', 'b']).ys).toEqual([
      [2, 3],
      [2, null],
    ]);
  });

  it('gives a name that appears later a NaN-filled past', () => {
    const r = filled(5, 3);
    r.push(4000, { a: 4, c: 40 });
    const s = r.slice(0, 5000, ['c', 'missing']);
    expect(s.ys[0]).toEqual([null, null, null, 40]);
    expect(s.ys[1]).toEqual([null, null, null, null]);
  });

  it('slices a window with inclusive bounds, also across the physical wrap', () => {
    const r = filled(6, 9); // holds ts 4000..9000, physically wrapped
    const s = r.slice(5000, 8000, ['a']);
    expect(Array.from(s.x)).toEqual([5000, 6000, 7000, 8000]);
    expect(s.ys[0]).toEqual([5, 6, 7, 8]);
    const between = r.slice(5500, 7500, ['a']);
    expect(Array.from(between.x)).toEqual([6000, 7000]);
    expect(r.slice(0, 3999, ['a']).x.length).toBe(0);
    expect(r.slice(9001, 20000, ['a']).x.length).toBe(0);
    expect(Array.from(r.slice(-Infinity, Infinity, ['a']).x)).toEqual([4000, 5000, 6000, 7000, 8000, 9000]);
  });

  it('finds the lower bound by binary search', () => {
    const r = filled(16, 10);
    expect(r.lowerBound(0)).toBe(0);
    expect(r.lowerBound(1000)).toBe(0);
    expect(r.lowerBound(1001)).toBe(1);
    expect(r.lowerBound(10000)).toBe(9);
    expect(r.lowerBound(10001)).toBe(10);
  });

  it('uses typed arrays and rejects a silly capacity', () => {
    expect(() => new SeriesRing(1)).toThrow(RangeError);
    expect(filled(4, 2).slice(0, 1e9, []).x).toBeInstanceOf(Float64Array);
  });
});
