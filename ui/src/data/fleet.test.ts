import { describe, expect, it } from 'vitest';
import type { Alarm } from '../backend/types';
import { compareTiles, keyMetrics, matchesFilter, parseFilter, staleAfter, tileState, type TileState } from './fleet';

const NOW = 1_700_000_000_000;

function alarm(source: string, severity: Alarm['severity'], state: Alarm['state'] = 'firing', labels?: Record<string, string>): Alarm {
  return { id: `${source}/x`, source, severity, state, title: 'x', message: '', ts: NOW, labels };
}

describe('tileState', () => {
  const facts = (lastSeen: number | undefined, alarms: Alarm[] = [], interval = 1000) => ({ source: 'h', lastSeen, interval, alarms });

  it('is ok when fresh and quiet, nodata before the first sample', () => {
    expect(tileState(facts(NOW - 1000), NOW)).toBe('ok');
    expect(tileState(facts(undefined), NOW)).toBe('nodata');
  });

  it('is silent past the threshold, and a slow source gets three of its intervals', () => {
    expect(tileState(facts(NOW - 16_000), NOW)).toBe('silent');
    expect(tileState(facts(NOW - 14_000), NOW)).toBe('ok');
    expect(tileState(facts(NOW - 100_000, [], 60_000), NOW)).toBe('ok');
    expect(tileState(facts(NOW - 200_000, [], 60_000), NOW)).toBe('silent');
    expect(staleAfter(NaN)).toBe(15_000);
  });

  it('ranks critical above silent above warning; acknowledged alarms do not colour the tile', () => {
    expect(tileState(facts(NOW - 60_000, [alarm('h', 'critical')]), NOW)).toBe('critical');
    expect(tileState(facts(NOW - 60_000, [alarm('h', 'warning')]), NOW)).toBe('silent');
    expect(tileState(facts(NOW, [alarm('h', 'warning'), alarm('h', 'info')]), NOW)).toBe('warning');
    expect(tileState(facts(NOW, [alarm('h', 'critical', 'acknowledged')]), NOW)).toBe('ok');
  });

  it("shows the hub's own silent alarm as silent, not critical, even before the samples look old", () => {
    const silent: Alarm = { ...alarm('h', 'critical'), id: 'h/silent' };
    expect(tileState(facts(NOW - 1000, [silent]), NOW)).toBe('silent');
    expect(tileState(facts(NOW - 60_000, [silent]), NOW)).toBe('silent');
    expect(tileState(facts(NOW - 60_000, [silent, alarm('h', 'critical')]), NOW)).toBe('critical');
  });
});

describe('order and filter', () => {
  it('sorts worst first, then by natural name', () => {
    const tiles: { source: string; state: TileState }[] = [
      { source: 'web-10', state: 'ok' },
      { source: 'web-2', state: 'ok' },
      { source: 'db', state: 'warning' },
      { source: 'cache', state: 'silent' },
      { source: 'zed', state: 'critical' },
      { source: 'new', state: 'nodata' },
    ];
    expect(tiles.sort(compareTiles).map((t) => t.source)).toEqual(['zed', 'cache', 'db', 'web-2', 'web-10', 'new']);
  });

  it('matches words, states and alarm labels', () => {
    const labelled = [alarm('db-1', 'warning', 'firing', { team: 'Storage' })];
    expect(matchesFilter(parseFilter('WEB'), 'web-1', 'ok', [])).toBe(true);
    expect(matchesFilter(parseFilter('web 2'), 'web-1', 'ok', [])).toBe(false);
    expect(matchesFilter(parseFilter('is:silent is:critical'), 'a', 'silent', [])).toBe(true);
    expect(matchesFilter(parseFilter('is:silent'), 'a', 'ok', [])).toBe(false);
    expect(matchesFilter(parseFilter('team=stor'), 'db-1', 'warning', labelled)).toBe(true);
    expect(matchesFilter(parseFilter('team=web'), 'db-1', 'warning', labelled)).toBe(false);
    expect(matchesFilter(parseFilter(''), 'x', 'nodata', [])).toBe(true);
  });
});

describe('keyMetrics', () => {
  it('prefers the host metrics, else the first names', () => {
    expect(keyMetrics(['net.rx_bytes_per_s', 'load.1', 'cpu.total', 'mem.used_percent'])).toEqual(['cpu.total', 'mem.used_percent', 'load.1']);
    expect(keyMetrics(['q.10', 'q.2', 'cpu.total'])).toEqual(['cpu.total', 'q.2', 'q.10']);
    expect(keyMetrics([])).toEqual([]);
  });
});
