// End-to-end: the real app in a real window (Xvfb), driven through
// tauri-driver + WebKitWebDriver, against a real hub over loopback.
//
// Run by `make test-e2e` (under xvfb-run and dbus-run-session):
//   TELLTALE_APP=target/debug/telltale TELLTALE_HUB_BIN=target/debug/telltale-hub \
//   node --experimental-websocket --test tests/e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT, API_KEY, Session, hubRpc, start, startDriver, startHub, stopAll, until } from './driver.mjs';

let hub;
let session;
const api = (method, body) => hub.api(method, body);
const page = (script, args) => session.page(script, args);

/** One RPC as another client of the hub would make it. */
const rpcAsAnotherClient = (method, data) => hubRpc(hub, method, data);

function alarm(id, severity, title) {
  return { id, source: 'e2e', severity, state: 'firing', title, message: `${title} (e2e)`, ts: Date.now(), value: 97.5 };
}

before(async () => {
  hub = await startHub();
  session = await Session.open(await startDriver(), ['--server', hub.ws]);
});

after(async () => {
  await session?.close('e2e');
  stopAll();
});

test('the window connects to the hub and says so', async () => {
  const state = await until('live connection state', () =>
    page(`const el = document.querySelector('.conn'); return el && el.dataset.state === 'live' ? el.textContent : null;`),
  );
  assert.match(state, /live/i);
});

test('charts receive points and keep growing', async () => {
  // The home view is the fleet overview: open the first source to see its charts.
  await until('a source in the sidebar', () => page(`return document.querySelector('.side-item[data-source]')?.dataset.source ?? null;`));
  await page(`window.__telltale.openSource(document.querySelector('.side-item[data-source]').dataset.source); return true;`);
  const points = () =>
    page(`return Array.from(document.querySelectorAll('.card.chart')).map((c) => Number(c.dataset.points || 0));`);
  const first = await until('charts with points', async () => {
    const p = await points();
    return p.length > 0 && Math.max(...p) >= 2 ? p : null;
  });
  const later = await until('more points', async () => {
    const p = await points();
    return Math.max(...p) > Math.max(...first) ? p : null;
  });
  assert.ok(Math.max(...later) > Math.max(...first));
});

test('an alarm published through the HTTP API appears, and clicking Ack reaches the hub', async () => {
  await api('publish', { channel: 'alarms', data: alarm('e2e/disk', 'critical', 'Disk almost full') });
  await until('alarm row', () => page(`return !!document.querySelector('.alarm[data-id="e2e/disk"]');`));
  await session.click('.alarm[data-id="e2e/disk"] button.ack');
  const ack = await until('ack published on alarms', async () => {
    const history = await api('history', { channel: 'alarms', limit: 1, reverse: true });
    const last = history.result.publications[0]?.data;
    return last && last.id === 'e2e/disk' && last.state === 'acknowledged' ? last : null;
  });
  assert.equal(ack.state, 'acknowledged');
  await until('row shows acknowledged', () =>
    page(`return document.querySelector('.alarm[data-id="e2e/disk"]')?.dataset.state === 'acknowledged';`),
  );
});

test('an ack made by another client through the hub shows up in the window', async () => {
  await api('publish', { channel: 'alarms', data: alarm('e2e/cpu', 'warning', 'CPU pegged') });
  await until('second alarm row', () => page(`return !!document.querySelector('.alarm[data-id="e2e/cpu"]');`));
  const reply = await rpcAsAnotherClient('alarms.ack', { id: 'e2e/cpu' });
  assert.equal(reply.rpc?.data?.alarm?.state, 'acknowledged', JSON.stringify(reply));
  const badge = await until('acknowledged badge', () =>
    page(`const r = document.querySelector('.alarm[data-id="e2e/cpu"]'); return r && r.dataset.state === 'acknowledged' ? r.textContent : null;`),
  );
  assert.match(badge, /ACK/);
});

test('a payload that is not a Telltale sample is counted in diagnostics, and nothing breaks', async () => {
  const channel = 'metrics:e2e-src';
  // The app finds sources through the catalog every few seconds: publish
  // valid samples until the window shows the new source.
  await until('the new source in the window', async () => {
    await api('publish', { channel, data: { ts: Date.now(), values: { 'cpu.total': 5 } } });
    return page(`return !!document.querySelector('[data-source="e2e-src"]');`);
  });
  const bad = await api('publish', { channel, data: { ts: 'soon', values: { 'cpu.total': 'high' } } });
  assert.ok(bad.result.offset > 0, 'the hub relays any JSON on metrics channels');
  const summary = await until('diagnostics counting the bad payload', () =>
    page(`const s = document.querySelector('details.diag summary')?.textContent ?? ''; return s.includes('invalid') ? s : null;`),
  );
  assert.match(summary, /1 invalid/);
  const table = await page(`const d = document.querySelector('details.diag'); d.open = true; return d.textContent;`);
  assert.match(table, /metrics:e2e-src/);
  await api('publish', { channel, data: { ts: Date.now() + 1000, values: { 'cpu.total': 6 } } });
  const state = await page(`return document.querySelector('.conn').dataset.state;`);
  assert.equal(state, 'live');
});

test('two agents become two sources; a killed one is greyed as silent, never shown as healthy', async () => {
  const agent = (source) =>
    start(AGENT, ['--hub', `http://${hub.addr}`, '--key', API_KEY, '--source', source, '--interval', '500ms']);
  const one = agent('e2e-agent-1');
  agent('e2e-agent-2');
  await until('both agents in the source list', () =>
    page(`return ['e2e-agent-1', 'e2e-agent-2'].every((s) => document.querySelector('[data-source="' + s + '"]'));`),
  );
  one.kill('SIGKILL');
  await session.click('.side-item[data-source="e2e-agent-1"]');
  const banner = await until(
    'the killed agent greyed with "no data for"',
    () =>
      page(`
        const item = document.querySelector('.side-item[data-source="e2e-agent-1"]');
        const grid = document.querySelector('.chart-grid');
        const banner = document.querySelector('.dash .banner.show')?.textContent ?? '';
        return item.dataset.state === 'silent' && grid.classList.contains('silent') && banner.includes('no data for') ? banner : null;`),
    45_000,
  );
  assert.match(banner, /^e2e-agent-1: no data for \d+ s/);
  const healthy = await page(`return document.querySelector('.side-item[data-source="e2e-agent-2"]').dataset.state !== 'silent';`);
  assert.ok(healthy, 'the agent still running stays live');
});
