// The settings view: servers and their tokens, charts and theme, notifications, tray and start.
// A full panel like the other views. Every control is reachable with Tab; Enter saves, Esc
// cancels. Checks are mirrored from the shell (data/settings.ts); the shell's own messages are
// shown next to their field when it refuses.
import type { Severity } from '../backend/types';
import {
  SettingsRejected,
  type FieldProblem,
  type Settings,
  type SettingsBackend,
  type SettingsView as SettingsData,
  type Theme,
  type TokenStore,
} from '../backend/settings';
import {
  addChip,
  CHART_WINDOWS,
  dndText,
  dndUntil,
  newServerId,
  parseCount,
  serverEntry,
  serverForm,
  validate,
  type DndChoice,
  type ServerForm,
  type TokenKind,
} from '../data/settings';
import { h, setText, type Child } from './dom';
import { applyTheme } from './theme';
import './settings.css';

export interface SettingsViewOptions {
  /** After Save (with the saved settings) or Cancel (null): the app shows its previous view. */
  onClose?: (saved: Settings | null) => void;
}

const TOKEN_KINDS: { kind: TokenKind; label: string }[] = [
  { kind: 'none', label: 'No token' },
  { kind: 'fixed', label: 'Fixed token' },
  { kind: 'file', label: 'Token file' },
  { kind: 'command', label: 'Token command' },
];

const SEVERITIES: { value: Severity; label: string }[] = [
  { value: 'info', label: 'Info and above' },
  { value: 'warning', label: 'Warning and above' },
  { value: 'critical', label: 'Critical only' },
];

const THEMES: { value: Theme; label: string }[] = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

let nextFieldId = 0;

export class SettingsView {
  readonly el: HTMLElement;
  /** Why the settings file was not used at start (it was moved aside); for a banner in the main window too. */
  problem: string | null = null;
  private saved: SettingsData | null = null;
  private draft: Settings | null = null;
  private servers: ServerForm[] = [];
  private readonly body: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly general: HTMLElement;
  private readonly saveButton: HTMLButtonElement;
  private readonly errors = new Map<string, HTMLElement>();
  private dndState: HTMLElement | null = null;
  private clock: ReturnType<typeof setInterval> | null = null;

