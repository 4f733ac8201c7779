// The alarm panel's model: active alarms (firing or acknowledged) and recently resolved
// ones, deduplicated by alarm id (an id lives in at most one of the two lists).
import type { Alarm, Severity } from '../backend/types';
import { SHOW_ALL, matchesFilter, type AlarmFilter } from './alarm-filter';

export const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/** What the user can ask the hub to do with an alarm. */
export type AlarmAction = 'ack' | 'silence';

export interface AlarmEntry {
  alarm: Alarm;
  /** Start of this episode (first firing seen), unix ms; repeated firings keep it. */
  since: number;
  /** A request is in flight (one at a time: the hub refuses rapid changes to one alarm). */
  pending?: AlarmAction;
  /** The last request that failed, and why. */
  failed?: { action: AlarmAction; error: string };
  /**
   * In the recent list without a resolve we saw: an authoritative active set (e.g. after a
   * hub restart) no longer had it. `alarm.state` is the last state we did see.
   */
  unknown?: boolean;
}

function rank(s: unknown): number {
  return SEVERITY_RANK[s as Severity] ?? 0;
}

/** critical > warning > info, then newest episode first, then id for stability. */
export function compareEntries(a: AlarmEntry, b: AlarmEntry): number {
  return (
    rank(b.alarm.severity) - rank(a.alarm.severity) ||
    b.since - a.since ||
    b.alarm.ts - a.alarm.ts ||
    a.alarm.id.localeCompare(b.alarm.id)
  );
}

export function isAlarm(x: unknown): x is Alarm {
  if (!x || typeof x !== 'object') return false;
  const a = x as Partial<Alarm>;
  return (
    typeof a.id === 'string' &&
    a.id !== '' &&
    typeof a.ts === 'number' &&
    (a.state === 'firing' || a.state === 'acknowledged' || a.state === 'resolved') &&
    (a.severity === 'critical' || a.severity === 'warning' || a.severity === 'info')
  );
}

export class AlarmStore {
  private readonly active = new Map<string, AlarmEntry>();
  private readonly recentList: AlarmEntry[] = [];
  private selectedId: string | null = null;
  private shown: AlarmFilter = SHOW_ALL;
  /** Alarms refused as malformed. */
  invalid = 0;

  constructor(readonly recentLimit = 30) {}

  /** Active alarms, sorted for display. */
  activeSorted(): AlarmEntry[] {
    return [...this.active.values()].sort(compareEntries);
  }

  /** Active alarms the filter lets through, sorted for display. */
  visibleSorted(): AlarmEntry[] {
    return this.activeSorted().filter((e) => matchesFilter(e.alarm, this.shown));
  }

