// Which metric goes on which chart. Grouping is by name prefix and unit, so names the UI
// has never heard of still get a chart: `temp.gpu_celsius` lands on a "temp" chart.
//
//   family = `a.b` for indexed names `a.b.N` (cpu.core.3 → cpu.core), else the first segment
//   unit   = from the suffix (_percent, _bytes_per_s, _bytes, _seconds, _ms, _celsius, _ratio)
//            or the known families (cpu, load); counters (_count, _total) and the rest: plain
//   group  = family + unit

export type Unit = 'percent' | 'bytes' | 'bytesPerSec' | 'load' | 'seconds' | 'millis' | 'celsius' | 'ratio' | 'plain';

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
  // Anchored, so a counter of seconds (`cpu_seconds_total`) stays plain: a rate-less
  // counter must not share a y-scale with durations.
  if (/(_seconds|_secs)$/.test(name)) return 'seconds';
  if (/(_ms|_millis)$/.test(name)) return 'millis';
  if (/_celsius$/.test(name)) return 'celsius';
  if (/_ratio$/.test(name)) return 'ratio';
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
  seconds: 's',
  millis: 'ms',
  celsius: '°C',
  ratio: '0–1',
  plain: '',
};

function titleFor(key: string, unit: Unit): string {
  const known = KNOWN.find((k) => k.key === key);
  if (known) return known.title;
  const family = key.split('|')[0] ?? key;
  const label = UNIT_LABEL[unit];
  return label ? `${family} (${label})` : family;
}

/** One collator for every comparison: localeCompare with options builds one per call. */
const NATURAL = new Intl.Collator('en', { numeric: true });

/** Natural order: "core 2" before "core 10"; `*.total` first. */
export function naturalCompare(a: string, b: string): number {
  const ta = a.endsWith('.total') ? 0 : 1;
  const tb = b.endsWith('.total') ? 0 : 1;
  if (ta !== tb) return ta - tb;
  return NATURAL.compare(a, b);
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

/** A duration in the unit that keeps it readable: "420 µs", "12.5 ms", "3.20 s", "4.5 min", "2.0 h". */
function formatSeconds(s: number): string {
  const a = Math.abs(s);
  if (a === 0) return '0 s';
  if (a < 1e-3) return `${+(s * 1e6).toPrecision(3)} µs`;
  if (a < 1) return `${+(s * 1e3).toPrecision(3)} ms`;
  if (a < 60) return `${s.toFixed(2)} s`;
  if (a < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
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
    case 'seconds':
      return formatSeconds(v);
    case 'millis':
      return formatSeconds(v / 1000);
    case 'celsius':
      return `${v.toFixed(1)} °C`;
    case 'ratio':
      // Read as a share: 0.25 → "25.0 %".
      return `${(v * 100).toFixed(1)} %`;
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
    case 'seconds':
      return `${+v.toPrecision(3)}s`;
    case 'millis':
      return `${+v.toPrecision(3)}ms`;
    case 'celsius':
      return `${+v.toPrecision(3)}°`;
    case 'ratio':
      return `${+(v * 100).toPrecision(3)}%`;
    case 'plain':
      return Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : String(+v.toPrecision(3));
  }
}
