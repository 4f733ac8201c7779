// Small collapsible diagnostics: invalid payloads per channel, the last error, drops.
import type { Model } from '../model';
import { h, setText } from './dom';

export class DiagnosticsPanel {
  readonly el: HTMLDetailsElement;
  private readonly summary: HTMLElement;
  private readonly body: HTMLElement;
  private lastKey = '';
  private readonly batches = h('p', { class: 'muted' });

  constructor(private readonly model: Model) {
    this.summary = h('summary', {}, 'Diagnostics');
    this.body = h('div', { class: 'diag-body' });
    this.el = h('details', { class: 'panel diag' }, this.summary, this.body) as HTMLDetailsElement;
    model.on('diagnostics', () => this.refresh());
    this.refresh();
  }

  refresh(): void {
    const d = this.model.diagnostics();
    const entries = Object.entries(d.invalid).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const total = entries.reduce((s, [, n]) => s + n, 0);
    setText(this.summary, total > 0 ? `Diagnostics · ${total} invalid` : 'Diagnostics · all payloads valid');
    this.summary.className = total > 0 ? 'warn' : '';
    setText(this.batches, `Stream batches received: ${this.model.batches.toLocaleString('en')}`);
    const key = JSON.stringify(d);
    if (key === this.lastKey) return;
    this.lastKey = key;
    const rows = entries.length
      ? h(
          'table',
          { class: 'diag-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Channel'), h('th', {}, 'Invalid payloads'))),
          h('tbody', {}, ...entries.map(([ch, n]) => h('tr', {}, h('td', {}, ch), h('td', { class: 'num' }, String(n))))),
        )
      : h('p', { class: 'muted' }, 'No invalid payloads received.');
    const parts: Node[] = [rows, h('p', { class: 'diag-err' }, h('b', {}, 'Last error: '), d.lastError ?? 'none')];
    if (d.lagged) parts.push(h('p', { class: 'muted' }, `Dropped by the stream bridge (UI behind): ${d.lagged}`));
    parts.push(this.batches);
    this.body.replaceChildren(...parts);
  }
}
