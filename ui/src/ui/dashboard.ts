// The chart area: source tabs, one chart per metric group of the selected source, and the
// loading / empty / error states when there is nothing to draw.
import { groupMetrics } from '../data/groups';
import { connectionView } from '../data/connection';
import { clockTime, relativeTime, spanText } from '../data/format';
import type { FrameScheduler } from '../data/scheduler';
import type { Model } from '../model';
import { ChartView } from './chart';
import { h, setText, toggleClass } from './dom';

export const WINDOWS = [
  { key: '1', label: '1 min', ms: 60_000 },
  { key: '5', label: '5 min', ms: 5 * 60_000 },
  { key: '15', label: '15 min', ms: 15 * 60_000 },
] as const;

/** Seconds after which a source without samples is shown as stale. */
const STALE_MS = 15_000;

export class Dashboard {
  readonly el: HTMLElement;
  private readonly tabs: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly grid: HTMLElement;
  private readonly state: HTMLElement;
  private readonly charts = new Map<string, ChartView>();
  private source: string | null = null;
  windowMs: number = WINDOWS[1].ms;
  paused = false;
  private pausedAt = 0;
  private stateKey = '';

  constructor(
    private readonly model: Model,
    private readonly scheduler: FrameScheduler<ChartView>,
  ) {
    this.tabs = h('nav', { class: 'source-tabs', 'aria-label': 'Sources' });
    this.banner = h('div', { class: 'banner', role: 'status' });
    this.grid = h('div', { class: 'chart-grid' });
    this.state = h('div', { class: 'dash-state' });
    this.el = h('main', { class: 'dash' }, this.tabs, this.banner, this.state, this.grid);
    model.on('structure', () => this.refreshStructure());
    model.on('metrics', (sources) => {
      if (this.source && sources.has(this.source)) this.markAll();
    });
    model.on('status', () => this.refreshStructure());
    model.on('connection', () => {
      this.refreshBanner();
      this.refreshState();
    });
    this.refreshStructure();
  }

  /** Visible window [from, to] in unix ms. */
  window(): [number, number] {
    const to = this.paused ? this.pausedAt : this.model.now();
    return [to - this.windowMs, to];
  }

  setWindow(ms: number): void {
    if (ms === this.windowMs) return;
    this.windowMs = ms;
    this.markAll(true);
  }

  setPaused(p: boolean): void {
    if (p === this.paused) return;
    this.paused = p;
    if (p) this.pausedAt = this.model.now();
    this.el.classList.toggle('paused', p);
    this.markAll(true);
  }

  selectSource(source: string): void {
    if (source === this.source) return;
    this.source = source;
    for (const c of this.charts.values()) {
      this.scheduler.forget(c);
      c.destroy();
    }
    this.charts.clear();
    this.refreshStructure();
  }

  get selectedSource(): string | null {
    return this.source;
  }

  chartViews(): ChartView[] {
    return [...this.charts.values()];
  }

  /** Called every second: slide the window, refresh "last seen" and the countdown banner. */
  tick(): void {
    if (!this.paused) this.markAll();
    this.refreshTabs();
    this.refreshBanner();
  }

  private markAll(force = false): void {
    if (this.paused && !force) return;
    for (const c of this.charts.values()) this.scheduler.markDirty(c);
  }

  refreshStructure(): void {
    const sources = this.model.metrics.sources();
    if (!this.source || !sources.includes(this.source)) this.source = sources[0] ?? null;
    this.refreshTabs();
    const names = this.source ? this.model.metrics.names(this.source) : [];
    const groups = groupMetrics(names);
    const keep = new Set(groups.map((g) => g.key));
    for (const [key, c] of this.charts) {
      if (!keep.has(key)) {
        this.scheduler.forget(c);
        c.destroy();
        this.charts.delete(key);
      }
    }
    const source = this.source;
    groups.forEach((g, i) => {
      let c = this.charts.get(g.key);
      if (!c) {
        c = new ChartView(g, {
          ring: () => (source ? this.model.metrics.ring(source) : undefined),
          window: () => this.window(),
          now: () => this.model.now(),
        });
        this.charts.set(g.key, c);
      } else c.setGroup(g);
      // Keep DOM order = group order.
      if (this.grid.children[i] !== c.el) this.grid.insertBefore(c.el, this.grid.children[i] ?? null);
      c.attach();
      this.scheduler.markDirty(c);
    });
    this.refreshState();
  }

  /** When a source's last sample came, if that was longer ago than it may be silent; else null. */
  private silentSince(source: string): number | null {
    const last = this.model.metrics.lastSeenOf(source);
    return last !== undefined && this.model.now() - last > STALE_MS ? last : null;
  }

  private refreshTabs(): void {
    const sources = this.model.metrics.sources();
    toggleClass(this.tabs, 'hidden', sources.length === 0);
    const now = this.model.now();
    const existing = new Map<string, HTMLElement>();
    for (const el of Array.from(this.tabs.children) as HTMLElement[]) existing.set(el.dataset.source ?? '', el);
    sources.forEach((s, i) => {
      let tab = existing.get(s);
      if (!tab) {
        tab = h(
          'button',
          { class: 'tab', type: 'button', 'data-source': s, onclick: () => this.selectSource(s) },
          h('i', { class: 'tab-dot' }),
          h('span', { class: 'tab-name' }, s),
          h('span', { class: 'tab-seen' }),
        );
      }
      existing.delete(s);
      if (this.tabs.children[i] !== tab) this.tabs.insertBefore(tab, this.tabs.children[i] ?? null);
      toggleClass(tab, 'active', s === this.source);
      const last = this.model.metrics.lastSeenOf(s);
      const stale = last === undefined || now - last > STALE_MS;
      toggleClass(tab, 'stale', stale);
      setText(tab.querySelector('.tab-seen')!, last === undefined ? 'no data' : stale ? relativeTime(last, now) : '');
      tab.title = last === undefined ? `${s}: no samples yet` : `${s}: last sample ${relativeTime(last, now)}`;
    });
    for (const el of existing.values()) el.remove();
  }

