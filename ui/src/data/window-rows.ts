// The rows one chart draws (decimate.ts' min/max per pixel, null rows at gaps), kept between
// its redraws so that a redraw decimates only the samples that arrived since the last one.
// A chart of a fast source redraws once per pixel of time; planning and filling its whole
// window again each time (31,200 raw rows × 20 series on a 1-minute window at 520 Hz) was
// most of the web process' main thread once the canvas strokes got cheap.
//
// Why a run of raw samples can be kept: plan() closes a run between two neighbouring raw
// samples when they are in different pixels (floor(ts / bucketMs)) or further apart than
// GAP_FACTOR × the typical interval; both depend on that pair of samples only, and the rows
// of a closed run of raw samples (its min at its first ts, its max at its last, or a single
// point) depend on its own samples only. So while the pixel width and the gap decisions stay
// the same, the window's rows are
//
//   head    planned from scratch: the tiers' buckets and the raw samples before the first
//           kept run (a pixel or so, as the window slides)
//   kept    closed runs of raw samples, with their min and max per series
//   tail    the samples after the last kept run: scanned into runs; every run closed there
//           is kept for the next redraw, the newest (still filling its pixel) is not
//
// and equal to SourceSeries.query() for the same window (window-rows.test.ts checks that).
// The output arrays are reused from redraw to redraw: no per-redraw garbage for the window.
import { GAP_FACTOR } from './decimate';
import type { Segment, Slice, SourceSeries } from './series';
import { leading, planSegments } from './series';

const INITIAL_RUNS = 256;

export class WindowRows {
  private series: SourceSeries | null = null;
  private bucketMs = NaN;
  /** Column of each name in the series (undefined: no sample yet), for the kept runs' values. */
  private cols: (number | undefined)[] = [];
  // Kept runs [head, end), oldest first: ts of their first and last sample, whether a gap
  // (null row) precedes them, and per name their min and max (NaN: no value).
  private runFirst = new Float64Array(INITIAL_RUNS);
  private runLast = new Float64Array(INITIAL_RUNS);
  private gapBefore = new Uint8Array(INITIAL_RUNS);
  private runLo: Float64Array[] = [];
  private runHi: Float64Array[] = [];
  private head = 0;
  private end = 0;
  // The gap decisions the kept runs rest on, as the widest neighbour distance judged no gap
  // and the narrowest judged a gap: still right while limit is in [maxSteady, minGap).
  private maxSteady = -Infinity;
  private minGap = Infinity;
  // Output, reused: uPlot gets views of these.
  private xOut = new Float64Array(0);
  private yOut: (number | null)[][] = [];
  private rows = 0;
  /** The head's points flattened (x, width, one name's lo and hi), reused. */
  private scratch = new Float64Array(0);
  /** Redraws that could not reuse kept runs (first draw, resize, new window...), for tests. */
  rebuilds = 0;

