// The alarm panel: filters, active alarms (severity, then newest first) with acknowledge and
// silence, and the recently resolved ones. Rows are keyed by alarm id and patched in place,
// so a click or a half-typed comment is never lost to a re-render, and the per-second
// refresh only rewrites texts that changed.
import './alarms.css';
import type { Severity } from '../backend/types';
import { SEVERITIES, SHOW_ALL, alarmSources, matchesFilter, toggleSeverity } from '../data/alarm-filter';
import { UNKNOWN_TEXT, titleText } from '../data/alarm-text';
import type { AlarmEntry } from '../data/alarms';
import { clockTime, relativeTime } from '../data/format';
import type { Model } from '../model';
import { AlarmRow, setAttr, setClass, type RowHost } from './alarm-row';
import { h, setText, toggleClass } from './dom';
import { nameOf, serverOf } from '../data/servers';

type StateKind = 'filtered' | 'failed' | 'loading' | 'error' | 'clear';

interface RecentRow {
  el: HTMLLIElement;
  title: HTMLElement;
  time: HTMLElement;
  note: HTMLElement;
}

export class AlarmPanel {
  readonly el: HTMLElement;
  private readonly asOf = h('span', { class: 'as-of hidden' });
  private readonly counts = new Map<Severity, HTMLElement>();
  private readonly chips = new Map<Severity, HTMLButtonElement>();
  private readonly sourceInput: HTMLInputElement;
  private readonly sourceList = h('datalist', { id: 'alarm-sources' });
  private readonly list = h('ol', { class: 'alarm-list', role: 'listbox', 'aria-label': 'Active alarms' });
  private readonly state = h('div', { class: 'alarm-state' });
  private readonly recentHead = h('h3', { class: 'sub-head' }, 'Recently resolved');
  /** The fold of the alarms this user snoozed (closed by default: they are out of the way). */
  private readonly snoozedHead = h('button', { class: 'sub-head snoozed-head hidden', type: 'button', onclick: () => this.toggleSnoozed() });
  private readonly snoozedList = h('ul', { class: 'snoozed-list hidden', 'aria-label': 'Snoozed by you' });
  private snoozedOpen = false;
  private snoozedKey = '';
  private readonly recentList = h('ol', { class: 'recent-list' });
  private readonly rows = new Map<string, AlarmRow>();
  private readonly recentRows = new Map<string, RecentRow>();
  private readonly host: RowHost;
  /** The row whose menu or comment field is open. */
  private openRow: AlarmRow | null = null;
  /** Whether the connection was live at the last refresh, and when it last stopped being. */
  private sourcesKey = '';

  constructor(private readonly model: Model) {
    this.host = {
      select: (id) => {
        model.alarms.select(id);
        this.refresh();
      },
      ack: (id, comment) => {
        model.alarms.select(id);
        void model.ack(id, comment);
      },
      silence: (id, until) => void model.silence(id, until),
      snooze: (id, until) => void model.snooze(id, until),
      open: (url) => void model.openUrl(url),
      opened: (row) => {
        if (this.openRow && this.openRow !== row) this.openRow.close();
        this.openRow = row;
      },
      now: () => model.now(),
      label: (key) => model.servers.label(key),
      flaps: (key) => model.flaps.flapCount(key, model.now()),
    };

    for (const s of SEVERITIES) this.counts.set(s, h('span', { class: `count sev-${s} hidden` }));
    // No counts on the chips: the header already shows them, whatever the filter.
    for (const s of SEVERITIES)
      this.chips.set(s, h('button', { class: `chip sev-${s}`, type: 'button', 'data-severity': s, 'aria-pressed': 'true', title: `Show ${s} alarms`, onclick: () => this.toggle(s) }, s));
    this.sourceInput = h('input', { class: 'alarm-source-filter', type: 'search', list: 'alarm-sources', placeholder: 'Source…', 'aria-label': 'Filter alarms by source' });
    this.sourceInput.addEventListener('input', () => {
      model.alarms.setFilter({ ...model.alarms.filter, source: this.sourceInput.value });
      this.refresh();
    });

    this.el = h(
      'section',
      { class: 'panel alarms', 'aria-label': 'Alarms' },
      h('header', { class: 'panel-head' }, h('div', { class: 'panel-title' }, h('h2', {}, 'Alarms'), this.asOf), h('div', { class: 'alarm-counts' }, ...this.counts.values())),
      h('div', { class: 'alarm-filter', role: 'group', 'aria-label': 'Filter alarms' }, ...this.chips.values(), this.sourceInput, this.sourceList),
      h('div', { class: 'alarm-scroll' }, this.state, this.list, this.snoozedHead, this.snoozedList, this.recentHead, this.recentList),
    );
    // A click anywhere else closes an open silence menu or comment field.
    document.addEventListener('pointerdown', (ev) => {
      if (this.openRow && !this.openRow.owns(ev.target as Node)) {
        this.openRow.close();
        this.openRow = null;
      }
    });
    model.on('alarms', () => this.refresh());
    model.on('status', () => this.refresh());
    model.on('connection', () => this.refresh());
    model.on('open', (key) => this.reveal(key));
    this.refresh();
  }

