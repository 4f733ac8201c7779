// Flapping: an alarm that resolves and fires again within a short hold is one problem going
// on and off, not a series of new ones. The desktop's notifications already stay quiet for such
// a re-fire (notification preference `flapHoldSecs`); this lets the alarm panel say "flapping".
//
// Feed a FlapTracker every alarm transition with its time; ask isFlapping() when drawing.
import type { AlarmState } from '../backend/types';

/** The notification preference's default hold, seconds (`NotifyPrefs.flapHoldSecs`). */
export const DEFAULT_FLAP_HOLD_SECS = 60;

/** How long after its last bounce an alarm still counts as flapping, in holds. */
export const FLAP_WINDOW_HOLDS = 10;

export interface FlapOptions {
  /** A re-fire this soon (ms) after a resolve is a flap. */
  holdMs?: number;
  /** An alarm is flapping while its last flap is younger than this (ms). */
  windowMs?: number;
}

/** One transition of one alarm. */
export interface Transition {
  state: AlarmState;
  /** Unix ms (the alarm's `ts`, or when it was received). */
  at: number;
}

interface Track {
  /** Last resolve not yet followed by a firing. */
  resolvedAt?: number;
  /** Times of the flaps inside the window, oldest first. */
  flaps: number[];
  /** Last transition seen, for pruning. */
  lastAt: number;
}

/**
 * Remembers, per alarm key (e.g. `${serverId}/${alarmId}`), the flaps of the last window.
 * Memory stays bounded: call prune() now and then (e.g. when the panel redraws).
 */
export class FlapTracker {
  private readonly tracks = new Map<string, Track>();
  private holdMs: number;
  private windowMs: number;

  constructor(options: FlapOptions = {}) {
    this.holdMs = options.holdMs ?? DEFAULT_FLAP_HOLD_SECS * 1000;
    this.windowMs = options.windowMs ?? this.holdMs * FLAP_WINDOW_HOLDS;
  }

  /** New hold (the user changed `flapHoldSecs`); the window follows unless given. */
  setOptions(options: FlapOptions): void {
    this.holdMs = options.holdMs ?? this.holdMs;
    this.windowMs = options.windowMs ?? this.holdMs * FLAP_WINDOW_HOLDS;
  }

  /** One transition of alarm `key`. Repeated firings and acknowledgements are no flap. */
  observe(key: string, { state, at }: Transition): void {
    const track = this.tracks.get(key) ?? { flaps: [], lastAt: at };
    track.lastAt = Math.max(track.lastAt, at);
    if (state === 'resolved') {
      track.resolvedAt = at;
    } else if (track.resolvedAt !== undefined) {
      if (at - track.resolvedAt < this.holdMs) track.flaps.push(at);
      track.resolvedAt = undefined;
    }
    this.tracks.set(key, track);
  }

  /** How many times alarm `key` flapped in the window before `now`. */
  flapCount(key: string, now: number): number {
    const track = this.tracks.get(key);
    if (!track) return 0;
    return track.flaps.filter((t) => now - t < this.windowMs).length;
  }

  /** Alarm `key` flapped within the window before `now`. */
  isFlapping(key: string, now: number): boolean {
    return this.flapCount(key, now) > 0;
  }

  /** Forgets alarms with nothing in the window before `now`. */
  prune(now: number): void {
    for (const [key, track] of this.tracks) {
      track.flaps = track.flaps.filter((t) => now - t < this.windowMs);
      if (track.flaps.length === 0 && now - track.lastAt >= Math.max(this.windowMs, this.holdMs)) {
        this.tracks.delete(key);
      }
    }
  }

  /** Alarms tracked (for tests and diagnostics). */
  get size(): number {
    return this.tracks.size;
  }
}

/** The same rule over a whole history (oldest first): is the alarm flapping at `now`? */
export function isFlapping(history: readonly Transition[], now: number, options: FlapOptions = {}): boolean {
  const tracker = new FlapTracker(options);
  for (const transition of history) tracker.observe('', transition);
  return tracker.isFlapping('', now);
}
