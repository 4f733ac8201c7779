// Which metric goes on which chart. Grouping is by name prefix and unit, so names the UI
// has never heard of still get a chart: `temp.gpu_celsius` lands on a "temp" chart.
//
//   family = `a.b` for indexed names `a.b.N` (cpu.core.3 → cpu.core), else the first segment
//   unit   = from the suffix (_percent, _bytes_per_s, _bytes) or the known families (cpu, load)
//   group  = family + unit

export type Unit = 'percent' | 'bytes' | 'bytesPerSec' | 'load' | 'plain';

export interface ChartGroup {
  key: string;
  title: string;
  unit: Unit;
  /** Metric names, in display order. */
  names: string[];
}

const INDEXED = /^(.+)\.(\d+)$/;

export function familyOf(name: string): string {
  const segs = name.split('.');
  const m = INDEXED.exec(name);
  if (m && segs.length >= 3) return m[1]!;
  return segs[0] ?? name;
}

export function unitOf(name: string): Unit {
  if (/(_percent|_pct)$/.test(name)) return 'percent';
  if (/(_bytes_per_s|_bytes_per_sec|_bps)$/.test(name)) return 'bytesPerSec';
  if (/_bytes$/.test(name)) return 'bytes';
  if (/^load\.\d+$/.test(name)) return 'load';
  if (name === 'cpu.total' || /^cpu\.core\.\d+$/.test(name) || /^cpu\.(user|system|iowait|idle|steal|nice)$/.test(name))
    return 'percent';
  return 'plain';
}

export function groupKey(name: string): string {
  return `${familyOf(name)}|${unitOf(name)}`;
}

const KNOWN: { key: string; title: string }[] = [
  { key: 'cpu|percent', title: 'CPU' },
  { key: 'cpu.core|percent', title: 'CPU per core' },
  { key: 'mem|percent', title: 'Memory used' },
  { key: 'mem|bytes', title: 'Memory' },
  { key: 'net|bytesPerSec', title: 'Network' },
  { key: 'disk|percent', title: 'Disk used' },
  { key: 'disk|bytesPerSec', title: 'Disk I/O' },
  { key: 'load|load', title: 'Load average' },
];

const UNIT_LABEL: Record<Unit, string> = {
  percent: '%',
  bytes: 'bytes',
  bytesPerSec: 'bytes/s',
  load: 'load',
  plain: '',
};

function titleFor(key: string, unit: Unit): string {
  const known = KNOWN.find((k) => k.key === key);
  if (known) return known.title;
  const family = key.split('|')[0] ?? key;
  const label = UNIT_LABEL[unit];
  return label ? `${family} (${label})` : family;
}

/** Natural order: "core 2" before "core 10"; `*.total` first. */
export function naturalCompare(a: string, b: string): number {
  const ta = a.endsWith('.total') ? 0 : 1;
  const tb = b.endsWith('.total') ? 0 : 1;
  if (ta !== tb) return ta - tb;
  return a.localeCompare(b, 'en', { numeric: true });
}

export function groupMetrics(names: Iterable<string>): ChartGroup[] {
  const groups = new Map<string, ChartGroup>();
  for (const name of names) {
    const key = groupKey(name);
    let g = groups.get(key);
    if (!g) {
      const unit = unitOf(name);
      g = { key, title: titleFor(key, unit), unit, names: [] };
      groups.set(key, g);
    }
    if (!g.names.includes(name)) g.names.push(name);
  }
  for (const g of groups.values()) g.names.sort(naturalCompare);
  const rank = (k: string) => {
    const i = KNOWN.findIndex((x) => x.key === k);
    return i < 0 ? KNOWN.length : i;
  };
  return [...groups.values()].sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
}

/** Short series label within its chart: `cpu.core.3` → "core 3", `net.rx_bytes_per_s` → "rx". */
export function seriesLabel(name: string): string {
  const fam = familyOf(name);
  let rest = name.startsWith(fam + '.') ? name.slice(fam.length + 1) : name;
  if (fam !== name.split('.')[0]) rest = `${fam.split('.').pop() ?? ''} ${rest}`;
  rest = rest.replace(/(_percent|_pct|_bytes_per_sec|_bytes_per_s|_bps|_bytes)$/, '');
  if (/^load\.\d+$/.test(name)) rest = `${rest} min`;
  rest = rest.replace(/[._]/g, ' ').trim();
  return rest || name;
}

const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return '–';
  let x = Math.abs(v);
  let i = 0;
  while (x >= 1024 && i < BIN.length - 1) {
    x /= 1024;
    i++;
  }
  const s = i === 0 ? String(Math.round(x)) : String(+x.toFixed(x >= 100 ? 0 : Math.max(digits, 1)));
  return `${v < 0 ? '-' : ''}${s} ${BIN[i]}`;
}

export function formatValue(unit: Unit, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'percent':
      return `${v.toFixed(1)} %`;
    case 'bytes':
      return formatBytes(v);
    case 'bytesPerSec':
      return `${formatBytes(v)}/s`;
    case 'load':
      return v.toFixed(2);
    case 'plain':
      return Math.abs(v) >= 1000 || Number.isInteger(v) ? v.toLocaleString('en', { maximumFractionDigits: 0 }) : v.toPrecision(3);
  }
}

/** Tick increments: powers of two for byte units (0, 4, 8 GiB rather than 0, 5, 10), else uPlot's. */
export function axisIncrs(unit: Unit): number[] | undefined {
  if (unit !== 'bytes' && unit !== 'bytesPerSec') return undefined;
  return Array.from({ length: 61 }, (_, k) => 2 ** k);
}

/** Compact axis tick text. */
export function formatAxis(unit: Unit, v: number): string {
  switch (unit) {
    case 'percent':
      return `${Math.round(v)}%`;
    case 'bytes':
      return formatBytes(v, 0);
    case 'bytesPerSec':
      return `${formatBytes(v, 0)}/s`;
    case 'load':
      return String(+v.toFixed(2));
    case 'plain':
      return Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : String(+v.toPrecision(3));
  }
}
