// On a phone-sized screen there is no room for the charts and the alarm panel side by side:
// the layout shows one of them and a tab bar at the bottom switches. The bar exists at every
// width (so nothing is rebuilt on resize) and CSS shows it only below PHONE_MAX_PX; on a
// wide screen `data-phone-tab` has no effect.
import type { Model } from '../model';
import { h, setText, toggleClass } from './dom';

export type PhoneTab = 'views' | 'alarms';

export class PhoneTabs {
  readonly el: HTMLElement;
  private readonly buttons: Record<PhoneTab, HTMLButtonElement>;
  private readonly badge: HTMLElement;

  constructor(
    private readonly layout: HTMLElement,
    private readonly model: Model,
  ) {
    this.badge = h('span', { class: 'phone-badge' });
    const tab = (which: PhoneTab, ...label: (string | Node)[]) =>
      h('button', { class: 'phone-tab', type: 'button', 'data-tab': which, onclick: () => this.show(which) }, ...label) as HTMLButtonElement;
    this.buttons = { views: tab('views', 'Dashboard'), alarms: tab('alarms', 'Alarms ', this.badge) };
    this.el = h('nav', { class: 'phone-tabs', 'aria-label': 'Dashboard or alarms' }, this.buttons.views, this.buttons.alarms);
    model.on('alarms', () => this.refreshBadge());
    // A notification's click asks for an alarm: it is in the alarm tab.
    model.on('open', () => this.show('alarms'));
    this.show('views');
    this.refreshBadge();
  }

  show(which: PhoneTab): void {
    this.layout.dataset.phoneTab = which;
    for (const [k, b] of Object.entries(this.buttons)) {
      toggleClass(b, 'active', k === which);
      b.setAttribute('aria-pressed', String(k === which));
    }
  }

  /** Active alarms, so the dashboard tab still tells that something fires. */
  private refreshBadge(): void {
    const c = this.model.alarms.counts();
    const n = c.critical + c.warning + c.info;
    setText(this.badge, n ? String(n) : '');
    toggleClass(this.badge, 'critical', c.critical > 0);
  }
}
