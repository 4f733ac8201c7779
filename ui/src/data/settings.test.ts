import { describe, expect, it } from 'vitest';
import { defaultSettings, MemorySettingsBackend, SettingsRejected, toRejected, type ServerEntry, type Settings } from '../backend/settings';
import { addChip, dndText, dndUntil, newServerId, nextMorning, parseCount, serverEntry, serverForm, urlProblem, validate } from './settings';

const URL = 'ws://127.0.0.1:8000/connection/websocket';
const none = () => false;

function withServers(...servers: ServerEntry[]): Settings {
  return { ...defaultSettings(), servers };
}

describe('urlProblem mirrors Endpoint::parse', () => {
  it('accepts ws and wss URLs with a path', () => {
    expect(urlProblem(URL)).toBeNull();
    expect(urlProblem(' wss://hub.example/connection/websocket ')).toBeNull();
    expect(urlProblem('ws://[::1]:8000/connection/websocket')).toBeNull();
  });
  it('says what is wrong and the expected form', () => {
    expect(urlProblem('localhost:8000')).toContain('the scheme ws:// or wss:// is missing');
    expect(urlProblem('http://hub/x')).toContain('scheme http:// is neither ws:// nor wss://');
    expect(urlProblem('ws://hub:0/x')).toContain('port 0 cannot be dialed');
    expect(urlProblem('ws://hub:99999/x')).toContain('port "99999" is not a number from 1 to 65535');
    expect(urlProblem('ws://hub:8000')).toContain('the path is missing');
    expect(urlProblem('ws:///x')).toContain('the host is missing');
    expect(urlProblem('')).toContain('it is empty');
    expect(urlProblem('hub')).toContain('expected ws://HOST:PORT/connection/websocket (or wss:// for TLS)');
  });
});

describe('validate', () => {
  it('passes the defaults', () => {
    expect(validate(defaultSettings(), none)).toEqual([]);
  });
  it('names each bad field like the shell does', () => {
    const s = withServers(
      { id: 'a', name: ' ', url: 'localhost', token: { kind: 'none' }, enabled: true },
      { id: 'b', name: 'B', url: URL, token: { kind: 'file', path: 'token' }, enabled: true },
      { id: 'b', name: 'C', url: URL, token: { kind: 'command', command: ' ' }, enabled: true },
      { id: 'd', name: 'D', url: URL, token: { kind: 'fixed' }, enabled: true, caFile: 'ca.pem' },
    );
    s.chartWindowSecs = 120;
    s.notifications.repeatMins = 0;
    expect(validate(s, none).map((p) => p.field)).toEqual([
      'servers.0.name',
      'servers.0.url',
      'servers.1.token',
      'servers.2.id',
      'servers.2.token',
      'servers.3.caFile',
      'servers.3.token',
      'chartWindowSecs',
      'notifications.repeatMins',
    ]);
  });
  it('keeps a held fixed token when left blank', () => {
    const s = withServers({ id: 'a', name: 'A', url: URL, token: { kind: 'fixed' }, enabled: true });
    expect(validate(s, none)[0]?.message).toBe('Paste the token for "A", or choose another token source.');
    expect(validate(s, (id) => id === 'a')).toEqual([]);
  });
  it('does not check temporary entries beyond their id', () => {
    const s = withServers({ id: 'cli', name: '', url: 'junk', token: { kind: 'fixed' }, enabled: true, temporary: true });
    expect(validate(s, none)).toEqual([]);
  });
});

