// The source view: one chart per metric group of the selected source, its silent / paused
// banner, and the pacing of redraws (only when data or the visible window moved a pixel).
import { isStale } from '../data/fleet';
import { groupMetrics } from '../data/groups';
import { clockTime, relativeTime, spanText } from '../data/format';
import type { DrawLatency } from '../data/draw-latency';
import type { FrameScheduler, Renderable } from '../data/scheduler';
import type { Model } from '../model';
import { ChartView } from './chart';
import { h, setText, toggleClass } from './dom';
import { nameOf } from '../data/servers';

export const WINDOWS = [
  { key: '1', label: '1 min', ms: 60_000 },
  { key: '5', label: '5 min', ms: 5 * 60_000 },
  { key: '15', label: '15 min', ms: 15 * 60_000 },
  { key: 'h', label: '1 h', ms: 60 * 60_000 },
] as const;

/** A redraw at least this often, so the time axis slides even without data. */
const SLIDE_MS = 1000;

export class Dashboard {
  readonly el: HTMLElement;
  private readonly title: HTMLElement;
  private readonly seen: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly charts = new Map<string, ChartView>();
  private source: string | null = null;
  windowMs: number = WINDOWS[1].ms;
  paused = false;
  private pausedAt = 0;
  private active = false;
  /** Which charts are in (or near) the view: only those paint their canvas. */
  private readonly io: IntersectionObserver;

  constructor(
    private readonly model: Model,
    private readonly scheduler: FrameScheduler<Renderable>,
    onBack: () => void,
    private readonly latency?: DrawLatency,
  ) {
    this.title = h('h2', { class: 'dash-title' });
    this.seen = h('span', { class: 'dash-seen' });
    this.banner = h('div', { class: 'banner', role: 'status' });
    this.grid = h('div', { class: 'chart-grid' });
    this.empty = h('div', { class: 'state-msg hidden' });
    const back = h('button', { class: 'btn small back', type: 'button', title: 'Back to all sources (g or Esc)' }, '← Overview');
    back.addEventListener('click', onBack);
    this.el = h('main', { class: 'dash hidden' }, h('header', { class: 'dash-head' }, back, this.title, this.seen), this.banner, this.empty, this.grid);
    this.io = new IntersectionObserver((entries) => this.onScreen(entries), { rootMargin: '200px 0px' });
    model.on('structure', () => this.refreshStructure());
    model.on('metrics', (sources) => {
      if (this.source && sources.has(this.source)) this.onData();
    });
  }

  /** Visible window [from, to] in unix ms. */
  window(): [number, number] {
    const to = this.paused ? this.pausedAt : this.model.now();
    return [to - this.windowMs, to];
  }

  setWindow(ms: number): void {
    if (ms === this.windowMs) return;
    this.windowMs = ms;
    this.markAll();
  }

  setPaused(p: boolean): void {
    if (p === this.paused) return;
    this.paused = p;
    if (p) this.pausedAt = this.model.now();
    this.el.classList.toggle('paused', p);
    this.markAll();
    this.refreshBanner();
  }

  /** Shows `source` (null: hide the view, charts are dropped so nothing draws). */
  show(source: string | null): void {
    this.active = source !== null;
    toggleClass(this.el, 'hidden', !this.active);
    if (source !== this.source) {
      for (const c of this.charts.values()) this.drop(c);
      this.charts.clear();
      this.source = source;
    }
    if (source === null) {
      delete this.el.dataset.source;
      delete this.el.dataset.key;
    } else {
      this.el.dataset.source = nameOf(source);
      this.el.dataset.key = source;
    }
    setText(this.title, source === null ? '' : this.model.servers.label(source));
    this.refreshStructure();
  }

  get selectedSource(): string | null {
    return this.source;
  }

  chartViews(): ChartView[] {
    return [...this.charts.values()];
  }

