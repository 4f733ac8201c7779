// Personal snoozes of a page, with the desktop's semantics.
import { describe, expect, it } from 'vitest';
import { SNOOZES_KEY, SnoozeStore } from './snooze-store';

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

describe('SnoozeStore', () => {
  it('keeps one snooze per alarm and hub, drops expired ones, and ends one with null', () => {
    let now = 100;
    const storage = memoryStorage();
    const store = new SnoozeStore(storage, () => now);
    expect(store.set('web', 'a/x', 500)).toEqual([{ server: 'web', id: 'a/x', until: 500 }]);
    store.set('web', 'b/y', 200);
    store.set('other', 'a/x', 300);
    expect(store.set('web', 'a/x', 900).map((s) => [s.server, s.id, s.until])).toEqual([
      ['web', 'b/y', 200],
      ['other', 'a/x', 300],
      ['web', 'a/x', 900],
    ]);
    now = 250;
    expect(store.list().map((s) => s.id)).toEqual(['a/x', 'a/x']);
    expect(store.set('web', 'a/x', null)).toEqual([{ server: 'other', id: 'a/x', until: 300 }]);
    expect(JSON.parse(storage.m.get(SNOOZES_KEY)!)).toEqual([{ server: 'other', id: 'a/x', until: 300 }]);
    // A new page reads the same storage.
    expect(new SnoozeStore(storage, () => now).list()).toEqual([{ server: 'other', id: 'a/x', until: 300 }]);
  });

  it('reads garbage as no snooze and says what to do when it cannot store', () => {
    const storage = memoryStorage();
    storage.m.set(SNOOZES_KEY, '{not json');
    expect(new SnoozeStore(storage, () => 0).list()).toEqual([]);
    expect(() => new SnoozeStore(null, () => 0).set('web', 'a', 10)).toThrow(/snooze not saved: .*private mode/);
  });
});