describe('do not disturb in local time', () => {
  it('until tomorrow 08:00, or this morning when before 08:00', () => {
    const evening = new Date(2026, 10, 30, 22, 15);
    expect(nextMorning(evening)).toEqual(new Date(2026, 11, 1, 8, 0));
    const early = new Date(2026, 10, 30, 6, 59);
    expect(nextMorning(early)).toEqual(new Date(2026, 10, 30, 8, 0));
    const eight = new Date(2026, 10, 30, 8, 0);
    expect(nextMorning(eight)).toEqual(new Date(2026, 11, 1, 8, 0));
    const newYear = new Date(2026, 11, 31, 23, 0);
    expect(nextMorning(newYear)).toEqual(new Date(2027, 0, 1, 8, 0));
  });
  it('an hour, off, and the text', () => {
    const now = new Date(2026, 10, 30, 13, 5);
    expect(dndUntil('hour', now)).toBe(now.getTime() + 3_600_000);
    expect(dndUntil('off', now)).toBeNull();
    expect(dndText(dndUntil('hour', now), now)).toBe('On until 14:05');
    expect(dndText(dndUntil('morning', now), now)).toMatch(/^On until \w{3} 08:00$/);
    expect(dndText(null, now)).toBe('Off');
    expect(dndText(now.getTime() - 1, now)).toBe('Off');
  });
});

describe('form ↔ settings', () => {
  it('round-trips every token kind', () => {
    const entries: ServerEntry[] = [
      { id: 'a', name: 'A', url: URL, token: { kind: 'none' }, enabled: false },
      { id: 'b', name: 'B', url: URL, token: { kind: 'file', path: '/run/t' }, enabled: true, caFile: '/etc/ca.pem' },
      { id: 'c', name: 'C', url: URL, token: { kind: 'command', command: 'pass hub' }, enabled: true },
      { id: 'd', name: 'D', url: URL, token: { kind: 'fixed' }, enabled: true, temporary: true },
    ];
    for (const e of entries) expect(serverEntry(serverForm(e))).toEqual(e);
  });
  it('sends a pasted token once and keeps the held one when blank', () => {
    const form = serverForm({ id: 'a', name: 'A', url: URL, token: { kind: 'fixed', stored: 'keyring' }, enabled: true });
    expect(form.stored).toBe('keyring');
    expect(serverEntry(form).token).toEqual({ kind: 'fixed' });
    expect(serverEntry({ ...form, tokenValue: ' jwt ' }).token).toEqual({ kind: 'fixed', value: 'jwt' });
  });
  it('switching kinds keeps the other fields', () => {
    const form = serverForm({ id: 'b', name: 'B', url: URL, token: { kind: 'file', path: '/run/t' }, enabled: true });
    const switched = { ...form, tokenKind: 'none' as const };
    expect(serverEntry(switched).token).toEqual({ kind: 'none' });
    expect(serverEntry({ ...switched, tokenKind: 'file' }).token).toEqual({ kind: 'file', path: '/run/t' });
  });
  it('small helpers', () => {
    expect(newServerId(['server-1', 'server-3'])).toBe('server-2');
    expect(parseCount('')).toBeNull();
    expect(parseCount(' 15 ')).toBe(15);
    expect(parseCount('1.5')).toBeNaN();
    expect(addChip(['a'], ' b ')).toEqual(['a', 'b']);
    expect(addChip(['a'], 'a')).toEqual(['a']);
    expect(addChip(['a'], ' ')).toEqual(['a']);
  });
});

describe('backends', () => {
  it('an IPC error becomes field problems', () => {
    const e = toRejected({ message: 'Give this server a name.', problems: [{ field: 'servers.0.name', message: 'Give this server a name.' }] });
    expect(e).toBeInstanceOf(SettingsRejected);
    expect(e.problems).toEqual([{ field: 'servers.0.name', message: 'Give this server a name.' }]);
    expect(toRejected('disk full').message).toBe('disk full');
  });
  it('the memory backend keeps tokens and never returns them', async () => {
    const backend = new MemorySettingsBackend();
    const seen: Settings[] = [];
    backend.onSettingsChanged((s) => seen.push(s));
    const s = withServers({ id: 'a', name: 'A', url: URL, token: { kind: 'fixed', value: 'jwt' }, enabled: true });
    const view = await backend.settingsSet(s);
    expect(view.settings.servers[0]!.token).toEqual({ kind: 'fixed', stored: 'file' });
    expect(backend.tokens.get('a')).toBe('jwt');
    expect(seen).toHaveLength(1);
    const bad = withServers({ id: 'a', name: '', url: URL, token: { kind: 'none' }, enabled: true });
    await expect(backend.settingsSet(bad)).rejects.toMatchObject({ problems: [{ field: 'servers.0.name' }] });
  });
});
