// One chart card: a uPlot line chart of one metric group of one source, with a legend that
// reads the hovered sample (or the newest one, with its age when it is old), and an
// empty-state overlay. A group of more than LEGEND_MAX series shows its top few in the
// legend and the rest behind "+N more", so the legend never pushes the plot away.
import uPlot from 'uplot';
import { isStale } from '../data/fleet';
import type { ChartGroup } from '../data/groups';
import { axisIncrs, formatAxis, formatValue, seriesLabel } from '../data/groups';
import { clockTime, relativeTime, spanText } from '../data/format';
import { LEGEND_MAX, legendRows } from '../data/legend';
import type { Renderable } from '../data/scheduler';
import type { SourceSeries } from '../data/series';
import { WindowRows } from '../data/window-rows';
import { h, setText, toggleClass } from './dom';
import { installRecordedPaths } from './recorded-path';

// uPlot's per-redraw Path2D objects become plain JavaScript memory (see recorded-path.ts).
if (typeof window !== 'undefined' && typeof window.Path2D !== 'undefined') installRecordedPaths(window);

export const PALETTE = ['#4cc9f0', '#f78c6b', '#a3e635', '#c084fc', '#facc15', '#2dd4bf', '#fb7185', '#60a5fa', '#fdba74', '#86efac', '#f0abfc', '#93c5fd'];

export interface ChartContext {
  series(): SourceSeries | undefined;
  /** [from, to] in unix ms. */
  window(): [number, number];
  now(): number;
  /**
   * Called after a render that drew a sample it had not drawn before: `now` after drawing,
   * the newest sample's ts, and the oldest newly drawn one's (NaN on the chart's first draw).
   */
  drawn?(now: number, newestTs: number, firstNewTs: number): void;
}

const HEIGHT = 138;

const S = 1000;
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200].map((x) => x * S);

interface LegendItem {
  /** Index of the series in `names` (uPlot series index - 1). */
  index: number;
  el: HTMLElement;
  value: HTMLElement;
}

export class ChartView implements Renderable {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;
  private readonly overlay: HTMLElement;
  private readonly legendEl: HTMLElement;
  private readonly moreEl: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly panelList: HTMLElement;
  private readonly stamp: HTMLElement;
  private legend: LegendItem[] = [];
  private panelItems: LegendItem[] = [];
  private plot: uPlot | null = null;
  private names: string[] = [];
  private data: uPlot.AlignedData = [new Float64Array(0)];
  /** This chart's rows, kept between redraws: a redraw decimates only what is new. */
  private readonly rows = new WindowRows();
  private ro: ResizeObserver | null = null;
  /** setData calls, for tests and diagnostics. */
  renders = 0;
  /** When it last drew (ctx.now()), for pacing. */
  renderedAt = -Infinity;
  /** Whether the chart is in (or near) the view; set by the dashboard's IntersectionObserver. */
  onScreen = true;
  /** ts of the newest sample drawn so far (NaN: none yet), for ctx.drawn. */
  private drawnUpTo = NaN;

