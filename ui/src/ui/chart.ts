// One chart card: a uPlot line chart of one metric group of one source, with a compact
// legend that reads the hovered sample (or the latest one), and an empty-state overlay.
import uPlot from 'uplot';
import type { ChartGroup } from '../data/groups';
import { axisIncrs, formatAxis, formatValue, seriesLabel } from '../data/groups';
import { clockTime, relativeTime } from '../data/format';
import type { SeriesRing } from '../data/ring';
import type { Renderable } from '../data/scheduler';
import { h, setText, toggleClass } from './dom';

export const PALETTE = ['#4cc9f0', '#f78c6b', '#a3e635', '#c084fc', '#facc15', '#2dd4bf', '#fb7185', '#60a5fa', '#fdba74', '#86efac', '#f0abfc', '#93c5fd'];

export interface ChartContext {
  ring(): SeriesRing | undefined;
  /** [from, to] in unix ms. */
  window(): [number, number];
  now(): number;
}

const HEIGHT = 138;

const S = 1000;
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((x) => x * S);

interface LegendItem {
  el: HTMLElement;
  value: HTMLElement;
}

export class ChartView implements Renderable {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly overlay: HTMLElement;
  private readonly legendEl: HTMLElement;
  private readonly stamp: HTMLElement;
  private legend: LegendItem[] = [];
  private plot: uPlot | null = null;
  private names: string[] = [];
  private data: uPlot.AlignedData = [new Float64Array(0)];
  private ro: ResizeObserver | null = null;
  /** setData calls, for tests and diagnostics. */
  renders = 0;

  constructor(
    private group: ChartGroup,
    private readonly ctx: ChartContext,
  ) {
    this.stamp = h('span', { class: 'chart-stamp' });
    this.legendEl = h('div', { class: 'chart-legend' });
    this.overlay = h('div', { class: 'chart-empty' }, 'Waiting for data…');
    this.body = h('div', { class: 'chart-body' }, this.overlay);
    this.el = h(
      'section',
      { class: 'card chart', 'data-group': group.key },
      h('header', { class: 'chart-head' }, h('h3', {}, group.title), this.stamp),
      this.legendEl,
      this.body,
    );
    this.setGroup(group);
  }

