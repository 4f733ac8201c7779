// How old the samples are when a chart draws them: "publish → point on screen", measured in
// the running app, not only by a benchmark. Samples carry the time they were taken (the
// publisher's clock, which on one machine is the page's clock), so now − ts at draw time is
// the whole way hub → backend → IPC → store → chart, plus any time the sample waited for its
// chart's next redraw.
//
// Per chart render that drew something new, two figures go into bounded rings:
//   newest     now − ts of the newest sample drawn (what the eye sees at the right edge)
//   firstDrawn now − ts of the oldest sample that this render drew for the first time (a
//              sample that arrived just after a redraw waits for the next one: the pacing of
//              redraws to a pixel of time shows here, not in `newest`)
// Recording is one subtraction and one store per chart render: always on.

/** Records kept per ring: enough for a stable p99 over a minute of renders. */
export const LATENCY_RECORDS = 4096;

export interface LatencyStats {
  /** Records since start (or the last reset), including those the ring no longer holds. */
  count: number;
  /** Over the last {@link LATENCY_RECORDS} records (ms); NaN before the first. */
  p50: number;
  p99: number;
  max: number;
}

/** A bounded ring of durations (ms) and their percentiles. */
export class LatencyRing {
  private readonly values: Float64Array;
  count = 0;

  constructor(capacity: number = LATENCY_RECORDS) {
    this.values = new Float64Array(Math.max(1, capacity));
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.values[this.count % this.values.length] = ms;
    this.count++;
  }

  stats(): LatencyStats {
    const n = Math.min(this.count, this.values.length);
    if (n === 0) return { count: 0, p50: NaN, p99: NaN, max: NaN };
    const sorted = this.values.slice(0, n).sort();
    // Nearest rank, as FrameScheduler.stats().
    const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * n) - 1)]!;
    return { count: this.count, p50: rank(0.5), p99: rank(0.99), max: sorted[n - 1]! };
  }

  reset(): void {
    this.count = 0;
  }
}

export interface DrawLatencyStats {
  newest: LatencyStats;
  firstDrawn: LatencyStats;
}

/** The two rings of every chart of the source view. */
export class DrawLatency {
  readonly newest: LatencyRing;
  readonly firstDrawn: LatencyRing;

  constructor(capacity: number = LATENCY_RECORDS) {
    this.newest = new LatencyRing(capacity);
    this.firstDrawn = new LatencyRing(capacity);
  }

  /**
   * A chart drew samples up to `newestTs` at `now`; `firstNewTs` is the oldest of them it
   * had not drawn before, NaN when this is its first draw (everything is new then: the
   * window's oldest sample says nothing about latency).
   */
  drawn(now: number, newestTs: number, firstNewTs: number): void {
    this.newest.record(now - newestTs);
    if (Number.isFinite(firstNewTs)) this.firstDrawn.record(now - firstNewTs);
  }

  stats(): DrawLatencyStats {
    return { newest: this.newest.stats(), firstDrawn: this.firstDrawn.stats() };
  }

  reset(): void {
    this.newest.reset();
    this.firstDrawn.reset();
  }
}
