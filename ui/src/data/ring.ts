// A fixed-capacity ring of time-aligned samples for one source: one Float64Array of
// timestamps and one Float64Array per metric name. A missing value is NaN inside the
// ring and `null` in slices (what uPlot draws as a gap).

export interface WindowSlice {
  /** Timestamps (unix ms), ascending. */
  x: Float64Array;
  /** One array per requested name, aligned with `x`; `null` where the sample had no value. */
  ys: (number | null)[][];
}

export class SeriesRing {
  readonly capacity: number;
  private readonly tsBuf: Float64Array;
  private readonly cols = new Map<string, Float64Array>();
  private start = 0;
  private len = 0;
  /** Samples refused because their timestamp was not after the last one (duplicates after a recovery). */
  dropped = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2) throw new RangeError('capacity must be an integer >= 2');
    this.capacity = capacity;
    this.tsBuf = new Float64Array(capacity);
  }

  get length(): number {
    return this.len;
  }

  /** Metric names in the order they were first seen. */
  names(): string[] {
    return [...this.cols.keys()];
  }

  has(name: string): boolean {
    return this.cols.has(name);
  }

  private phys(i: number): number {
    return (this.start + i) % this.capacity;
  }

  /** Timestamp of the i-th oldest sample. */
  tsAt(i: number): number {
    if (i < 0 || i >= this.len) return NaN;
    return this.tsBuf[this.phys(i)]!;
  }

  /** Value of `name` in the i-th oldest sample (NaN when absent). */
  valueAt(name: string, i: number): number {
    const col = this.cols.get(name);
    if (!col || i < 0 || i >= this.len) return NaN;
    return col[this.phys(i)]!;
  }

  get firstTs(): number {
    return this.tsAt(0);
  }

  get lastTs(): number {
    return this.tsAt(this.len - 1);
  }

  /**
   * Append a sample slot at `ts` with every column NaN; returns the slot to fill with
   * {@link set}, or -1 when `ts` is not after the newest sample (the sample is dropped).
   */
  beginRow(ts: number): number {
    if (!Number.isFinite(ts) || (this.len > 0 && ts <= this.lastTs)) {
      this.dropped++;
      return -1;
    }
    let slot: number;
    if (this.len < this.capacity) {
      slot = this.phys(this.len);
      this.len++;
    } else {
      slot = this.start;
      this.start = (this.start + 1) % this.capacity;
    }
    this.tsBuf[slot] = ts;
    for (const col of this.cols.values()) col[slot] = NaN;
    return slot;
  }

  /** Set a value in a slot returned by {@link beginRow}; a new name gets a NaN-filled column. */
  set(slot: number, name: string, value: number): void {
    let col = this.cols.get(name);
    if (!col) {
      col = new Float64Array(this.capacity).fill(NaN);
      this.cols.set(name, col);
    }
    col[slot] = value;
  }

  /** Append one sample; returns false when it was dropped as out of order. */
  push(ts: number, values: Record<string, number>): boolean {
    const slot = this.beginRow(ts);
    if (slot < 0) return false;
    for (const [name, v] of Object.entries(values)) this.set(slot, name, v);
    return true;
  }

  /** First logical index whose timestamp is >= t (binary search; timestamps are ascending). */
  lowerBound(t: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tsAt(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Copy out the samples with from <= ts <= to, for the given names. */
  slice(from: number, to: number, names: readonly string[]): WindowSlice {
    const i0 = this.lowerBound(from);
    let i1 = this.lowerBound(to);
    if (i1 < this.len && this.tsAt(i1) === to) i1++;
    const n = Math.max(0, i1 - i0);
    const x = new Float64Array(n);
    for (let k = 0; k < n; k++) x[k] = this.tsBuf[this.phys(i0 + k)]!;
    const ys = names.map((name) => {
      const out: (number | null)[] = new Array<number | null>(n);
      const col = this.cols.get(name);
      for (let k = 0; k < n; k++) {
        const v = col ? col[this.phys(i0 + k)]! : NaN;
        out[k] = Number.isNaN(v) ? null : v;
      }
      return out;
    });
    return { x, ys };
  }

  /** Latest non-missing value of `name`, or NaN. */
  latest(name: string): number {
    const col = this.cols.get(name);
    if (!col) return NaN;
    for (let i = this.len - 1; i >= 0; i--) {
      const v = col[this.phys(i)]!;
      if (!Number.isNaN(v)) return v;
    }
    return NaN;
  }
}
