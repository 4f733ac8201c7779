import { describe, expect, it } from 'vitest';
import { LEGEND_MAX, legendRows } from './legend';

const names = Array.from({ length: 100 }, (_, i) => `proc.${i}.cpu_percent`);
/** proc.i reads i, except proc.7 (no value yet) and proc.3 (NaN). */
const latest = (n: string): number | null => {
  const i = Number(n.split('.')[1]);
  return i === 7 ? null : i === 3 ? NaN : i;
};

describe('legendRows', () => {
  it('shows every name in the given order when they fit', () => {
    const few = ['b', 'a', 'c'];
    expect(legendRows(few, () => null, { max: LEGEND_MAX, query: '' })).toEqual({ shown: few, hidden: 0 });
    const exactly = names.slice(0, LEGEND_MAX);
    expect(legendRows(exactly, latest, { max: LEGEND_MAX, query: '' })).toEqual({ shown: exactly, hidden: 0 });
  });

  it('collapses to the top max - 1 by latest value and counts the rest', () => {
    const r = legendRows(names, latest, { max: 8, query: '' });
    expect(r.shown).toEqual([99, 98, 97, 96, 95, 94, 93].map((i) => `proc.${i}.cpu_percent`));
    expect(r.hidden).toBe(93);
  });

  it('puts names without a value last, ties in the given order', () => {
    const r = legendRows(['proc.7.x', 'proc.3.x', 'proc.1.x', 'proc.2.x', 'proc.2.y'], latest, { max: 4, query: '' });
    expect(r).toEqual({ shown: ['proc.2.x', 'proc.2.y', 'proc.1.x'], hidden: 2 });
    const none = legendRows(['proc.7.x', 'proc.3.x', 'proc.7.y'], latest, { max: 2, query: '' });
    expect(none).toEqual({ shown: ['proc.7.x'], hidden: 2 });
  });

  it('filters by a case-insensitive substring first, then applies the same rule', () => {
    expect(legendRows(names, latest, { max: 8, query: 'PROC.4' })).toEqual({
      shown: ['proc.49.cpu_percent', 'proc.48.cpu_percent', 'proc.47.cpu_percent', 'proc.46.cpu_percent', 'proc.45.cpu_percent', 'proc.44.cpu_percent', 'proc.43.cpu_percent'],
      hidden: 4,
    });
    expect(legendRows(names, latest, { max: 8, query: ' proc.5. ' })).toEqual({ shown: ['proc.5.cpu_percent'], hidden: 0 });
    expect(legendRows(names, latest, { max: 8, query: 'nothing' })).toEqual({ shown: [], hidden: 0 });
  });
});
