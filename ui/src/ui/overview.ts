// The home view: one fixed-size tile per source, worst first, with a filter box and
// keyboard navigation. Only tiles on screen draw; every tile redraws at most once a second.
import type { Alarm } from '../backend/types';
import { compareTiles, keyMetrics, matchesFilter, parseFilter, tileState, TILE_STATES, type TileState } from '../data/fleet';
import { formatValue, unitOf } from '../data/groups';
import { spanText } from '../data/format';
import type { FrameScheduler, Renderable } from '../data/scheduler';
import type { Model } from '../model';
import { PALETTE } from './chart';
import { splitKey } from '../data/servers';
import { h, setText, toggleClass } from './dom';
import { drawSpark, sparkCanvas } from './sparkline';

export interface OverviewContext {
  /** The charts' time window [from, to]. */
  window(): [number, number];
  open(source: string): void;
}

const SPARK_W = 84;
const SPARK_H = 18;
/** Newer samples than this read "now". */
const FRESH_MS = 5_000;

const SHORT: Record<string, string> = {
  'cpu.total': 'cpu',
  'mem.used_percent': 'mem',
  'load.1': 'load',
  'disk.used_percent': 'disk',
  'net.rx_bytes_per_s': 'net rx',
};

const STATE_TEXT: Record<TileState, string> = {
  critical: 'critical',
  silent: 'silent',
  warning: 'warning',
  info: 'info',
  ok: 'ok',
  nodata: 'no data',
};

interface SparkRow {
  name: string;
  canvas: HTMLCanvasElement;
  value: HTMLElement;
}

class Tile implements Renderable {
  readonly el: HTMLElement;
  private readonly age: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private rows: SparkRow[] = [];
  state: TileState = 'nodata';
  /** Firing alarms of this source. */
  firing = 0;
  /** New samples since the last draw. */
  changed = true;
  onScreen = false;
  /** When the sparklines were last drawn (model clock). */
  drawnAt = -Infinity;
  private readonly server: HTMLElement;

  constructor(
    readonly source: string,
    private readonly model: Model,
    private readonly ctx: OverviewContext,
  ) {
    this.age = h('span', { class: 'tile-age' });
    this.badge = h('span', { class: 'tile-badge' });
    this.rowsEl = h('div', { class: 'tile-rows' });
    this.server = h('span', { class: 'tile-server' });
    const { server, name } = splitKey(source);
    this.el = h(
      'div',
      { class: 'tile', role: 'button', tabindex: -1, 'data-key': source, 'data-source': name, 'data-server': server, title: `${name} — Enter opens its charts` },
      h('div', { class: 'tile-head' }, h('i', { class: 'tile-dot' }), h('span', { class: 'tile-name' }, name, this.server), this.badge, this.age),
      this.rowsEl,
    );
    this.el.addEventListener('click', () => ctx.open(source));
  }

  /** Says which hub the source is on when there are several. */
  setServer(label: string): void {
    setText(this.server, label);
  }

  /** Picks the tile's metrics when the source's names change. */
  setNames(names: readonly string[]): void {
    const keys = keyMetrics(names);
    if (keys.length === this.rows.length && keys.every((k, i) => k === this.rows[i]!.name)) return;
    this.rows = keys.map((name) => ({ name, canvas: sparkCanvas(SPARK_W, SPARK_H), value: h('span', { class: 'tile-val' }, '–') }));
    this.rowsEl.replaceChildren(
      ...this.rows.map((r) => h('div', { class: 'tile-row', title: r.name }, h('span', { class: 'tile-label' }, SHORT[r.name] ?? r.name), r.canvas, r.value)),
    );
    this.changed = true;
  }

  setState(state: TileState, alarms: readonly Alarm[]): void {
    if (state !== this.state || !this.el.dataset.state) {
      // A silent tile greys its sparklines: redraw.
      if ((state === 'silent') !== (this.state === 'silent')) this.changed = true;
      this.state = state;
      this.el.dataset.state = state;
      this.el.className = `tile st-${state}`;
    }
    const firing = alarms.filter((a) => a.state === 'firing').length;
    this.firing = firing;
    setText(this.badge, firing ? String(firing) : '');
    this.badge.title = firing ? `${firing} firing alarm${firing > 1 ? 's' : ''}` : '';
  }

  /** The once-a-second text: age of the newest sample. Fixed width, so it never reflows. */
  refreshAge(now: number): void {
    const last = this.model.metrics.lastSeenOf(this.source);
    const span = last === undefined ? null : spanText(now - last);
    let text: string;
    if (last === undefined) text = 'no data';
    else if (this.state === 'silent') text = `silent ${span ?? ''}`.trim();
    // Within a few seconds is "now": a text that changes every second costs a repaint each time.
    else text = now - last < FRESH_MS ? 'now' : `${span} ago`;
    setText(this.age, text);
  }

