import { describe, expect, it } from 'vitest';
import { ackNote, firingSince, parseClock, titleText, untilText } from './alarm-text';

// Local times, so the tests hold in any time zone.
const at = (y: number, mo: number, d: number, h: number, mi: number, s = 0) => new Date(y, mo - 1, d, h, mi, s).getTime();
const NOW = at(2026, 11, 30, 14, 15, 30);

describe('alarm panel text', () => {
  it('puts the counts in the window title, or just the name', () => {
    expect(titleText({ critical: 2, warning: 1, info: 0 })).toBe('Telltale — 2 critical, 1 warning');
    expect(titleText({ critical: 0, warning: 0, info: 3 })).toBe('Telltale — 3 info');
    expect(titleText({ critical: 0, warning: 0, info: 0 })).toBe('Telltale');
  });

  it('says since when an alarm fires, and for how long', () => {
    expect(firingSince(at(2026, 11, 30, 14, 3), NOW)).toBe('firing since 14:03 (12 min)');
    expect(firingSince(NOW - 20_000, NOW)).toBe('firing since 14:15 (20 s)');
    expect(firingSince(NOW, NOW)).toBe('firing since 14:15 (0 s)');
  });

  it('names the day of a silence end only when it is not today', () => {
    expect(untilText(at(2026, 11, 30, 15, 15), NOW)).toBe('15:15');
    expect(untilText(at(2026, 12, 1, 1, 30), NOW)).toBe('tomorrow 01:30');
    expect(untilText(at(2026, 12, 4, 8, 0), NOW)).toBe('2026-12-04 08:00');
  });

  it('reads HH:MM as the next such time, today or tomorrow', () => {
    expect(parseClock('16:30', NOW)).toBe(at(2026, 11, 30, 16, 30));
    expect(parseClock(' 9:05 ', NOW)).toBe(at(2026, 12, 1, 9, 5));
    expect(parseClock('0800', NOW)).toBe(at(2026, 12, 1, 8, 0));
    expect(parseClock('14:15', NOW)).toBe(at(2026, 12, 1, 14, 15)); // already past this minute
    for (const bad of ['', '24:00', '12:60', 'noon', '1:2', '12:30:00']) expect(parseClock(bad, NOW)).toBeNull();
  });

  it('shows who acknowledged and what they wrote', () => {
    expect(ackNote({ state: 'acknowledged', by: 'ann', comment: 'rebooting' })).toBe("acked by ann: 'rebooting'");
    expect(ackNote({ state: 'acknowledged', by: 'ann' })).toBe('acked by ann');
    expect(ackNote({ state: 'acknowledged' })).toBe('acked');
    expect(ackNote({ state: 'firing', by: 'ann' })).toBe('');
  });
});
