// The connection pill in the header; re-evaluated every second for the countdown.
import { connectionView } from '../data/connection';
import type { Model } from '../model';
import { clockTime } from '../data/format';
import { h, setText, toggleClass } from './dom';

export class ConnectionIndicator {
  readonly el: HTMLElement;
  private readonly text: HTMLElement;
  private readonly detail: HTMLElement;

  constructor(private readonly model: Model) {
    this.text = h('span', { class: 'conn-text' });
    this.detail = h('span', { class: 'conn-detail' });
    this.el = h('div', { class: 'conn', role: 'status', 'aria-live': 'polite' }, h('i', { class: 'conn-dot' }), h('span', { class: 'conn-lines' }, this.text, this.detail));
    model.on('connection', () => this.refresh());
    this.refresh();
  }

  refresh(): void {
    const m = this.model;
    const v = connectionView(m.connection, m.connectionAt, m.now());
    // Written only when they change: this runs every second.
    const cls = `conn tone-${v.tone}`;
    if (this.el.className !== cls) this.el.className = cls;
    const state = m.connection?.state ?? 'none';
    if (this.el.dataset.state !== state) this.el.dataset.state = state;
    setText(this.text, v.text);
    setText(this.detail, v.detail);
    const title = `${v.text}\n${v.detail}`;
    if (this.el.title !== title) this.el.title = title;
  }
}

/**
 * The strip above every view while the hub is not reachable. It sits outside the scrolling
 * area, so it stays in sight however far down the page is.
 */
export class ConnectionBanner {
  readonly el: HTMLElement;

  constructor(private readonly model: Model) {
    this.el = h('div', { class: 'conn-banner hidden', role: 'alert' });
    model.on('connection', () => this.refresh());
  }

  refresh(): void {
    const m = this.model;
    const c = m.connection;
    const down = c !== null && m.metrics.sources().length > 0 && (c.state === 'reconnecting' || c.state === 'failed');
    toggleClass(this.el, 'hidden', !down);
    if (!down) return;
    const v = connectionView(c, m.connectionAt, m.now());
    // With several hubs only the one that is down is named; the others keep running.
    const who = m.servers.several ? `${c.server}: ` : '';
    const downCount = m.connections().filter((s) => s.state === 'reconnecting' || s.state === 'failed').length;
    const others = downCount > 1 ? ` (${downCount - 1} more hub${downCount > 2 ? 's' : ''} down)` : '';
    const since = m.lastLiveAt ? ` Data and alarms${who ? ` from ${c.server}` : ''} are as of ${clockTime(m.lastLiveAt, false)}.` : '';
    const text =
      c.state === 'reconnecting'
        ? `${who}${v.text}${others} — ${c.reason ?? 'connection lost'}.${since} Charts continue from the recovered data once it is back.`
        : `${who}${v.text}${others} — ${c.reason ?? ''}.${since} Showing data received before the failure.`;
    setText(this.el, text);
    const cls = `conn-banner ${v.tone}`;
    if (this.el.className !== cls) this.el.className = cls;
  }
}
