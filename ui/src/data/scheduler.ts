// Coalesces redraws: any number of markDirty() calls between two animation frames lead to
// exactly one render() per target, in the next frame or, when a frame has used its time
// budget, in the frames after it (ten heavy charts drawn over three frames rather than one
// long frame the user feels). Each flush is timed, so the frame
// budget (p99 <= 50 ms) can be checked in the running app, not only in a benchmark.

export interface Renderable {
  render(): void;
}

export type RequestFrame = (cb: (t: number) => void) => unknown;

export interface FrameStats {
  /** Frames that rendered something, since start. */
  frames: number;
  /** Flush durations (ms) over the last {@link TIMED_FRAMES} frames; NaN before the first. */
  p50: number;
  p99: number;
  max: number;
}

/** Durations kept for stats(): enough for a stable p99, small enough to sort on demand. */
export const TIMED_FRAMES = 1000;

/** Render time a frame may use before the remaining targets wait for the next frame. */
export const FRAME_BUDGET_MS = 12;

export class FrameScheduler<T extends Renderable = Renderable> {
  private readonly dirty = new Set<T>();
  private scheduled = false;
  private paused = false;
  private readonly durations = new Float64Array(TIMED_FRAMES);
  /** Frames that rendered something. */
  frames = 0;

  constructor(
    private readonly requestFrame: RequestFrame,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  markDirty(target: T): void {
    this.dirty.add(target);
    this.schedule();
  }

  forget(target: T): void {
    this.dirty.delete(target);
  }

  get pending(): number {
    return this.dirty.size;
  }

  /**
   * While paused (window hidden) marks are only recorded: rendering what nobody sees
   * wastes CPU. Unpausing renders everything marked meanwhile, once, in the next frame.
   */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.dirty.size > 0) this.schedule();
  }

  stats(): FrameStats {
    const n = Math.min(this.frames, TIMED_FRAMES);
    if (n === 0) return { frames: 0, p50: NaN, p99: NaN, max: NaN };
    const sorted = this.durations.slice(0, n).sort();
    // Nearest rank: the smallest duration that at least p of the frames did not exceed.
    const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * n) - 1)]!;
    return { frames: this.frames, p50: rank(0.5), p99: rank(0.99), max: sorted[n - 1]! };
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    this.requestFrame(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    // A frame requested before pausing may still fire: keep the marks for the unpause.
    if (this.paused || this.dirty.size === 0) return;
    const t0 = this.clock();
    // Oldest marks first (Set order); at least one target per frame, so all get drawn. Marks
    // made while rendering are not in this snapshot: they wait for the next frame.
    for (const t of [...this.dirty]) {
      this.dirty.delete(t);
      try {
        t.render();
      } catch (e) {
        console.error('render failed', e);
      }
      if (this.clock() - t0 >= FRAME_BUDGET_MS) break;
    }
    this.durations[this.frames % TIMED_FRAMES] = this.clock() - t0;
    this.frames++;
    if (this.dirty.size > 0) this.schedule();
  }
}
