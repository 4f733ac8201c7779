import { describe, expect, it } from 'vitest';
import { SHOW_ALL, alarmSources, matchesFilter, toggleSeverity } from './alarm-filter';

describe('alarm filter', () => {
  const web = { severity: 'critical', source: 'Web-1' } as const;
  const db = { severity: 'info', source: 'db-2' } as const;

  it('shows everything by default', () => {
    expect(matchesFilter(web, SHOW_ALL)).toBe(true);
    expect(matchesFilter(db, SHOW_ALL)).toBe(true);
  });

  it('hides a severity that is toggled off, and back on', () => {
    const noInfo = toggleSeverity(SHOW_ALL, 'info');
    expect(matchesFilter(db, noInfo)).toBe(false);
    expect(matchesFilter(web, noInfo)).toBe(true);
    expect(SHOW_ALL.severities.has('info')).toBe(true); // not mutated
    expect(matchesFilter(db, toggleSeverity(noInfo, 'info'))).toBe(true);
  });

  it('matches a part of the source, ignoring case and blanks', () => {
    const f = { ...SHOW_ALL, source: ' web ' };
    expect(matchesFilter(web, f)).toBe(true);
    expect(matchesFilter(db, f)).toBe(false);
    expect(matchesFilter(db, { ...SHOW_ALL, source: '  ' })).toBe(true);
  });

  it('lists the distinct sources, sorted', () => {
    expect(alarmSources([{ source: 'b' }, { source: 'a' }, { source: 'b' }])).toEqual(['a', 'b']);
  });
});
