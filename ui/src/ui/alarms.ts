// The alarm panel: active alarms (severity, then newest first) with acknowledge, and the
// recently resolved ones. Rows are keyed by alarm id and updated in place, so a click is
// never lost to a re-render and relative times can refresh every second.
import type { AlarmEntry } from '../data/alarms';
import { relativeTime } from '../data/format';
import type { Model } from '../model';
import { h, setText, toggleClass } from './dom';

interface Row {
  el: HTMLElement;
  title: HTMLElement;
  meta: HTMLElement;
  time: HTMLElement;
  message: HTMLElement;
  badge: HTMLElement;
  button: HTMLButtonElement;
  error: HTMLElement;
}

interface RecentRow {
  el: HTMLElement;
  title: HTMLElement;
  time: HTMLElement;
}

export class AlarmPanel {
  readonly el: HTMLElement;
  private readonly counts: HTMLElement;
  private readonly list: HTMLElement;
  private readonly state: HTMLElement;
  private readonly recentList: HTMLElement;
  private readonly recentHead: HTMLElement;
  private readonly rows = new Map<string, Row>();
  private readonly recentRows = new Map<string, RecentRow>();

  constructor(private readonly model: Model) {
    this.counts = h('div', { class: 'alarm-counts' });
    this.list = h('ol', { class: 'alarm-list', role: 'listbox', 'aria-label': 'Active alarms' });
    this.state = h('div', { class: 'alarm-state' });
    this.recentHead = h('h3', { class: 'sub-head' }, 'Recently resolved');
    this.recentList = h('ol', { class: 'recent-list' });
    this.el = h(
      'section',
      { class: 'panel alarms', 'aria-label': 'Alarms' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Alarms'), this.counts),
      h('div', { class: 'alarm-scroll' }, this.state, this.list, this.recentHead, this.recentList),
    );
    model.on('alarms', () => this.refresh());
    model.on('status', () => this.refresh());
    model.on('connection', () => this.refresh());
    this.refresh();
  }

  /** Re-evaluate everything (cheap: a handful of rows). Called on changes and every second. */
  refresh(): void {
    const m = this.model;
    const now = m.now();
    const active = m.alarms.activeSorted();
    const selected = m.alarms.selected;

    // Counts per severity.
    const c = m.alarms.counts();
    this.counts.replaceChildren(
      ...(['critical', 'warning', 'info'] as const)
        .filter((s) => c[s] > 0)
        .map((s) => h('span', { class: `count sev-${s}`, title: `${c[s]} ${s}` }, String(c[s]))),
    );

    // State line when the list is empty.
    let stateText: HTMLElement | null = null;
    if (active.length === 0) {
      if (m.connection?.state === 'failed')
        stateText = h(
          'div',
          { class: 'alarm-empty' },
          h('div', { class: 'state-icon calm' }, '–'),
          h('p', {}, 'Not connected'),
          h('p', { class: 'muted' }, 'Active alarms show here once Telltale reaches the hub.'),
        );
      else if (m.alarmsStatus === 'loading')
        stateText = h('div', { class: 'alarm-empty' }, h('div', { class: 'spinner small' }), h('p', {}, 'Loading alarms…'));
      else if (m.alarmsStatus === 'error')
        stateText = h(
          'div',
          { class: 'alarm-empty error' },
          h('p', {}, 'Could not load the active alarms'),
          h('p', { class: 'muted' }, m.alarmsError),
          h('button', { class: 'btn small', type: 'button', onclick: () => void m.loadAlarms() }, 'Retry'),
        );
      else
        stateText = h(
          'div',
          { class: 'alarm-empty ok' },
          h('div', { class: 'ok-mark' }, '✓'),
          h('p', {}, 'All clear'),
          h('p', { class: 'muted' }, 'No active alarms. New ones appear here as they fire.'),
        );
    }
    const stateKey = stateText ? `${m.alarmsStatus}|${m.alarmsError}|${m.connection?.state === 'failed'}` : '';
    if (this.state.dataset.key !== stateKey) {
      this.state.dataset.key = stateKey;
      this.state.replaceChildren(...(stateText ? [stateText] : []));
    }

    // Active rows, keyed by id.
    const seen = new Set<string>();
    active.forEach((e, i) => {
      seen.add(e.alarm.id);
      let row = this.rows.get(e.alarm.id);
      if (!row) {
        row = this.makeRow(e.alarm.id);
        this.rows.set(e.alarm.id, row);
      }
      this.fillRow(row, e, now, e.alarm.id === selected);
      if (this.list.children[i] !== row.el) this.list.insertBefore(row.el, this.list.children[i] ?? null);
    });
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.el.remove();
        this.rows.delete(id);
      }
    }

