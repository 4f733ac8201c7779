// End-to-end: what a person sees when things go wrong. A malformed --server
// is refused at start; an unreachable hub shows the reason and the retry
// countdown while the app keeps trying; a token the hub rejects shows
// "Authentication failed" and no retry loop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { APP, HUB, Session, freePort, start, startDriver, startHub, stopAll, until } from './driver.mjs';

let driverUrl;

before(async () => {
  driverUrl = await startDriver();
});

after(() => stopAll());

const connection = (session) =>
  session.page(`const el = document.querySelector('.conn'); return el ? [el.dataset.state, el.textContent] : null;`);

test('a malformed --server is refused at start with the expected form', () => {
  const run = spawnSync(APP, ['--server', 'localhost:8000'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /--server/);
  assert.match(run.stderr, /ws:\/\/HOST:PORT\/connection\/websocket/);
});

test('an unreachable hub shows the reason and the countdown, and the app keeps retrying', async () => {
  const port = await freePort(); // nothing listens there
  const session = await Session.open(driverUrl, ['--server', `ws://127.0.0.1:${port}/connection/websocket`]);
  try {
    const [state, text] = await until('reconnecting with a countdown', async () => {
      const c = await connection(session);
      return c && c[0] === 'reconnecting' && /\d+\s*s/.test(c[1]) ? c : null;
    });
    assert.equal(state, 'reconnecting');
    assert.match(text, /refused|closed|connect/i, 'the reason is shown');
    // Once a hub appears on that port, the same window goes live.
    const hub = start(HUB, [
      '--listen',
      `127.0.0.1:${port}`,
      '--allow-anonymous',
    ]);
    await until('live after the hub appears', async () => (await connection(session))?.[0] === 'live', 60_000);
    process.kill(-hub.pid, 'SIGTERM');
  } finally {
    await session.close('e2e-unreachable');
  }
});

test('a token the hub rejects shows "Authentication failed" and does not retry', async () => {
  const hub = await startHub(['--token-secret', 'right-secret']);
  // A well-formed JWT signed with another secret.
  const forged =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5In0.' + 'c2lnbmVkLXdpdGgtdGhlLXdyb25nLXNlY3JldA';
  const session = await Session.open(driverUrl, ['--server', hub.ws, '--token', forged]);
  try {
    const [, text] = await until('failed state', async () => {
      const c = await connection(session);
      return c && c[0] === 'failed' ? c : null;
    });
    assert.match(text, /authentication failed/i);
    // No retry loop: after a while the state is still `failed` and the hub
    // saw no further connection.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await connection(session))[0], 'failed');
    const info = await hub.api('info', {});
    assert.equal(info.result.nodes[0].num_clients, 0);
  } finally {
    await session.close('e2e-auth');
  }
});
