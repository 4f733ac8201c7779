// The hold-and-release of a source's history (the cases of crates/client/src/follow/backfill.rs)
// and the request sizes of recentSamples.
import { describe, expect, it } from 'vitest';
import { Backfill, HISTORY_LIMIT, MAX_HELD, MIN_HISTORY_LIMIT, recentSamples } from './backfill';
import type { MetricSample } from './types';

const sample = (ts: number): MetricSample => ({ ts, values: { x: ts } });
const ts = (samples: MetricSample[]) => samples.map((s) => s.ts);

describe('Backfill', () => {
  it('gives a new source its history, then the samples held meanwhile, ascending, each ts once', () => {
    const b = new Backfill();
    const ticket = b.begin('h');
    expect(b.live('h', sample(10))).toBeNull();
    expect(b.live('h', sample(11))).toBeNull();
    expect(b.live('g', sample(1))).not.toBeNull();
    expect(ts(b.finish(ticket, [sample(10), sample(9), sample(8), sample(8)]))).toEqual([8, 9, 10, 11]);
    expect(b.live('h', sample(12))?.ts).toBe(12);
  });

  it('backfills only what is newer than what was sent, after a gap', () => {
    const b = new Backfill();
    for (let t = 1; t <= 5; t++) b.live('h', sample(t));
    const ticket = b.begin('h');
    expect(b.live('h', sample(9))).toBeNull();
    expect(ts(b.finish(ticket, [3, 4, 5, 6, 7, 8].map(sample)))).toEqual([6, 7, 8, 9]);
  });

  it('releases the held samples in order when the request failed', () => {
    const b = new Backfill();
    b.live('h', sample(5));
    const ticket = b.begin('h');
    for (const t of [6, 4, 7]) expect(b.live('h', sample(t))).toBeNull();
    expect(ts(b.finish(ticket, []))).toEqual([6, 7]);
  });

  it('lets only the newest request release, once', () => {
    const b = new Backfill();
    const first = b.begin('h');
    b.live('h', sample(3));
    const second = b.begin('h');
    expect(b.finish(first, [sample(1)])).toEqual([]);
    expect(b.live('h', sample(4))).toBeNull();
    expect(ts(b.finish(second, [sample(1), sample(2)]))).toEqual([1, 2, 3, 4]);
    expect(b.finish(second, [sample(9)])).toEqual([]);
  });

  it('bounds the hold, dropping the oldest', () => {
    const b = new Backfill();
    const ticket = b.begin('h');
    for (let t = 0; t < MAX_HELD + 5; t++) b.live('h', sample(t));
    const out = b.finish(ticket, []);
    expect(out.length).toBe(MAX_HELD);
    expect(out[0]!.ts).toBe(5);
  });
});

describe('recentSamples', () => {
  const decode = (d: unknown) => d as MetricSample;
  const noSleep = async () => {};

  it('halves the request while the hub answers 106, and returns the samples oldest first', async () => {
    const asked: number[] = [];
    const read = async (limit: number) => {
      asked.push(limit);
      if (limit > 250) throw { code: 106, message: 'limit exceeded' };
      return { publications: [sample(3), sample(2), sample(1)].map((data) => ({ data })) };
    };
    expect(ts(await recentSamples(read, decode, noSleep))).toEqual([1, 2, 3]);
    expect(asked).toEqual([HISTORY_LIMIT, 500, 250]);
  });

  it('gives up below the smallest request and passes other errors on', async () => {
    const asked: number[] = [];
    await expect(
      recentSamples(
        async (limit) => {
          asked.push(limit);
          throw { code: 106, message: 'limit exceeded' };
        },
        decode,
        noSleep,
      ),
    ).rejects.toMatchObject({ code: 106 });
    expect(asked.at(-1)).toBeLessThanOrEqual(MIN_HISTORY_LIMIT);
    await expect(recentSamples(async () => Promise.reject({ code: 103, message: 'permission denied' }), decode, noSleep)).rejects.toMatchObject({ code: 103 });
  });

  it('waits and asks again when rate-limited (111)', async () => {
    let calls = 0;
    let slept = 0;
    const out = await recentSamples(
      async () => {
        if (++calls < 3) throw { code: 111, message: 'too many requests' };
        return { publications: [{ data: sample(1) }] };
      },
      decode,
      async () => void slept++,
    );
    expect([ts(out), calls, slept]).toEqual([[1], 3, 2]);
  });
});
