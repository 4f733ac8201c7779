// Lays out the page, wires the model to the views, runs the 1 s clock and the keyboard, and
// stops drawing while the window is hidden.
import type { Backend } from './backend/types';
import { KeyMap } from './data/keys';
import { DrawLatency, type DrawLatencyStats } from './data/draw-latency';
import { FrameScheduler, type Renderable } from './data/scheduler';
import { Model } from './model';
import { AlarmPanel } from './ui/alarms';
import { ConnectionBanner, ConnectionIndicator } from './ui/connection';
import { Dashboard, WINDOWS } from './ui/dashboard';
import { DiagnosticsPanel } from './ui/diagnostics';
import { h, toggleClass } from './ui/dom';
import { Overview } from './ui/overview';
import { Sidebar } from './ui/sidebar';
import { StatePanel } from './ui/state';
import { nameOf } from './data/servers';
import { MemorySettingsBackend, type Settings } from './backend/settings';
import { MockHistoryBackend } from './backend/history';
import { SettingsView } from './ui/settings';
import { HistoryView } from './ui/history';
import { PhoneTabs } from './ui/phone-tabs';

/** What fills the middle of the window: the sources, the alarm history, or the settings. */
export type Page = 'sources' | 'history' | 'settings';

export class App {
  readonly model: Model;
  readonly dashboard: Dashboard;
  readonly overview: Overview;
  readonly alarms: AlarmPanel;
  private readonly sidebar: Sidebar;
  private readonly states: StatePanel;
  private readonly conn: ConnectionIndicator;
  private readonly banner: ConnectionBanner;
  private readonly diag: DiagnosticsPanel;
  private readonly scheduler: FrameScheduler<Renderable>;
  private readonly keys = new KeyMap();
  /** How old samples are when the source view's charts draw them. */
  private readonly drawLatency = new DrawLatency();
  private readonly windowButtons: HTMLButtonElement[];
  private readonly pauseButton: HTMLButtonElement;
  private clock: ReturnType<typeof setInterval> | null = null;
  /** The source shown, or null for the overview. */
  private current: string | null = null;
  private readonly settings: SettingsView;
  private readonly history: HistoryView;
  /** Says the settings file could not be read (moved aside), until dismissed. */
  private readonly settingsProblem: HTMLElement;
  private readonly pageButtons: Record<Page, HTMLButtonElement>;
  private page: Page = 'sources';

