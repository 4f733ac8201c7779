import { describe, expect, it } from 'vitest';
import { DrawLatency, LatencyRing } from './draw-latency';

describe('LatencyRing', () => {
  it('has no percentiles before the first record', () => {
    const r = new LatencyRing(8);
    expect(r.stats().count).toBe(0);
    expect(r.stats().p99).toBeNaN();
  });

  it('gives nearest-rank percentiles of what it holds', () => {
    const r = new LatencyRing(100);
    for (let i = 1; i <= 100; i++) r.record(i);
    expect(r.stats()).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });

  it('keeps only the newest records, and counts all of them', () => {
    const r = new LatencyRing(4);
    for (const v of [1000, 1000, 1000, 1, 2, 3, 4]) r.record(v);
    const s = r.stats();
    expect(s.count).toBe(7);
    expect(s.max).toBe(4);
    expect(s.p50).toBe(2);
  });

  it('ignores a value that is not a number, and starts over on reset', () => {
    const r = new LatencyRing(4);
    r.record(NaN);
    r.record(Infinity);
    expect(r.stats().count).toBe(0);
    r.record(5);
    r.reset();
    r.record(7);
    expect(r.stats()).toEqual({ count: 1, p50: 7, p99: 7, max: 7 });
  });
});

describe('DrawLatency', () => {
  it('records the newest drawn sample always, the oldest new one only after a first draw', () => {
    const d = new DrawLatency(16);
    d.drawn(10_000, 9_990, NaN);
    expect(d.stats().newest).toMatchObject({ count: 1, max: 10 });
    expect(d.stats().firstDrawn.count).toBe(0);
    d.drawn(10_100, 10_095, 9_992);
    const s = d.stats();
    expect(s.newest).toMatchObject({ count: 2, max: 10 });
    expect(s.firstDrawn).toMatchObject({ count: 1, max: 108 });
    d.reset();
    expect(d.stats().newest.count).toBe(0);
    expect(d.stats().firstDrawn.count).toBe(0);
  });
});
