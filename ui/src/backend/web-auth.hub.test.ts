// The web backend and a hub that requires a token: none, a bad one and an expired one give
// the state the UI shows as "Authentication failed"; a good one (also pasted after a
// refusal, through useToken) connects.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Hub, TestFrames, mintToken, waitFor } from './test-hub';
import { Recorder } from './web-recorder';
import { WebBackend } from './web';
import { StoredToken } from './web-token';
import { connectionView } from '../data/connection';

const SECRET = 'web-auth-test-secret';
let hub: Hub;
const open: WebBackend[] = [];

beforeAll(async () => {
  hub = await Hub.start(['--token-secret', SECRET]);
});

afterEach(() => {
  for (const b of open.splice(0)) b.close();
});

afterAll(async () => {
  await hub?.stop();
});

async function page(token: string | null): Promise<{ backend: WebBackend; rec: Recorder; tokens: StoredToken }> {
  const tokens = new StoredToken(null);
  if (token) tokens.set(token);
  const frames = new TestFrames();
  const backend = new WebBackend({ endpoint: hub.wsUrl, tokens, frame: frames.schedule, reconnectDelayMs: { min: 500, max: 1000 } });
  open.push(backend);
  return { backend, rec: await Recorder.attach(backend, frames), tokens };
}

const shown = (rec: Recorder) => connectionView(rec.state ?? null, 0, 0).text;

describe('WebBackend and tokens', () => {
  it('shows "Authentication failed" when the hub needs a token and the page has none', async () => {
    const { rec } = await page(null);
    await waitFor(() => rec.state?.state === 'failed', () => `failed; ${rec.describe()}`);
    expect(rec.state!.reason).toMatch(/^unauthorized: this hub accepts no connection without a token \(bad request, code 3501\)$/);
    expect(shown(rec)).toBe('Authentication failed');
  });

  it('shows "Authentication failed" for a refused token, and connects with a good one pasted after', async () => {
    const { backend, rec, tokens } = await page('not.a.token');
    await waitFor(() => rec.state?.state === 'failed', () => `failed; ${rec.describe()}`);
    expect(rec.state!.reason).toBe('invalid token (code 3500)');
    expect(shown(rec)).toBe('Authentication failed');
    const good = mintToken(SECRET, ['--user', 'web-user']);
    await backend.useToken(`  ${good}\n`);
    expect(tokens.get()).toBe(good);
    await waitFor(() => rec.state?.state === 'live', () => `live with the pasted token; ${rec.describe()}`);
    expect(rec.states.slice(-2).map((s) => s.state)).toEqual(['connecting', 'live']);
    expect((await backend.catalog('web')).sources).toEqual([]);
  });

  it('connects with a good token and refuses an expired one without asking the hub again and again', async () => {
    const { rec } = await page(mintToken(SECRET, ['--user', 'web-user', '--ttl', '1h']));
    await waitFor(() => rec.state?.state === 'live', () => `live; ${rec.describe()}`);
    const expired = await page(mintToken(SECRET, ['--user', 'web-user', '--ttl', '1s']));
    await waitFor(() => expired.rec.states.length > 0, 'a first state');
    // Live at first if the hub saw it before it expired; failed once it has expired.
    await waitFor(() => expired.rec.state?.state === 'failed', () => `failed; ${expired.rec.describe()}`, 15_000);
    expect(expired.rec.state!.reason).toMatch(/^unauthorized: the token expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(code 1\)$/);
    expect(shown(expired.rec)).toBe('Authentication failed');
  });
});