  /** Re-evaluate everything; cheap and write-free when nothing changed (runs every second). */
  refresh(): void {
    const m = this.model;
    const now = m.now();
    this.refreshConnection();
    this.refreshCounts();
    this.refreshSources();
    // Snoozed by this user: out of the list, under their own fold.
    const visible: AlarmEntry[] = [];
    const snoozed: AlarmEntry[] = [];
    for (const e of m.alarms.visibleSorted()) (m.snoozedUntil(e.alarm.id, now) === null ? visible : snoozed).push(e);
    this.refreshState(visible.length + snoozed.length);
    this.refreshActive(visible, now);
    this.refreshSnoozed(snoozed, now);
    this.refreshRecent(now);
  }

  /** The alarms this user snoozed: a fold that says how many, each with when it comes back. */
  private refreshSnoozed(entries: AlarmEntry[], now: number): void {
    toggleClass(this.snoozedHead, 'hidden', entries.length === 0);
    setText(this.snoozedHead, `${this.snoozedOpen ? '▾' : '▸'} Snoozed by you (${entries.length})`);
    toggleClass(this.snoozedList, 'hidden', !this.snoozedOpen || entries.length === 0);
    if (!this.snoozedOpen) return;
    const key = entries.map((e) => `${e.alarm.id}|${this.model.snoozedUntil(e.alarm.id, now)}|${e.alarm.title}`).join('\n');
    if (key === this.snoozedKey) return;
    this.snoozedKey = key;
    this.snoozedList.replaceChildren(
      ...entries.map((e) => {
        const a = e.alarm;
        const until = this.model.snoozedUntil(a.id, now)!;
        return h(
          'li',
          { class: `snoozed sev-${a.severity}`, 'data-key': a.id, 'data-id': nameOf(a.id), 'data-server': serverOf(a.id) },
          h('span', { class: 's-title' }, `${a.title} · ${this.model.servers.label(a.source)}`),
          h('span', { class: 's-until' }, `hidden for you until ${clockTime(until, false)}`),
          h('button', { class: 'btn small unsnooze', type: 'button', title: 'Show it again in the list', onclick: () => void this.model.snooze(a.id, null) }, 'Unsnooze'),
        );
      }),
    );
  }

  /** `s`: silence the selected alarm for `ms`. */
  silenceSelected(ms: number): void {
    const id = this.model.alarms.selected;
    if (id) void this.model.silence(id, this.model.now() + ms);
  }

  /** Shift+A: open the comment field of the selected alarm; Enter acks, Esc cancels. */
  ackSelectedWithComment(): void {
    const id = this.model.alarms.selected;
    const row = id ? this.rows.get(id) : undefined;
    row?.openComment();
  }

  /** Bring the selected row into view (after a keyboard move). */
  scrollToSelected(): void {
    const id = this.model.alarms.selected;
    const row = id ? this.rows.get(id) : undefined;
    row?.el.scrollIntoView({ block: 'nearest' });
  }

