// The connection pill in the header; re-evaluated every second for the countdown.
import { connectionView } from '../data/connection';
import type { Model } from '../model';
import { h, setText } from './dom';

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
    this.el.className = `conn tone-${v.tone}`;
    this.el.dataset.state = m.connection?.state ?? 'none';
    setText(this.text, v.text);
    setText(this.detail, v.detail);
    this.el.title = `${v.text}\n${v.detail}`;
  }
}