  private refreshBanner(): void {
    const c = this.model.connection;
    const hasData = this.model.metrics.sources().length > 0;
    let text = '';
    let tone = '';
    if (c && hasData && (c.state === 'reconnecting' || c.state === 'failed')) {
      const v = connectionView(c, this.model.connectionAt, this.model.now());
      tone = v.tone;
      text =
        c.state === 'reconnecting'
          ? `${v.text} — ${c.reason ?? 'connection lost'}. Charts continue from the recovered data once it is back.`
          : `${v.text} — ${c.reason ?? ''}. Showing data received before the failure.`;
    } else if (this.source && this.silentSince(this.source) !== null) {
      const last = this.silentSince(this.source)!;
      tone = 'warn';
      text = `${this.source}: no data for ${spanText(this.model.now() - last) ?? '1 s'} (last sample at ${clockTime(last)}). The charts end there: this source is not reporting.`;
    } else if (this.paused) {
      tone = 'info';
      text = 'Paused — the charts are frozen; data keeps arriving in the background. Press P or Space to resume.';
    }
    setText(this.banner, text);
    this.banner.className = `banner ${text ? 'show' : ''} ${tone}`;
    toggleClass(this.grid, 'silent', this.source !== null && this.silentSince(this.source) !== null);
  }

  /** Loading / empty / error state when there is no chart to show. */
  private refreshState(): void {
    this.refreshBanner();
    const m = this.model;
    const hasCharts = this.charts.size > 0;
    let key = 'charts';
    if (!hasCharts) {
      const c = m.connection;
      if (c?.state === 'failed') key = 'failed';
      else if (c?.state === 'reconnecting') key = 'reconnecting';
      else if (m.catalogStatus === 'loading' || !c || c.state === 'connecting') key = 'loading';
      else if (m.catalogStatus === 'error') key = 'error';
      else if (this.source) key = 'empty-source';
      else key = 'empty';
    }
    const detailKey = `${key}|${m.catalogError}|${m.connection?.reason ?? ''}|${m.connection?.state ?? ''}|${this.source ?? ''}`;
    toggleClass(this.grid, 'hidden', key !== 'charts');
    toggleClass(this.state, 'hidden', key === 'charts');
    if (detailKey === this.stateKey) return;
    this.stateKey = detailKey;
    this.state.dataset.state = key;
    this.state.replaceChildren();
    switch (key) {
      case 'loading':
        this.state.append(
          h('div', { class: 'state-msg' }, h('div', { class: 'spinner' }), h('h2', {}, 'Loading sources…'), h('p', {}, 'Connecting to the hub and asking which sources publish metrics.')),
          h('div', { class: 'skeleton-grid' }, ...[0, 1, 2, 3].map(() => h('div', { class: 'card skeleton' }, h('div', { class: 'sk-title' }), h('div', { class: 'sk-body' })))),
        );
        break;
      case 'failed': {
        const v = connectionView(m.connection, m.connectionAt, m.now());
        this.state.append(
          h(
            'div',
            { class: 'state-msg error' },
            h('div', { class: 'state-icon' }, '!'),
            h('h2', {}, v.text),
            h('p', {}, m.connection?.reason ?? ''),
            h('p', { class: 'muted' }, v.text === 'Authentication failed' ? 'The hub refused the token. Start Telltale with a valid --token (or TELLTALE_TOKEN); it will not retry on its own.' : `Server: ${m.connection?.server ?? ''}`),
          ),
        );
        break;
      }
      case 'reconnecting':
        this.state.append(
          h(
            'div',
            { class: 'state-msg' },
            h('div', { class: 'spinner' }),
            h('h2', {}, 'Waiting for the hub'),
            h('p', {}, m.connection?.reason ?? 'The connection dropped.'),
            h('p', { class: 'muted' }, `Telltale keeps retrying ${m.connection?.server ?? ''}; the countdown is at the top right.`),
          ),
        );
        break;
      case 'error':
        this.state.append(
          h(
            'div',
            { class: 'state-msg error' },
            h('div', { class: 'state-icon' }, '!'),
            h('h2', {}, 'Could not load the catalog'),
            h('p', {}, m.catalogError),
            h('button', { class: 'btn', type: 'button', onclick: () => void m.loadCatalog() }, 'Retry'),
          ),
        );
        break;
      case 'empty':
        this.state.append(
          h(
            'div',
            { class: 'state-msg' },
            h('div', { class: 'state-icon calm' }, '∅'),
            h('h2', {}, 'No metric sources yet'),
            h('p', {}, 'Charts appear as soon as something publishes on a metrics:<source> channel.'),
            h('p', { class: 'muted' }, 'The built-in collector publishes this machine’s CPU, memory, network and disk every second; a remote hub needs a producer (HTTP /api/publish).'),
          ),
        );
        break;
      case 'empty-source':
        this.state.append(h('div', { class: 'state-msg' }, h('h2', {}, `${this.source} has no metrics yet`), h('p', {}, 'Waiting for its first sample.')));
        break;
    }
  }
}
