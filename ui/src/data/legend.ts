// Which series a chart legend lists when there are too many to show: a chart of 200
// series cannot have 200 legend rows, so it lists the largest values (usually the ones
// being looked for) and says how many more there are.

/** Legend rows before the legend collapses to the top values and "+N more". */
export const LEGEND_MAX = 8;

export interface LegendRows {
  /** Names to list, in display order. */
  shown: string[];
  /** How many more (matching) names are not listed: "+92 more". */
  hidden: number;
}

export interface LegendOptions {
  /** Rows available, including the one "+N more" takes. */
  max: number;
  /** Case-insensitive substring filter; empty shows every name. */
  query: string;
}

/**
 * All names in their given order when they fit in `max` rows, else the top `max - 1` by
 * latest value (descending; no value last, ties in given order) and the count of the rest.
 */
export function legendRows(names: readonly string[], latest: (name: string) => number | null, opts: LegendOptions): LegendRows {
  const q = opts.query.trim().toLowerCase();
  const matching = q ? names.filter((n) => n.toLowerCase().includes(q)) : [...names];
  if (matching.length <= opts.max) return { shown: matching, hidden: 0 };
  const keep = Math.max(0, opts.max - 1);
  const value = (n: string) => {
    const v = latest(n);
    return v === null || Number.isNaN(v) ? -Infinity : v;
  };
  // Array sort is stable, so ties keep the given order; the explicit tie avoids -∞ - -∞ = NaN.
  const ranked = matching
    .map((n) => ({ n, v: value(n) }))
    .sort((a, b) => (a.v === b.v ? 0 : b.v - a.v))
    .slice(0, keep)
    .map((r) => r.n);
  return { shown: ranked, hidden: matching.length - ranked.length };
}
