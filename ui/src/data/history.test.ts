import { describe, expect, it } from 'vitest';
import { MockHistoryBackend, TauriHistoryBackend, type HistoryRow } from '../backend/history';
import type { Alarm } from '../backend/types';
import {
  DEFAULT_FORM,
  PAGE_LIMIT,
  buildFilter,
  exportFileName,
  formatRowTime,
  matchesHistoryFilter,
  parseLocalInput,
  queryRows,
  serversOf,
  showingText,
  toLocalInput,
  type HistoryForm,
} from './history';

const NOW = new Date(2026, 10, 30, 12, 0, 0).getTime();

function form(patch: Partial<HistoryForm>): HistoryForm {
  return { ...DEFAULT_FORM, ...patch };
}

function row(patch: Partial<HistoryRow>): HistoryRow {
  return {
    receivedAt: 0,
    serverId: 'prod',
    serverName: 'Production',
    alarmId: 'db-1/disk',
    source: 'db-1',
    severity: 'critical',
    state: 'firing',
    title: 'Disk almost full',
    message: '',
    value: null,
    labels: {},
    by: null,
    comment: null,
    silencedUntil: null,
    ts: NOW,
    ...patch,
  };
}

describe('buildFilter', () => {
  it('asks for the last 24 hours of everything by default, with the page limit', () => {
    expect(buildFilter(DEFAULT_FORM, NOW)).toEqual({ filter: { limit: PAGE_LIMIT, from: NOW - 86_400_000 } });
  });

  it('sends only what narrows: chosen severities in a fixed order, trimmed texts, the server', () => {
    const built = buildFilter(form({ severities: new Set(['info', 'critical']), source: ' db ', text: '  ', serverId: 'lab', range: '1h' }), NOW);
    expect(built).toEqual({ filter: { limit: PAGE_LIMIT, severities: ['critical', 'info'], source: 'db', serverId: 'lab', from: NOW - 3_600_000 } });
  });

  it.each([
    ['7d', 7 * 86_400_000],
    ['30d', 30 * 86_400_000],
  ] as const)('preset %s starts that long ago', (range, ms) => {
    expect(buildFilter(form({ range }), NOW)).toEqual({ filter: { limit: PAGE_LIMIT, from: NOW - ms } });
  });

  it('a custom range is [from, to) in local time; either end may be open', () => {
    const from = new Date(2026, 10, 1, 8, 30).getTime();
    const to = new Date(2026, 10, 2, 0, 0).getTime();
    expect(buildFilter(form({ range: 'custom', customFrom: '2026-11-01T08:30', customTo: '2026-11-02T00:00' }), NOW)).toEqual({ filter: { limit: PAGE_LIMIT, from, to } });
    expect(buildFilter(form({ range: 'custom', customTo: '2026-11-02T00:00' }), NOW)).toEqual({ filter: { limit: PAGE_LIMIT, to } });
    expect(buildFilter(form({ range: 'custom' }), NOW)).toEqual({ filter: { limit: PAGE_LIMIT } });
  });

  it('says what to fix', () => {
    expect(buildFilter(form({ severities: new Set() }), NOW)).toEqual({ error: 'Pick at least one severity.' });
    expect(buildFilter(form({ range: 'custom', customFrom: '2026-02-31T00:00' }), NOW)).toEqual({ error: 'The "From" time is not a valid date and time.' });
    expect(buildFilter(form({ range: 'custom', customFrom: '2026-11-02T00:00', customTo: '2026-11-01T00:00' }), NOW)).toEqual({ error: '"From" must be before "To".' });
  });
});

