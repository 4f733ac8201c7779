// The dashboard in a real browser: headless Chromium (chromedriver) on the page a real
// telltale-hub serves itself (--web), connected back to that hub over its WebSocket,
// anonymously. Run by `make test-web`:
//   TELLTALE_HUB_BIN=target/debug/telltale-hub node --experimental-websocket --test tests/web/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stopAll } from '../support/children.mjs';
import { hubRpc, startHub } from '../support/hub.mjs';
import { until } from '../support/wait.mjs';
import { alarm, metricsChannel, publishSamples, sample } from '../e2e/publish.mjs';
import { Browser, severe, startChromedriver } from './chromium.mjs';

// Anonymous browsers may acknowledge: the page has no token to ack with.
const HUB_ARGS = ['--allow-anonymous', '--anonymous-ack', '--web'];
const SOURCE = 'web-e2e';

/**
 * Put before the page's own scripts: records every notification the page creates, by
 * wrapping the browser's real `Notification` (the page takes the constructor at startup).
 * `real` and `permission` say what the browser itself offered.
 */
const NOTE_RECORDER = `(() => {
  const Real = window.Notification;
  const notes = { real: typeof Real === 'function', permission: typeof Real === 'function' ? Real.permission : 'none', made: [] };
  window.__notes = notes;
  if (!notes.real) return;
  window.Notification = class extends Real {
    constructor(title, options = {}) {
      super(title, options);
      notes.made.push({ title, body: options.body ?? '', tag: options.tag ?? '', requireInteraction: options.requireInteraction === true, silent: options.silent === true });
    }
  };
})();`;

let hub;
let browser;
let url;
const page = (script, args) => browser.page(script, args);
const connState = () => page(`return document.querySelector('.conn')?.dataset.state ?? null;`);
const pointsDrawn = () => page(`return Array.from(document.querySelectorAll('section.chart[data-points]'), (c) => ({ points: Number(c.dataset.points), last: Number(c.dataset.last || 0) }));`);
const publishSample = (ts, cpu) => hub.api('publish', { channel: metricsChannel(SOURCE), data: sample(ts, { 'cpu.total': cpu, 'mem.used_percent': 60 }) });
const rowState = (id) => page(`return document.querySelector('li.alarm[data-id="' + arguments[0] + '"]')?.dataset.state ?? null;`, [id]);

before(async () => {
  hub = await startHub(HUB_ARGS);
  url = `${hub.url}/`;
  browser = await Browser.open(await startChromedriver());
  await browser.beforeEveryPage(NOTE_RECORDER);
});

after(async () => {
  await browser?.quit();
  stopAll();
});

test('the hub serves the page, its script, stylesheet and icon with their content types', async () => {
  const index = await fetch(url);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html\b/);
  const html = await index.text();
  const script = /<script\b[^>]*\bsrc="([^"]+)"/.exec(html)?.[1];
  const css = /<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"/.exec(html)?.[1];
  const icon = /<link\b[^>]*\brel="icon"[^>]*\bhref="([^"]+)"/.exec(html)?.[1];
  assert.ok(script && css && icon, `index.html links a script, a stylesheet and an icon:\n${html}`);
  const js = await fetch(new URL(script, url));
  assert.equal(js.status, 200, `${script}`);
  assert.match(js.headers.get('content-type') ?? '', /^(text|application)\/javascript\b/);
  const style = await fetch(new URL(css, url));
  assert.equal(style.status, 200, `${css}`);
  assert.match(style.headers.get('content-type') ?? '', /^text\/css\b/);
  const svg = await fetch(new URL(icon, url));
  assert.equal(svg.status, 200, `${icon}`);
  assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml\b/);
});

