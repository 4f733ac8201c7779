// All series of one source, kept by time rather than by sample count, so every chart
// window (1 min .. 1 h) is full whatever the sample rate while memory stays bounded:
//
//   raw    timestamps + one Float64Array per name; grows (doubling) until it holds
//          `rawSpanMs`, capped at `maxRawRows`; rows that age out fold into tier 1
//   tier 1 1 s buckets (min and max per name), 1024 of them; evicted buckets fold into tier 2
//   tier 2 4 s buckets, 1024 of them (≈ 68 min), the oldest are forgotten
//
// Buckets are aligned to absolute time (floor(ts / width)) so they are the same whatever
// the window. Bucket tiers allocate on first use: a slow source whose raw ring covers the
// whole history never pays for them. A missing value is NaN in storage and null in slices.
import { fill, plan } from './decimate';
import type { Plan, PlanOptions } from './decimate';

export interface Slice {
  /** Timestamps (unix ms), ascending. */
  x: Float64Array;
  /** One array per requested name, aligned with `x`; `null` where there is no value (or a gap). */
  ys: (number | null)[][];
  /** true when min/max buckets were drawn instead of raw samples */
  decimated: boolean;
}

export interface Latest {
  value: number;
  ts: number;
}

export interface SeriesOptions {
  /** Raw samples are kept at least this long (ms) while `maxRawRows` allows. */
  rawSpanMs?: number;
  /** Hard cap on raw rows, whatever the rate. */
  maxRawRows?: number;
}

export const RAW_SPAN_MS = 60_000;
export const MAX_RAW_ROWS = 32_768;
const INITIAL_RAW_ROWS = 1024;
const TIER_BUCKETS = 1024;
/** First allocation of a bucket tier; it doubles up to TIER_BUCKETS. */
const INITIAL_BUCKETS = 64;
/** Deltas the typical interval is the median of. */
const DELTAS = 32;

/** A ring of equally wide min/max buckets; evicted buckets fold into `next`. */
class BucketTier {
  ts = new Float64Array(0);
  lo: Float32Array[] = [];
  hi: Float32Array[] = [];
  start = 0;
  len = 0;

  constructor(
    readonly width: number,
    private readonly next?: BucketTier,
  ) {}

  get cap(): number {
    return this.ts.length;
  }

  phys(i: number): number {
    return (this.start + i) % this.cap;
  }

  /** Merge a point (a raw row, lo = hi, or a finer bucket) at physical slot `idx` of its source columns. */
  fold(ts: number, lo: ArrayLike<number>[], hi: ArrayLike<number>[], idx: number): void {
    const b = Math.floor(ts / this.width) * this.width;
    const slot = this.len > 0 && this.ts[this.phys(this.len - 1)] === b ? this.phys(this.len - 1) : this.append(b);
    for (let k = 0; k < lo.length; k++) {
      const l = lo[k]![idx]!;
      const h = hi[k]![idx]!;
      if (Number.isNaN(l)) continue;
      while (this.lo.length <= k) {
        this.lo.push(new Float32Array(this.cap).fill(NaN));
        this.hi.push(new Float32Array(this.cap).fill(NaN));
      }
      const cl = this.lo[k]!;
      const ch = this.hi[k]!;
      if (Number.isNaN(cl[slot]!) || l < cl[slot]!) cl[slot] = l;
      if (Number.isNaN(ch[slot]!) || h > ch[slot]!) ch[slot] = h;
    }
  }

  private append(b: number): number {
    if (this.len === this.cap) {
      if (this.cap < TIER_BUCKETS) this.grow(Math.min(TIER_BUCKETS, Math.max(INITIAL_BUCKETS, this.cap * 2)));
      else {
        this.next?.fold(this.ts[this.start]!, this.lo, this.hi, this.start);
        this.start = (this.start + 1) % this.cap;
        this.len--;
      }
    }
    const slot = this.phys(this.len);
    this.len++;
    this.ts[slot] = b;
    for (let k = 0; k < this.lo.length; k++) {
      this.lo[k]![slot] = NaN;
      this.hi[k]![slot] = NaN;
    }
    return slot;
  }

