// Which alarms the panel lists: severity toggles and a source substring. A pure value, so the
// store can keep the keyboard selection on what is visible and tests need no DOM.
import type { Alarm, Severity } from '../backend/types';

export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

export interface AlarmFilter {
  /** Severities shown. */
  readonly severities: ReadonlySet<Severity>;
  /** Case-insensitive part of the source name; blank shows every source. */
  readonly source: string;
}

export const SHOW_ALL: AlarmFilter = { severities: new Set(SEVERITIES), source: '' };

export function matchesFilter(a: Pick<Alarm, 'severity' | 'source'>, f: AlarmFilter): boolean {
  if (!f.severities.has(a.severity)) return false;
  const part = f.source.trim().toLowerCase();
  return part === '' || a.source.toLowerCase().includes(part);
}

export function toggleSeverity(f: AlarmFilter, s: Severity): AlarmFilter {
  const severities = new Set(f.severities);
  if (!severities.delete(s)) severities.add(s);
  return { ...f, severities };
}

/** Distinct sources of these alarms, sorted: the suggestions of the source filter. */
export function alarmSources(alarms: Iterable<Pick<Alarm, 'source'>>): string[] {
  const out = new Set<string>();
  for (const a of alarms) out.add(a.source);
  return [...out].sort();
}