  /** Called every second: slide the window, refresh "last seen" and the banner. */
  tick(): void {
    if (!this.active) return;
    const now = this.model.now();
    if (!this.paused)
      for (const c of this.charts.values()) {
        // Redraw when the window slid by a pixel (at most once a second); else only the legend's text.
        if (now - c.renderedAt >= Math.max(SLIDE_MS - 50, c.msPerPixel())) this.scheduler.markDirty(c);
        else c.refreshLegend();
      }
    this.refreshBanner();
  }

  /**
   * New samples: redraw the charts whose last draw is at least a pixel of time old. The
   * others wait for a later batch or the clock's tick, so a fast source costs one redraw
   * per pixel of time, not one per sample.
   */
  private onData(): void {
    if (!this.active || this.paused) return;
    const now = this.model.now();
    for (const c of this.charts.values()) if (now - c.renderedAt >= Math.max(16, c.msPerPixel())) this.scheduler.markDirty(c);
  }

  private drop(c: ChartView): void {
    this.io.unobserve(c.el);
    this.scheduler.forget(c);
    c.destroy();
  }

  /** A chart that scrolls into view paints at once (off screen it kept its rows, not its canvas). */
  private onScreen(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      const c = this.charts.get((e.target as HTMLElement).dataset.group ?? '');
      if (!c) continue;
      c.onScreen = e.isIntersecting;
      if (c.onScreen && this.active) this.scheduler.markDirty(c);
    }
  }

  private markAll(): void {
    for (const c of this.charts.values()) this.scheduler.markDirty(c);
  }

  refreshStructure(): void {
    const source = this.source;
    if (!this.active || source === null) return;
    const groups = groupMetrics(this.model.metrics.names(source));
    const keep = new Set(groups.map((g) => g.key));
    for (const [key, c] of this.charts) {
      if (!keep.has(key)) {
        this.drop(c);
        this.charts.delete(key);
      }
    }
    groups.forEach((g, i) => {
      let c = this.charts.get(g.key);
      if (!c) {
        c = new ChartView(g, {
          series: () => this.model.metrics.series(source),
          window: () => this.window(),
          now: () => this.model.now(),
          drawn: (now, newestTs, firstNewTs) => this.latency?.drawn(now, newestTs, firstNewTs),
        });
        this.charts.set(g.key, c);
        this.io.observe(c.el);
      } else c.setGroup(g);
      // Keep DOM order = group order.
      if (this.grid.children[i] !== c.el) this.grid.insertBefore(c.el, this.grid.children[i] ?? null);
      c.attach();
      this.scheduler.markDirty(c);
    });
    toggleClass(this.empty, 'hidden', groups.length > 0);
    if (groups.length === 0) this.empty.replaceChildren(h('h2', {}, `${source} has no metrics yet`), h('p', {}, 'Waiting for its first sample.'));
    this.refreshBanner();
  }

  /** When the source's last sample came, if that was longer ago than it may be silent; else null. */
  private silentSince(source: string): number | null {
    const last = this.model.metrics.lastSeenOf(source);
    const series = this.model.metrics.series(source);
    return isStale(last, series ? series.interval() : NaN, this.model.now()) ? last! : null;
  }

  private refreshBanner(): void {
    if (!this.source) return;
    const now = this.model.now();
    const last = this.model.metrics.lastSeenOf(this.source);
    setText(this.seen, last === undefined ? 'no samples yet' : `last sample ${relativeTime(last, now)}`);
    const silent = this.silentSince(this.source);
    let text = '';
    let tone = '';
    if (silent !== null) {
      tone = 'warn';
      text = `${this.model.servers.label(this.source)}: no data for ${spanText(now - silent) ?? '1 s'} (last sample at ${clockTime(silent)}). The charts end there: this source is not reporting.`;
    } else if (this.paused) {
      tone = 'info';
      text = 'Paused — the charts are frozen; data keeps arriving in the background. Press P or Space to resume.';
    }
    setText(this.banner, text);
    const cls = `banner ${text ? 'show' : ''} ${tone}`;
    if (this.banner.className !== cls) this.banner.className = cls;
    toggleClass(this.grid, 'silent', silent !== null);
  }
}
