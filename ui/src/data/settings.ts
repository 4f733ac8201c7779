// Pure settings logic for the settings view: the shell's checks mirrored (so most mistakes are
// shown before saving; the shell checks again), do-not-disturb times in local time, and the
// form ↔ Settings mapping.
import type { FieldProblem, ServerEntry, Settings, TokenSource } from '../backend/settings';

export const CHART_WINDOWS = [
  { secs: 60, label: '1 min' },
  { secs: 300, label: '5 min' },
  { secs: 900, label: '15 min' },
  { secs: 3600, label: '1 h' },
] as const;

export const MAX_FLAP_HOLD_SECS = 3600;
export const MAX_REPEAT_MINS = 24 * 60;

/** The shell's `Endpoint::parse` checks; the message is the one it gives, or null when fine. */
export function urlProblem(url: string): string | null {
  const trimmed = url.trim();
  const invalid = (why: string) =>
    `invalid server URL ${JSON.stringify(url)}: ${why}; expected ws://HOST:PORT/connection/websocket (or wss:// for TLS)`;
  if (!trimmed) return invalid('it is empty');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed);
  if (!scheme) return invalid('the scheme ws:// or wss:// is missing');
  const name = scheme[1]!.toLowerCase();
  if (name !== 'ws' && name !== 'wss') return invalid(`scheme ${scheme[1]}:// is neither ws:// nor wss://`);
  const rest = trimmed.slice(scheme[0].length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash).split(/[?#]/)[0]!;
  const hostPort = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
  const afterHost = hostPort.startsWith('[') ? hostPort.slice(hostPort.indexOf(']') + 1) : hostPort;
  const colon = afterHost.lastIndexOf(':');
  const host = hostPort.startsWith('[') ? hostPort.slice(1, hostPort.indexOf(']')) : colon < 0 ? afterHost : afterHost.slice(0, colon);
  if (!host) return invalid('the host is missing');
  if (colon >= 0) {
    const text = afterHost.slice(colon + 1);
    const port = /^\d+$/.test(text) ? Number(text) : NaN;
    if (port === 0) return invalid('port 0 cannot be dialed');
    if (!(port >= 1 && port <= 65535)) return invalid(`port ${JSON.stringify(text)} is not a number from 1 to 65535`);
  }
  if (path === '' || path === '/') return invalid('the path is missing');
  return null;
}

const ID_CHARS = /^[A-Za-z0-9._-]{1,64}$/;

function tokenProblem(entry: ServerEntry, hasToken: (id: string) => boolean): string | null {
  const t = entry.token;
  switch (t.kind) {
    case 'none':
      return null;
    case 'fixed':
      return (t.value ?? '').trim() || hasToken(entry.id) ? null : `Paste the token for ${JSON.stringify(entry.name.trim())}, or choose another token source.`;
    case 'file':
      if (!t.path.trim()) return 'Give the path of the token file.';
      return t.path.trim().startsWith('/') ? null : `Use an absolute path for the token file (starting with /), not ${JSON.stringify(t.path)}.`;
    case 'command':
      return t.command.trim() ? null : 'Give the command that prints the token.';
  }
}

/**
 * The shell's checks (src-tauri/src/settings/check.rs), same fields and messages.
 * `hasToken(id)`: whether the shell holds a fixed token for that server already (blank keeps it).
 */
export function validate(s: Settings, hasToken: (id: string) => boolean): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const ids = new Set<string>();
  s.servers.forEach((entry, i) => {
    const field = (name: string) => `servers.${i}.${name}`;
    if (!entry.id) problems.push({ field: field('id'), message: 'This server has no id; remove it and add it again.' });
    else if (!ID_CHARS.test(entry.id))
      problems.push({ field: field('id'), message: `The server id ${JSON.stringify(entry.id)} may hold only letters, digits, '-', '_' and '.' (64 at most).` });
    else if (ids.has(entry.id)) problems.push({ field: field('id'), message: `Two servers have the id ${JSON.stringify(entry.id)}; remove one of them.` });
    else ids.add(entry.id);
    if (entry.temporary) return;
    if (!entry.name.trim()) problems.push({ field: field('name'), message: 'Give this server a name.' });
    const url = urlProblem(entry.url);
    if (url) problems.push({ field: field('url'), message: url });
    const ca = entry.caFile?.trim();
    if (ca && !ca.startsWith('/'))
      problems.push({ field: field('caFile'), message: `Use an absolute path for the CA file (starting with /), not ${JSON.stringify(entry.caFile)}.` });
    const token = tokenProblem(entry, hasToken);
    if (token) problems.push({ field: field('token'), message: token });
  });
  if (!CHART_WINDOWS.some((w) => w.secs === s.chartWindowSecs))
    problems.push({ field: 'chartWindowSecs', message: `The chart window must be 60, 300, 900 or 3600 seconds, not ${s.chartWindowSecs}.` });
  const n = s.notifications;
  if (!Number.isInteger(n.flapHoldSecs) || n.flapHoldSecs < 0 || n.flapHoldSecs > MAX_FLAP_HOLD_SECS)
    problems.push({ field: 'notifications.flapHoldSecs', message: `The flap hold is at most ${MAX_FLAP_HOLD_SECS} seconds, not ${n.flapHoldSecs}.` });
  if (n.repeatMins !== null && (!Number.isInteger(n.repeatMins) || n.repeatMins < 1 || n.repeatMins > MAX_REPEAT_MINS))
    problems.push({ field: 'notifications.repeatMins', message: `Repeat every 1 to ${MAX_REPEAT_MINS} minutes, or turn repeating off.` });
  return problems;
}

