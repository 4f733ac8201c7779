import { describe, expect, it } from 'vitest';
import { SourceSeries } from './series';
import type { Slice } from './series';
import { WindowRows } from './window-rows';
import { prng as random } from './prng';

const T0 = 1_700_000_000_000;

/** Plain arrays, so that toEqual compares the rows and not the buffers behind them. */
const plain = (s: Slice) => ({ x: Array.from(s.x), ys: s.ys.map((y) => Array.from(y)), decimated: s.decimated });

interface Step {
  /** Samples appended before the redraw. */
  samples: number;
  window: number;
  pixels: number;
}

/**
 * Appends samples at `rate` Hz (with jitter, gaps, missing values and a new name on the way),
 * redraws after each step, and checks every redraw against a from-scratch query().
 */
function check(seed: number, rate: number, steps: Step[], opts: ConstructorParameters<typeof SourceSeries>[0] = {}): WindowRows {
  const rnd = random(seed);
  const s = new SourceSeries(opts);
  const rows = new WindowRows();
  const names = ['a', 'b', 'late', 'never'];
  let t = T0;
  let i = 0;
  for (const step of steps) {
    for (let j = 0; j < step.samples; j++, i++) {
      const r = rnd();
      // Mostly steady, a few jittered samples, now and then a gap of 3 to 30 intervals.
      t += (1000 / rate) * (r < 0.01 ? 3 + rnd() * 27 : r < 0.1 ? 0.5 + rnd() : 1);
      const slot = s.beginRow(Math.round(t * 4) / 4);
      if (slot < 0) continue;
      if (rnd() > 0.02) s.set(slot, 'a', Math.sin(i / 50) * 100 + (rnd() < 0.001 ? 1e4 : 0));
      if (rnd() > 0.3) s.set(slot, 'b', rnd() * 10 - 5);
      if (i > 2000) s.set(slot, 'late', i % 97);
    }
    const to = s.lastTs;
    const from = to - step.window;
    const got = plain(rows.update(s, from, to, names, step.pixels));
    const want = plain(s.query(from, to, names, step.pixels));
    expect(got, `step at sample ${i}, window ${step.window} ms, ${step.pixels} px`).toEqual(want);
  }
  return rows;
}

/** `count` redraws of `samples` new samples each on the same window and width. */
const steady = (count: number, samples: number, window: number, pixels: number): Step[] => Array.from({ length: count }, () => ({ samples, window, pixels }));

describe('WindowRows: the rows of query(), decimating only what is new', () => {
  it('matches query() while the window fills and slides, with gaps, jitter and missing values', () => {
    const rows = check(1, 500, [...steady(30, 40, 10_000, 300), ...steady(200, 17, 10_000, 300)]);
    // Kept runs were used: one plan from scratch when decimation started, not one per redraw.
    expect(rows.rebuilds).toBeLessThan(20);
  });

  it('matches query() for many seeds and rates', () => {
    for (let seed = 2; seed < 12; seed++) check(seed, 50 + seed * 37, steady(120, 1 + (seed % 5) * 13, 5000, 120 + seed));
  });

  it('matches query() across resizes, zoom (window changes) and a redraw after a long pause', () => {
    check(20, 400, [
      ...steady(40, 50, 8000, 200),
      ...steady(10, 50, 8000, 333),
      ...steady(10, 50, 4000, 333),
      { samples: 3000, window: 4000, pixels: 333 },
      ...steady(10, 3, 4000, 333),
      ...steady(10, 50, 20_000, 90),
    ]);
  });

  it('matches query() when raw samples age into buckets inside the window', () => {
    // A short raw span: the window's oldest part comes from the 1 s and 4 s tiers, which
    // the head replans, while kept runs age out from under it.
    check(30, 200, steady(400, 30, 30_000, 150), { rawSpanMs: 5000, maxRawRows: 1024 });
    check(31, 20, steady(300, 9, 200_000, 150), { rawSpanMs: 20_000, maxRawRows: 1024 });
  });

  it('matches query() with too few points to merge, then enough', () => {
    check(40, 10, [...steady(20, 5, 60_000, 400), ...steady(40, 50, 60_000, 400)]);
  });

  it('keeps a single spike among flat samples, in a kept run and in the tail', () => {
    const s = new SourceSeries();
    const rows = new WindowRows();
    let t = T0;
    const draw = () => rows.update(s, s.lastTs - 10_000, s.lastTs, ['a'], 100);
    for (let i = 0; i < 5000; i++) {
      s.push((t += 2), { a: i === 3000 ? 900 : 5 });
      if (i % 7 === 0) draw();
    }
    const q = draw();
    expect(q.decimated).toBe(true);
    expect(Math.max(...(q.ys[0] as number[]))).toBe(900);
    expect(plain(q)).toEqual(plain(s.query(s.lastTs - 10_000, s.lastTs, ['a'], 100)));
  });

  it('replans from scratch when the typical interval moves a gap decision', () => {
    const s = new SourceSeries();
    const rows = new WindowRows();
    let t = T0;
    // 10 ms spacing with one 30 ms hole (a gap at 10 ms: 30 > 25)...
    for (let i = 0; i < 600; i++) s.push((t += i === 300 ? 30 : 10), { a: i });
    const draw = () => plain(rows.update(s, s.lastTs - 6000, s.lastTs, ['a'], 50));
    const want = () => plain(s.query(s.lastTs - 6000, s.lastTs, ['a'], 50));
    expect(draw()).toEqual(want());
    expect(draw().ys[0]).toContain(null);
    // ... then 20 ms spacing: the median interval doubles, the hole is no gap any more.
    for (let i = 0; i < 40; i++) s.push((t += 20), { a: i });
    const before = rows.rebuilds;
    expect(draw()).toEqual(want());
    expect(rows.rebuilds).toBe(before + 1);
  });

  it('reuses its output arrays from redraw to redraw', () => {
    const s = new SourceSeries();
    const rows = new WindowRows();
    let t = T0;
    for (let i = 0; i < 3000; i++) s.push((t += 5), { a: i % 10 });
    const first = rows.update(s, t - 10_000, t, ['a'], 100);
    for (let i = 0; i < 100; i++) s.push((t += 5), { a: i % 10 });
    const second = rows.update(s, t - 10_000, t, ['a'], 100);
    expect(second.ys[0]).toBe(first.ys[0]);
    expect(second.x.buffer).toBe(first.x.buffer);
  });
});
