// The desktop's notification effects (./notify-policy.ts) through the browser's Notifications
// API: critical notes stay until dismissed (requireInteraction), info and resolved ones are
// silent, each firing episode has its own `tag` so a repeat replaces its note in place and a
// new episode never reuses an old one. A click focuses the page and opens the alarm.
// Permission is asked only on a user gesture, and only while the browser has not been told.
import type { AlarmKey, KeyedEffect, Note } from './notify-policy';

/** The part of the `Notification` constructor used here. */
export interface NotificationApi {
  readonly permission: NotificationPermission;
  requestPermission(): Promise<NotificationPermission>;
  new (title: string, options?: NotificationOptions): Notification;
}

/** The `Notification` constructor of this page, or null where there is none (or it throws). */
export function pageNotifications(): NotificationApi | null {
  try {
    const api = (globalThis as { Notification?: NotificationApi }).Notification;
    return typeof api === 'function' ? api : null;
  } catch {
    return null;
  }
}

export class BrowserNotes {
  private readonly shown = new Map<string, { note: Notification; tag: string }>();
  private episodes = 0;

  constructor(
    private readonly api: NotificationApi | null,
    /** A click on a note: bring the page forward and show alarm `id` of hub `server`. */
    private readonly open: (server: string, id: string) => void,
    private readonly focus: () => void = () => globalThis.focus?.(),
  ) {}

  /** Asks for permission on the first click in `target` (a gesture), if still undecided. */
  askOnFirstGesture(target: EventTarget | null): void {
    if (!target || !this.api || this.api.permission !== 'default') return;
    const ask = () => {
      target.removeEventListener('click', ask);
      if (this.api?.permission === 'default') void this.api.requestPermission().catch(() => {});
    };
    target.addEventListener('click', ask);
  }

  apply(effects: readonly KeyedEffect[]): void {
    for (const { key, effect } of effects) {
      const k = JSON.stringify([key.server, key.id]);
      const current = this.shown.get(k);
      if (effect.kind === 'close') {
        this.shown.delete(k);
        current?.note.close();
      } else if (effect.kind === 'show') {
        this.shown.delete(k);
        current?.note.close();
        this.put(k, key, effect.note, `telltale:${key.server}:${key.id}:${++this.episodes}`, false);
      } else {
        this.put(k, key, effect.note, current?.tag ?? `telltale:${key.server}:${key.id}:${++this.episodes}`, true);
      }
    }
  }

  private put(k: string, key: AlarmKey, n: Note, tag: string, renotify: boolean): void {
    if (!this.api || this.api.permission !== 'granted') return;
    let note: Notification;
    try {
      // `renotify` is not in every lib.dom yet: a repeat alerts again in place.
      const options: NotificationOptions & { renotify?: boolean } = {
        body: n.body,
        tag,
        requireInteraction: n.urgency === 'critical',
        silent: n.urgency === 'low',
        renotify,
      };
      note = new this.api(n.summary, options);
    } catch {
      // Some browsers allow notes only from a service worker: the alarm list still shows it.
      return;
    }
    note.onclick = () => {
      this.focus();
      this.open(key.server, key.id);
      note.close();
    };
    note.onclose = () => {
      if (this.shown.get(k)?.note === note) this.shown.delete(k);
    };
    this.shown.set(k, { note, tag });
  }
}
