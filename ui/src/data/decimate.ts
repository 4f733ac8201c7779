// Turns the points of one chart window (raw samples and min/max buckets, oldest first)
// into the rows uPlot draws. The row layout depends on timestamps only, so it is computed
// once per window and then filled for every series: with 200 series that is the difference
// between one pass over the timestamps and two hundred.
//
// Per pixel, a run of points becomes two rows, its min then its max, so a one-sample spike
// among 100k flat samples still reaches the screen. A null row goes wherever two
// neighbouring points are too far apart, so uPlot breaks the line instead of drawing a
// straight segment across missing data.

/** Points further apart than this many expected spacings are a gap. */
export const GAP_FACTOR = 2.5;

const NULL_ROW = 0;
const SINGLE = 1;
/** A run's min row; always followed by its MAX row. */
const MIN = 2;
const MAX = 3;

export interface Plan {
  /** x of each output row (unix ms), ascending. */
  x: Float64Array;
  /** What each row shows: a gap, a single point, or the min / the max of a run. */
  kind: Uint8Array;
  /** Source point range [first, last] of the run each row belongs to. */
  first: Int32Array;
  last: Int32Array;
  /** True when runs of several points were merged into min/max rows. */
  merged: boolean;
}

export interface PlanOptions {
  /** Pixel width in ms: points in the same pixel (floor(x / bucketMs)) merge; 0 keeps every point. */
  bucketMs: number;
  /** Typical spacing of raw samples (ms); NaN when unknown. */
  interval: number;
}

/**
 * Plan the rows for points at `x` (ascending); `width[i]` is 0 for a raw sample and the
 * bucket width for a min/max bucket starting at `x[i]`.
 */
export function plan(x: ArrayLike<number>, width: ArrayLike<number>, opts: PlanOptions): Plan {
  const n = x.length;
  // At most: two rows per run, one null row per gap, and each gap starts one more run.
  const cap = 3 * n + 1;
  const ox = new Float64Array(cap);
  const kind = new Uint8Array(cap);
  const first = new Int32Array(cap);
  const last = new Int32Array(cap);
  const spacing = Number.isFinite(opts.interval) ? opts.interval : 0;
  let rows = 0;
  let merged = false;

  const emit = (xv: number, k: number, a: number, b: number) => {
    ox[rows] = xv;
    kind[rows] = k;
    first[rows] = a;
    last[rows] = b;
    rows++;
  };
  // Where a run's max row goes: mid-bucket for a bucket (clamped before the next point,
  // since the newest bucket of a tier can overlap the oldest raw samples), else the point.
  const endX = (b: number) => {
    const w = width[b]!;
    if (w <= 0) return x[b]!;
    const end = b + 1 < n ? Math.min(x[b]! + w, x[b + 1]!) : x[b]! + w;
    return (x[b]! + end) / 2;
  };
  const closeRun = (a: number, b: number) => {
    if (a === b && width[a]! <= 0) {
      emit(x[a]!, SINGLE, a, b);
      return;
    }
    if (a !== b) merged = true;
    emit(x[a]!, MIN, a, b);
    emit(endX(b), MAX, a, b);
  };

  let runStart = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n) {
      if (n > 0) closeRun(runStart, n - 1);
      break;
    }
    const dx = x[i]! - x[i - 1]!;
    const gap = dx > GAP_FACTOR * Math.max(spacing, width[i - 1]!, width[i]!);
    const samePixel = opts.bucketMs > 0 && Math.floor(x[i]! / opts.bucketMs) === Math.floor(x[i - 1]! / opts.bucketMs);
    if (gap || !samePixel) {
      closeRun(runStart, i - 1);
      if (gap) emit((ox[rows - 1]! + x[i]!) / 2, NULL_ROW, -1, -1);
      runStart = i;
    }
  }
  return { x: ox.slice(0, rows), kind: kind.slice(0, rows), first: first.slice(0, rows), last: last.slice(0, rows), merged };
}

/**
 * One series' values for the rows of `p`: `lo[i]`/`hi[i]` are the point's min and max
 * (equal for a raw sample), NaN when the point has no value for this series.
 */
export function fill(p: Plan, lo: ArrayLike<number>, hi: ArrayLike<number>): (number | null)[] {
  const rows = p.x.length;
  const out = new Array<number | null>(rows);
  for (let r = 0; r < rows; r++) {
    const k = p.kind[r]!;
    if (k === NULL_ROW) out[r] = null;
    else if (k === SINGLE) {
      const v = lo[p.first[r]!]!;
      out[r] = Number.isNaN(v) ? null : v;
    } else {
      // A MIN row is always followed by its run's MAX row: one pass fills both. NaN fails
      // every comparison, so missing values are skipped without a test of their own.
      const b = p.last[r]!;
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = p.first[r]!; i <= b; i++) {
        const l = lo[i]!;
        const h = hi[i]!;
        if (l < mn) mn = l;
        if (h > mx) mx = h;
      }
      out[r] = mn === Infinity ? null : mn;
      out[++r] = mx === -Infinity ? null : mx;
    }
  }
  return out;
}