  private toggle(s: Severity): void {
    const f = toggleSeverity(this.model.alarms.filter, s);
    this.model.alarms.setFilter(f);
    this.refresh();
  }

  /** Grey the panel while no hub is live, and say how old what it shows is. */
  private refreshConnection(): void {
    const c = this.model.connection;
    const live = this.model.connections().some((s) => s.state === 'live');
    // Before the first connection state there is nothing to distrust yet.
    const stale = c !== null && !live;
    toggleClass(this.el, 'stale', stale);
    toggleClass(this.asOf, 'hidden', !stale);
    if (stale) setText(this.asOf, this.model.lastLiveAt === 0 ? 'not live yet' : `as of ${clockTime(this.model.lastLiveAt, false)}`);
  }

  private refreshCounts(): void {
    const c = this.model.alarms.counts();
    for (const s of SEVERITIES) {
      const count = this.counts.get(s)!;
      setText(count, String(c[s]));
      setAttr(count, 'title', `${c[s]} ${s}`);
      toggleClass(count, 'hidden', c[s] === 0);
      const chip = this.chips.get(s)!;
      const on = this.model.alarms.filter.severities.has(s);
      toggleClass(chip, 'off', !on);
      setAttr(chip, 'aria-pressed', String(on));
    }
    const title = titleText(c);
    if (document.title !== title) document.title = title;
  }

  /** Suggestions for the source filter: the sources that have an active or recent alarm. */
  private refreshSources(): void {
    const a = this.model.alarms;
    const sources = alarmSources([...a.activeSorted(), ...a.recent()].map((e) => e.alarm));
    const key = sources.join('\n');
    if (key === this.sourcesKey) return;
    this.sourcesKey = key;
    this.sourceList.replaceChildren(...sources.map((s) => h('option', { value: s })));
  }

  /** The line shown instead of rows: loading, error, all clear, nothing matches. */
  private refreshState(visible: number): void {
    const m = this.model;
    const active = m.alarms.activeSorted().length;
    let kind: StateKind | null = null;
    if (visible > 0) kind = null;
    else if (active > 0) kind = 'filtered';
    else if (m.connection?.state === 'failed') kind = 'failed';
    else if (m.alarmsStatus === 'loading') kind = 'loading';
    else if (m.alarmsStatus === 'error') kind = 'error';
    else kind = 'clear';
    // Rebuilt only when what it says changes.
    const key = kind === null ? '' : `${kind}|${kind === 'filtered' ? active : kind === 'error' ? m.alarmsError : ''}`;
    if (this.state.dataset.key === key) return;
    this.state.dataset.key = key;
    this.state.replaceChildren(...(kind ? [this.stateView(kind, active)] : []));
  }

  private stateView(kind: StateKind, active: number): HTMLElement {
    const m = this.model;
    switch (kind) {
      case 'filtered':
        return h(
          'div',
          { class: 'alarm-empty' },
          h('p', {}, 'No alarm matches the filter'),
          h('p', { class: 'muted' }, `${active} active ${active === 1 ? 'alarm is' : 'alarms are'} hidden.`),
          h('button', { class: 'btn small', type: 'button', onclick: () => this.showAll() }, 'Show all'),
        );
      case 'failed':
        return h(
          'div',
          { class: 'alarm-empty' },
          h('div', { class: 'state-icon calm' }, '–'),
          h('p', {}, 'Not connected'),
          h('p', { class: 'muted' }, 'Active alarms show here once Telltale reaches the hub.'),
        );
      case 'loading':
        return h('div', { class: 'alarm-empty' }, h('div', { class: 'spinner small' }), h('p', {}, 'Loading alarms…'));
      case 'error':
        return h(
          'div',
          { class: 'alarm-empty error' },
          h('p', {}, 'Could not load the active alarms'),
          h('p', { class: 'muted' }, m.alarmsError),
          h('button', { class: 'btn small', type: 'button', onclick: () => void m.loadAlarms() }, 'Retry'),
        );
      case 'clear':
        return h(
          'div',
          { class: 'alarm-empty ok' },
          h('div', { class: 'ok-mark' }, '✓'),
          h('p', {}, 'All clear'),
          h('p', { class: 'muted' }, 'No active alarms. New ones appear here as they fire.'),
        );
    }
  }