test('the page loads without console errors and goes live on the hub that served it', async () => {
  await browser.goto(url);
  const text = await until('the connection pill live', () =>
    page(`const el = document.querySelector('.conn'); return el?.dataset.state === 'live' ? el.querySelector('.conn-text').textContent : null;`),
  );
  assert.match(text, /live/i);
  assert.equal(await page(`return typeof window.__telltale?.model;`), 'object', 'the app started (window.__telltale)');
  assert.deepEqual(severe(await browser.readLog()), [], 'no console errors while loading');
});

test('samples published through the HTTP API fill the charts of their source, its recent history first', async () => {
  // Two minutes of history before the page knows the source: it loads them when it subscribes.
  const now = Date.now();
  const history = Array.from({ length: 120 }, (_, i) => sample(now - (120 - i) * 1000, { 'cpu.total': 50 + 40 * Math.sin(i / 8), 'mem.used_percent': 30 + i / 4 }));
  const sent = await publishSamples(hub, SOURCE, history);
  assert.equal(sent.published, history.length, JSON.stringify(sent.firstError));
  // The page finds sources through the catalog (every 5 s): publish until it lists this
  // one, a sample a second as before (the charts join samples at the source's own pace).
  let ts = now;
  await until('the source in the sidebar', async () => {
    if (Date.now() - ts >= 1000) await publishSample((ts = Date.now()), 10);
    return page(`return !!document.querySelector('.side-item[data-source="${SOURCE}"]');`);
  });
  await page(`window.__telltale.openSource('${SOURCE}'); return true;`);
  await until('charts with the history drawn', async () => {
    const charts = await pointsDrawn();
    return charts.length > 0 && charts.every((c) => c.points >= history.length) ? charts : null;
  });
  // Live samples keep arriving: the newest one published is drawn.
  const newest = Math.max(ts + 1000, Date.now());
  await publishSample(newest, 20);
  await until('the newest sample drawn', async () => (await pointsDrawn()).some((c) => c.last >= newest));
});

test('an alarm published through the API appears; Ack in the page reaches the hub and another client', async () => {
  await hub.api('publish', { channel: 'alarms', data: alarm('web-e2e', 'disk', 'warning', { title: 'Disk almost full (web)', value: 97.5 }) });
  await until('the alarm row', async () => (await rowState('web-e2e/disk')) === 'firing');
  await browser.click('li.alarm[data-id="web-e2e/disk"] button.ack');
  await until('the row acknowledged', async () => (await rowState('web-e2e/disk')) === 'acknowledged');
  const seen = await until('another client sees the ack (alarms.active)', async () => {
    const reply = await hubRpc(hub, 'alarms.active', {});
    const a = reply.rpc?.data?.alarms?.find((x) => x.id === 'web-e2e/disk');
    return a?.state === 'acknowledged' ? a : null;
  });
  assert.match(seen.by ?? '', /unverified/, `an anonymous ack is recorded as unverified: ${JSON.stringify(seen)}`);
});

test('a critical alarm raises one browser notification that stays until dismissed', async () => {
  const notes = await page(`return window.__notes;`);
  assert.equal(notes?.real, true, 'Chromium offers a Notification constructor');
  assert.equal(notes.permission, 'granted', 'the profile allows notifications');
  const title = 'Database down (web)';
  await hub.api('publish', { channel: 'alarms', data: alarm('web-e2e', 'db', 'critical', { title }) });
  await until('the critical row', async () => (await rowState('web-e2e/db')) === 'firing');
  const made = await until('a notification with the alarm title', async () => {
    const all = (await page(`return window.__notes.made;`)).filter((n) => n.title === title);
    return all.length ? all : null;
  });
  assert.equal(made.length, 1, JSON.stringify(made));
  assert.equal(made[0].requireInteraction, true);
  assert.equal(made[0].silent, false);
});

test('no console errors while charts, alarms, acks and notifications ran', async () => {
  assert.deepEqual(severe([...browser.log, ...(await browser.readLog())]), []);
});