// ---- do not disturb ----

export type DndChoice = 'off' | 'hour' | 'morning';

/** The next 08:00 local time after `now` (tomorrow's, or today's when it is before 08:00). */
export function nextMorning(now: Date, hour = 8): Date {
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hour, 0, 0, 0);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at;
}

/** `dndUntil` for a choice made at `now`. */
export function dndUntil(choice: DndChoice, now: Date): number | null {
  switch (choice) {
    case 'off':
      return null;
    case 'hour':
      return now.getTime() + 3_600_000;
    case 'morning':
      return nextMorning(now).getTime();
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** "Off", "On until 14:05", or "On until Tue 08:00" when not today (local time). */
export function dndText(until: number | null, now: Date): string {
  if (until === null || until <= now.getTime()) return 'Off';
  const at = new Date(until);
  const time = `${pad(at.getHours())}:${pad(at.getMinutes())}`;
  const sameDay = at.getFullYear() === now.getFullYear() && at.getMonth() === now.getMonth() && at.getDate() === now.getDate();
  if (sameDay) return `On until ${time}`;
  const day = at.toLocaleDateString('en', { weekday: 'short' });
  return `On until ${day} ${time}`;
}

// ---- form ↔ settings ----

export type TokenKind = TokenSource['kind'];

/** One server row as the form edits it: every token field kept, so switching kinds loses nothing. */
export interface ServerForm {
  id: string;
  name: string;
  url: string;
  caFile: string;
  enabled: boolean;
  temporary: boolean;
  tokenKind: TokenKind;
  /** A newly pasted token; empty keeps the one held. */
  tokenValue: string;
  tokenPath: string;
  tokenCommand: string;
  /** Where the held fixed token is, if there is one. */
  stored: 'keyring' | 'file' | null;
}

export function serverForm(entry: ServerEntry): ServerForm {
  const t = entry.token;
  return {
    id: entry.id,
    name: entry.name,
    url: entry.url,
    caFile: entry.caFile ?? '',
    enabled: entry.enabled,
    temporary: !!entry.temporary,
    tokenKind: t.kind,
    tokenValue: '',
    tokenPath: t.kind === 'file' ? t.path : '',
    tokenCommand: t.kind === 'command' ? t.command : '',
    stored: t.kind === 'fixed' ? (t.stored ?? null) : null,
  };
}

export function serverEntry(form: ServerForm): ServerEntry {
  let token: TokenSource;
  switch (form.tokenKind) {
    case 'none':
      token = { kind: 'none' };
      break;
    case 'fixed':
      token = form.tokenValue.trim() ? { kind: 'fixed', value: form.tokenValue.trim() } : { kind: 'fixed' };
      break;
    case 'file':
      token = { kind: 'file', path: form.tokenPath.trim() };
      break;
    case 'command':
      token = { kind: 'command', command: form.tokenCommand.trim() };
      break;
  }
  const entry: ServerEntry = { id: form.id, name: form.name.trim(), url: form.url.trim(), token, enabled: form.enabled };
  if (form.caFile.trim()) entry.caFile = form.caFile.trim();
  if (form.temporary) entry.temporary = true;
  return entry;
}

/** A fresh id not among `taken`: `server-<n>`. */
export function newServerId(taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let n = 1; ; n++) if (!used.has(`server-${n}`)) return `server-${n}`;
}

/** Parses a whole number field; null for empty, NaN for junk (caught by validate). */
export function parseCount(text: string): number | null {
  const t = text.trim();
  if (!t) return null;
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

/** Adds `item` to a chip list (trimmed, once); the same list when empty or present. */
export function addChip(list: string[], item: string): string[] {
  const t = item.trim();
  return !t || list.includes(t) ? list : [...list, t];
}
