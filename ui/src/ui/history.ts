// The alarm history view: a filter bar, a table of stored transitions (newest first, up to
// 1000), "showing N of M" and the CSV export. The table is rebuilt in one go per query
// (one DOM swap, no per-row listeners), so 1000 rows stay cheap; Enter in any filter field
// applies (they are one form), the checkboxes and the range apply at once.
import './history.css';
import type { HistoryBackend, HistoryFilter, HistoryPage, HistoryRow } from '../backend/history';
import type { Severity } from '../backend/types';
import {
  DEFAULT_FORM,
  HISTORY_SEVERITIES,
  RANGE_PRESETS,
  buildFilter,
  formatRowTime,
  serversOf,
  showingText,
  toLocalInput,
  type HistoryForm,
  type RangePreset,
} from '../data/history';
import { h, setText, toggleClass } from './dom';

const COLUMNS = ['Time', 'Server', 'Source', 'Severity', 'State', 'Title', 'By', 'Comment'] as const;

export class HistoryView {
  readonly el: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly severityBoxes = new Map<Severity, HTMLInputElement>();
  private readonly sourceInput: HTMLInputElement;
  private readonly serverSelect: HTMLSelectElement;
  private readonly textInput: HTMLInputElement;
  private readonly rangeSelect: HTMLSelectElement;
  private readonly customBox: HTMLElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private readonly exportButton: HTMLButtonElement;
  private readonly count = h('span', { class: 'history-count', 'aria-live': 'polite' });
  private readonly note = h('p', { class: 'history-note', 'aria-live': 'polite' });
  private readonly body = h('tbody');
  private readonly table: HTMLTableElement;
  /** Servers the app named (setServers), else those seen in results. */
  private servers = new Map<string, string>();
  private serversGiven = false;
  /** Only the newest query's answer is shown. */
  private generation = 0;
  private filter: HistoryFilter | null = null;

