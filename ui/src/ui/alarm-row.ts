// One active alarm in the panel, built once and then only patched: a refresh with nothing
// new writes nothing, and an open menu or a half-typed comment survives the 1 s refresh.
import { ackNote, firingSince, parseClock, untilText } from '../data/alarm-text';
import type { AlarmEntry } from '../data/alarms';
import { alarmLinks, linksKey } from '../data/links';
import { clear, h, setText, toggleClass } from './dom';
import { nameOf, serverOf } from '../data/servers';

/** What a row asks of its panel. */
export interface RowHost {
  select(id: string): void;
  ack(id: string, comment?: string): void;
  silence(id: string, until: number): void;
  /** Personal snooze: hide it for this user only. */
  snooze(id: string, until: number): void;
  /** A row opened its menu or comment field: the others close theirs. */
  opened(row: AlarmRow): void;
  now(): number;
  /** Open one of the alarm's links (an http(s) URL) in the browser. */
  open(url: string): void;
  /** A source's name, with its hub's when there are several. */
  label(key: string): string;
  /** How often the alarm resolved and fired again within the hold, lately. */
  flaps(id: string): number;
}

/** The personal snooze's choices, in ms (also the `data-snooze` hooks). */
const SNOOZE_CHOICES: readonly [number, string][] = [
  [15 * 60_000, '15 min'],
  [3_600_000, '1 h'],
  [4 * 3_600_000, '4 h'],
];

/** The silence menu's fixed choices, in ms (also the `data-silence` hooks). */
const SILENCE_CHOICES: readonly [number, string][] = [
  [3_600_000, '1 h'],
  [4 * 3_600_000, '4 h'],
];

export class AlarmRow {
  readonly el: HTMLLIElement;
  private readonly title = h('span', { class: 'a-title' });
  private readonly badge = h('span', { class: 'a-badge' });
  private readonly meta = h('span', { class: 'a-meta' });
  private readonly time = h('span', { class: 'a-time' });
  private readonly message = h('p', { class: 'a-msg' });
  private readonly ackNote = h('span', { class: 'a-ack-note' });
  private readonly silenceNote = h('span', { class: 'a-silence-note' });
  private readonly flapNote = h('span', { class: 'a-flap-note' });
  private readonly error = h('p', { class: 'a-err' });
  /** The alarm's links as buttons (runbook, graph, silence...): rebuilt only when they change. */
  private readonly links = h('div', { class: 'a-links hidden', role: 'group', 'aria-label': 'Links' });
  private shownLinks = '[]';
  private readonly ackButton: HTMLButtonElement;
  private readonly commentButton: HTMLButtonElement;
  private readonly silenceButton: HTMLButtonElement;
  private readonly menu: HTMLElement;
  private readonly untilInput: HTMLInputElement;
  private readonly commentForm: HTMLElement;
  private readonly commentInput: HTMLInputElement;