test('screenshots at 1280×800 and 390×844 (artifacts/web-1280.png, web-390.png); on the phone the charts stack and the alarms are a tab', async () => {
  for (const [name, width, height, mobile] of [
    ['web-1280', 1280, 800, false],
    ['web-390', 390, 844, true],
  ]) {
    await browser.viewport(width, height, mobile);
    // The media width, not innerWidth: a phone zooms out to show a page wider than itself.
    await until(`the page laid out for ${width} px`, () => page(`return matchMedia('(width: ${width}px)').matches;`));
    const png = readFileSync(await browser.screenshot(name));
    assert.equal(png.toString('ascii', 1, 4), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [width, height], `${name}.png size`);
  }
  // On the phone the charts stack in one column and the alarm panel is behind a tab.
  const shown = (sel) => `(() => { const el = document.querySelector('${sel}'); return !!el && el.getClientRects().length > 0; })()`;
  const layout = () => page(`const xs = [...document.querySelectorAll('section.chart')].map((c) => c.getBoundingClientRect().left);
    return { side: ${shown('.side')}, tabs: ${shown('.phone-tabs')}, chartColumns: new Set(xs).size, charts: xs.length };`);
  const phone = await layout();
  assert.deepEqual(phone, { side: false, tabs: true, chartColumns: 1, charts: phone.charts }, 'phone: one chart column, alarms behind the tab');
  assert.ok(phone.charts >= 2, 'the source view has its charts');
  await page(`document.querySelector('.phone-tab[data-tab=alarms]').click();`);
  await until('the alarm tab shows the alarm panel', () => page(`return ${shown('.side')} && !${shown('.views')};`));
  await page(`document.querySelector('.phone-tab[data-tab=views]').click();`);
  await browser.cdp('Emulation.clearDeviceMetricsOverride');
  const wide = await layout();
  assert.equal(wide.side, true, 'wide: the alarm panel beside the charts');
  assert.equal(wide.tabs, false, 'wide: no tab bar');
});

test('a hub restart is survived: reconnecting, then live, the alarms resynced, new data shown', async () => {
  await browser.readLog();
  await hub.stop('SIGKILL');
  await until('the page reconnecting', async () => (await connState()) === 'reconnecting');
  hub = await startHub(HUB_ARGS, { listen: hub.addr });
  await until('the page live again', async () => (await connState()) === 'live', 60_000);

  // The restarted hub (memory broker) knows no alarm: the page's active set follows it,
  // and what it held moves to the recent list as unknown (no resolve was seen).
  await until('the old alarm no longer active', () =>
    page(`return !document.querySelector('li.alarm[data-id="web-e2e/disk"]') && document.querySelector('li.recent[data-id="web-e2e/disk"]')?.dataset.unknown === 'true';`),
  );
  await hub.api('publish', { channel: 'alarms', data: alarm('web-e2e', 'mem', 'warning', { title: 'Memory low (web)' }) });
  await until('an alarm published after the restart', async () => (await rowState('web-e2e/mem')) === 'firing');
  // The page keys an alarm as `<hub id>\u001f<alarm id>`; this page's one hub is `web`.
  const active = await page(`return window.__telltale.model.alarms.activeSorted().map((e) => e.alarm.id);`);
  const onHub = (await hubRpc(hub, 'alarms.active', {})).rpc.data.alarms.map((a) => `web\u001f${a.id}`);
  assert.deepEqual(active.sort(), onHub.sort(), 'the page holds the hub\'s active set');

  const newest = Date.now() + 5000;
  await until('a sample published after the restart drawn', async () => {
    await publishSample(newest, 30);
    return (await pointsDrawn()).some((c) => c.last >= newest);
  });
  // Only the outage itself may be logged as an error: the WebSocket refused meanwhile.
  const errors = severe(await browser.readLog()).filter((m) => !/WebSocket connection to '[^']*\/connection\/websocket' failed/.test(m));
  assert.deepEqual(errors, []);
});
