// Personal snoozes in a browser: kept in localStorage (this browser, this hub's origin) with
// the desktop's semantics (src-tauri/src/settings_commands.rs): one snooze per alarm, expired
// ones dropped on every change, `until: null` or a past time ends it. No hub is told.
import type { Snooze } from './settings';

/** The part of the Web Storage API used here (localStorage, or a stand-in in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export const SNOOZES_KEY = 'telltale.snoozes';

export class SnoozeStore {
  constructor(
    private readonly storage: KeyValueStorage | null,
    private readonly now: () => number,
  ) {}

  /** The snoozes still running. */
  list(): Snooze[] {
    const now = this.now();
    return this.read().filter((s) => s.until > now);
  }

  /** Snoozes alarm `id` of hub `server` until `until` (null ends it); returns those still running. */
  set(server: string, id: string, until: number | null): Snooze[] {
    const now = this.now();
    const next = this.read().filter((s) => s.until > now && !(s.server === server && s.id === id));
    if (until !== null && until > now) next.push({ server, id, until });
    if (!this.storage) throw new Error('snooze not saved: this browser keeps no local storage for the page (private mode?); snooze from the desktop app instead');
    try {
      this.storage.setItem(SNOOZES_KEY, JSON.stringify(next));
    } catch (e) {
      throw new Error(`snooze not saved: the browser refused to store it (${e instanceof Error ? e.message : String(e)}); free some site storage and try again`);
    }
    return next;
  }

  /** What is stored; anything unreadable counts as no snooze. */
  private read(): Snooze[] {
    let raw: string | null = null;
    try {
      raw = this.storage?.getItem(SNOOZES_KEY) ?? null;
    } catch {
      return [];
    }
    if (!raw) return [];
    try {
      const list: unknown = JSON.parse(raw);
      if (!Array.isArray(list)) return [];
      return list.filter(
        (s): s is Snooze => !!s && typeof s === 'object' && typeof s.server === 'string' && typeof s.id === 'string' && typeof s.until === 'number',
      );
    } catch {
      return [];
    }
  }
}
