// The words of the alarm panel, kept pure so they are unit-tested without a DOM.
import type { Alarm, Severity } from '../backend/types';
import { SEVERITIES } from './alarm-filter';
import { clockTime, spanText } from './format';

/** Shown in the recent list for an alarm the hub stopped listing without a resolve we saw. */
export const UNKNOWN_TEXT = 'state unknown — no longer active on the hub (hub restarted or history lost)';

/** The window title: 'Telltale — 2 critical, 1 warning', or 'Telltale' when nothing is active. */
export function titleText(counts: Record<Severity, number>): string {
  const parts = SEVERITIES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`);
  return parts.length ? `Telltale — ${parts.join(', ')}` : 'Telltale';
}

/** 'firing since 14:03 (12 min)'. */
export function firingSince(since: number, now: number): string {
  return `firing since ${clockTime(since, false)} (${spanText(now - since) ?? '0 s'})`;
}

/** '15:03' today, 'tomorrow 01:30', else '2026-12-04 08:00': a silence end, read at a glance. */
export function untilText(until: number, now: number): string {
  const hm = clockTime(until, false);
  const day = dayNumber(until) - dayNumber(now);
  if (day === 0) return hm;
  if (day === 1) return `tomorrow ${hm}`;
  const d = new Date(until);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${hm}`;
}

/** Local calendar day as a number that increases by one per day (DST-proof). */
function dayNumber(ts: number): number {
  const d = new Date(ts);
  return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86_400_000;
}

/**
 * 'HH:MM' (or 'H:MM', 'HHMM') typed for "silence until…": the next such local time, today or
 * tomorrow. A plain text field, because WebKitGTK has no picker for time inputs.
 */
export function parseClock(text: string, now: number): number | null {
  const m = /^\s*(\d{1,2}):?(\d{2})\s*$/.exec(text);
  if (!m) return null;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (hours > 23 || minutes > 59) return null;
  const d = new Date(now);
  d.setHours(hours, minutes, 0, 0);
  if (d.getTime() <= now) d.setDate(d.getDate() + 1);
  return d.getTime();
}

/** "acked by ann: 'rebooting'" (empty for an alarm that is not acknowledged). */
export function ackNote(a: Pick<Alarm, 'state' | 'by' | 'comment'>): string {
  if (a.state !== 'acknowledged') return '';
  const who = a.by ? `acked by ${a.by}` : 'acked';
  return a.comment ? `${who}: '${a.comment}'` : who;
}