  /** Resolved (or unknown) alarms, newest first. */
  recent(): AlarmEntry[] {
    return [...this.recentList];
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  get filter(): AlarmFilter {
    return this.shown;
  }

  /** What the panel lists; the selection (and so the keyboard) only reaches those. */
  setFilter(f: AlarmFilter): void {
    this.shown = f;
  }

  get(id: string): AlarmEntry | undefined {
    return this.active.get(id) ?? this.recentList.find((e) => e.alarm.id === id);
  }

  /** The newest state known for an id, in either list. */
  private current(id: string): AlarmEntry | undefined {
    return this.get(id);
  }

  private removeRecent(id: string): void {
    const i = this.recentList.findIndex((e) => e.alarm.id === id);
    if (i >= 0) this.recentList.splice(i, 1);
  }

  private pushRecent(entry: AlarmEntry): void {
    this.removeRecent(entry.alarm.id);
    this.recentList.unshift(entry);
    this.recentList.sort((a, b) => b.alarm.ts - a.alarm.ts);
    if (this.recentList.length > this.recentLimit) this.recentList.length = this.recentLimit;
  }

  /**
   * Apply one transition. Returns false when it was ignored (malformed, or older than what
   * we already have for that id).
   */
  apply(alarm: unknown): boolean {
    if (!isAlarm(alarm)) {
      this.invalid++;
      return false;
    }
    const prev = this.current(alarm.id);
    if (prev && alarm.ts < prev.alarm.ts) return false;
    if (alarm.state === 'resolved') {
      const since = prev && prev.alarm.state !== 'resolved' ? prev.since : alarm.ts;
      this.active.delete(alarm.id);
      this.pushRecent({ alarm, since });
      if (this.selectedId === alarm.id) this.selectedId = null;
      return true;
    }
    // firing or acknowledged: a new episode unless the id is already active.
    const activePrev = this.active.get(alarm.id);
    this.removeRecent(alarm.id);
    let next = alarm;
    // As the hub does: a repeated firing (value update) keeps an acknowledgement (and its
    // comment) and a silence made meanwhile; a restarted episode is resolved first.
    if (activePrev && alarm.state === 'firing') {
      const p = activePrev.alarm;
      if (p.state === 'acknowledged')
        next = { ...next, state: 'acknowledged', by: alarm.by ?? p.by, comment: alarm.comment ?? p.comment };
      if (alarm.silenced_until === undefined && p.silenced_until !== undefined) next = { ...next, silenced_until: p.silenced_until };
    }
    this.active.set(alarm.id, {
      alarm: next,
      since: activePrev ? activePrev.since : alarm.ts,
    });
    return true;
  }

  /**
   * Replace the active set (of hub `server` when given) with an authoritative one
   * (`alarms.active`). Active alarms
   * missing from it move to the recent list as `unknown`, not resolved: we saw no resolve,
   * and a restarted hub forgets what was active without resolving it.
   */
  replaceActive(alarms: readonly unknown[], server?: string): void {
    const incoming = new Map<string, Alarm>();
    for (const a of alarms) {
      if (isAlarm(a) && a.state !== 'resolved') incoming.set(a.id, a);
      else if (!isAlarm(a)) this.invalid++;
    }
    for (const [id, entry] of [...this.active]) {
      // The set is one hub's: other hubs' alarms stay.
      if (server !== undefined && entry.alarm.server !== server) continue;
      if (!incoming.has(id)) {
        this.active.delete(id);
        this.pushRecent({ alarm: entry.alarm, since: entry.since, unknown: true });
      }
    }
    for (const a of incoming.values()) {
      const prev = this.active.get(a.id);
      this.removeRecent(a.id);
      // A transition that arrived on the stream after the snapshot was taken is newer: keep it.
      const alarm = prev && prev.alarm.ts > a.ts ? prev.alarm : a;
      this.active.set(a.id, { alarm, since: prev ? Math.min(prev.since, a.ts) : a.ts });
    }
    if (this.selectedId && !this.active.has(this.selectedId)) this.selectedId = null;
  }

  /** Drops every alarm of hub `server` (switched off or removed), active and recent. */
  forgetServer(server: string): void {
    for (const [id, entry] of [...this.active]) if (entry.alarm.server === server) this.active.delete(id);
    for (let i = this.recentList.length - 1; i >= 0; i--) if (this.recentList[i]!.alarm.server === server) this.recentList.splice(i, 1);
    if (this.selectedId && !this.active.has(this.selectedId)) this.selectedId = null;
  }

  // ---- request bookkeeping (acknowledge, silence) ----

  markPending(id: string, action: AlarmAction): void {
    const e = this.active.get(id);
    if (e) {
      e.pending = action;
      delete e.failed;
    }
  }

  markFailed(id: string, action: AlarmAction, error: string): void {
    const e = this.active.get(id);
    if (e) {
      delete e.pending;
      e.failed = { action, error };
    }
  }

  clearPending(id: string): void {
    const e = this.active.get(id);
    if (e) delete e.pending;
  }

  // ---- selection (keyboard) ----

  get selected(): string | null {
    return this.selectedId && this.isVisible(this.selectedId) ? this.selectedId : null;
  }

  select(id: string | null): void {
    this.selectedId = id && this.isVisible(id) ? id : null;
  }

  private isVisible(id: string): boolean {
    const e = this.active.get(id);
    return !!e && matchesFilter(e.alarm, this.shown);
  }

  /** Move the selection by `delta` rows in display order (clamped); selects the first row if none. */
  moveSelection(delta: number): string | null {
    const rows = this.visibleSorted();
    if (rows.length === 0) {
      this.selectedId = null;
      return null;
    }
    const cur = this.selected;
    const i = cur ? rows.findIndex((e) => e.alarm.id === cur) : -1;
    const j = i < 0 ? (delta >= 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, i + delta));
    this.selectedId = rows[j]!.alarm.id;
    return this.selectedId;
  }

  counts(): Record<Severity, number> {
    const c: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
    for (const e of this.active.values()) c[e.alarm.severity]++;
    return c;
  }
}
