// The history view's pure logic: the filter a form state asks for, time presets, row
// matching (the mock's, same semantics as crates/history), and texts.
import type { HistoryFilter, HistoryPage, HistoryRow } from '../backend/history';
import type { Severity } from '../backend/types';

export const HISTORY_SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

/** Rows a query asks for (the Rust side's default too). */
export const PAGE_LIMIT = 1000;

export type RangePreset = '1h' | '24h' | '7d' | '30d' | 'custom';

const HOUR = 3_600_000;
export const RANGE_PRESETS: readonly { id: RangePreset; label: string; ms: number | null }[] = [
  { id: '1h', label: 'Last hour', ms: HOUR },
  { id: '24h', label: 'Last 24 hours', ms: 24 * HOUR },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * HOUR },
  { id: '30d', label: 'Last 30 days', ms: 30 * 24 * HOUR },
  { id: 'custom', label: 'Custom…', ms: null },
];

/** What the filter bar holds. */
export interface HistoryForm {
  severities: ReadonlySet<Severity>;
  source: string;
  /** '' for every server. */
  serverId: string;
  text: string;
  range: RangePreset;
  /** `<input type="datetime-local">` values, local time; used with `range: 'custom'`. */
  customFrom: string;
  customTo: string;
}

export const DEFAULT_FORM: HistoryForm = {
  severities: new Set(HISTORY_SEVERITIES),
  source: '',
  serverId: '',
  text: '',
  range: '24h',
  customFrom: '',
  customTo: '',
};

export type BuiltFilter = { filter: HistoryFilter } | { error: string };

/** The filter for `form` at `now`, or what to fix. */
export function buildFilter(form: HistoryForm, now: number, limit: number = PAGE_LIMIT): BuiltFilter {
  if (form.severities.size === 0) return { error: 'Pick at least one severity.' };
  const filter: HistoryFilter = { limit };
  if (form.severities.size < HISTORY_SEVERITIES.length) {
    filter.severities = HISTORY_SEVERITIES.filter((s) => form.severities.has(s));
  }
  const source = form.source.trim();
  if (source) filter.source = source;
  if (form.serverId) filter.serverId = form.serverId;
  const text = form.text.trim();
  if (text) filter.text = text;
  const range = timeRange(form, now);
  if ('error' in range) return range;
  if (range.from !== undefined) filter.from = range.from;
  if (range.to !== undefined) filter.to = range.to;
  return { filter };
}

function timeRange(form: HistoryForm, now: number): { from?: number; to?: number } | { error: string } {
  const preset = RANGE_PRESETS.find((p) => p.id === form.range);
  if (preset && preset.ms !== null) return { from: now - preset.ms };
  const from = form.customFrom ? parseLocalInput(form.customFrom) : undefined;
  const to = form.customTo ? parseLocalInput(form.customTo) : undefined;
  if (from === null) return { error: 'The "From" time is not a valid date and time.' };
  if (to === null) return { error: 'The "To" time is not a valid date and time.' };
  if (from !== undefined && to !== undefined && from >= to) return { error: '"From" must be before "To".' };
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

/** A `datetime-local` value ("2026-11-30T23:05", seconds optional), local time → unix ms; null if invalid. */
export function parseLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((p) => Number(p ?? 0)) as [number, number, number, number, number, number];
  const date = new Date(y, mo - 1, d, h, mi, s);
  // Rejects 2026-02-31 and the like, which Date would roll over.
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d || date.getHours() !== h || date.getMinutes() !== mi) return null;
  return date.getTime();
}

/** unix ms → a `datetime-local` value, local time, to the minute. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}`;
}

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "2026-11-30 23:05:09", local time. */
export function formatRowTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** "No transitions match" / "3 transitions" / "showing 1000 of 5321". */
export function showingText(shown: number, total: number): string {
  if (total === 0) return 'No transitions match';
  if (shown >= total) return total === 1 ? '1 transition' : `${total} transitions`;
  return `showing ${shown} of ${total}`;
}

/** Whether `row` is selected by `filter` (the crate's semantics). */
export function matchesHistoryFilter(row: HistoryRow, filter: HistoryFilter): boolean {
  if (filter.severities && filter.severities.length > 0 && !filter.severities.includes(row.severity)) return false;
  const source = filter.source?.trim().toLowerCase();
  if (source && !row.source.toLowerCase().includes(source)) return false;
  if (filter.serverId && row.serverId !== filter.serverId) return false;
  const text = filter.text?.trim().toLowerCase();
  if (text) {
    const haystack = [row.alarmId, row.title, row.message, JSON.stringify(row.labels)].join('\n').toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  if (filter.from !== undefined && row.ts < filter.from) return false;
  if (filter.to !== undefined && row.ts >= filter.to) return false;
  return true;
}

/** The page `filter` selects from `rows`: newest first, at most its limit, with the total. */
export function queryRows(rows: readonly HistoryRow[], filter: HistoryFilter): HistoryPage {
  const matched = rows.filter((r) => matchesHistoryFilter(r, filter));
  matched.sort((a, b) => b.ts - a.ts);
  return { rows: matched.slice(0, filter.limit ?? PAGE_LIMIT), total: matched.length };
}

/** `telltale-alarms-20261130-230031.csv` (UTC), as the shell names its export. */
export function exportFileName(now: number): string {
  const iso = new Date(now).toISOString(); // 2026-11-30T23:00:31.123Z
  const digits = iso.replace(/\D/g, '');
  return `telltale-alarms-${digits.slice(0, 8)}-${digits.slice(8, 14)}.csv`;
}

/** The servers seen in `rows` (id → name), for the server picker when the app gave none. */
export function serversOf(rows: readonly HistoryRow[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) if (!out.has(r.serverId)) out.set(r.serverId, r.serverName);
  return out;
}