    // Recent (resolved) rows.
    const recent = m.alarms.recent();
    toggleClass(this.recentHead, 'hidden', recent.length === 0);
    const seenRecent = new Set<string>();
    recent.forEach((e, i) => {
      seenRecent.add(e.alarm.id);
      let r = this.recentRows.get(e.alarm.id);
      if (!r) {
        const title = h('span', { class: 'r-title' });
        const time = h('span', { class: 'r-time' });
        r = { el: h('li', { class: 'recent' }, h('i', { class: 'r-dot' }), title, time), title, time };
        this.recentRows.set(e.alarm.id, r);
      }
      r.el.className = `recent sev-${e.alarm.severity}`;
      setText(r.title, `${e.alarm.title} · ${e.alarm.source}`);
      setText(r.time, `resolved ${relativeTime(e.alarm.ts, now)}`);
      r.el.title = e.alarm.message ?? '';
      if (this.recentList.children[i] !== r.el) this.recentList.insertBefore(r.el, this.recentList.children[i] ?? null);
    });
    for (const [id, r] of this.recentRows) {
      if (!seenRecent.has(id)) {
        r.el.remove();
        this.recentRows.delete(id);
      }
    }
  }

  private makeRow(id: string): Row {
    const title = h('span', { class: 'a-title' });
    const badge = h('span', { class: 'a-badge' });
    const meta = h('span', { class: 'a-meta' });
    const time = h('span', { class: 'a-time' });
    const message = h('p', { class: 'a-msg' });
    const error = h('p', { class: 'a-err' });
    const button = h('button', { class: 'btn ack', type: 'button', title: 'Acknowledge (a)' }, 'Ack') as HTMLButtonElement;
    button.addEventListener('click', (ev) => {
      ev.stopPropagation();
      this.model.alarms.select(id);
      void this.model.ack(id);
    });
    const el = h(
      'li',
      { class: 'alarm', role: 'option', 'data-id': id, tabindex: -1 },
      h('div', { class: 'a-top' }, title, badge),
      h('div', { class: 'a-line' }, meta, time),
      message,
      h('div', { class: 'a-actions' }, error, button),
    );
    el.addEventListener('click', () => {
      this.model.alarms.select(id);
      this.refresh();
    });
    return { el, title, meta, time, message, badge, button, error };
  }

  private fillRow(row: Row, e: AlarmEntry, now: number, selected: boolean): void {
    const a = e.alarm;
    const acked = a.state === 'acknowledged';
    row.el.className = `alarm sev-${a.severity} st-${a.state}${selected ? ' selected' : ''}${e.pending ? ' pending' : ''}`;
    row.el.setAttribute('aria-selected', String(selected));
    row.el.dataset.state = a.state;
    setText(row.title, a.title || a.id);
    setText(row.badge, acked ? (a.by ? `ACK · ${a.by}` : 'ACKNOWLEDGED') : a.severity.toUpperCase());
    const value = a.value !== undefined && Number.isFinite(a.value) ? ` · value ${+a.value.toFixed(2)}` : '';
    setText(row.meta, `${a.source}${value}`);
    setText(row.time, acked ? `acked ${relativeTime(a.ts, now)}` : relativeTime(e.since, now));
    row.time.title = new Date(acked ? a.ts : e.since).toLocaleString();
    setText(row.message, a.message ?? '');
    toggleClass(row.message, 'hidden', !a.message);
    setText(row.error, e.error ? `Ack failed: ${e.error}` : '');
    const label = e.pending ? 'Acking…' : acked ? 'Acked' : 'Ack';
    setText(row.button, label);
    row.button.disabled = acked || !!e.pending;
    toggleClass(row.button, 'hidden', acked);
  }

  /** Bring the selected row into view (after a keyboard move). */
  scrollToSelected(): void {
    const id = this.model.alarms.selected;
    const row = id ? this.rows.get(id) : undefined;
    row?.el.scrollIntoView({ block: 'nearest' });
  }
}
