// A small deterministic pseudo-random generator (mulberry32): the same sequence for the same
// seed on every run, for the mock backend's made-up data and for randomized tests that must
// fail the same way twice.

/** Returns a generator of numbers in [0, 1) seeded by `seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
