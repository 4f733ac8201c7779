// When an alarm transition becomes a notification: the desktop's rules
// (src-tauri/src/notifications/policy.rs and note.rs), ported as they are so a browser tab
// notifies exactly when the desktop app would. Pure: time is passed in, nothing polls;
// `nextWake` says when `wake` has something to do (a repeat, a deferred note, a resolve's hold).
//
// Per (server id, alarm id): one note per firing episode; acknowledged or newly silenced
// closes it; muted / below the minimum severity stays quiet for the episode; silenced,
// snoozed or do not disturb (unless critical breaks it) defers the note; a resolve of a
// notified alarm closes the note and, after the flap hold without a new firing, says
// "Resolved: ..."; firing again within the hold (flapping) sends nothing.
import type { Alarm, Severity } from './types';
import { defaultSettings, type NotifyPrefs } from './settings';

/** Urgency levels of the freedesktop specification (the browser maps them). */
export type NoteUrgency = 'low' | 'normal' | 'critical';

export interface Note {
  summary: string;
  /** The alarm's message, then `source · server`. */
  body: string;
  urgency: NoteUrgency;
  /** Offers "Acknowledge" (firing alarms). */
  acknowledge: boolean;
}

export interface AlarmKey {
  server: string;
  id: string;
}

/** Show: a new firing (in place of an older note of the alarm); Replace: a repeat; Close. */
export type Effect = { kind: 'show'; note: Note } | { kind: 'replace'; note: Note } | { kind: 'close' };

export type KeyedEffect = { key: AlarmKey; effect: Effect };

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** The desktop's defaults (settings/mod.rs): the same as a fresh settings file's. */
export function defaultPrefs(): NotifyPrefs {
  return defaultSettings().notifications;
}

export function firingNote(alarm: Alarm, serverName: string): Note {
  const urgency: NoteUrgency = alarm.severity === 'critical' ? 'critical' : alarm.severity === 'warning' ? 'normal' : 'low';
  return { summary: alarm.title, body: noteBody(alarm, serverName), urgency, acknowledge: true };
}

export function resolvedNote(alarm: Alarm, serverName: string): Note {
  return { summary: `Resolved: ${alarm.title}`, body: noteBody(alarm, serverName), urgency: 'low', acknowledge: false };
}

function noteBody(alarm: Alarm, serverName: string): string {
  const origin = serverName ? `${alarm.source} · ${serverName}` : alarm.source;
  return alarm.message ? `${alarm.message}\n${origin}` : origin;
}

interface Entry {
  alarm: Alarm;
  serverName: string;
  /** Last time this episode notified; null: the user has not been told. */
  notifiedAt: number | null;
  /** Muted or below the minimum severity when it fired. */
  quiet: boolean;
  /** Resolved at this time, waiting for the flap hold to pass. */
  resolvedAt: number | null;
}

type Gate = { open: true } | { open: false; until: number | null };
const OPEN: Gate = { open: true };

const keyString = (k: AlarmKey) => JSON.stringify([k.server, k.id]);

export class NotifyPolicy {
  private readonly alarms = new Map<string, { key: AlarmKey; entry: Entry }>();

  constructor(private prefs: NotifyPrefs = defaultPrefs()) {}

  /** New preferences; they apply from the next decision on. */
  setPrefs(prefs: NotifyPrefs): void {
    this.prefs = prefs;
  }

  onAlarm(server: string, serverName: string, alarm: Alarm, now: number): KeyedEffect[] {
    const key = { server, id: alarm.id };
    const effects =
      alarm.state === 'firing' ? this.fire(key, serverName, alarm, now) : alarm.state === 'acknowledged' ? this.acknowledge(key, serverName, alarm) : this.resolve(key, alarm, now);
    return effects.map((effect) => ({ key, effect }));
  }

  /** After a resync: `active` is everything firing or acknowledged; the rest resolved meanwhile. */
  onActive(server: string, serverName: string, active: readonly Alarm[], now: number): KeyedEffect[] {
    const gone: Alarm[] = [];
    for (const { key, entry } of this.alarms.values()) {
      if (key.server === server && entry.resolvedAt === null && !active.some((a) => a.id === key.id)) gone.push({ ...entry.alarm, state: 'resolved', ts: now });
    }
    return [...gone, ...active].flatMap((a) => this.onAlarm(server, serverName, a, now));
  }

  /** When `wake` next has something to do (unix ms; may be past), or null. */
  nextWake(now: number): number | null {
    let min: number | null = null;
    for (const { key, entry } of this.alarms.values()) {
      const t = this.wakeTime(key, entry, now);
      if (t !== null && (min === null || t < min)) min = t;
    }
    return min;
  }

  /** What is due at `now`: repeats, deferred notes, resolves whose hold passed. */
  wake(now: number): KeyedEffect[] {
    const keys = [...this.alarms.values()].map((v) => v.key).sort((a, b) => (a.server === b.server ? cmp(a.id, b.id) : cmp(a.server, b.server)));
    return keys.flatMap((key) => this.settle(key, now).map((effect) => ({ key, effect })));
  }

  private get(key: AlarmKey): Entry | undefined {
    return this.alarms.get(keyString(key))?.entry;
  }