describe('times and texts', () => {
  it('parses datetime-local values and writes them back', () => {
    const ms = new Date(2026, 0, 5, 7, 9).getTime();
    expect(parseLocalInput('2026-01-05T07:09')).toBe(ms);
    expect(parseLocalInput('2026-01-05T07:09:30')).toBe(ms + 30_000);
    expect(parseLocalInput('yesterday')).toBeNull();
    expect(parseLocalInput('2026-13-01T00:00')).toBeNull();
    expect(toLocalInput(ms)).toBe('2026-01-05T07:09');
  });

  it('formats row times to the second in local time', () => {
    expect(formatRowTime(new Date(2026, 10, 30, 23, 5, 9).getTime())).toBe('2026-11-30 23:05:09');
  });

  it('says how much is shown', () => {
    expect(showingText(0, 0)).toBe('No transitions match');
    expect(showingText(1, 1)).toBe('1 transition');
    expect(showingText(3, 3)).toBe('3 transitions');
    expect(showingText(1000, 5321)).toBe('showing 1000 of 5321');
  });

  it('names the export as the shell does (UTC)', () => {
    expect(exportFileName(Date.UTC(2026, 10, 30, 23, 0, 31, 500))).toBe('telltale-alarms-20261130-230031.csv');
  });
});

describe('matching (the mock, same semantics as the crate)', () => {
  it('applies each filter', () => {
    const r = row({ labels: { team: 'Storage' }, message: 'Volume /VAR' });
    expect(matchesHistoryFilter(r, {})).toBe(true);
    expect(matchesHistoryFilter(r, { severities: ['warning'] })).toBe(false);
    expect(matchesHistoryFilter(r, { severities: [] })).toBe(true);
    expect(matchesHistoryFilter(r, { source: 'DB-' })).toBe(true);
    expect(matchesHistoryFilter(r, { serverId: 'pro' })).toBe(false);
    expect(matchesHistoryFilter(r, { text: 'storage' })).toBe(true);
    expect(matchesHistoryFilter(r, { text: '/var' })).toBe(true);
    expect(matchesHistoryFilter(r, { text: 'nothing' })).toBe(false);
    expect(matchesHistoryFilter(r, { from: NOW, to: NOW + 1 })).toBe(true);
    expect(matchesHistoryFilter(r, { to: NOW })).toBe(false);
  });

  it('pages newest first with the total', () => {
    const rows = [row({ ts: 1 }), row({ ts: 3 }), row({ ts: 2 })];
    const page = queryRows(rows, { limit: 2 });
    expect(page.total).toBe(3);
    expect(page.rows.map((r) => r.ts)).toEqual([3, 2]);
  });

  it('lists the servers seen', () => {
    expect([...serversOf([row({}), row({ serverId: 'lab', serverName: 'Lab' }), row({})])]).toEqual([
      ['prod', 'Production'],
      ['lab', 'Lab'],
    ]);
  });
});

describe('backends', () => {
  const alarm: Alarm = { id: 'a/b', source: 'a', severity: 'warning', state: 'firing', title: 'T', message: '', ts: 5 };

  it('the mock keeps a transition once and filters like the crate', async () => {
    const mock = new MockHistoryBackend(() => NOW);
    mock.record('prod', 'Production', alarm);
    mock.record('prod', 'Production', alarm);
    mock.record('lab', 'Lab', alarm);
    mock.record('prod', 'Production', { ...alarm, state: 'resolved', ts: 6 });
    expect((await mock.historyQuery({})).total).toBe(3);
    const page = await mock.historyQuery({ serverId: 'prod' });
    expect(page.rows.map((r) => r.state)).toEqual(['resolved', 'firing']);
    expect(page.rows[0]?.receivedAt).toBe(NOW);
    await expect(mock.historyExport({ serverId: 'lab' })).resolves.toMatch(/telltale-alarms-\d{8}-\d{6}\.csv$/);
    expect(mock.exports).toEqual([{ serverId: 'lab' }]);
  });

  it('the Tauri backend invokes the commands with the filter and passes errors on as Errors', async () => {
    const calls: [string, unknown][] = [];
    const fake = (async (cmd: string, args?: unknown) => {
      calls.push([cmd, args]);
      if (cmd === 'history_export') throw 'cannot export: no download or home directory';
      return { rows: [], total: 0 };
    }) as never;
    const backend = new TauriHistoryBackend(fake);
    await expect(backend.historyQuery({ text: 'x' })).resolves.toEqual({ rows: [], total: 0 });
    await expect(backend.historyExport({})).rejects.toThrow('cannot export: no download or home directory');
    expect(calls).toEqual([
      ['history_query', { filter: { text: 'x' } }],
      ['history_export', { filter: {} }],
    ]);
  });
});
