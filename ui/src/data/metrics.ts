// Decodes StreamBatch.metrics into per-source time-based history (series.ts),
// defensively: a malformed block is counted and skipped, never thrown.
import type { Catalog, MetricBlock } from '../backend/types';
import type { SeriesOptions } from './series';
import { naturalCompare } from './groups';
import { SourceSeries } from './series';
import { serverOf } from './servers';

export interface ApplyResult {
  /** Sources that received at least one sample. */
  touched: Set<string>;
  /** True when a source or a metric name was seen for the first time. */
  discovered: boolean;
  /** Samples stored. */
  accepted: number;
  /** Samples refused as out of order or duplicate. */
  dropped: number;
  /** Blocks refused as malformed, with why. */
  rejected: string[];
}

function blockError(b: unknown): string | null {
  if (!b || typeof b !== 'object') return 'block is not an object';
  const m = b as Partial<MetricBlock>;
  if (typeof m.source !== 'string' || m.source === '') return 'block without a source';
  if (!Array.isArray(m.ts)) return `${m.source}: ts is not an array`;
  if (!Array.isArray(m.names)) return `${m.source}: names is not an array`;
  if (!Array.isArray(m.values) || m.values.length !== m.names.length)
    return `${m.source}: values must have one column per name`;
  for (let j = 0; j < m.values.length; j++) {
    const col = m.values[j];
    if (!Array.isArray(col) || col.length !== m.ts.length)
      return `${m.source}: column ${String(m.names[j])} is not aligned with ts`;
  }
  return null;
}

export class MetricStore {
  private readonly store = new Map<string, SourceSeries>();
  private readonly known = new Map<string, Set<string>>();
  /** sources() in order, kept until a source is added: sorting 500 names each second is not free. */
  private sorted: string[] | null = null;
  private readonly lastSeen = new Map<string, number>();

  /** `opts` apply to every source's history; tests shrink them. */
  constructor(private readonly opts: SeriesOptions = {}) {}

  series(source: string): SourceSeries | undefined {
    return this.store.get(source);
  }

  /** Approximate bytes held by every source's history. */
  bytes(): number {
    let sum = 0;
    for (const s of this.store.values()) sum += s.bytes();
    return sum;
  }

  /** Every source, in natural order. Shared: do not modify. */
  sources(): readonly string[] {
    this.sorted ??= [...this.known.keys()].sort(naturalCompare);
    return this.sorted;
  }

  /** Names known for a source, from the catalog and the stream. */
  names(source: string): string[] {
    return [...(this.known.get(source) ?? [])];
  }

  lastSeenOf(source: string): number | undefined {
    return this.lastSeen.get(source);
  }

  private learn(source: string, name?: string): boolean {
    let set = this.known.get(source);
    let fresh = false;
    if (!set) {
      set = new Set();
      this.known.set(source, set);
      this.sorted = null;
      fresh = true;
    }
    if (name !== undefined && !set.has(name)) {
      set.add(name);
      fresh = true;
    }
    return fresh;
  }

  /** Drops every source of hub `server` (switched off or removed). */
  forgetServer(server: string): void {
    for (const key of [...this.known.keys()]) {
      if (serverOf(key) !== server) continue;
      this.known.delete(key);
      this.store.delete(key);
      this.lastSeen.delete(key);
      this.sorted = null;
    }
  }

  /** Merge a catalog: returns true when anything new was learnt. */
  applyCatalog(catalog: Catalog): boolean {
    let fresh = false;
    for (const s of catalog.sources ?? []) {
      if (typeof s?.source !== 'string') continue;
      fresh = this.learn(s.source) || fresh;
      for (const n of s.metrics ?? []) if (typeof n === 'string') fresh = this.learn(s.source, n) || fresh;
      if (typeof s.last_seen === 'number' && s.last_seen > (this.lastSeen.get(s.source) ?? 0))
        this.lastSeen.set(s.source, s.last_seen);
    }
    return fresh;
  }

  applyBlocks(blocks: readonly unknown[] | undefined): ApplyResult {
    const res: ApplyResult = { touched: new Set(), discovered: false, accepted: 0, dropped: 0, rejected: [] };
    if (!blocks) return res;
    if (!Array.isArray(blocks)) {
      res.rejected.push('metrics is not an array');
      return res;
    }
    for (const raw of blocks) {
      const err = blockError(raw);
      if (err) {
        res.rejected.push(err);
        continue;
      }
      const b = raw as MetricBlock;
      let series = this.store.get(b.source);
      if (!series) {
        series = new SourceSeries(this.opts);
        this.store.set(b.source, series);
      }
      res.discovered = this.learn(b.source) || res.discovered;
      const names = b.names.map(String);
      for (const n of names) res.discovered = this.learn(b.source, n) || res.discovered;
      for (let i = 0; i < b.ts.length; i++) {
        const slot = series.beginRow(Number(b.ts[i]));
        if (slot < 0) {
          res.dropped++;
          continue;
        }
        for (let j = 0; j < names.length; j++) {
          const v = b.values[j]![i];
          if (typeof v === 'number' && Number.isFinite(v)) series.set(slot, names[j]!, v);
        }
        res.accepted++;
        res.touched.add(b.source);
      }
      if (series.length > 0) {
        const last = series.lastTs;
        if (last > (this.lastSeen.get(b.source) ?? 0)) this.lastSeen.set(b.source, last);
      }
    }
    return res;
  }
}
