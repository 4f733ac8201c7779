// The source list on the left: the overview link, then every source by name with its state
// dot and firing-alarm badge. Collapsible; rows have a fixed height so 500 sources scroll
// rather than wrap, and a per-second refresh only changes classes and text that changed.
import type { TileState } from '../data/fleet';
import { splitKey } from '../data/servers';
import { h, setText, toggleClass } from './dom';

export interface SidebarContext {
  sources(): readonly string[];
  status(source: string): { state: TileState; firing: number } | undefined;
  /** The source shown, or null on the overview. */
  current(): string | null;
  open(source: string): void;
  showOverview(): void;
  /** The source's name, with its hub's when there are several. */
  label(source: string): string;
  /** The hub's name when there are several, else ''. */
  serverLabel(source: string): string;
}

const COLLAPSED_KEY = 'telltale.sidebar.collapsed';

export class Sidebar {
  readonly el: HTMLElement;
  private readonly list: HTMLElement;
  private readonly overviewLink: HTMLElement;
  private readonly items = new Map<string, HTMLElement>();
  private order: readonly string[] = [];

  constructor(private readonly ctx: SidebarContext) {
    const toggle = h('button', { class: 'side-toggle', type: 'button', title: 'Collapse / expand the source list ( [ )', 'aria-label': 'Toggle the source list' }, '‹');
    toggle.addEventListener('click', () => this.toggle());
    this.overviewLink = h('button', { class: 'side-item overview-link', type: 'button', title: 'All sources (g)' }, h('span', { class: 'side-icon' }, '▦'), h('span', { class: 'side-name' }, 'Overview'));
    this.overviewLink.addEventListener('click', () => ctx.showOverview());
    this.list = h('div', { class: 'side-list' });
    this.el = h('nav', { class: 'sidebar', 'aria-label': 'Sources' }, h('div', { class: 'side-top' }, this.overviewLink, toggle), this.list);
    this.list.addEventListener('click', (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>('.side-item');
      if (item?.dataset.key) ctx.open(item.dataset.key);
    });
    let collapsed = false;
    try {
      collapsed = localStorage.getItem(COLLAPSED_KEY) === '1';
    } catch {
      // Storage may be unavailable; expanded is the default.
    }
    toggleClass(this.el, 'collapsed', collapsed);
  }

  toggle(): void {
    const collapsed = !this.el.classList.contains('collapsed');
    toggleClass(this.el, 'collapsed', collapsed);
    try {
      localStorage.setItem(COLLAPSED_KEY, collapsed ? '1' : '0');
    } catch {
      // Not remembered; harmless.
    }
  }

  refresh(): void {
    const sources = this.ctx.sources();
    const current = this.ctx.current();
    toggleClass(this.overviewLink, 'active', current === null);
    if (sources.length !== this.order.length || sources.some((s, i) => s !== this.order[i])) {
      const keep = new Set(sources);
      for (const s of sources) if (!this.items.has(s)) this.items.set(s, this.item(s));
      for (const s of [...this.items.keys()]) if (!keep.has(s)) this.items.delete(s);
      this.list.replaceChildren(...sources.map((s) => this.items.get(s)!));
      this.order = sources;
    }
    for (const s of sources) {
      const el = this.items.get(s)!;
      const st = this.ctx.status(s);
      const state = st?.state ?? 'nodata';
      const label = this.ctx.label(s);
      if (el.dataset.state !== state || el.dataset.label !== label) {
        el.dataset.state = state;
        el.dataset.label = label;
        el.title = `${label} — ${state === 'nodata' ? 'no data yet' : state}`;
        setText(el.querySelector('.side-server')!, this.ctx.serverLabel(s));
      }
      toggleClass(el, 'active', s === current);
      setText(el.querySelector('.side-badge')!, st?.firing ? String(st.firing) : '');
    }
  }

  private item(source: string): HTMLElement {
    const { server, name } = splitKey(source);
    return h(
      'button',
      { class: 'side-item', type: 'button', 'data-key': source, 'data-source': name, 'data-server': server },
      h('i', { class: 'side-dot' }),
      h('span', { class: 'side-name' }, name, h('span', { class: 'side-server' })),
      h('span', { class: 'side-badge' }),
    );
  }
}