  constructor(
    container: HTMLElement,
    private readonly backend: SettingsBackend,
    private readonly options: SettingsViewOptions = {},
  ) {
    this.banner = h('div', { class: 'banner bad settings-problem', role: 'alert' });
    this.body = h('div', { class: 'settings-body' });
    this.general = h('p', { class: 'field-error settings-general', role: 'alert' });
    this.saveButton = h('button', { class: 'btn primary', type: 'submit' }, 'Save') as HTMLButtonElement;
    const cancel = h('button', { class: 'btn', type: 'button', onclick: () => this.cancel() }, 'Cancel');
    const form = h(
      'form',
      { class: 'settings-form', novalidate: true, 'aria-label': 'Settings' },
      h('h2', {}, 'Settings'),
      this.banner,
      this.body,
      h('div', { class: 'settings-actions' }, this.general, cancel, this.saveButton),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.save();
    });
    form.addEventListener('keydown', (e) => this.onKey(e));
    this.el = h('section', { class: 'view settings-view hidden' }, form);
    container.append(this.el);
    backend.onSettingsChanged((s) => {
      // Saved elsewhere (another window): follow when nothing is being edited here.
      if (this.el.classList.contains('hidden') && this.saved) this.saved = { ...this.saved, settings: s };
      applyTheme(s.theme);
    });
  }

  /** Loads the settings (and the start-up problem, into `problem`) and applies the theme. */
  async load(): Promise<SettingsData> {
    const data = await this.backend.settingsGet();
    this.saved = data;
    this.problem = data.problem;
    applyTheme(data.settings.theme);
    return data;
  }

  async show(): Promise<void> {
    const data = await this.load();
    this.edit(data);
    this.el.classList.remove('hidden');
    this.clock ??= setInterval(() => this.refreshDnd(), 15_000);
    this.el.querySelector<HTMLElement>('input, select, button')?.focus();
  }

  hide(): void {
    this.el.classList.add('hidden');
    if (this.clock) clearInterval(this.clock);
    this.clock = null;
    // An unsaved theme choice was only a preview.
    if (this.saved) applyTheme(this.saved.settings.theme);
  }

  isShown(): boolean {
    return !this.el.classList.contains('hidden');
  }

  private edit(data: SettingsData): void {
    this.draft = structuredClone(data.settings);
    this.servers = data.settings.servers.map(serverForm);
    this.render();
  }

  private cancel(): void {
    this.hide();
    this.options.onClose?.(null);
  }

  private onKey(e: KeyboardEvent): void {
    // The app's single-key shortcuts must not fire while editing settings.
    e.stopPropagation();
    if (e.key === 'Escape') {
      e.preventDefault();
      this.cancel();
    } else if (e.key === 'Enter' && !e.isComposing) {
      const t = e.target as HTMLElement;
      if (t.tagName === 'BUTTON' || t.tagName === 'TEXTAREA') return;
      e.preventDefault();
      void this.save();
    }
  }

  /** The settings the form describes. */
  private collect(): Settings {
    return { ...this.draft!, servers: this.servers.map(serverEntry) };
  }

  async save(): Promise<void> {
    if (!this.draft) return;
    const next = this.collect();
    const held = new Set(this.saved?.settings.servers.filter((s) => s.token.kind === 'fixed').map((s) => s.id));
    const problems = validate(next, (id) => held.has(id));
    if (problems.length) {
      this.showProblems(problems, '');
      return;
    }
    this.saveButton.disabled = true;
    try {
      const data = await this.backend.settingsSet(next);
      this.saved = data;
      this.problem = data.problem;
      this.showProblems([], '');
      applyTheme(data.settings.theme);
      this.hide();
      this.options.onClose?.(data.settings);
    } catch (e) {
      const r = e instanceof SettingsRejected ? e : new SettingsRejected(e instanceof Error ? e.message : String(e), []);
      this.showProblems(r.problems, r.problems.length ? '' : r.message);
    } finally {
      this.saveButton.disabled = false;
    }
  }

  private showProblems(problems: FieldProblem[], general: string): void {
    for (const el of this.errors.values()) setText(el, '');
    const unplaced: string[] = [];
    for (const p of problems) {
      const el = this.errors.get(p.field);
      if (el) setText(el, el.textContent ? `${el.textContent} ${p.message}` : p.message);
      else unplaced.push(p.message);
    }
    setText(this.general, [general, ...unplaced].filter(Boolean).join(' '));
    const first = problems.map((p) => this.errors.get(p.field)).find(Boolean);
    const control = first?.closest('.field')?.querySelector<HTMLElement>('input, select');
    control?.focus();
  }

  // ---- rendering ----

  private render(): void {
    this.errors.clear();
    const d = this.draft!;
    setText(this.banner, this.problem ?? '');
    this.banner.classList.toggle('show', !!this.problem);
    this.body.replaceChildren(
      this.serversSection(d),
      this.chartsSection(d),
      this.notificationsSection(d),
      this.startSection(d),
      h('p', { class: 'muted settings-path' }, `Saved in ${this.saved?.configPath ?? ''}`),
    );
  }

  private error(field: string): HTMLElement {
    const el = h('span', { class: 'field-error', role: 'alert' });
    this.errors.set(field, el);
    return el;
  }

  /** A labelled control with its error line. */
  private field(label: string, control: HTMLElement, errorKey?: string, hint?: Child): HTMLElement {
    const id = `set-${nextFieldId++}`;
    control.id = id;
    return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('span', { class: 'hint' }, hint) : null, errorKey ? this.error(errorKey) : null);
  }

  private check(label: string, value: boolean, set: (v: boolean) => void, hint?: string): HTMLElement {
    const box = h('input', { type: 'checkbox', checked: value }) as HTMLInputElement;
    box.addEventListener('change', () => set(box.checked));
    return h('label', { class: 'check' }, box, h('span', {}, label), hint ? h('span', { class: 'hint' }, ` ${hint}`) : null);
  }

  private text(value: string, set: (v: string) => void, attrs: Record<string, string> = {}): HTMLInputElement {
    const input = h('input', { type: 'text', value, spellcheck: 'false', autocomplete: 'off', ...attrs }) as HTMLInputElement;
    input.addEventListener('input', () => set(input.value));
    return input;
  }

  private select<T extends string>(options: { value: T; label: string }[], value: T, set: (v: T) => void): HTMLSelectElement {
    const sel = h('select', {}, ...options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.label))) as HTMLSelectElement;
    sel.addEventListener('change', () => set(sel.value as T));
    return sel;
  }

  private serversSection(d: Settings): HTMLElement {
    const store: TokenStore = this.saved?.tokenStore ?? 'file';
    const list = h('div', { class: 'server-list' });
    const renderRows = () => list.replaceChildren(...this.servers.map((s, i) => this.serverRow(s, i, store, renderRows)));
    renderRows();
    const add = h(
      'button',
      {
        class: 'btn',
        type: 'button',
        onclick: () => {
          const id = newServerId(this.servers.map((s) => s.id));
          this.servers.push(serverForm({ id, name: '', url: 'ws://', token: { kind: 'none' }, enabled: true }));
          renderRows();
          list.lastElementChild?.querySelector<HTMLInputElement>('input')?.focus();
        },
      },
      'Add server',
    );
    return h(
      'fieldset',
      { class: 'settings-section' },
      h('legend', {}, 'Servers'),
      h('div', { class: 'server-row embedded' }, this.check('This computer', d.embedded, (v) => (d.embedded = v), '(the hub built into the app, with this machine’s metrics)')),
      list,
      h('div', { class: 'row-actions' }, add, h('span', { class: 'hint' }, store === 'keyring' ? 'Fixed tokens are kept in the system keyring.' : 'No keyring answers: fixed tokens are kept in the settings file (mode 0600).')),
    );
  }

  private serverRow(s: ServerForm, i: number, store: TokenStore, rerender: () => void): HTMLElement {
    const key = (f: string) => `servers.${i}.${f}`;
    if (s.temporary) {
      return h(
        'div',
        { class: 'server-row temporary', 'data-id': s.id },
        h('div', { class: 'server-title' }, h('b', {}, s.name), h('span', { class: 'tag' }, 'from --server, this run only')),
        h('div', { class: 'muted' }, s.url),
        this.error(key('id')),
      );
    }
    const detail = this.tokenDetail(s, store);
    const kind = this.select(
      TOKEN_KINDS.map((k) => ({ value: k.kind, label: k.label })),
      s.tokenKind,
      (v) => {
        s.tokenKind = v;
        const fresh = this.tokenDetail(s, store);
        detailSlot.replaceChildren(fresh);
      },
    );
    const detailSlot = h('div', { class: 'token-detail' }, detail);
    const remove = h(
      'button',
      {
        class: 'btn small',
        type: 'button',
        'aria-label': `Remove server ${s.name || s.url}`,
        onclick: () => {
          this.servers.splice(i, 1);
          rerender();
        },
      },
      'Remove',
    );
    return h(
      'div',
      { class: 'server-row', 'data-id': s.id },
      h(
        'div',
        { class: 'server-grid' },
        this.field('Name', this.text(s.name, (v) => (s.name = v), { placeholder: 'e.g. Production' }), key('name')),
        this.field('URL', this.text(s.url, (v) => (s.url = v), { placeholder: 'wss://hub.example/connection/websocket' }), key('url')),
        this.field('Token', kind, key('token')),
        detailSlot,
        this.field('CA file (wss://, optional)', this.text(s.caFile, (v) => (s.caFile = v), { placeholder: '/etc/telltale/hub-ca.pem' }), key('caFile')),
      ),
      h('div', { class: 'row-actions' }, this.check('Enabled', s.enabled, (v) => (s.enabled = v)), remove, this.error(key('id'))),
    );
  }

  private tokenDetail(s: ServerForm, store: TokenStore): HTMLElement {
    switch (s.tokenKind) {
      case 'none':
        return h('span', { class: 'hint' }, 'Anonymous: the hub must allow it.');
      case 'fixed': {
        const where = s.stored ?? store;
        const note = s.stored ? `A token is ${where === 'keyring' ? 'stored in the keyring' : 'stored in the settings file (0600)'}; leave empty to keep it.` : where === 'keyring' ? 'Will be stored in the keyring.' : 'Will be stored in the settings file (0600).';
        return this.field('Token (JWT)', this.text(s.tokenValue, (v) => (s.tokenValue = v), { type: 'password', placeholder: s.stored ? '(unchanged)' : 'paste the token' }), undefined, note);
      }
      case 'file':
        return this.field('Token file', this.text(s.tokenPath, (v) => (s.tokenPath = v), { placeholder: '/run/user/1000/telltale/token' }), undefined, 'Read again at every connect.');
      case 'command':
        return this.field('Token command', this.text(s.tokenCommand, (v) => (s.tokenCommand = v), { placeholder: 'pass show telltale/hub' }), undefined, 'Run with sh -c; run again when the hub says the token expired.');
    }
  }

  private chartsSection(d: Settings): HTMLElement {
    const windows = this.select(
      CHART_WINDOWS.map((w) => ({ value: String(w.secs), label: w.label })),
      String(d.chartWindowSecs),
      (v) => (d.chartWindowSecs = Number(v)),
    );
    const theme = this.select(THEMES, d.theme, (v) => {
      d.theme = v;
      applyTheme(v);
    });
    return h('fieldset', { class: 'settings-section' }, h('legend', {}, 'Charts and look'), this.field('Chart window', windows, 'chartWindowSecs'), this.field('Theme', theme));
  }

  private notificationsSection(d: Settings): HTMLElement {
    const n = d.notifications;
    this.dndState = h('b', { class: 'dnd-state' });
    const dnd = (choice: DndChoice, label: string) =>
      h(
        'button',
        {
          class: 'btn small',
          type: 'button',
          onclick: () => {
            n.dndUntil = dndUntil(choice, new Date());
            this.refreshDnd();
          },
        },
        label,
      );
    this.refreshDnd();
    const flap = this.text(String(n.flapHoldSecs), (v) => (n.flapHoldSecs = parseCount(v) ?? 0), { inputmode: 'numeric', class: 'short' });
    const repeat = this.text(n.repeatMins === null ? '' : String(n.repeatMins), (v) => (n.repeatMins = parseCount(v)), { inputmode: 'numeric', class: 'short', placeholder: 'off' });
    const sound = (sev: 'critical' | 'warning' | 'info', label: string) =>
      this.field(label, this.text(n.sounds[sev], (v) => (n.sounds[sev] = v.trim()), { placeholder: 'none (e.g. dialog-warning)' }));
    const serverName = (id: string) => this.servers.find((s) => s.id === id)?.name || id;
    const sourceName = (item: string) => {
      const at = item.indexOf('/');
      return at < 0 ? item : `${serverName(item.slice(0, at))} / ${item.slice(at + 1)}`;
    };
    return h(
      'fieldset',
      { class: 'settings-section' },
      h('legend', {}, 'Notifications'),
      this.field('Notify for', this.select(SEVERITIES, n.minSeverity, (v) => (n.minSeverity = v))),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Do not disturb'), h('div', { class: 'inline' }, this.dndState, dnd('hour', 'For 1 hour'), dnd('morning', 'Until tomorrow 08:00'), dnd('off', 'Off'))),
      this.check('Critical alarms notify even during do not disturb', n.criticalBreaksDnd, (v) => (n.criticalBreaksDnd = v)),
      this.field('Flap hold (seconds)', flap, 'notifications.flapHoldSecs', 'An alarm that fires again this soon after resolving does not notify twice.'),
      this.field('Repeat every (minutes)', repeat, 'notifications.repeatMins', 'Until acknowledged; empty: notify once.'),
      h('div', { class: 'sounds' }, sound('critical', 'Sound: critical'), sound('warning', 'Sound: warning'), sound('info', 'Sound: info')),
      this.chips('Muted servers', n.mutedServers, (list) => (n.mutedServers = list), serverName, () => this.servers.map((s) => ({ value: s.id, label: s.name || s.url }))),
      this.chips('Muted sources', n.mutedSources, (list) => (n.mutedSources = list), sourceName, null),
    );
  }

  private refreshDnd(): void {
    if (this.dndState && this.draft) setText(this.dndState, dndText(this.draft.notifications.dndUntil, new Date()));
  }

  /** A removable chip per item; `choices` (servers) gives a list to add from, null a text field (`<server id>/<source>`). */
  private chips(label: string, list: string[], set: (list: string[]) => void, name: (item: string) => string, choices: (() => { value: string; label: string }[]) | null): HTMLElement {
    const box = h('div', { class: 'chips' });
    const input: HTMLInputElement | HTMLSelectElement = choices
      ? (h('select', { 'aria-label': `Add to ${label.toLowerCase()}` }) as HTMLSelectElement)
      : this.text('', () => {}, { placeholder: 'server id/source', 'aria-label': `Add to ${label.toLowerCase()}` });
    const fillChoices = () => {
      if (!choices || !(input instanceof HTMLSelectElement)) return;
      const left = choices().filter((c) => !list.includes(c.value));
      input.replaceChildren(...left.map((c) => h('option', { value: c.value }, c.label)));
      input.disabled = left.length === 0;
    };
    const draw = () =>
      box.replaceChildren(
        ...list.map((item) =>
          h(
            'span',
            { class: 'chip' },
            name(item),
            h(
              'button',
              {
                type: 'button',
                class: 'chip-x',
                'aria-label': `Unmute ${name(item)}`,
                onclick: () => {
                  list = list.filter((x) => x !== item);
                  set(list);
                  redraw();
                  input.focus();
                },
              },
              '×',
            ),
          ),
        ),
        ...(list.length ? [] : [h('span', { class: 'hint' }, 'none')]),
      );
    const redraw = () => {
      draw();
      fillChoices();
    };
    const add = () => {
      list = addChip(list, input.value);
      set(list);
      if (input instanceof HTMLInputElement) input.value = '';
      redraw();
    };
    input.addEventListener('keydown', (e: Event) => {
      if ((e as KeyboardEvent).key === 'Enter') {
        // Enter here adds the item instead of saving.
        e.preventDefault();
        e.stopPropagation();
        add();
      }
    });
    redraw();
    return h('div', { class: 'field' }, h('span', { class: 'label' }, label), box, h('div', { class: 'inline' }, input, h('button', { class: 'btn small', type: 'button', onclick: add }, 'Add')));
  }

  private startSection(d: Settings): HTMLElement {
    return h(
      'fieldset',
      { class: 'settings-section' },
      h('legend', {}, 'Window and start'),
      this.check('Closing the window keeps Telltale in the tray', d.closeToTray, (v) => (d.closeToTray = v)),
      this.check('Start when I log in', d.autostart, (v) => (d.autostart = v)),
      this.check('Start hidden in the tray', d.startHidden, (v) => (d.startHidden = v)),
    );
  }
}