  constructor(
    readonly root: HTMLElement,
    backend: Backend,
  ) {
    this.model = new Model(backend);
    this.scheduler = new FrameScheduler<Renderable>((cb) => requestAnimationFrame(cb));
    this.dashboard = new Dashboard(this.model, this.scheduler, () => this.showOverview(), this.drawLatency);
    this.overview = new Overview(this.model, this.scheduler, { window: () => this.dashboard.window(), open: (s) => this.openSource(s) });
    this.sidebar = new Sidebar({
      sources: () => this.model.metrics.sources(),
      status: (s) => this.overview.status(s),
      current: () => this.current,
      open: (s) => this.openSource(s),
      showOverview: () => this.showOverview(),
      label: (s) => this.model.servers.label(s),
      serverLabel: (s) => this.model.servers.serverLabel(s),
    });
    this.states = new StatePanel(this.model);
    this.alarms = new AlarmPanel(this.model);
    this.conn = new ConnectionIndicator(this.model);
    this.banner = new ConnectionBanner(this.model);
    this.diag = new DiagnosticsPanel(this.model);

    this.windowButtons = WINDOWS.map(
      (w) =>
        h(
          'button',
          { class: 'seg', type: 'button', title: `Show the last ${w.label} (key ${w.key})`, onclick: () => this.setWindow(w.ms) },
          w.label,
        ) as HTMLButtonElement,
    );
    this.pauseButton = h('button', { class: 'btn pause', type: 'button', title: 'Pause / resume the charts (P or Space)', onclick: () => this.togglePause() }, 'Pause') as HTMLButtonElement;
    const pageButton = (page: Page, label: string, key: string) =>
      h('button', { class: 'seg', type: 'button', 'data-page': page, title: `${label} (${key})`, onclick: () => this.showPage(page) }, label) as HTMLButtonElement;
    this.pageButtons = { sources: pageButton('sources', 'Sources', 'g'), history: pageButton('history', 'History', 'y'), settings: pageButton('settings', 'Settings', ',') };

    const header = h(
      'header',
      { class: 'top' },
      h('div', { class: 'brand' }, h('i', { class: 'brand-mark' }), h('span', {}, 'Telltale'), backend.kind === 'mock' ? h('span', { class: 'tag', title: 'Not inside the desktop app: generated data' }, 'preview · mock data') : null),
      h('div', { class: 'controls' }, h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time window' }, ...this.windowButtons), this.pauseButton),
      h('nav', { class: 'segmented pages', 'aria-label': 'Pages' }, ...Object.values(this.pageButtons)),
      this.conn.el,
    );
    this.settingsProblem = h('div', { class: 'settings-problem-banner hidden', role: 'alert' });
    const views = h('div', { class: 'views' }, this.settingsProblem, this.banner.el, this.states.el, this.overview.el, this.dashboard.el);
    const side = h('aside', { class: 'side' }, this.alarms.el, this.diag.el);
    const footer = h(
      'footer',
      { class: 'keys' },
      ...[
        ['/', 'filter'],
        ['← → ↑ ↓ Enter', 'open a source'],
        ['g', 'overview'],
        ['j k', 'select alarm'],
        ['a · A', 'ack · with comment'],
        ['s', 'silence 1 h'],
        ['1 · 5 · 15 · h', 'window'],
        ['p', 'pause'],
        ['y', 'history'],
        [',', 'settings'],
      ].map(([k, v]) => h('span', {}, h('kbd', {}, k!), ` ${v}`)),
    );
    // The host decides where settings and history live; a backend without them gets memory.
    this.history = new HistoryView(views, backend.history ?? new MockHistoryBackend());
    this.settings = new SettingsView(views, backend.settings ?? new MemorySettingsBackend(), {
      onClose: (saved) => {
        if (saved) this.applySettings(saved);
        this.showPage('sources');
      },
    });
    root.classList.remove('boot');
    const layout = h('div', { class: 'layout' }, this.sidebar.el, views, side);
    const phoneTabs = new PhoneTabs(layout, this.model);
    root.replaceChildren(header, layout, phoneTabs.el, footer);
    const refreshViews = () => this.refreshViews();
    this.model.on('structure', refreshViews);
    this.model.on('status', refreshViews);
    this.model.on('connection', refreshViews);
    this.syncControls();
    this.refreshViews();
  }

  async start(): Promise<void> {
    void this.settings.load().then(
      (data) => {
        this.applySettings(data.settings);
        this.showSettingsProblem(data.problem);
      },
      (e) => this.showSettingsProblem(`Settings not loaded: ${e instanceof Error ? e.message : String(e)}`),
    );
    this.model.on('connection', () => this.history.setServers(this.model.connections().map((c) => [c.serverId, c.server] as const)));
    document.addEventListener('keydown', (e) => this.onKey(e));
    // A hidden or minimised window draws nothing; it catches up in one frame when shown.
    document.addEventListener('visibilitychange', () => {
      this.scheduler.setPaused(document.hidden);
      if (!document.hidden) this.second();
    });
    this.scheduler.setPaused(document.hidden);
    this.clock = setInterval(() => this.second(), 1000);
    await this.model.start();
  }

  /** Frame timings of the last rendered frames (for the UI benchmark and diagnostics). */
  perf(): { frames: number; p50: number; p99: number; max: number } {
    return this.scheduler.stats();
  }

  /**
   * Age of the samples the source view's charts drew (ms, now − sample ts), per render that
   * drew something new: `newest` and `firstDrawn` (see data/draw-latency.ts). For the UI
   * benchmark; `resetLatency()` starts the rings over.
   */
  latency(): DrawLatencyStats {
    return this.drawLatency.stats();
  }

  resetLatency(): void {
    this.drawLatency.reset();
  }

  private second(): void {
    if (document.hidden) return;
    this.overview.refresh();
    this.sidebar.refresh();
    this.dashboard.tick();
    this.alarms.refresh();
    this.conn.refresh();
    this.banner.refresh();
    if (this.diag.el.open) this.diag.refresh();
  }

  /** Shows the sources (overview or a source), the alarm history or the settings. */
  showPage(page: Page): void {
    if (page === this.page && page !== 'sources') return;
    const leaving = this.page;
    this.page = page;
    if (leaving === 'settings' && page !== 'settings') this.settings.hide();
    if (page === 'history') this.history.show();
    else this.history.hide();
    if (page === 'settings') void this.settings.show();
    for (const [p, b] of Object.entries(this.pageButtons) as [Page, HTMLButtonElement][]) {
      toggleClass(b, 'active', p === page);
      b.setAttribute('aria-pressed', String(p === page));
    }
    this.refreshViews();
  }

  /** What the window itself takes from the saved settings (the shell applies the rest). */
  private applySettings(s: Settings): void {
    this.model.flaps.setOptions({ holdMs: s.notifications.flapHoldSecs * 1000 });
    const ms = s.chartWindowSecs * 1000;
    if (WINDOWS.some((w) => w.ms === ms) && ms !== this.dashboard.windowMs) this.setWindow(ms);
  }

  private showSettingsProblem(problem: string | null): void {
    toggleClass(this.settingsProblem, 'hidden', !problem);
    if (!problem) return;
    const open = h('button', { class: 'btn small', type: 'button', onclick: () => this.showPage('settings') }, 'Open settings');
    const dismiss = h('button', { class: 'btn small', type: 'button', onclick: () => toggleClass(this.settingsProblem, 'hidden', true) }, 'Dismiss');
    this.settingsProblem.replaceChildren(h('span', {}, problem), ' ', open, ' ', dismiss);
  }

  showOverview(): void {
    this.current = null;
    this.showPage('sources');
  }

  /** Opens a source by its key, or by its plain name (the first hub that has it). */
  openSource(source: string): void {
    const sources = this.model.metrics.sources();
    this.current = sources.includes(source) ? source : (sources.find((k) => nameOf(k) === source) ?? source);
    this.showPage('sources');
  }

  /** Which of the state message, the overview and the source view is on screen. */
  private refreshViews(): void {
    const onSources = this.page === 'sources';
    const noSources = this.states.refresh();
    if (!onSources) toggleClass(this.states.el, 'hidden', true);
    if (this.current !== null && !this.model.metrics.sources().includes(this.current)) this.current = null;
    this.overview.setActive(onSources && !noSources && this.current === null);
    this.dashboard.show(onSources && !noSources ? this.current : null);
    this.sidebar.refresh();
    toggleClass(this.sidebar.el, 'hidden', noSources);
    this.banner.refresh();
  }

  setWindow(ms: number): void {
    this.dashboard.setWindow(ms);
    this.overview.redrawAll();
    this.syncControls();
  }

  togglePause(): void {
    this.dashboard.setPaused(!this.dashboard.paused);
    this.dashboard.tick();
    this.syncControls();
  }

  private syncControls(): void {
    WINDOWS.forEach((w, i) => {
      const b = this.windowButtons[i]!;
      toggleClass(b, 'active', w.ms === this.dashboard.windowMs);
      b.setAttribute('aria-pressed', String(w.ms === this.dashboard.windowMs));
    });
    this.pauseButton.textContent = this.dashboard.paused ? 'Resume' : 'Pause';
    toggleClass(this.pauseButton, 'active', this.dashboard.paused);
  }

  /** Keys of the views themselves; false when the key is not one of them. */
  private viewKey(key: string): boolean {
    switch (key) {
      case '/':
        this.showOverview();
        this.overview.focusFilter();
        return true;
      case 'g':
        this.showOverview();
        return true;
      case ',':
        this.showPage('settings');
        return true;
      case 'y':
        this.showPage(this.page === 'history' ? 'sources' : 'history');
        return true;
      case '[':
        this.sidebar.toggle();
        return true;
      case 'h':
        this.setWindow(60 * 60_000);
        return true;
      case 'Escape':
        if (this.model.alarms.selected || this.current === null) return false;
        this.showOverview();
        return true;
      default:
        return false;
    }
  }

  private onKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    // Space and Enter on a focused button press it; they are not the app's pause key.
    if (t?.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) return;
    if (this.viewKey(e.key)) {
      e.preventDefault();
      return;
    }
    const action = this.keys.handle(e.key, performance.now());
    if (!action) return;
    e.preventDefault();
    switch (action.type) {
      case 'window':
        this.setWindow(action.minutes * 60_000);
        break;
      case 'select':
        this.model.alarms.moveSelection(action.delta);
        this.alarms.refresh();
        this.alarms.scrollToSelected();
        break;
      case 'ack': {
        const id = this.model.alarms.selected;
        if (id) void this.model.ack(id);
        break;
      }
      case 'pause':
        this.togglePause();
        break;
      case 'deselect':
        this.model.alarms.select(null);
        this.alarms.refresh();
        break;
      case 'silence':
        this.alarms.silenceSelected(action.ms);
        break;
      case 'ackComment':
        this.alarms.ackSelectedWithComment();
        break;
    }
  }

  stop(): void {
    if (this.clock) clearInterval(this.clock);
    this.model.stop();
  }
}