  render(): void {
    this.changed = false;
    this.drawnAt = this.model.now();
    const series = this.model.metrics.series(this.source);
    const [from, to] = this.ctx.window();
    const stale = this.state === 'silent';
    this.rows.forEach((r, i) => {
      const unit = unitOf(r.name);
      const slice = series ? series.query(from, to, [r.name], SPARK_W) : { x: new Float64Array(0), ys: [[]] };
      drawSpark(r.canvas, slice.x, slice.ys[0] ?? [], from, to, {
        color: stale ? '#5d6778' : PALETTE[i % PALETTE.length]!,
        range: unit === 'percent' ? [0, 100] : undefined,
      });
      const latest = series?.latest(r.name);
      setText(r.value, latest ? formatValue(unit, latest.value) : '–');
    });
  }
}

export class Overview {
  readonly el: HTMLElement;
  readonly filter: HTMLInputElement;
  private readonly summary: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private shown: Tile[] = [];
  private readonly io: IntersectionObserver;
  private active = true;
  /** Sources or metric names changed since the tiles last picked their metrics. */
  private namesChanged = true;

  constructor(
    private readonly model: Model,
    private readonly scheduler: FrameScheduler<Renderable>,
    private readonly ctx: OverviewContext,
  ) {
    this.filter = h('input', {
      class: 'fleet-filter',
      type: 'search',
      placeholder: 'Filter (/): name, is:critical, is:silent, team=db',
      'aria-label': 'Filter sources',
      spellcheck: 'false',
    }) as HTMLInputElement;
    this.summary = h('div', { class: 'fleet-summary' });
    this.grid = h('div', { class: 'tile-grid', role: 'grid', 'aria-label': 'Sources' });
    this.empty = h('p', { class: 'fleet-empty hidden' });
    this.el = h('main', { class: 'overview', 'data-count': '0' }, h('div', { class: 'fleet-bar' }, this.filter, this.summary), this.empty, this.grid);
    this.io = new IntersectionObserver((entries) => this.onScreen(entries), { root: this.el, rootMargin: '200px 0px' });
    this.filter.addEventListener('input', () => this.refresh());
    this.filter.addEventListener('keydown', (e) => this.onFilterKey(e));
    this.grid.addEventListener('keydown', (e) => this.onGridKey(e));
    model.on('structure', () => {
      this.namesChanged = true;
      this.refresh();
    });
    model.on('alarms', () => this.refresh());
    model.on('metrics', (sources) => {
      for (const s of sources) {
        const t = this.tiles.get(s);
        if (t) t.changed = true;
      }
    });
    this.refresh();
  }

  /** Shown or not: a hidden overview draws nothing. */
  setActive(active: boolean): void {
    this.active = active;
    toggleClass(this.el, 'hidden', !active);
    if (active) this.redrawAll();
  }

  /** The window changed: every tile on screen redraws. */
  redrawAll(): void {
    for (const t of this.shown) {
      t.changed = true;
      t.drawnAt = -Infinity;
    }
    this.refresh();
  }

  /** Re-evaluates states and order; draws on-screen tiles with new data. Called every second. */
  refresh(): void {
    const now = this.model.now();
    const bySource = new Map<string, Alarm[]>();
    for (const e of this.model.alarms.activeSorted()) {
      const list = bySource.get(e.alarm.source) ?? [];
      list.push(e.alarm);
      bySource.set(e.alarm.source, list);
    }
    const filter = parseFilter(this.filter.value);
    const counts: Record<TileState, number> = { critical: 0, silent: 0, warning: 0, info: 0, ok: 0, nodata: 0 };
    const shown: Tile[] = [];
    const sources = this.model.metrics.sources();
    for (const source of sources) {
      let t = this.tiles.get(source);
      const fresh = !t;
      if (!t) {
        t = new Tile(source, this.model, this.ctx);
        this.tiles.set(source, t);
        this.io.observe(t.el);
      }
      if (this.namesChanged || fresh) t.setNames(this.model.metrics.names(source));
      t.setServer(this.model.servers.serverLabel(source));
      const alarms = bySource.get(source) ?? [];
      const series = this.model.metrics.series(source);
      const state = tileState({ source, lastSeen: this.model.metrics.lastSeenOf(source), interval: series ? series.interval() : NaN, alarms }, now);
      t.setState(state, alarms);
      counts[state]++;
      if (matchesFilter(filter, this.model.servers.label(source), state, alarms)) shown.push(t);
    }
    this.namesChanged = false;
    if (this.tiles.size > sources.length) this.dropGone(sources);
    shown.sort(compareTiles);
    this.place(shown);
    this.el.dataset.count = String(shown.length);
    this.summarise(sources.length, shown.length, counts);
    if (!this.active) return;
    // A sparkline pixel spans (window / width) ms: drawing more often than that moves nothing.
    const [from, to] = this.ctx.window();
    const pixelMs = (to - from) / SPARK_W;
    for (const t of shown) {
      if (!t.onScreen) continue;
      t.refreshAge(now);
      if (t.changed && now - t.drawnAt >= pixelMs) this.scheduler.markDirty(t);
    }
  }