  /** The rows of [from, to] for `names` on a chart `pixels` wide: what `series.query()` returns. */
  update(series: SourceSeries, from: number, to: number, names: readonly string[], pixels: number): Slice {
    const segs = series.segments(from, to);
    const raw = segs[segs.length - 1]!;
    let n = 0;
    for (const g of segs) n += g.i1 - g.i0;
    const px = Math.max(1, Math.floor(pixels));
    // Few points are drawn as they are: nothing to keep.
    if (n <= 2 * px) {
      this.forget();
      return series.query(from, to, names, pixels);
    }
    const bucketMs = (to - from) / px;
    const interval = series.interval();
    const limit = GAP_FACTOR * (Number.isFinite(interval) ? interval : 0);
    const cols = names.map((name) => series.column(name));
    const same = series === this.series && bucketMs === this.bucketMs && cols.length === this.cols.length && cols.every((c, i) => c === this.cols[i]);
    if (!same || !(this.maxSteady <= limit && limit < this.minGap)) {
      this.forget();
      this.series = series;
      this.bucketMs = bucketMs;
      this.cols = cols;
      this.rebuilds++;
    }
    this.ensureNames(names.length);

    const cap = raw.ts.length;
    const tsAt = (i: number) => raw.ts[(raw.start + i) % cap]!;
    const indexOf = (ts: number) => leading(tsAt, raw.i1, (t) => t < ts);
    // A kept run is usable when a raw sample of the window precedes it (the junction is then
    // between two raw samples, as when it was kept) and it ends inside the window.
    if (raw.i1 <= raw.i0) this.head = this.end;
    else {
      const oldest = tsAt(raw.i0);
      while (this.head < this.end && !(this.runFirst[this.head]! > oldest)) this.head++;
      if (this.head < this.end && this.runLast[this.end - 1]! > tsAt(raw.i1 - 1)) this.head = this.end;
    }
    if (this.head === this.end) this.head = this.end = 0;

    const isGap = (a: number, b: number) => tsAt(b) - tsAt(a) > limit;
    const boundary = (a: number, b: number) => isGap(a, b) || Math.floor(tsAt(b) / bucketMs) !== Math.floor(tsAt(a) / bucketMs);
    // Raw samples [raw.i0, headEnd) go into the head, [tailStart, raw.i1) into the tail.
    let headEnd: number;
    let tailStart: number;
    if (this.head < this.end) {
      headEnd = indexOf(this.runFirst[this.head]!);
      tailStart = indexOf(this.runLast[this.end - 1]!) + 1;
    } else {
      headEnd = raw.i0 < raw.i1 ? raw.i0 + 1 : raw.i0;
      while (headEnd < raw.i1 && !boundary(headEnd - 1, headEnd)) headEnd++;
      tailStart = headEnd;
    }

    this.rows = 0;
    this.reserve(this.headRows(segs, headEnd) + 3 * (this.end - this.head) + 3 * (raw.i1 - tailStart) + 2);
    let merged = this.emitHead(segs, headEnd, interval);
    if (this.head < this.end) {
      if (isGap(headEnd - 1, headEnd)) this.emitNull((tsAt(headEnd - 1) + tsAt(headEnd)) / 2);
      merged = this.emitKept(names.length) || merged;
    }
    if (tailStart < raw.i1) {
      if (tailStart > raw.i0 && isGap(tailStart - 1, tailStart)) this.emitNull((tsAt(tailStart - 1) + tsAt(tailStart)) / 2);
      merged = this.scanTail(raw, tailStart, names.length, limit, isGap, boundary) || merged;
    }
    for (const y of this.yOut) y.length = this.rows;
    this.yOut.length = names.length;
    const decimated = merged || segs.some((g) => g.width > 0 && g.i1 > g.i0);
    return { x: this.xOut.subarray(0, this.rows), ys: this.yOut, decimated };
  }

  /** Drops the kept runs: the next update plans its window from scratch. */
  forget(): void {
    this.head = this.end = 0;
    this.maxSteady = -Infinity;
    this.minGap = Infinity;
    this.series = null;
    this.bucketMs = NaN;
  }

  private ensureNames(count: number): void {
    while (this.yOut.length < count) this.yOut.push([]);
    const cap = this.runFirst.length;
    while (this.runLo.length < count) {
      this.runLo.push(new Float64Array(cap));
      this.runHi.push(new Float64Array(cap));
    }
  }

  private reserve(rows: number): void {
    if (this.xOut.length < rows) this.xOut = new Float64Array(Math.max(rows, 2 * this.xOut.length));
  }

  /** Upper bound of the head's rows: two per point and a null row per gap. */
  private headRows(segs: Segment[], headEnd: number): number {
    let n = headEnd - segs[segs.length - 1]!.i0;
    for (let s = 0; s < segs.length - 1; s++) n += segs[s]!.i1 - segs[s]!.i0;
    return 3 * n + 1;
  }

  private emitRow(x: number): number {
    this.xOut[this.rows] = x;
    return this.rows++;
  }

  private emitNull(x: number): void {
    const r = this.emitRow(x);
    for (const y of this.yOut) y[r] = null;
  }

  /**
   * The head's points (the tiers' buckets, then the raw samples before headEnd) through
   * plan() and fill() as query() does: a pixel of raw samples, and the tiers of a long window.
   */
  private emitHead(segs: Segment[], headEnd: number, interval: number): boolean {
    const parts = segs.map((g, s) => (s === segs.length - 1 ? { ...g, i1: headEnd } : g));
    const { plan: p, ys, scratch } = planSegments(parts, this.cols, { bucketMs: this.bucketMs, interval }, this.scratch);
    this.scratch = scratch;
    const first = this.rows;
    for (let r = 0; r < p.x.length; r++) this.emitRow(p.x[r]!);
    ys.forEach((rows, k) => {
      const y = this.yOut[k]!;
      for (let r = 0; r < rows.length; r++) y[first + r] = rows[r]!;
    });
    return p.merged;
  }

