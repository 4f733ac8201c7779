// The fleet overview's logic, without the DOM: what state a source is in, the worst-first
// order, the filter language, and which few metrics a tile shows.
import type { Alarm, Severity } from '../backend/types';
import { naturalCompare } from './groups';
import { nameOf } from './servers';

/** A tile's state, worst first. */
export type TileState = 'critical' | 'silent' | 'warning' | 'info' | 'ok' | 'nodata';

export const TILE_STATES: readonly TileState[] = ['critical', 'silent', 'warning', 'info', 'ok', 'nodata'];

const RANK: Record<TileState, number> = { critical: 0, silent: 1, warning: 2, info: 3, ok: 4, nodata: 5 };

/** A source without samples for this long is silent, whatever its rate. */
export const MIN_STALE_MS = 15_000;

/**
 * How long a source may go without a sample before it is shown as silent: 15 s, or three of
 * its own intervals when it publishes slower than every 5 s (a once-a-minute check is not
 * silent after 15 s).
 */
export function staleAfter(intervalMs: number): number {
  return Number.isFinite(intervalMs) ? Math.max(MIN_STALE_MS, 3 * intervalMs) : MIN_STALE_MS;
}

/** Whether a source whose newest sample came at `lastSeen` (unix ms) counts as silent at `now`. */
export function isStale(lastSeen: number | undefined, intervalMs: number, now: number): boolean {
  return lastSeen !== undefined && Number.isFinite(lastSeen) && now - lastSeen > staleAfter(intervalMs);
}

export interface SourceFacts {
  source: string;
  /** Newest sample ts (unix ms), undefined before the first. */
  lastSeen: number | undefined;
  /** Typical ms between its samples (NaN when unknown). */
  interval: number;
  /** Its active alarms (firing or acknowledged). */
  alarms: readonly Alarm[];
}

const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

/** The worst severity among firing (not acknowledged) alarms, or null. */
export function worstFiring(alarms: readonly Alarm[]): Severity | null {
  for (const s of SEVERITIES) if (alarms.some((a) => a.state === 'firing' && a.severity === s)) return s;
  return null;
}

/** The id of the alarm the hub raises when `source` goes silent. */
export function silentAlarmId(source: string): string {
  return `${source}/silent`;
}

/**
 * Critical first: someone must act. A silent source comes next, above warnings, because
 * nothing it says can be trusted until it reports again (a dead host must never look healthy).
 * The hub's own `<source>/silent` alarm is that same fact, so it makes the tile silent
 * (even before this window saw the samples stop), not critical.
 */
export function tileState(f: SourceFacts, now: number): TileState {
  const silentId = silentAlarmId(f.source);
  const worst = worstFiring(f.alarms.filter((a) => a.id !== silentId));
  if (worst === 'critical') return 'critical';
  const hubSaysSilent = f.alarms.some((a) => a.id === silentId && a.state !== 'resolved');
  if (hubSaysSilent || isStale(f.lastSeen, f.interval, now)) return 'silent';
  if (f.lastSeen === undefined) return worst ?? 'nodata';
  return worst ?? 'ok';
}

export function compareTiles(a: { source: string; state: TileState }, b: { source: string; state: TileState }): number {
  // By the source's own name, then its hub: `web1` of two hubs side by side.
  return RANK[a.state] - RANK[b.state] || naturalCompare(nameOf(a.source), nameOf(b.source)) || naturalCompare(a.source, b.source);
}

/** A parsed filter: words must all match. */
export interface FleetFilter {
  words: string[];
  states: Set<TileState>;
  labels: [string, string][];
}

/**
 * `web` matches names containing "web"; `is:critical` (or `is:silent`, `is:ok`, …) matches a
 * state, several `is:` are alternatives; `key=value` matches a label of one of the source's
 * alarms. Case-insensitive; everything else must all match.
 */
export function parseFilter(text: string): FleetFilter {
  const f: FleetFilter = { words: [], states: new Set(), labels: [] };
  for (const raw of text.toLowerCase().split(/\s+/).filter(Boolean)) {
    const state = /^is:(\w+)$/.exec(raw)?.[1];
    if (state && (TILE_STATES as readonly string[]).includes(state)) f.states.add(state as TileState);
    else if (/^[^=]+=.*$/.test(raw)) {
      const i = raw.indexOf('=');
      f.labels.push([raw.slice(0, i), raw.slice(i + 1)]);
    } else f.words.push(raw);
  }
  return f;
}

/** `label` is what the tile shows: the source's name, with its hub's when there are several. */
export function matchesFilter(f: FleetFilter, label: string, state: TileState, alarms: readonly Alarm[]): boolean {
  const name = label.toLowerCase();
  if (!f.words.every((w) => name.includes(w))) return false;
  if (f.states.size && !f.states.has(state)) return false;
  return f.labels.every(([k, v]) =>
    alarms.some((a) => Object.entries(a.labels ?? {}).some(([ak, av]) => ak.toLowerCase() === k && av.toLowerCase().includes(v))),
  );
}

/** The metrics a tile draws, best known first. */
const KEY_METRICS = ['cpu.total', 'mem.used_percent', 'load.1', 'disk.used_percent', 'net.rx_bytes_per_s'];

/** Up to `n` metrics for a tile: the well-known host metrics, else the first names in natural order. */
export function keyMetrics(names: readonly string[], n = 3): string[] {
  const have = new Set(names);
  const out = KEY_METRICS.filter((m) => have.has(m));
  if (out.length < n) for (const m of [...names].sort(naturalCompare)) if (!out.includes(m) && out.push(m) >= n) break;
  return out.slice(0, n);
}
