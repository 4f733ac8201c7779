import { describe, expect, it } from 'vitest';
import { FRAME_BUDGET_MS, FrameScheduler } from './scheduler';

function fakeFrames() {
  const queue: ((t: number) => void)[] = [];
  return {
    raf: (cb: (t: number) => void) => queue.push(cb),
    pending: () => queue.length,
    frame: () => {
      const cbs = queue.splice(0);
      for (const cb of cbs) cb(0);
    },
  };
}

describe('FrameScheduler', () => {
  it('renders each dirty target once per frame however often it was marked', () => {
    const f = fakeFrames();
    const s = new FrameScheduler(f.raf);
    const a = { n: 0, render() { this.n++; } };
    const b = { n: 0, render() { this.n++; } };
    for (let i = 0; i < 50; i++) s.markDirty(a);
    s.markDirty(b);
    expect(f.pending()).toBe(1);
    expect(a.n).toBe(0);
    f.frame();
    expect([a.n, b.n]).toEqual([1, 1]);
    f.frame();
    expect([a.n, b.n]).toEqual([1, 1]);
    expect(f.pending()).toBe(0);
    s.markDirty(a);
    f.frame();
    expect([a.n, b.n]).toEqual([2, 1]);
    expect(s.frames).toBe(2);
  });

  it('marks made during a render go to the next frame, and one failing render does not stop the others', () => {
    const f = fakeFrames();
    const s = new FrameScheduler(f.raf);
    const bad = { render() { throw new Error('boom'); } };
    const self = { n: 0, render() { this.n++; if (this.n < 3) s.markDirty(this); } };
    const orig = console.error;
    console.error = () => {};
    try {
      s.markDirty(bad);
      s.markDirty(self);
      f.frame();
      expect(self.n).toBe(1);
      f.frame();
      expect(self.n).toBe(2);
      f.frame();
      f.frame();
      expect(self.n).toBe(3);
    } finally {
      console.error = orig;
    }
  });

  it('forgets a removed target', () => {
    const f = fakeFrames();
    const s = new FrameScheduler(f.raf);
    const a = { n: 0, render() { this.n++; } };
    s.markDirty(a);
    s.forget(a);
    f.frame();
    expect(a.n).toBe(0);
  });

  it('times each flush and reports percentiles over the last 1000 frames', () => {
    const f = fakeFrames();
    let now = 0;
    const s = new FrameScheduler(f.raf, () => now);
    expect(s.stats()).toEqual({ frames: 0, p50: NaN, p99: NaN, max: NaN });
    // Frame i takes i ms to render (1..100), in shuffled order.
    let cost = 0;
    const a = { render() { now += cost; } };
    const costs = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    for (const c of costs) {
      cost = c;
      s.markDirty(a);
      f.frame();
    }
    expect(s.stats()).toEqual({ frames: 100, p50: 50, p99: 99, max: 100 });
    // Only the last 1000 frames count: 1000 cheap frames push the slow ones out.
    cost = 1;
    for (let i = 0; i < 1000; i++) {
      s.markDirty(a);
      f.frame();
    }
    expect(s.stats()).toEqual({ frames: 1100, p50: 1, p99: 1, max: 1 });
  });

  it('while paused records marks without frames, and renders them once on unpause', () => {
    const f = fakeFrames();
    const s = new FrameScheduler(f.raf);
    const a = { n: 0, render() { this.n++; } };
    const b = { n: 0, render() { this.n++; } };
    s.setPaused(true);
    s.markDirty(a);
    s.markDirty(a);
    s.markDirty(b);
    expect(f.pending()).toBe(0);
    expect(s.pending).toBe(2);
    s.setPaused(false);
    expect(f.pending()).toBe(1);
    f.frame();
    expect([a.n, b.n]).toEqual([1, 1]);
    s.setPaused(false);
    expect(f.pending()).toBe(0);
  });

  it('keeps marks when a frame requested before pausing fires while paused', () => {
    const f = fakeFrames();
    const s = new FrameScheduler(f.raf);
    const a = { n: 0, render() { this.n++; } };
    s.markDirty(a);
    s.setPaused(true);
    f.frame();
    expect(a.n).toBe(0);
    s.setPaused(false);
    f.frame();
    expect(a.n).toBe(1);
    expect(s.frames).toBe(1);
  });
  it('spreads targets over frames once a frame has used its budget, drawing each once', () => {
    const f = fakeFrames();
    let now = 0;
    const s = new FrameScheduler(f.raf, () => now);
    // Each render costs 5 ms of the fake clock: a 12 ms budget fits three per frame.
    const charts = Array.from({ length: 7 }, () => ({ n: 0, render() { this.n++; now += 5; } }));
    for (const c of charts) s.markDirty(c);
    f.frame();
    expect(charts.map((c) => c.n)).toEqual([1, 1, 1, 0, 0, 0, 0]);
    expect(f.pending()).toBe(1);
    f.frame();
    f.frame();
    expect(charts.map((c) => c.n)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(f.pending()).toBe(0);
    expect(s.stats().max).toBeLessThan(FRAME_BUDGET_MS + 5);
  });
});
