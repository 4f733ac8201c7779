// End-to-end: one window on two hubs at once. The same source name and the same alarm id
// on both stay apart and say which hub they come from; an ack goes to the hub the alarm
// came from; a hub that stops shows as reconnecting while the other stays live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Session, hubRpc, startDriver, startHub, stopAll, until } from './driver.mjs';

const OPEN = ['--allow-anonymous', '--anonymous-ack'];
let alpha;
let beta;
let session;
const page = (script, args) => session.page(script, args);

function alarm(severity, title) {
  return { id: 'db/disk', source: 'db', severity, state: 'firing', title, message: `${title} (e2e)`, ts: Date.now(), value: 93 };
}

async function publishSamples(hub, source, n) {
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    await hub.api('publish', { channel: `metrics:${source}`, data: { ts: now - (n - i) * 1000, values: { 'cpu.total': 10 + i } } });
  }
}

/** The alarm rows with id `db/disk`: [server id, meta text, state]. */
const diskRows = () =>
  page(`return Array.from(document.querySelectorAll('.alarm[data-id="db/disk"]')).map((r) => [r.dataset.server, r.querySelector('.a-meta')?.textContent ?? r.textContent, r.dataset.state]);`);

before(async () => {
  alpha = await startHub(OPEN);
  beta = await startHub(OPEN);
  session = await Session.open(await startDriver(), ['--server', alpha.ws, '--server', beta.ws]);
  await until('both hubs live', () => page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
});

after(async () => {
  await session?.close('e2e-servers');
  stopAll();
});

test('the same alarm id on two hubs is two alarms, each labelled with its hub', async () => {
  await alpha.api('publish', { channel: 'alarms', data: alarm('critical', 'Disk full on alpha') });
  await beta.api('publish', { channel: 'alarms', data: alarm('warning', 'Disk filling on beta') });
  const rows = await until('two db/disk rows', async () => {
    const r = await diskRows();
    return r.length === 2 ? r : null;
  });
  const byServer = Object.fromEntries(rows.map(([server, meta]) => [server, meta]));
  assert.deepEqual(Object.keys(byServer).sort(), ['launch', 'launch-2']);
  assert.ok(byServer.launch.includes(alpha.addr), `alpha's row names alpha: ${byServer.launch}`);
  assert.ok(byServer['launch-2'].includes(beta.addr), `beta's row names beta: ${byServer['launch-2']}`);
});

test('the same source on two hubs is two tiles, each saying its hub', async () => {
  await publishSamples(alpha, 'web', 3);
  await publishSamples(beta, 'web', 3);
  const tiles = await until('two web tiles', async () => {
    const t = await page(`return Array.from(document.querySelectorAll('.tile[data-source="web"]')).map((e) => [e.dataset.server, e.querySelector('.tile-server')?.textContent ?? '']);`);
    return t.length === 2 ? t : null;
  });
  const labels = Object.fromEntries(tiles);
  assert.equal(labels.launch, alpha.addr);
  assert.equal(labels['launch-2'], beta.addr);
});

test("an ack goes to the hub the alarm came from, and only there", async () => {
  await session.click('.alarm[data-id="db/disk"][data-server="launch-2"] button.ack');
  await until('acknowledged on beta', async () => {
    const reply = await hubRpc(beta, 'alarms.active', {});
    return reply.rpc?.data?.alarms?.find((a) => a.id === 'db/disk')?.state === 'acknowledged';
  });
  const onAlpha = await hubRpc(alpha, 'alarms.active', {});
  assert.equal(onAlpha.rpc.data.alarms.find((a) => a.id === 'db/disk').state, 'firing', 'alpha untouched');
  const rows = await until('the window shows beta acked', async () => {
    const r = await diskRows();
    return r.find(([server, , state]) => server === 'launch-2' && state === 'acknowledged') ? r : null;
  });
  assert.equal(rows.find(([server]) => server === 'launch')[2], 'firing');
});

test('a hub that stops shows as reconnecting, by name; the other stays live', async () => {
  beta.stop();
  const text = await until('the banner names beta', () =>
    page(`const b = document.querySelector('.conn-banner'); return b && !b.classList.contains('hidden') ? b.textContent : null;`),
  );
  assert.ok(text.includes(beta.addr), text);
  assert.ok(!text.includes(alpha.addr), `alpha is not said to be down: ${text}`);
  assert.match(text, /reconnect/i);
  // Alpha keeps delivering: a new alarm from it still appears.
  await alpha.api('publish', { channel: 'alarms', data: { ...alarm('info', 'Backup done on alpha'), id: 'db/backup', ts: Date.now() } });
  await until('alpha alarm after beta stopped', () => page(`return !!document.querySelector('.alarm[data-id="db/backup"][data-server="launch"]');`));
  const greyed = await page(`return Array.from(document.querySelectorAll('.alarm.stale')).map((r) => r.dataset.server);`);
  assert.deepEqual([...new Set(greyed)], ['launch-2'], "only beta's alarms are greyed");
  await session.screenshot('e2e-servers-one-down');
});