  constructor(
    container: HTMLElement,
    private readonly backend: HistoryBackend,
    private readonly now: () => number = Date.now,
  ) {
    for (const s of HISTORY_SEVERITIES) {
      this.severityBoxes.set(s, h('input', { type: 'checkbox', name: 'severity', value: s, checked: DEFAULT_FORM.severities.has(s), onchange: () => this.apply() }));
    }
    this.sourceInput = h('input', { class: 'history-input', type: 'search', name: 'source', placeholder: 'Source…', 'aria-label': 'Source contains' });
    this.serverSelect = h('select', { class: 'history-input', name: 'server', 'aria-label': 'Server', onchange: () => this.apply() });
    this.textInput = h('input', { class: 'history-input history-text', type: 'search', name: 'text', placeholder: 'Text in title, message, id, labels…', 'aria-label': 'Text' });
    this.rangeSelect = h(
      'select',
      { class: 'history-input', name: 'range', 'aria-label': 'Time range', onchange: () => this.onRange() },
      ...RANGE_PRESETS.map((p) => h('option', { value: p.id, selected: p.id === DEFAULT_FORM.range }, p.label)),
    );
    this.fromInput = h('input', { class: 'history-input', type: 'datetime-local', name: 'from', 'aria-label': 'From (local time)' });
    this.toInput = h('input', { class: 'history-input', type: 'datetime-local', name: 'to', 'aria-label': 'To (local time, excluded)' });
    this.customBox = h('span', { class: 'history-custom hidden' }, h('label', {}, 'From ', this.fromInput), h('label', {}, 'to ', this.toInput));
    this.exportButton = h('button', { class: 'btn', type: 'button', title: 'Write every matching transition to a CSV file in Downloads', onclick: () => void this.export() }, 'Export CSV');

    this.form = h(
      'form',
      { class: 'history-filters', role: 'search', 'aria-label': 'Filter the alarm history' },
      h(
        'fieldset',
        { class: 'history-severities' },
        h('legend', { class: 'visually-hidden' }, 'Severities'),
        ...HISTORY_SEVERITIES.map((s) => h('label', { class: `chip sev-${s}` }, this.severityBoxes.get(s)!, s)),
      ),
      this.sourceInput,
      this.serverSelect,
      this.textInput,
      this.rangeSelect,
      this.customBox,
      h('button', { class: 'btn', type: 'submit' }, 'Apply'),
    );
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.apply();
    });
    this.renderServers();

    this.table = h(
      'table',
      { class: 'history-table' },
      h('thead', {}, h('tr', {}, ...COLUMNS.map((c) => h('th', { scope: 'col' }, c)))),
      this.body,
    );
    this.el = h(
      'section',
      { class: 'panel history-view hidden', 'aria-label': 'Alarm history' },
      h('header', { class: 'panel-head' }, h('h2', {}, 'Alarm history'), h('div', { class: 'history-actions' }, this.count, this.exportButton)),
      this.form,
      this.note,
      h('div', { class: 'history-scroll', tabindex: 0, 'aria-label': 'Alarm transitions' }, this.table),
    );
    container.append(this.el);
  }

  /** Shows the view and loads it afresh (transitions keep arriving while it is hidden). */
  show(): void {
    toggleClass(this.el, 'hidden', false);
    this.apply();
    this.sourceInput.focus();
  }

  hide(): void {
    toggleClass(this.el, 'hidden', true);
  }

  /** The servers the app knows (id, name), for the server picker. */
  setServers(servers: Iterable<readonly [string, string]>): void {
    this.servers = new Map(servers);
    this.serversGiven = true;
    this.renderServers();
  }

  /** Reads the form, queries, and shows the answer (or what to fix). */
  apply(): void {
    const built = buildFilter(this.readForm(), this.now());
    if ('error' in built) {
      this.filter = null;
      this.generation++;
      this.showNote(built.error, true);
      return;
    }
    this.filter = built.filter;
    const generation = ++this.generation;
    this.setBusy(true);
    this.backend.historyQuery(built.filter).then(
      (page) => {
        if (generation === this.generation) this.showPage(page);
      },
      (e: unknown) => {
        if (generation !== this.generation) return;
        this.setBusy(false);
        this.showNote(`Cannot load the history: ${e instanceof Error ? e.message : String(e)}`, true);
      },
    );
  }

  private readForm(): HistoryForm {
    const severities = new Set<Severity>();
    for (const [s, box] of this.severityBoxes) if (box.checked) severities.add(s);
    return {
      severities,
      source: this.sourceInput.value,
      serverId: this.serverSelect.value,
      text: this.textInput.value,
      range: this.rangeSelect.value as RangePreset,
      customFrom: this.fromInput.value,
      customTo: this.toInput.value,
    };
  }

  private onRange(): void {
    const custom = this.rangeSelect.value === 'custom';
    toggleClass(this.customBox, 'hidden', !custom);
    if (!custom) {
      this.apply();
      return;
    }
    // Start from the last 24 hours so "custom" means editing a range, not typing one.
    if (!this.fromInput.value && !this.toInput.value) {
      const now = this.now();
      this.fromInput.value = toLocalInput(now - 86_400_000);
      this.toInput.value = toLocalInput(now + 60_000);
    }
    this.fromInput.focus();
  }

  private showPage(page: HistoryPage): void {
    this.setBusy(false);
    setText(this.count, showingText(page.rows.length, page.total));
    this.showNote(page.total === 0 ? 'No alarm transitions match these filters.' : '', false);
    if (!this.serversGiven) {
      const before = this.servers.size;
      for (const [id, name] of serversOf(page.rows)) if (!this.servers.has(id)) this.servers.set(id, name);
      if (this.servers.size !== before) this.renderServers();
    }
    this.renderRows(page.rows);
  }

  /** One fragment, one swap: the browser lays the table out once. */
  private renderRows(rows: readonly HistoryRow[]): void {
    const fragment = document.createDocumentFragment();
    for (const r of rows) fragment.append(rowElement(r));
    this.body.replaceChildren(fragment);
  }

  private renderServers(): void {
    const chosen = this.serverSelect.value;
    const options = [h('option', { value: '' }, 'All servers')];
    const sorted = [...this.servers].sort((a, b) => a[1].localeCompare(b[1]));
    for (const [id, name] of sorted) options.push(h('option', { value: id }, name || id));
    this.serverSelect.replaceChildren(...options);
    this.serverSelect.value = this.servers.has(chosen) ? chosen : '';
  }

  private async export(): Promise<void> {
    const built = buildFilter(this.readForm(), this.now());
    if ('error' in built) {
      this.showNote(built.error, true);
      return;
    }
    const filter = { ...built.filter };
    delete filter.limit;
    this.exportButton.disabled = true;
    this.showNote('Exporting…', false);
    try {
      const path = await this.backend.historyExport(filter);
      this.showNote(`Exported to ${path}`, false);
    } catch (e) {
      this.showNote(`Export failed: ${e instanceof Error ? e.message : String(e)}`, true);
    } finally {
      this.exportButton.disabled = false;
    }
  }

  private setBusy(busy: boolean): void {
    toggleClass(this.el, 'busy', busy);
    this.table.setAttribute('aria-busy', String(busy));
  }

  private showNote(text: string, error: boolean): void {
    setText(this.note, text);
    toggleClass(this.note, 'error', error);
  }

  /** The filter of the rows shown (null while the form has an error); for tests and hooks. */
  currentFilter(): HistoryFilter | null {
    return this.filter;
  }
}

function cell(text: string, cls?: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function rowElement(r: HistoryRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.className = `sev-${r.severity} st-${r.state}`;
  tr.dataset.id = r.alarmId;
  tr.dataset.ts = String(r.ts);
  const time = cell(formatRowTime(r.ts), 'h-time');
  time.title = new Date(r.ts).toISOString();
  const title = cell(r.title, 'h-title');
  if (r.message) title.title = r.message;
  const server = cell(r.serverName || r.serverId, 'h-server');
  server.title = r.serverId;
  tr.append(
    time,
    server,
    cell(r.source, 'h-source'),
    cell(r.severity, 'h-severity'),
    cell(r.state, 'h-state'),
    title,
    cell(r.by ?? '', 'h-by'),
    cell(r.comment ?? '', 'h-comment'),
  );
  return tr;
}
