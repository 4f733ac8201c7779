// Lays out the page, wires the model to the views, runs the 1 s clock and the keyboard, and
// stops drawing while the window is hidden.
import type { Backend } from './backend/types';
import { KeyMap } from './data/keys';
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
import { MemorySettingsBackend, TauriSettingsBackend } from './backend/settings';
import { SettingsView } from './ui/settings';

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
  private readonly windowButtons: HTMLButtonElement[];
  private readonly pauseButton: HTMLButtonElement;
  private clock: ReturnType<typeof setInterval> | null = null;
  /** The source shown, or null for the overview. */
  private current: string | null = null;
  private settings: SettingsView;
  private settingsHost: HTMLElement;

  constructor(
    readonly root: HTMLElement,
    backend: Backend,
  ) {
    this.model = new Model(backend);
    this.scheduler = new FrameScheduler<Renderable>((cb) => requestAnimationFrame(cb));
    this.dashboard = new Dashboard(this.model, this.scheduler, () => this.showOverview());
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

    const header = h(
      'header',
      { class: 'top' },
      h('div', { class: 'brand' }, h('i', { class: 'brand-mark' }), h('span', {}, 'Telltale'), backend.kind === 'mock' ? h('span', { class: 'tag', title: 'Not inside the desktop app: generated data' }, 'preview · mock data') : null),
      h('div', { class: 'controls' }, h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time window' }, ...this.windowButtons), this.pauseButton, h('button', { class: 'btn settings-open', type: 'button', title: 'Settings (,)', onclick: () => this.openSettings() }, 'Settings')),
      this.conn.el,
    );
    const views = h('div', { class: 'views' }, this.banner.el, this.states.el, this.overview.el, this.dashboard.el);
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
      ].map(([k, v]) => h('span', {}, h('kbd', {}, k!), ` ${v}`)),
    );
    // TEMP wiring of the settings view (the lead replaces it).
    this.settingsHost = views;
    this.settings = new SettingsView(views, backend.kind === 'mock' ? new MemorySettingsBackend() : new TauriSettingsBackend(), {
      onClose: () => this.closeSettings(),
    });
    root.classList.remove('boot');
    root.replaceChildren(header, h('div', { class: 'layout' }, this.sidebar.el, views, side), footer);
    const refreshViews = () => this.refreshViews();
    this.model.on('structure', refreshViews);
    this.model.on('status', refreshViews);
    this.model.on('connection', refreshViews);
    this.syncControls();
    this.refreshViews();
  }

  async start(): Promise<void> {
    void this.settings.load().catch(() => {});
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

  openSettings(): void {
    for (const c of Array.from(this.settingsHost.children)) if (c !== this.settings.el) (c as HTMLElement).style.display = 'none';
    void this.settings.show();
  }

  private closeSettings(): void {
    for (const c of Array.from(this.settingsHost.children)) (c as HTMLElement).style.display = '';
  }

  showOverview(): void {
    this.current = null;
    this.refreshViews();
  }

  /** Opens a source by its key, or by its plain name (the first hub that has it). */
  openSource(source: string): void {
    const sources = this.model.metrics.sources();
    this.current = sources.includes(source) ? source : (sources.find((k) => nameOf(k) === source) ?? source);
    this.refreshViews();
  }

  /** Which of the state message, the overview and the source view is on screen. */
  private refreshViews(): void {
    const noSources = this.states.refresh();
    if (this.current !== null && !this.model.metrics.sources().includes(this.current)) this.current = null;
    this.overview.setActive(!noSources && this.current === null);
    this.dashboard.show(noSources ? null : this.current);
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
        this.openSettings();
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