  /** Mount-time sizing: uPlot needs the real width, so build it once attached. */
  attach(): void {
    if (this.ro) return;
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.body);
    this.resize();
  }

  setGroup(group: ChartGroup): void {
    const same = group.names.length === this.names.length && group.names.every((n, i) => n === this.names[i]);
    this.group = group;
    if (same && this.plot) return;
    this.names = [...group.names];
    this.buildLegend();
    if (this.plot) {
      this.plot.destroy();
      this.plot = null;
      this.build();
    }
  }

  private width(): number {
    return Math.max(200, Math.floor(this.body.clientWidth || 400));
  }

  private resize(): void {
    if (!this.plot) {
      this.build();
      return;
    }
    const w = this.width();
    if (w !== this.plot.width) this.plot.setSize({ width: w, height: HEIGHT });
  }

  private buildLegend(): void {
    this.legendEl.replaceChildren();
    this.legend = this.names.map((name, i) => {
      const color = PALETTE[i % PALETTE.length]!;
      const value = h('span', { class: 'lg-val' }, '–');
      const el = h(
        'button',
        { class: 'lg', type: 'button', title: `${name} — click to hide/show`, tabindex: -1 },
        h('i', { class: 'lg-sw', style: `background:${color}` }),
        h('span', { class: 'lg-name' }, seriesLabel(name)),
        value,
      );
      el.addEventListener('click', () => {
        if (!this.plot) return;
        const s = this.plot.series[i + 1];
        if (!s) return;
        this.plot.setSeries(i + 1, { show: !s.show });
        toggleClass(el, 'off', !this.plot.series[i + 1]!.show);
      });
      this.legendEl.append(el);
      return { el, value };
    });
  }

  private build(): void {
    const unit = this.group.unit;
    const many = this.names.length > 4;
    const series: uPlot.Series[] = [
      {},
      ...this.names.map((name, i) => {
        const color = PALETTE[i % PALETTE.length]!;
        const s: uPlot.Series = {
          label: seriesLabel(name),
          stroke: color,
          width: name.endsWith('.total') || !many ? 1.6 : 1.1,
          points: { show: false },
          spanGaps: false,
          value: (_u, v) => formatValue(unit, v),
        };
        if (this.names.length <= 2) s.fill = `${color}1f`;
        return s;
      }),
    ];
    const axisStyle = {
      stroke: '#8a94a6',
      font: '11px system-ui, sans-serif',
      grid: { stroke: 'rgba(138,148,166,0.12)', width: 1 },
      ticks: { stroke: 'rgba(138,148,166,0.25)', width: 1, size: 4 },
    };
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      ms: 1,
      pxAlign: 0,
      // Less dead space on the right than uPlot's automatic label overhang.
      padding: [8, 14, 0, 0],
      legend: { show: false },
      cursor: {
        sync: { key: 'telltale' },
        drag: { x: false, y: false },
        points: { size: 6 },
      },
      scales: {
        x: { time: true, range: () => this.ctx.window() },
        y: {
          range: (_u, min, max) => {
            const lo = Number.isFinite(min) ? Math.min(0, min) : 0;
            if (unit === 'percent') return [lo, Math.max(100, Number.isFinite(max) ? max : 100)];
            const hi = Number.isFinite(max) && max > 0 ? max * 1.15 : 1;
            return [lo, hi];
          },
        },
      },
      axes: [
        {
          ...axisStyle,
          space: 56,
          size: 24,
          incrs: TIME_INCRS,
          values: (_u, ticks, _i, _space, incr) => ticks.map((t) => clockTime(t, incr < 60_000)),
        },
        { ...axisStyle, size: 58, space: 28, incrs: axisIncrs(unit), values: (_u, ticks) => ticks.map((v) => formatAxis(unit, v)) },
      ],
      series,
      hooks: {
        // Also fires for the cursor synced from a neighbouring chart.
        setCursor: [(u) => this.updateLegend(this.cursorIdx(u))],
      },
    };
    this.plot = new uPlot(opts, this.data, this.body);
    this.render();
  }

  /** The sample under the (possibly synced) cursor, or null when the cursor is away. */
  private cursorIdx(u: uPlot): number | null {
    const left = u.cursor.left;
    if (left === undefined || left === null || left < 0) return null;
    return u.cursor.idx ?? null;
  }

  /** Latest values (idx null) or the hovered sample's. */
  private updateLegend(idx: number | null): void {
    const x = this.data[0] as ArrayLike<number>;
    const n = x.length;
    const unit = this.group.unit;
    if (idx === null) {
      const ring = this.ctx.ring();
      this.legend.forEach((item, i) => setText(item.value, formatValue(unit, ring ? ring.latest(this.names[i]!) : NaN)));
      const last = ring && ring.length ? ring.lastTs : NaN;
      setText(this.stamp, Number.isFinite(last) ? `latest ${clockTime(last)}` : '');
      toggleClass(this.stamp, 'hover', false);
      return;
    }
    if (idx < 0 || idx >= n) return;
    this.legend.forEach((item, i) => {
      const col = this.data[i + 1] as ArrayLike<number | null> | undefined;
      setText(item.value, formatValue(unit, col ? col[idx] : null));
    });
    setText(this.stamp, clockTime(x[idx]!));
    toggleClass(this.stamp, 'hover', true);
  }

  render(): void {
    if (!this.plot) return;
    const [from, to] = this.ctx.window();
    const ring = this.ctx.ring();
    let points = 0;
    if (ring) {
      const s = ring.slice(from, to, this.names);
      this.data = [s.x, ...s.ys];
      for (const col of s.ys) for (const v of col) if (v !== null) { points++; break; }
    } else {
      this.data = [new Float64Array(0), ...this.names.map(() => [] as (number | null)[])];
    }
    this.plot.setData(this.data);
    this.renders++;
    // For end-to-end tests (WebDriver reads it) and for people inspecting the DOM.
    const xs = this.data[0] as ArrayLike<number>;
    this.el.dataset.points = String(xs.length);
    this.el.dataset.last = xs.length ? String(xs[xs.length - 1]) : '';
    const empty = points === 0;
    toggleClass(this.overlay, 'show', empty);
    if (empty) {
      const last = ring && ring.length ? ring.lastTs : NaN;
      setText(this.overlay, Number.isFinite(last) ? `No samples in this window · last one ${relativeTime(last, this.ctx.now())}` : 'Waiting for data…');
    }
    this.updateLegend(this.cursorIdx(this.plot));
  }

  /** Number of x points currently drawn. */
  get pointCount(): number {
    return (this.data[0] as ArrayLike<number>).length;
  }

  destroy(): void {
    this.ro?.disconnect();
    this.plot?.destroy();
    this.plot = null;
    this.el.remove();
  }
}