  constructor(
    private group: ChartGroup,
    private readonly ctx: ChartContext,
  ) {
    this.stamp = h('span', { class: 'chart-stamp' });
    this.legendEl = h('div', { class: 'chart-legend' });
    this.moreEl = h('button', { class: 'lg-more hidden', type: 'button', title: 'Every series of this chart, with a search' }) as HTMLButtonElement;
    this.moreEl.addEventListener('click', () => this.togglePanel());
    this.search = h('input', { class: 'lg-search', type: 'search', placeholder: 'Search series', 'aria-label': 'Search series', spellcheck: 'false' }) as HTMLInputElement;
    this.search.addEventListener('input', () => this.fillPanel());
    this.search.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.togglePanel(false);
      e.stopPropagation();
    });
    this.panelList = h('div', { class: 'lg-list' });
    this.panel = h('div', { class: 'lg-panel hidden' }, this.search, this.panelList);
    this.overlay = h('div', { class: 'chart-empty' }, 'Waiting for data…');
    this.body = h('div', { class: 'chart-body' }, this.overlay, this.panel);
    this.el = h(
      'section',
      { class: 'card chart', 'data-group': group.key },
      h('header', { class: 'chart-head' }, h('h3', {}, group.title), this.stamp),
      h('div', { class: 'chart-legend-row' }, this.legendEl, this.moreEl),
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
    this.legend = [];
    this.legendEl.replaceChildren();
    if (this.plot) {
      this.plot.destroy();
      this.plot = null;
      this.build();
    }
  }

  /** Milliseconds of the window one pixel stands for: redrawing faster moves nothing. */
  msPerPixel(): number {
    const [from, to] = this.ctx.window();
    return (to - from) / Math.max(1, this.plot?.width ?? this.width());
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

  private color(i: number): string {
    return PALETTE[i % PALETTE.length]!;
  }

  private legendItem(index: number): LegendItem {
    const name = this.names[index]!;
    const value = h('span', { class: 'lg-val' }, '–');
    const el = h(
      'button',
      { class: 'lg', type: 'button', title: `${name} — click to hide/show`, tabindex: -1 },
      h('i', { class: 'lg-sw', style: `background:${this.color(index)}` }),
      h('span', { class: 'lg-name' }, seriesLabel(name)),
      value,
    );
    el.addEventListener('click', () => {
      if (!this.plot) return;
      const s = this.plot.series[index + 1];
      if (!s) return;
      this.plot.setSeries(index + 1, { show: !s.show });
      this.syncShown();
    });
    return { index, el, value };
  }

  private syncShown(): void {
    for (const item of [...this.legend, ...this.panelItems]) toggleClass(item.el, 'off', this.plot?.series[item.index + 1]?.show === false);
  }

  /** The legend rows for the newest values: all series, or the top ones and "+N more". */
  private layoutLegend(): void {
    const series = this.ctx.series();
    const latest = (name: string) => series?.latest(name)?.value ?? null;
    const rows = legendRows(this.names, latest, { max: LEGEND_MAX, query: '' });
    const indices = rows.shown.map((n) => this.names.indexOf(n));
    const same = indices.length === this.legend.length && indices.every((i, k) => i === this.legend[k]!.index);
    if (!same) {
      this.legend = indices.map((i) => this.legendItem(i));
      this.legendEl.replaceChildren(...this.legend.map((l) => l.el));
      this.syncShown();
    }
    toggleClass(this.moreEl, 'hidden', rows.hidden === 0);
    setText(this.moreEl, `+${rows.hidden} more`);
  }

  private togglePanel(open = this.panel.classList.contains('hidden')): void {
    toggleClass(this.panel, 'hidden', !open);
    toggleClass(this.moreEl, 'active', open);
    if (open) {
      this.fillPanel();
      this.search.focus();
    } else this.panelItems = [];
  }

  private fillPanel(): void {
    const series = this.ctx.series();
    const latest = (name: string) => series?.latest(name)?.value ?? null;
    const rows = legendRows(this.names, latest, { max: this.names.length, query: this.search.value });
    this.panelItems = rows.shown.map((n) => this.legendItem(this.names.indexOf(n)));
    this.panelList.replaceChildren(...this.panelItems.map((l) => l.el));
    this.syncShown();
    this.updateLegend(null);
  }

  private build(): void {
    const unit = this.group.unit;
    const many = this.names.length > 4;
    const series: uPlot.Series[] = [
      {},
      ...this.names.map((name, i) => {
        const color = this.color(i);
        const s: uPlot.Series = {
          label: seriesLabel(name),
          stroke: color,
          // 1 px, not a little more: WebKitGTK's canvas (Cairo) strokes lines up to one device
          // pixel wide on a fast path, about 20× cheaper than 1.1 px; with 20 series a chart's
          // redraw went from ~30 ms to ~3 ms of strokes (a 1-minute window at 500 Hz, 320 px).
          width: name.endsWith('.total') || !many ? 1.6 : 1,
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
        { ...axisStyle, size: unit === 'bytes' || unit === 'bytesPerSec' ? 72 : 58, space: 28, incrs: axisIncrs(unit), values: (_u, ticks) => ticks.map((v) => formatAxis(unit, v)) },
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

  /** The legend's newest values and ages, without redrawing the plot. */
  refreshLegend(): void {
    if (this.plot && this.cursorIdx(this.plot) === null) this.updateLegend(null);
  }

  /** The sample under the (possibly synced) cursor, or null when the cursor is away. */
  private cursorIdx(u: uPlot): number | null {
    const left = u.cursor.left;
    if (left === undefined || left === null || left < 0) return null;
    return u.cursor.idx ?? null;
  }

  /** Newest values (idx null), dimmed with their age when the source went quiet; or the hovered sample's. */
  private updateLegend(idx: number | null): void {
    const x = this.data[0] as ArrayLike<number>;
    const n = x.length;
    const unit = this.group.unit;
    const items = [...this.legend, ...this.panelItems];
    if (idx === null) {
      const series = this.ctx.series();
      const last = series ? series.lastTs : NaN;
      const now = this.ctx.now();
      const stale = isStale(last, series ? series.interval() : NaN, now);
      for (const item of items) {
        const latest = series?.latest(this.names[item.index]!);
        setText(item.value, formatValue(unit, latest ? latest.value : NaN));
        toggleClass(item.value, 'stale', stale);
      }
      const text = !Number.isFinite(last) ? '' : stale ? `no data for ${spanText(now - last) ?? '1 s'}` : `latest ${clockTime(last)}`;
      setText(this.stamp, text);
      this.stamp.title = Number.isFinite(last) ? `Newest sample at ${clockTime(last)}` : '';
      toggleClass(this.stamp, 'hover', false);
      toggleClass(this.stamp, 'stale', stale);
      return;
    }
    if (idx < 0 || idx >= n) return;
    for (const item of items) {
      const col = this.data[item.index + 1] as ArrayLike<number | null> | undefined;
      setText(item.value, formatValue(unit, col ? col[idx] : null));
      toggleClass(item.value, 'stale', false);
    }
    setText(this.stamp, clockTime(x[idx]!));
    toggleClass(this.stamp, 'hover', true);
    toggleClass(this.stamp, 'stale', false);
  }

  render(): void {
    if (!this.plot) return;
    this.renderedAt = this.ctx.now();
    const [from, to] = this.ctx.window();
    const series = this.ctx.series();
    let points = 0;
    if (series) {
      const s = this.rows.update(series, from, to, this.names, this.plot.width);
      this.data = [s.x, ...s.ys];
      for (const col of s.ys) for (const v of col) if (v !== null) { points++; break; }
    } else {
      this.data = [new Float64Array(0), ...this.names.map(() => [] as (number | null)[])];
    }
    // For end-to-end tests (WebDriver reads it) and for people inspecting the DOM.
    const xs = this.data[0] as ArrayLike<number>;
    this.el.dataset.points = String(xs.length);
    this.el.dataset.first = xs.length ? String(xs[0]) : '';
    this.el.dataset.last = xs.length ? String(xs[xs.length - 1]) : '';
    // Off screen: the rows stay current (cheap, and the next paint reuses them), the canvas
    // is not painted; the dashboard asks for a render when the chart scrolls into view.
    if (!this.onScreen) return;
    // Drawn now rather than in uPlot's microtask: the scheduler's frame budget then counts the
    // canvas work (most of a redraw), so a frame of many due charts is spread over several
    // and a stream batch does not wait behind all of them; and ctx.drawn() below runs after
    // the points are really on the canvas.
    const plot = this.plot;
    plot.batch(() => plot.setData(this.data));
    this.renders++;
    const empty = points === 0;
    toggleClass(this.overlay, 'show', empty);
    if (empty) {
      const last = series ? series.lastTs : NaN;
      setText(this.overlay, Number.isFinite(last) ? `No samples in this window · last one ${relativeTime(last, this.ctx.now())}` : 'Waiting for data…');
    }
    this.layoutLegend();
    this.updateLegend(this.cursorIdx(this.plot));
    if (series && this.ctx.drawn) this.reportDrawn(series, from, to);
  }

  /** Tells ctx.drawn how old the samples this render drew for the first time are. */
  private reportDrawn(series: SourceSeries, from: number, to: number): void {
    const newest = series.newestAtOrBefore(to);
    if (!(newest >= from) || newest <= this.drawnUpTo) return;
    let firstNew = Number.isFinite(this.drawnUpTo) ? series.firstAfter(this.drawnUpTo) : NaN;
    // Samples older than the window were never drawn: the window moved past them (paused).
    if (firstNew < from) firstNew = NaN;
    this.drawnUpTo = newest;
    this.ctx.drawn!(this.ctx.now(), newest, firstNew);
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