  private grow(cap: number): void {
    const re = <A extends Float64Array | Float32Array>(a: A, out: A): A => {
      for (let i = 0; i < this.len; i++) out[i] = a[this.phys(i)]!;
      return out;
    };
    this.lo = this.lo.map((c) => re(c, new Float32Array(cap).fill(NaN)));
    this.hi = this.hi.map((c) => re(c, new Float32Array(cap).fill(NaN)));
    this.ts = re(this.ts, new Float64Array(cap));
    this.start = 0;
  }

  bytes(): number {
    return this.ts.byteLength + this.lo.length * 2 * this.cap * 4;
  }
}

/** Where one tier's points for a window sit: logical rows [i0, i1) of a ring (physical row (start + i) % ts.length). */
export interface Segment {
  ts: Float64Array;
  start: number;
  i0: number;
  i1: number;
  lo: (Float64Array | Float32Array)[];
  hi: (Float64Array | Float32Array)[];
  width: number;
}

/**
 * Copy a segment's rows of one column into `dst` at `o`, NaN when the tier has no such
 * column. Native subarray copies, at most two (the ring may wrap): per-element copying
 * was most of a 200-series query.
 */
function copyRows(g: Segment, col: Float64Array | Float32Array | undefined, dst: Float64Array, o: number): void {
  const n = g.i1 - g.i0;
  if (n <= 0) return;
  if (!col) {
    dst.fill(NaN, o, o + n);
    return;
  }
  const cap = g.ts.length;
  const a = (g.start + g.i0) % cap;
  const first = Math.min(n, cap - a);
  dst.set(col.subarray(a, a + first), o);
  if (first < n) dst.set(col.subarray(0, n - first), o + first);
}

export class SourceSeries {
  private readonly rawSpanMs: number;
  private readonly maxRawRows: number;
  private tsBuf = new Float64Array(INITIAL_RAW_ROWS);
  private cols: Float64Array[] = [];
  private readonly index = new Map<string, number>();
  private start = 0;
  private len = 0;
  private readonly tier2 = new BucketTier(4000);
  private readonly tier1 = new BucketTier(1000, this.tier2);
  /** Newest value and its ts per column; kept on write so the legend never scans. */
  private latestVal: number[] = [];
  private latestTs: number[] = [];
  private readonly deltas = new Float64Array(DELTAS);
  private deltaCount = 0;
  /** interval() until the next row: every chart asks for it on every redraw. */
  private intervalMemo: number | null = null;
  /** Samples refused because ts was not after the newest (duplicates after a recovery). */
  dropped = 0;

  constructor(opts: SeriesOptions = {}) {
    this.rawSpanMs = opts.rawSpanMs ?? RAW_SPAN_MS;
    this.maxRawRows = Math.max(INITIAL_RAW_ROWS, opts.maxRawRows ?? MAX_RAW_ROWS);
  }

  private get cap(): number {
    return this.tsBuf.length;
  }

  private phys(i: number): number {
    return (this.start + i) % this.cap;
  }

  /** Newest sample ts, NaN when empty. */
  get lastTs(): number {
    return this.len > 0 ? this.tsBuf[this.phys(this.len - 1)]! : NaN;
  }

  /** Oldest time still covered by any tier, NaN when empty. */
  get firstTs(): number {
    for (const t of [this.tier2, this.tier1]) if (t.len > 0) return t.ts[t.start]!;
    return this.len > 0 ? this.tsBuf[this.start]! : NaN;
  }

  /** Newest raw sample ts at or before `to`, NaN when none: the newest sample a window ending at `to` draws. */
  newestAtOrBefore(to: number): number {
    const at = (i: number) => this.tsBuf[this.phys(i)]!;
    const n = leading(at, this.len, (ts) => ts <= to);
    return n > 0 ? at(n - 1) : NaN;
  }

  /** Oldest raw sample ts after `ts`, NaN when none is held. */
  firstAfter(ts: number): number {
    const at = (i: number) => this.tsBuf[this.phys(i)]!;
    const i = leading(at, this.len, (t) => t <= ts);
    return i < this.len ? at(i) : NaN;
  }

