import { describe, expect, it } from 'vitest';
import { DEFAULT_FLAP_HOLD_SECS, FlapTracker, isFlapping, type Transition } from './flapping';

const S = 1000;
const fire = (at: number): Transition => ({ state: 'firing', at });
const resolve = (at: number): Transition => ({ state: 'resolved', at });
const ack = (at: number): Transition => ({ state: 'acknowledged', at });

describe('flapping', () => {
  it('a re-fire within the hold after a resolve is flapping', () => {
    expect(isFlapping([fire(0), resolve(10 * S), fire(30 * S)], 31 * S)).toBe(true);
  });

  it('a re-fire after the hold is a new episode, not a flap', () => {
    const hold = DEFAULT_FLAP_HOLD_SECS * S;
    expect(isFlapping([fire(0), resolve(10 * S), fire(10 * S + hold)], 11 * S + hold)).toBe(false);
  });

  it('firing, repeated firings and acknowledgements alone are not flapping', () => {
    expect(isFlapping([fire(0), fire(1 * S), ack(2 * S), fire(3 * S)], 4 * S)).toBe(false);
    expect(isFlapping([fire(0), resolve(1 * S)], 2 * S)).toBe(false);
  });

  it('stops flapping once the last flap is older than the window', () => {
    const history = [fire(0), resolve(10 * S), fire(20 * S)];
    const options = { holdMs: 60 * S, windowMs: 600 * S };
    expect(isFlapping(history, 20 * S + 599 * S, options)).toBe(true);
    expect(isFlapping(history, 20 * S + 600 * S, options)).toBe(false);
  });

  it('counts flaps per alarm key and honours a changed hold', () => {
    const tracker = new FlapTracker({ holdMs: 60 * S });
    for (const t of [fire(0), resolve(5 * S), fire(6 * S), resolve(7 * S), fire(8 * S)]) {
      tracker.observe('prod/web1/disk', t);
    }
    tracker.observe('lab/web1/disk', fire(0));
    expect(tracker.flapCount('prod/web1/disk', 9 * S)).toBe(2);
    expect(tracker.isFlapping('lab/web1/disk', 9 * S)).toBe(false);
    expect(tracker.isFlapping('never/seen', 9 * S)).toBe(false);

    tracker.setOptions({ holdMs: 1 * S });
    tracker.observe('lab/web1/disk', resolve(10 * S));
    tracker.observe('lab/web1/disk', fire(12 * S));
    expect(tracker.isFlapping('lab/web1/disk', 13 * S)).toBe(false);
  });

  it('prune forgets quiet alarms and keeps flapping ones', () => {
    const tracker = new FlapTracker({ holdMs: 10 * S, windowMs: 100 * S });
    tracker.observe('a', fire(0));
    tracker.observe('b', fire(0));
    tracker.observe('b', resolve(50 * S));
    tracker.observe('b', fire(55 * S));
    tracker.prune(120 * S);
    expect(tracker.size).toBe(1);
    expect(tracker.isFlapping('b', 120 * S)).toBe(true);
    tracker.prune(155 * S);
    expect(tracker.size).toBe(0);
  });
});