  /** The kept runs' rows, with a null row before each that follows a gap. */
  private emitKept(names: number): boolean {
    let merged = false;
    for (let r = this.head; r < this.end; r++) {
      if (r > this.head && this.gapBefore[r]) this.emitNull((this.runLast[r - 1]! + this.runFirst[r]!) / 2);
      const first = this.runFirst[r]!;
      const last = this.runLast[r]!;
      const row = this.emitRow(first);
      if (last !== first) {
        merged = true;
        this.emitRow(last);
      }
      for (let k = 0; k < names; k++) {
        const y = this.yOut[k]!;
        const lo = this.runLo[k]![r]!;
        y[row] = Number.isNaN(lo) ? null : lo;
        if (last !== first) {
          const hi = this.runHi[k]![r]!;
          y[row + 1] = Number.isNaN(hi) ? null : hi;
        }
      }
    }
    return merged;
  }

  /** Raw samples [from, raw.i1) into runs: all emitted, the closed ones kept. */
  private scanTail(
    raw: Segment,
    from: number,
    names: number,
    limit: number,
    isGap: (a: number, b: number) => boolean,
    boundary: (a: number, b: number) => boolean,
  ): boolean {
    const cap = raw.ts.length;
    const tsAt = (i: number) => raw.ts[(raw.start + i) % cap]!;
    let merged = false;
    let a = from;
    // Every gap decision made here may end up inside a kept run or between two (the one at
    // the junction before the tail too): noted, so a new interval that would change one of
    // them is seen.
    const note = (dx: number) => {
      if (dx > limit) this.minGap = Math.min(this.minGap, dx);
      else this.maxSteady = Math.max(this.maxSteady, dx);
    };
    if (from > raw.i0) note(tsAt(from) - tsAt(from - 1));
    for (let i = from + 1; i <= raw.i1; i++) {
      if (i < raw.i1) {
        note(tsAt(i) - tsAt(i - 1));
        if (!boundary(i - 1, i)) continue;
      }
      const b = i - 1;
      const closed = i < raw.i1;
      const slot = closed ? this.keep(tsAt(a), tsAt(b), a > from || this.end > this.head ? isGap(a - 1, a) : false) : -1;
      const row = this.emitRow(tsAt(a));
      if (b !== a) {
        merged = true;
        this.emitRow(tsAt(b));
      }
      for (let k = 0; k < names; k++) {
        const c = this.cols[k]!;
        let mn = Infinity;
        let mx = -Infinity;
        const col = c === undefined ? undefined : raw.lo[c];
        if (col) {
          let p = (raw.start + a) % cap;
          for (let j = a; j <= b; j++) {
            const v = col[p]!;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
            if (++p === cap) p = 0;
          }
        }
        const y = this.yOut[k]!;
        y[row] = mn === Infinity ? null : mn;
        if (b !== a) y[row + 1] = mx === -Infinity ? null : mx;
        if (slot >= 0) {
          this.runLo[k]![slot] = mn === Infinity ? NaN : mn;
          this.runHi[k]![slot] = mx === -Infinity ? NaN : mx;
        }
      }
      if (closed && isGap(b, i)) this.emitNull((tsAt(b) + tsAt(i)) / 2);
      a = i;
    }
    return merged;
  }

  /** Appends a closed run; returns its slot. Compacts or grows the ring of runs as needed. */
  private keep(first: number, last: number, gapBefore: boolean): number {
    if (this.end === this.runFirst.length) {
      const live = this.end - this.head;
      if (this.head > 0 && live <= this.runFirst.length / 2) {
        this.runFirst.copyWithin(0, this.head, this.end);
        this.runLast.copyWithin(0, this.head, this.end);
        this.gapBefore.copyWithin(0, this.head, this.end);
        for (const c of [...this.runLo, ...this.runHi]) c.copyWithin(0, this.head, this.end);
      } else {
        const cap = 2 * this.runFirst.length;
        const grow = <A extends Float64Array | Uint8Array>(a: A, out: A): A => {
          out.set(a.subarray(this.head, this.end));
          return out;
        };
        this.runFirst = grow(this.runFirst, new Float64Array(cap));
        this.runLast = grow(this.runLast, new Float64Array(cap));
        this.gapBefore = grow(this.gapBefore, new Uint8Array(cap));
        this.runLo = this.runLo.map((c) => grow(c, new Float64Array(cap)));
        this.runHi = this.runHi.map((c) => grow(c, new Float64Array(cap)));
      }
      this.head = 0;
      this.end = live;
    }
    const slot = this.end++;
    this.runFirst[slot] = first;
    this.runLast[slot] = last;
    this.gapBefore[slot] = gapBefore ? 1 : 0;
    return slot;
  }
}