  /** Puts the tiles in order, touching the DOM only when the order changed. */
  /** Forgets the tiles of sources no longer listed (their hub was switched off). */
  private dropGone(sources: readonly string[]): void {
    const keep = new Set(sources);
    for (const [key, t] of this.tiles) {
      if (keep.has(key)) continue;
      this.io.unobserve(t.el);
      this.tiles.delete(key);
    }
  }

  private place(shown: Tile[]): void {
    const same = shown.length === this.shown.length && shown.every((t, i) => t === this.shown[i]);
    if (same) return;
    const focused = document.activeElement;
    this.grid.replaceChildren(...shown.map((t) => t.el));
    if (focused instanceof HTMLElement && this.grid.contains(focused)) focused.focus({ preventScroll: true });
    this.shown = shown;
    if (!shown.some((t) => t.el.tabIndex === 0) && shown[0]) shown[0].el.tabIndex = 0;
  }

  private summarise(total: number, shown: number, counts: Record<TileState, number>): void {
    const parts = TILE_STATES.filter((s) => counts[s] > 0 && s !== 'ok').map((s) => `${counts[s]} ${STATE_TEXT[s]}`);
    const head = shown === total ? `${total} source${total === 1 ? '' : 's'}` : `${shown} of ${total} sources`;
    setText(this.summary, [head, ...parts].join(' · '));
    const none = total > 0 && shown === 0;
    toggleClass(this.empty, 'hidden', !none);
    if (none) setText(this.empty, `No source matches “${this.filter.value}”. Esc clears the filter.`);
  }

  private onScreen(entries: IntersectionObserverEntry[]): void {
    const now = this.model.now();
    for (const e of entries) {
      const t = this.tiles.get((e.target as HTMLElement).dataset.key ?? '');
      if (!t) continue;
      t.onScreen = e.isIntersecting;
      if (t.onScreen && this.active) {
        t.refreshAge(now);
        this.scheduler.markDirty(t);
      }
    }
  }

  /** A source's state and firing alarm count, as of the last refresh. */
  status(source: string): { state: TileState; firing: number } | undefined {
    const t = this.tiles.get(source);
    return t && { state: t.state, firing: t.firing };
  }

  /** Focuses the filter box (the `/` key). */
  focusFilter(): void {
    this.filter.focus();
    this.filter.select();
  }

  private onFilterKey(e: KeyboardEvent): void {
    if (e.key === 'ArrowDown') this.focusTile(0);
    else if (e.key === 'Enter' && this.shown[0]) this.ctx.open(this.shown[0].source);
    else if (e.key === 'Escape') {
      this.filter.value = '';
      this.refresh();
      this.filter.blur();
    } else return;
    e.preventDefault();
    e.stopPropagation();
  }

  private columns(): number {
    const first = this.shown[0]?.el;
    if (!first) return 1;
    const top = first.offsetTop;
    const n = this.shown.findIndex((t) => t.el.offsetTop !== top);
    return n < 0 ? this.shown.length : Math.max(1, n);
  }

  private focusTile(i: number): void {
    const t = this.shown[Math.max(0, Math.min(this.shown.length - 1, i))];
    if (!t) return;
    for (const o of this.shown) if (o.el.tabIndex === 0 && o !== t) o.el.tabIndex = -1;
    t.el.tabIndex = 0;
    t.el.focus();
  }

  private onGridKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const i = this.shown.findIndex((t) => t.el === document.activeElement);
    if (i < 0) return;
    const step: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.columns(), ArrowUp: -this.columns() };
    if (e.key in step) this.focusTile(i + step[e.key]!);
    else if (e.key === 'Home') this.focusTile(0);
    else if (e.key === 'End') this.focusTile(this.shown.length - 1);
    else if (e.key === 'Enter' || e.key === ' ') this.ctx.open(this.shown[i]!.source);
    else return;
    e.preventDefault();
    e.stopPropagation();
  }
}