  constructor(
    readonly id: string,
    private readonly host: RowHost,
  ) {
    this.ackButton = h('button', { class: 'btn ack', type: 'button', title: 'Acknowledge (a)', onclick: () => host.ack(id) }, 'Ack');
    this.commentButton = h(
      'button',
      { class: 'btn ack-comment', type: 'button', title: 'Acknowledge with a comment (Shift+A)', onclick: () => this.openComment() },
      'Ack…',
    );
    this.silenceButton = h(
      'button',
      { class: 'btn silence', type: 'button', title: 'Silence (s: 1 h)', 'aria-haspopup': 'menu', onclick: () => this.toggleMenu() },
      'Silence',
    );

    this.untilInput = h('input', { class: 'silence-until hidden', type: 'text', inputmode: 'numeric', placeholder: 'HH:MM', maxlength: 5, 'aria-label': 'Silence until (HH:MM, today or tomorrow)' });
    this.untilInput.addEventListener('keydown', (ev) => this.onUntilKey(ev));
    this.menu = h(
      'div',
      { class: 'silence-menu hidden', role: 'menu' },
      h('span', { class: 'menu-label' }, 'Silence for'),
      ...SILENCE_CHOICES.map(([ms, label]) =>
        h('button', { class: 'btn small', type: 'button', role: 'menuitem', 'data-silence': ms, onclick: () => this.silenceFor(ms) }, label),
      ),
      h('button', { class: 'btn small', type: 'button', role: 'menuitem', 'data-silence': 'until', onclick: () => this.showUntil() }, 'until…'),
      this.untilInput,
      // Not shared: hides the alarm for this user only; the hub and everyone else still see it.
      h(
        'div',
        { class: 'snooze-line', title: 'Hide it from your list only: nobody else is told, nothing is acknowledged' },
        h('span', { class: 'menu-label' }, 'Snooze for me'),
        ...SNOOZE_CHOICES.map(([ms, label]) =>
          h('button', { class: 'btn small snooze', type: 'button', role: 'menuitem', 'data-snooze': ms, onclick: () => this.snoozeFor(ms) }, label),
        ),
      ),
    );
    this.menu.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Escape') return;
      // Not the app's Esc (clear the selection): this one only closes the menu.
      ev.stopPropagation();
      this.close();
      this.silenceButton.focus();
    });

    this.commentInput = h('input', { class: 'ack-comment-input', type: 'text', maxlength: 500, placeholder: 'Comment for the others · Enter acks · Esc cancels', 'aria-label': 'Acknowledge with comment' });
    this.commentInput.addEventListener('keydown', (ev) => this.onCommentKey(ev));
    this.commentForm = h('div', { class: 'ack-comment-form hidden' }, this.commentInput);

    this.el = h(
      'li',
      { class: 'alarm', role: 'option', 'data-key': id, 'data-id': nameOf(id), 'data-server': serverOf(id), tabindex: -1 },
      h('div', { class: 'a-top' }, this.title, this.badge),
      h('div', { class: 'a-line' }, this.meta, this.time),
      this.message,
      h('div', { class: 'a-notes' }, this.flapNote, this.ackNote, this.silenceNote),
      this.links,
      h('div', { class: 'a-actions' }, this.error, this.silenceButton, this.commentButton, this.ackButton),
      this.menu,
      this.commentForm,
    );
    // Clicks on controls act on this row but must not re-select through the row's handler.
    for (const el of [this.menu, this.commentForm, this.ackButton, this.commentButton, this.silenceButton, this.links])
      el.addEventListener('click', (ev) => ev.stopPropagation());
    this.el.addEventListener('click', () => host.select(id));
  }

  /** Patch the row to `e`; writes only what differs from what is shown. */
  /** `stale`: its hub is not live, so this may be out of date (greyed). */
  fill(e: AlarmEntry, now: number, selected: boolean, stale = false): void {
    const a = e.alarm;
    const acked = a.state === 'acknowledged';
    const silenced = a.silenced_until !== undefined && a.silenced_until > now;
    setClass(
      this.el,
      `alarm sev-${a.severity} st-${a.state}${selected ? ' selected' : ''}${e.pending ? ' pending' : ''}${silenced ? ' silenced' : ''}${stale ? ' stale' : ''}`,
    );
    setAttr(this.el, 'aria-selected', String(selected));
    setAttr(this.el, 'data-state', a.state);
    setText(this.title, a.title || nameOf(a.id));
    setText(this.badge, acked ? (a.by ? `ACK · ${a.by}` : 'ACKNOWLEDGED') : a.severity.toUpperCase());
    const value = a.value !== undefined && Number.isFinite(a.value) ? ` · value ${+a.value.toFixed(2)}` : '';
    setText(this.meta, `${this.host.label(a.source)}${value}`);
    setText(this.time, firingSince(e.since, now));
    setAttr(this.time, 'title', new Date(e.since).toLocaleString());
    setText(this.message, a.message ?? '');
    toggleClass(this.message, 'hidden', !a.message);
    const flaps = this.host.flaps(a.id);
    toggleClass(this.el, 'flapping', flaps > 0);
    setText(this.flapNote, flaps > 0 ? `flapping: resolved and fired again ${flaps === 1 ? 'once' : `${flaps} times`} lately` : '');
    setText(this.ackNote, ackNote(a));
    // An ack of an Alertmanager alarm is a silence there; the hub says while it could not set it.
    const amPending = a.labels?.['telltale.silence'] === 'pending';
    const silenceText = silenced ? `silenced until ${untilText(a.silenced_until!, now)}` : '';
    setText(this.silenceNote, amPending ? `${silenceText ? `${silenceText} · ` : ''}Alertmanager silence pending (retrying)` : silenceText);
    this.fillLinks(a.links);
    setText(this.error, e.failed ? `${e.failed.action === 'ack' ? 'Ack' : 'Silence'} failed: ${e.failed.error}` : '');

    setText(this.ackButton, e.pending === 'ack' ? 'Acking…' : 'Ack');
    setText(this.silenceButton, e.pending === 'silence' ? 'Silencing…' : 'Silence');
    setDisabled(this.ackButton, !!e.pending);
    setDisabled(this.commentButton, !!e.pending);
    setDisabled(this.silenceButton, !!e.pending);
    toggleClass(this.ackButton, 'hidden', acked);
    toggleClass(this.commentButton, 'hidden', acked);
    // Someone else acked it meanwhile: there is nothing left to comment on.
    if (acked && this.isOpen(this.commentForm)) this.close();
  }

  /** The link buttons, replaced only when the links changed (a refresh usually has none new). */
  private fillLinks(raw: Record<string, string> | undefined): void {
    const links = alarmLinks(raw);
    const key = linksKey(links);
    if (key === this.shownLinks) return;
    this.shownLinks = key;
    clear(this.links);
    for (const l of links)
      this.links.append(
        h('button', { class: 'btn small link', type: 'button', title: l.url, 'data-link': l.name, onclick: () => this.host.open(l.url) }, l.label),
      );
    toggleClass(this.links, 'hidden', links.length === 0);
  }

  /** Open the one-line comment for an acknowledgement (the Ack… button, Shift+A). */
  openComment(): void {
    if (this.commentButton.disabled || this.commentButton.classList.contains('hidden')) return;
    this.host.opened(this);
    toggleClass(this.menu, 'hidden', true);
    toggleClass(this.commentForm, 'hidden', false);
    this.commentInput.focus();
  }

  /** Close the menu and the comment field, dropping what was typed. */
  close(): void {
    toggleClass(this.menu, 'hidden', true);
    toggleClass(this.untilInput, 'hidden', true);
    toggleClass(this.untilInput, 'invalid', false);
    toggleClass(this.commentForm, 'hidden', true);
    this.untilInput.value = '';
    this.commentInput.value = '';
    setAttr(this.silenceButton, 'aria-expanded', 'false');
  }

  /** Whether a click at `target` belongs to this row's open menu (or its button). */
  owns(target: Node): boolean {
    return this.menu.contains(target) || this.silenceButton.contains(target) || this.commentForm.contains(target);
  }

  private isOpen(el: HTMLElement): boolean {
    return !el.classList.contains('hidden');
  }

  private toggleMenu(): void {
    if (this.isOpen(this.menu)) {
      this.close();
      return;
    }
    this.host.opened(this);
    toggleClass(this.commentForm, 'hidden', true);
    toggleClass(this.menu, 'hidden', false);
    setAttr(this.silenceButton, 'aria-expanded', 'true');
    this.menu.querySelector<HTMLButtonElement>('[data-silence]')?.focus();
  }

  private silenceFor(ms: number): void {
    this.close();
    this.host.silence(this.id, this.host.now() + ms);
  }

  private snoozeFor(ms: number): void {
    this.close();
    this.host.snooze(this.id, this.host.now() + ms);
  }

  private showUntil(): void {
    toggleClass(this.untilInput, 'hidden', false);
    this.untilInput.focus();
  }

  private onUntilKey(ev: KeyboardEvent): void {
    if (ev.key !== 'Enter') return;
    const until = parseClock(this.untilInput.value, this.host.now());
    toggleClass(this.untilInput, 'invalid', until === null);
    if (until === null) return;
    this.close();
    this.host.silence(this.id, until);
  }

  private onCommentKey(ev: KeyboardEvent): void {
    if (ev.key === 'Enter') {
      const comment = this.commentInput.value;
      this.close();
      this.host.ack(this.id, comment);
    } else if (ev.key === 'Escape') {
      ev.stopPropagation();
      this.close();
    }
  }
}

// Writes that skip equal values: re-setting even an identical attribute or class makes
// WebKit invalidate style, which a per-second refresh of every row would pay for.

export function setClass(el: Element, className: string): void {
  if (el.className !== className) el.className = className;
}

export function setAttr(el: Element, name: string, value: string): void {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

function setDisabled(b: HTMLButtonElement, disabled: boolean): void {
  if (b.disabled !== disabled) b.disabled = disabled;
}
