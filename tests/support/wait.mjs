// Bounded waiting for the Node end-to-end tests (tests/e2e, tests/web): every wait
// polls until a deadline and then fails naming what it waited for.

/** The default bound of a wait: generous, because the machine running the tests is noisy. */
export const WAIT_MS = 30_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value, at most `ms`. */
export async function until(what, check, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}
