// Lays out the page, wires the model to the views, runs the 1 s clock and the keyboard.
import type { Backend } from './backend/types';
import { KeyMap } from './data/keys';
import { FrameScheduler } from './data/scheduler';
import { Model } from './model';
import { AlarmPanel } from './ui/alarms';
import type { ChartView } from './ui/chart';
import { ConnectionIndicator } from './ui/connection';
import { Dashboard, WINDOWS } from './ui/dashboard';
import { DiagnosticsPanel } from './ui/diagnostics';
import { h, toggleClass } from './ui/dom';

export class App {
  readonly model: Model;
  readonly dashboard: Dashboard;
  readonly alarms: AlarmPanel;
  private readonly conn: ConnectionIndicator;
  private readonly diag: DiagnosticsPanel;
  private readonly keys = new KeyMap();
  private readonly windowButtons: HTMLButtonElement[];
  private readonly pauseButton: HTMLButtonElement;
  private clock: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly root: HTMLElement,
    backend: Backend,
  ) {
    this.model = new Model(backend);
    const scheduler = new FrameScheduler<ChartView>((cb) => requestAnimationFrame(cb));
    this.dashboard = new Dashboard(this.model, scheduler);
    this.alarms = new AlarmPanel(this.model);
    this.conn = new ConnectionIndicator(this.model);
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
      h('div', { class: 'controls' }, h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time window' }, ...this.windowButtons), this.pauseButton),
      this.conn.el,
    );
    const side = h('aside', { class: 'side' }, this.alarms.el, this.diag.el);
    const footer = h(
      'footer',
      { class: 'keys' },
      ...[
        ['↑↓ / j k', 'select alarm'],
        ['a', 'acknowledge'],
        ['1 · 5 · 15', 'window'],
        ['p', 'pause'],
      ].map(([k, v]) => h('span', {}, h('kbd', {}, k!), ` ${v}`)),
    );
    root.classList.remove('boot');
    root.replaceChildren(header, h('div', { class: 'layout' }, this.dashboard.el, side), footer);
    this.syncControls();
  }

  async start(): Promise<void> {
    document.addEventListener('keydown', (e) => this.onKey(e));
    this.clock = setInterval(() => this.second(), 1000);
    await this.model.start();
  }

  private second(): void {
    this.dashboard.tick();
    this.alarms.refresh();
    this.conn.refresh();
    if (this.diag.el.open) this.diag.refresh();
  }

  setWindow(ms: number): void {
    this.dashboard.setWindow(ms);
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

  private onKey(e: KeyboardEvent): void {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
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
    }
  }

  stop(): void {
    if (this.clock) clearInterval(this.clock);
    this.model.stop();
  }
}
