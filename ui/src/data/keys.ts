// Keyboard shortcuts as a pure mapping from keys to actions.
//   ↓ / j, ↑ / k  select next / previous alarm      a      acknowledge the selected alarm
//   Shift+A       acknowledge with a comment         s      silence the selected alarm for 1 h
//   1, 5, 15      1 / 5 / 15 min window ("15" = 1 then 5 within 700 ms)
//   p / Space     pause / resume                     Esc    clear the selection

export type KeyAction =
  | { type: 'window'; minutes: 1 | 5 | 15 }
  | { type: 'select'; delta: 1 | -1 }
  | { type: 'ack' }
  | { type: 'ackComment' }
  | { type: 'silence'; ms: number }
  | { type: 'pause' }
  | { type: 'deselect' };

export const CHORD_MS = 700;
/** How long `s` silences: long enough to fix the cause, short enough not to forget it. */
export const SILENCE_KEY_MS = 3_600_000;

export class KeyMap {
  private lastKey = '';
  private lastAt = -Infinity;

  handle(key: string, now: number): KeyAction | null {
    const prev = this.lastKey;
    const chord = now - this.lastAt <= CHORD_MS;
    this.lastKey = key;
    this.lastAt = now;
    switch (key) {
      case 'ArrowDown':
      case 'j':
        return { type: 'select', delta: 1 };
      case 'ArrowUp':
      case 'k':
        return { type: 'select', delta: -1 };
      case 'a':
        return { type: 'ack' };
      case 'A':
        return { type: 'ackComment' };
      case 's':
        return { type: 'silence', ms: SILENCE_KEY_MS };
      case '1':
        return { type: 'window', minutes: 1 };
      case '5':
        if (prev === '1' && chord) {
          this.lastKey = '';
          return { type: 'window', minutes: 15 };
        }
        return { type: 'window', minutes: 5 };
      case 'p':
      case ' ':
        return { type: 'pause' };
      case 'Escape':
        return { type: 'deselect' };
      default:
        return null;
    }
  }
}