  private fire(key: AlarmKey, serverName: string, alarm: Alarm, now: number): Effect[] {
    const hold = this.holdMs();
    const entry = this.get(key);
    if (entry && entry.resolvedAt !== null && now < entry.resolvedAt + hold) {
      // Flapping: the same problem is back before the hold ended.
      entry.resolvedAt = null;
      entry.alarm = alarm;
      entry.serverName = serverName;
      return [];
    }
    if (entry && entry.resolvedAt === null) {
      // Same episode (or acknowledged: someone is on it).
      if (entry.alarm.state !== 'firing') return [];
      const silenced = (a: Alarm) => a.silenced_until != null && a.silenced_until > now;
      const newlySilenced = silenced(alarm) && !silenced(entry.alarm);
      entry.alarm = alarm;
      entry.serverName = serverName;
      if (newlySilenced && entry.notifiedAt !== null) return [{ kind: 'close' }];
      return this.settle(key, now);
    }
    // A new episode (or a resolve whose hold passed before wake ran).
    this.alarms.set(keyString(key), { key, entry: { alarm, serverName, notifiedAt: null, quiet: false, resolvedAt: null } });
    return this.settle(key, now);
  }

  private acknowledge(key: AlarmKey, serverName: string, alarm: Alarm): Effect[] {
    let entry = this.get(key);
    if (!entry) {
      entry = { alarm, serverName, notifiedAt: null, quiet: false, resolvedAt: null };
      this.alarms.set(keyString(key), { key, entry });
    }
    entry.alarm = alarm;
    entry.resolvedAt = null;
    return entry.notifiedAt !== null ? [{ kind: 'close' }] : [];
  }

  private resolve(key: AlarmKey, alarm: Alarm, now: number): Effect[] {
    const entry = this.get(key);
    if (!entry) return [];
    if (entry.notifiedAt === null) {
      // Never told: nothing on screen, nothing to say.
      this.alarms.delete(keyString(key));
      return [];
    }
    if (entry.resolvedAt !== null) return [];
    // The hub may drop the silence with the resolve: a silenced alarm stays silenced for its resolved note.
    const a = entry.alarm.silenced_until ?? null;
    const b = alarm.silenced_until ?? null;
    const silencedUntil = a === null ? b : b === null ? a : Math.max(a, b);
    entry.alarm = { ...alarm };
    if (silencedUntil === null) delete entry.alarm.silenced_until;
    else entry.alarm.silenced_until = silencedUntil;
    entry.resolvedAt = now;
    return this.settle(key, now);
  }

  private settle(key: AlarmKey, now: number): Effect[] {
    const hold = this.holdMs();
    const entry = this.get(key);
    if (!entry) return [];
    if (entry.resolvedAt !== null) {
      if (now < entry.resolvedAt + hold) return [];
      this.alarms.delete(keyString(key));
      const effects: Effect[] = [{ kind: 'close' }];
      if (this.gate(key, entry.alarm, now, false).open) effects.push({ kind: 'show', note: resolvedNote(entry.alarm, entry.serverName) });
      return effects;
    }
    if (entry.quiet || entry.alarm.state !== 'firing') return [];
    const due = this.due(entry, now);
    if (due === null || due > now) return [];
    const gate = this.gate(key, entry.alarm, now, true);
    if (gate.open) {
      const note = firingNote(entry.alarm, entry.serverName);
      const effect: Effect = entry.notifiedAt !== null ? { kind: 'replace', note } : { kind: 'show', note };
      entry.notifiedAt = now;
      return [effect];
    }
    if (gate.until === null) entry.quiet = true;
    return [];
  }

  /** When this episode should notify next, ignoring gates. */
  private due(entry: Entry, now: number): number | null {
    if (entry.notifiedAt === null) return now;
    const mins = this.prefs.repeatMins;
    return mins != null && mins > 0 ? entry.notifiedAt + mins * 60_000 : null;
  }

  private wakeTime(key: AlarmKey, entry: Entry, now: number): number | null {
    if (entry.resolvedAt !== null) return entry.resolvedAt + this.holdMs();
    if (entry.quiet || entry.alarm.state !== 'firing') return null;
    const due = this.due(entry, now);
    if (due === null) return null;
    const gate = this.gate(key, entry.alarm, Math.max(due, now), true);
    if (gate.open) return due;
    return gate.until === null ? null : Math.max(gate.until, due);
  }

  private holdMs(): number {
    return this.prefs.flapHoldSecs * 1000;
  }

  /** May a note about `alarm` go out at `now`? `firing`: critical ones may break do not disturb. */
  private gate(key: AlarmKey, alarm: Alarm, now: number, firing: boolean): Gate {
    const p = this.prefs;
    const source = `${key.server}/${alarm.source}`;
    if (p.mutedServers.includes(key.server) || p.mutedSources.includes(source) || RANK[alarm.severity] < RANK[p.minSeverity]) return { open: false, until: null };
    const breaksDnd = firing && alarm.severity === 'critical' && p.criticalBreaksDnd;
    const untils = [
      alarm.silenced_until ?? null,
      ...p.snoozes.filter((s) => s.server === key.server && s.id === key.id).map((s) => s.until),
      breaksDnd ? null : (p.dndUntil ?? null),
    ].filter((u): u is number => u !== null && u > now);
    return untils.length ? { open: false, until: Math.max(...untils) } : OPEN;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