  private toggleSnoozed(): void {
    this.snoozedOpen = !this.snoozedOpen;
    this.snoozedKey = '';
    this.refresh();
  }

  /** Selects and shows the alarm `key` (a notification was clicked), clearing a filter that hides it. */
  reveal(key: string): void {
    const alarms = this.model.alarms;
    if (!alarms.isActive(key)) return;
    alarms.select(key);
    if (alarms.selected !== key) {
      this.showAll();
      alarms.select(key);
    }
    this.refresh();
    this.scrollToSelected();
    this.rows.get(key)?.el.focus({ preventScroll: true });
  }

  private showAll(): void {
    this.sourceInput.value = '';
    this.model.alarms.setFilter(SHOW_ALL);
    this.refresh();
  }

  private refreshActive(visible: AlarmEntry[], now: number): void {
    const selected = this.model.alarms.selected;
    const seen = new Set<string>();
    visible.forEach((e, i) => {
      seen.add(e.alarm.id);
      let row = this.rows.get(e.alarm.id);
      if (!row) {
        row = new AlarmRow(e.alarm.id, this.host);
        this.rows.set(e.alarm.id, row);
      }
      // With several hubs, only the rows of a hub that is down are greyed.
      const stale = this.model.servers.several && !this.model.isLive(e.alarm.server ?? '');
      row.fill(e, now, e.alarm.id === selected, stale);
      if (this.list.children[i] !== row.el) this.list.insertBefore(row.el, this.list.children[i] ?? null);
    });
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.el.remove();
        this.rows.delete(id);
        if (this.openRow === row) this.openRow = null;
      }
    }
  }

  private refreshRecent(now: number): void {
    const f = this.model.alarms.filter;
    const recent = this.model.alarms.recent().filter((e) => matchesFilter(e.alarm, f));
    toggleClass(this.recentHead, 'hidden', recent.length === 0);
    setText(this.recentHead, recent.some((e) => e.unknown) ? 'No longer active' : 'Recently resolved');
    const seen = new Set<string>();
    recent.forEach((e, i) => {
      seen.add(e.alarm.id);
      let r = this.recentRows.get(e.alarm.id);
      if (!r) {
        r = this.makeRecentRow(e.alarm.id);
        this.recentRows.set(e.alarm.id, r);
      }
      this.fillRecentRow(r, e, now);
      if (this.recentList.children[i] !== r.el) this.recentList.insertBefore(r.el, this.recentList.children[i] ?? null);
    });
    for (const [id, r] of this.recentRows) {
      if (!seen.has(id)) {
        r.el.remove();
        this.recentRows.delete(id);
      }
    }
  }

  private makeRecentRow(id: string): RecentRow {
    const title = h('span', { class: 'r-title' });
    const time = h('span', { class: 'r-time' });
    const note = h('span', { class: 'r-note' });
    const el = h('li', { class: 'recent', 'data-key': id, 'data-id': nameOf(id), 'data-server': serverOf(id) }, h('i', { class: 'r-dot' }), title, time, note);
    return { el, title, time, note };
  }

  private fillRecentRow(r: RecentRow, e: AlarmEntry, now: number): void {
    const a = e.alarm;
    setClass(r.el, `recent sev-${a.severity}${e.unknown ? ' unknown' : ''}`);
    setAttr(r.el, 'data-state', a.state);
    if (e.unknown) setAttr(r.el, 'data-unknown', 'true');
    else if (r.el.hasAttribute('data-unknown')) r.el.removeAttribute('data-unknown');
    setText(r.title, `${a.title} · ${this.model.servers.label(a.source)}`);
    // An unknown alarm has no resolve time: say what we last saw instead.
    setText(r.time, e.unknown ? `was ${a.state} since ${clockTime(e.since, false)}` : `resolved ${relativeTime(a.ts, now)}`);
    setText(r.note, e.unknown ? UNKNOWN_TEXT : '');
    setAttr(r.el, 'title', a.message ?? '');
  }
}