  /** Raw rows held. */
  get length(): number {
    return this.len;
  }

  /** Metric names in first-seen order. */
  names(): string[] {
    return [...this.index.keys()];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** Column of `name` in the segments' lo / hi arrays, undefined when the name has no sample yet. */
  column(name: string): number | undefined {
    return this.index.get(name);
  }

  /**
   * Append a row at `ts` with every value missing; returns the slot to fill with
   * {@link set}, or -1 when `ts` is not after the newest sample (the sample is dropped).
   */
  beginRow(ts: number): number {
    const last = this.lastTs;
    if (!Number.isFinite(ts) || ts <= last) {
      this.dropped++;
      return -1;
    }
    if (this.len > 0) {
      this.deltas[this.deltaCount % DELTAS] = ts - last;
      this.deltaCount++;
      this.intervalMemo = null;
    }
    if (this.len === this.cap) {
      const young = ts - this.tsBuf[this.start]! < this.rawSpanMs;
      if (young && this.cap < this.maxRawRows) this.grow(Math.min(this.maxRawRows, this.cap * 2));
      else {
        this.tier1.fold(this.tsBuf[this.start]!, this.cols, this.cols, this.start);
        this.start = (this.start + 1) % this.cap;
        this.len--;
      }
    }
    const slot = this.phys(this.len);
    this.len++;
    this.tsBuf[slot] = ts;
    for (const col of this.cols) col[slot] = NaN;
    return slot;
  }

  private grow(cap: number): void {
    const re = (a: Float64Array) => {
      const out = new Float64Array(cap).fill(NaN);
      for (let i = 0; i < this.len; i++) out[i] = a[this.phys(i)]!;
      return out;
    };
    this.cols = this.cols.map(re);
    this.tsBuf = re(this.tsBuf);
    this.start = 0;
  }

  /** Set a value in a slot returned by {@link beginRow}; a new name gets a NaN-filled past. */
  set(slot: number, name: string, value: number): void {
    let k = this.index.get(name);
    if (k === undefined) {
      k = this.cols.length;
      this.index.set(name, k);
      this.cols.push(new Float64Array(this.cap).fill(NaN));
      this.latestVal.push(NaN);
      this.latestTs.push(NaN);
    }
    this.cols[k]![slot] = value;
    const ts = this.tsBuf[slot]!;
    if (!Number.isNaN(value) && !(ts < this.latestTs[k]!)) {
      this.latestVal[k] = value;
      this.latestTs[k] = ts;
    }
  }

  /** Append one sample; values missing from the record are gaps. Returns false when dropped. */
  push(ts: number, values: Record<string, number>): boolean {
    const slot = this.beginRow(ts);
    if (slot < 0) return false;
    for (const [name, v] of Object.entries(values)) this.set(slot, name, v);
    return true;
  }

  /** Typical interval between samples (ms): median of the last ~32 deltas; NaN before 2 samples. */
  interval(): number {
    if (this.intervalMemo !== null) return this.intervalMemo;
    const n = Math.min(this.deltaCount, DELTAS);
    if (n === 0) return NaN;
    const d = this.deltas.slice(0, n).sort();
    this.intervalMemo = n % 2 ? d[n >> 1]! : (d[n / 2 - 1]! + d[n / 2]!) / 2;
    return this.intervalMemo;
  }

  /** Newest non-missing value of `name` with its ts, or null. */
  latest(name: string): Latest | null {
    const k = this.index.get(name);
    if (k === undefined || Number.isNaN(this.latestTs[k]!)) return null;
    return { value: this.latestVal[k]!, ts: this.latestTs[k]! };
  }

  /**
   * Points to draw for [from, to] on a chart `pixels` wide: raw samples when they number
   * <= 2 × pixels, else per-pixel min/max runs; tier 2 for the oldest part, tier 1, raw for
   * the newest, so the window is full. Null rows break the line at gaps (see decimate.ts).
   */
  query(from: number, to: number, names: readonly string[], pixels: number): Slice {
    const segs = this.segments(from, to);
    const n = segs.reduce((s, g) => s + g.i1 - g.i0, 0);
    const px = Math.max(1, Math.floor(pixels));
    const bucketMs = n > 2 * px ? (to - from) / px : 0;
    const cols = names.map((name) => this.index.get(name));
    const { plan: p, ys } = planSegments(segs, cols, { bucketMs, interval: this.interval() }, new Float64Array(0));
    const decimated = p.merged || segs.some((g) => g.width > 0 && g.i1 > g.i0);
    return { x: p.x, ys, decimated };
  }

  /**
   * The points of [from, to], oldest first: tier 2's buckets, tier 1's, then the raw samples
   * (always last). Views of the live rings: valid until the next row is added.
   */
  segments(from: number, to: number): Segment[] {
    return [this.segment(this.tier2, from, to), this.segment(this.tier1, from, to), this.rawSegment(from, to)];
  }

  /** Buckets overlapping [from, to] (a bucket starting before `from` still covers it). */
  private segment(t: BucketTier, from: number, to: number): Segment {
    const at = (i: number) => t.ts[t.phys(i)]!;
    const i0 = leading(at, t.len, (ts) => ts + t.width <= from);
    const i1 = leading(at, t.len, (ts) => ts <= to);
    return { ts: t.ts, start: t.start, i0, i1, lo: t.lo, hi: t.hi, width: t.width };
  }

  private rawSegment(from: number, to: number): Segment {
    const at = (i: number) => this.tsBuf[this.phys(i)]!;
    const i0 = leading(at, this.len, (ts) => ts < from);
    const i1 = leading(at, this.len, (ts) => ts <= to);
    return { ts: this.tsBuf, start: this.start, i0, i1, lo: this.cols, hi: this.cols, width: 0 };
  }

  /** Approximate bytes held (for the memory bound test and diagnostics). */
  bytes(): number {
    return this.tsBuf.byteLength + this.cols.length * this.cap * 8 + this.tier1.bytes() + this.tier2.bytes() + this.index.size * 64;
  }
}

/**
 * The rows of `segs`' points (oldest first): plan() over them flattened, then fill() per
 * column of `cols` (a column of the segments' lo / hi; undefined: a name with no sample yet,
 * all null). `scratch` lends the flattened points (4 per point); a larger one is returned
 * when it was too small, so a caller that keeps it allocates once.
 */
export function planSegments(
  segs: readonly Segment[],
  cols: readonly (number | undefined)[],
  opts: PlanOptions,
  scratch: Float64Array<ArrayBuffer>,
): { plan: Plan; ys: (number | null)[][]; scratch: Float64Array<ArrayBuffer> } {
  let n = 0;
  for (const g of segs) n += g.i1 - g.i0;
  if (scratch.length < 4 * n) scratch = new Float64Array(Math.max(4 * n, 2 * scratch.length));
  const x = scratch.subarray(0, n);
  const width = scratch.subarray(n, 2 * n);
  // Reused for every column: one column's points, flattened across tiers.
  const lo = scratch.subarray(2 * n, 3 * n);
  const hi = scratch.subarray(3 * n, 4 * n);
  let o = 0;
  for (const g of segs) {
    copyRows(g, g.ts, x, o);
    width.fill(g.width, o, o + g.i1 - g.i0);
    o += g.i1 - g.i0;
  }
  const p = plan(x, width, opts);
  const ys = cols.map((k) => {
    let o = 0;
    for (const g of segs) {
      copyRows(g, k === undefined ? undefined : g.lo[k], lo, o);
      copyRows(g, k === undefined ? undefined : g.hi[k], hi, o);
      o += g.i1 - g.i0;
    }
    return fill(p, lo, hi);
  });
  return { plan: p, ys, scratch };
}

/** How many leading rows (oldest first) satisfy `before`; timestamps ascend, so a binary search. */
export function leading(at: (i: number) => number, len: number, before: (ts: number) => boolean): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(at(mid))) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
