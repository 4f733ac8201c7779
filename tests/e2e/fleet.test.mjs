// End-to-end: the fleet overview with 100 sources. One hub, one app window
// for the whole file; 100 sources publish 3 metrics each at 1 sample/s
// through the hub's HTTP API (tests/e2e/publish.mjs), as agents would.
//
//   TELLTALE_APP=target/debug/telltale TELLTALE_ARTIFACTS=artifacts \
//   xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
//   node --experimental-websocket --no-warnings --test tests/e2e/fleet.test.mjs
//
// Screenshots: artifacts/fleet-1280.png, fleet-900.png (overview at two
// window sizes), fleet-source.png (a source view), fleet-last.png (the end).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, Session, startDriver, startHub, stopAll, until } from './driver.mjs';
import { Fleet, alarm, hostValue, names, publishSamples, sample } from './publish.mjs';

const SOURCES = names(100); // web-1…web-40, db-1…db-20, cache-1…cache-20, worker-1…worker-20
const METRICS = ['cpu.total', 'mem.used_percent', 'load.1'];
const SILENT = 'worker-20'; // stops publishing in the first test
const CRITICAL = 'db-7'; // gets a critical alarm
const LATE = 'late-1'; // appears while the app runs, with 30 s of history
/** Display order of tile states (the DOM contract): worst first. */
const RANK = { critical: 0, silent: 1, warning: 2, info: 3, ok: 4, nodata: 5 };
const byName = (a, b) => a.localeCompare(b, 'en', { numeric: true });

let hub;
let session;
let fleet;
let pausedAt;
const page = (script, args) => session.page(script, args);

/** The overview as shown: its data-count and the rendered tiles in DOM order, [source, state]. */
const overview = () =>
  page(`
    const o = document.querySelector('main.overview');
    if (!o) return null;
    const shown = (el) => el.getClientRects().length > 0;
    return {
      count: Number(o.dataset.count),
      visible: shown(o) && !o.classList.contains('hidden'),
      tiles: Array.from(o.querySelectorAll('.tile[data-source]')).filter(shown).map((t) => [t.dataset.source, t.dataset.state]),
    };`);

/** Types `text` into the fleet filter (an empty text clears it). */
async function filter(text) {
  if (text) await session.type('input.fleet-filter', text);
  else
    await page(`const i = document.querySelector('input.fleet-filter'); i.value = '';
      i.dispatchEvent(new Event('input', { bubbles: true })); i.dispatchEvent(new Event('change', { bubbles: true }));`);
}

/** Waits until the overview shows `n` tiles (data-count and rendered tiles agree); returns it. */
const overviewWith = (what, check, ms) =>
  until(
    what,
    async () => {
      const o = await overview();
      return o && o.count === o.tiles.length && check(o) ? o : null;
    },
    ms,
  );

function assertWorstFirst(tiles) {
  for (let i = 1; i < tiles.length; i++) {
    const [a, sa] = tiles[i - 1];
    const [b, sb] = tiles[i];
    assert.ok(sa in RANK && sb in RANK, `unknown tile state in ${JSON.stringify([tiles[i - 1], tiles[i]])}`);
    assert.ok(RANK[sa] < RANK[sb] || (RANK[sa] === RANK[sb] && byName(a, b) < 0), `tile ${i - 1} ${a} (${sa}) is not before tile ${i} ${b} (${sb})`);
  }
}

before(async () => {
  // No collector: exactly the 100 published sources. The hub's own silent-source alarms are
  // pushed out of the test's time (--min-stale-after 10m): the silent state checked below is
  // the window's own (15 s without a sample), not a <source>/silent alarm (critical by default).
  hub = await startHub(['--allow-anonymous', '--anonymous-ack', '--min-stale-after', '10m']);
  fleet = new Fleet(hub, { sources: SOURCES, metrics: METRICS, maxMs: 240_000 }).start();
  await until('the first samples of 100 sources', () => fleet.stats.published >= SOURCES.length);
  session = await Session.open(await startDriver(), ['--server', hub.ws]);
});

after(async () => {
  await fleet?.stop();
  await session?.close('fleet-last');
  stopAll();
});

test('the overview is the home view: one tile per source, all ok, worst first then by name', { timeout: 90_000 }, async () => {
  const o = await overviewWith('100 ok tiles', (o) => o.count === 100 && o.tiles.every(([, s]) => s === 'ok'), 60_000);
  assert.equal(o.visible, true, 'the overview is shown');
  assert.deepEqual(o.tiles.map(([s]) => s).sort(byName), [...SOURCES].sort(byName));
  assertWorstFirst(o.tiles);
  const dash = await page(`const d = document.querySelector('main.dash'); return d ? d.classList.contains('hidden') : 'missing';`);
  assert.equal(dash, true, 'the source view (main.dash) is hidden while the overview is shown');
  // From here on one source says nothing more (checked further down, while the rest runs).
  fleet.pause(SILENT);
  pausedAt = Date.now();
});

test('the sidebar lists every source and links back to the overview', { timeout: 30_000 }, async () => {
  const side = await until('the sidebar with 100 sources', async () => {
    const s = await page(`
      const nav = document.querySelector('nav.sidebar');
      return nav && { items: Array.from(nav.querySelectorAll('.side-item[data-source]')).map((e) => e.dataset.source),
        overview: !!nav.querySelector('.side-item.overview-link'), toggle: !!document.querySelector('.side-toggle') };`);
    return s && s.items.length >= 100 ? s : null;
  });
  assert.deepEqual([...new Set(side.items)].sort(byName), [...SOURCES].sort(byName));
  assert.equal(side.overview, true, '.side-item.overview-link');
  assert.equal(side.toggle, true, '.side-toggle');
});

test('typing in the filter narrows the tiles to the matching names', { timeout: 30_000 }, async () => {
  const expected = SOURCES.filter((s) => s.includes('web-1')); // web-1, web-10 … web-19
  assert.equal(expected.length, 11);
  await filter('web-1');
  const o = await overviewWith('11 tiles for "web-1"', (o) => o.count === expected.length);
  assert.deepEqual(o.tiles.map(([s]) => s).sort(byName), expected.sort(byName));
  await filter('');
  await overviewWith('100 tiles again with no filter', (o) => o.count === 100);
});

test('a critical alarm moves its source first, and is:critical finds only it', { timeout: 30_000 }, async () => {
  await hub.api('publish', { channel: 'alarms', data: alarm(CRITICAL, 'cpu', 'critical', { title: 'CPU pegged', value: 99.5 }) });
  const o = await overviewWith(`${CRITICAL} first and critical`, (o) => o.tiles[0]?.[0] === CRITICAL && o.tiles[0][1] === 'critical');
  assertWorstFirst(o.tiles);
  const row = await until('the alarm row', () => page(`return document.querySelector('li.alarm[data-id="${CRITICAL}/cpu"]')?.dataset.state ?? null;`));
  assert.equal(row, 'firing');
  await filter('is:critical');
  const critical = await overviewWith('one tile for is:critical', (o) => o.count === 1);
  assert.deepEqual(critical.tiles, [[CRITICAL, 'critical']]);
  await filter('');
  await overviewWith('100 tiles again with no filter', (o) => o.count === 100);
});

test('arrow keys move the focus between tiles and Enter opens the source', { timeout: 30_000 }, async () => {
  const o = await overview();
  const [first, second] = o.tiles.map(([s]) => s);
  await page(`document.querySelector('.tile[data-source="${first}"]').focus();`);
  assert.equal(await page(`return document.activeElement?.dataset?.source ?? null;`), first, 'a tile takes the focus');
  await session.keys(KEYS.ArrowRight);
  const focused = await until('the focus on the next tile', () => page(`return document.activeElement?.dataset?.source ?? null;`).then((s) => (s !== first ? s : null)));
  assert.equal(focused, second, 'ArrowRight moves to the next tile in display order');
  await session.keys(KEYS.Enter);
  const opened = await until(`the source view of ${second}`, () =>
    page(`const d = document.querySelector('main.dash'); return d && !d.classList.contains('hidden') ? d.dataset.source : null;`),
  );
  assert.equal(opened, second);
  const hidden = await page(`const o = document.querySelector('main.overview'); return o.classList.contains('hidden') || o.getClientRects().length === 0;`);
  assert.equal(hidden, true, 'the overview is not shown beside the source view');
  await page(`window.__telltale.showOverview();`);
  await overviewWith('the overview back', (o) => o.visible && o.count === 100);
});

test('a source that stops publishing is shown silent within 40 s, never before 12 s', { timeout: 60_000 }, async () => {
  assert.ok(pausedAt, 'the first test paused the source');
  const o = await overviewWith(`${SILENT} silent`, (o) => o.tiles.some(([s, st]) => s === SILENT && st === 'silent'), Math.max(1000, pausedAt + 40_000 - Date.now()));
  const after = (Date.now() - pausedAt) / 1000;
  assert.ok(after >= 12, `shown silent ${after.toFixed(1)} s after its last sample, before its 15 s threshold`);
  // Worst first: the critical source, then the silent one, then the 98 that are ok.
  assert.deepEqual(o.tiles.slice(0, 2), [
    [CRITICAL, 'critical'],
    [SILENT, 'silent'],
  ]);
  assertWorstFirst(o.tiles);
  const others = SOURCES.filter((s) => s !== SILENT && s !== CRITICAL);
  assert.ok(
    others.every((s) => o.tiles.find(([t]) => t === s)?.[1] === 'ok'),
    'the sources still publishing stay ok',
  );
  // Its source view says so: the charts' stamps and the banner read "no data for …".
  await page(`window.__telltale.openSource(${JSON.stringify(SILENT)});`);
  const stale = await until('"no data for" on its charts and banner', () =>
    page(`
      const d = document.querySelector('main.dash');
      if (!d || d.classList.contains('hidden') || d.dataset.source !== ${JSON.stringify(SILENT)}) return null;
      const stamps = Array.from(d.querySelectorAll('section.chart .chart-stamp')).map((e) => e.textContent.trim());
      const banner = d.querySelector('.banner')?.textContent.trim() ?? '';
      return stamps.length && stamps.every((t) => /no data for/.test(t)) && /no data for/.test(banner) ? { stamps, banner } : null;`),
  );
  assert.match(stale.banner, new RegExp(SILENT));
  await page(`window.__telltale.showOverview();`);
  await overviewWith('the overview back', (o) => o.visible && o.count === 100);
});

test('a source discovered while the app runs opens with its history in the chart', { timeout: 60_000 }, async () => {
  // 30 samples one second apart, all in the past, pushed at once; then live with the others.
  const now = Date.now();
  const firstTs = now - 30_000;
  const history = Array.from({ length: 30 }, (_, i) => {
    const ts = firstTs + i * 1000;
    return sample(ts, Object.fromEntries(METRICS.map((m) => [m, hostValue(LATE, m, ts)])));
  });
  const r = await publishSamples(hub, LATE, history);
  assert.equal(r.published, 30, JSON.stringify(r.firstError));
  fleet.add(LATE);
  await overviewWith(`the ${LATE} tile`, (o) => o.count === 101 && o.tiles.some(([s]) => s === LATE));
  await page(`window.__telltale.openSource(${JSON.stringify(LATE)});`);
  let seen;
  const charts = await until(
    `${LATE}'s charts starting with its history`,
    async () => {
      const c = await page(`
        const d = document.querySelector('main.dash');
        if (!d || d.classList.contains('hidden') || d.dataset.source !== ${JSON.stringify(LATE)}) return null;
        return Array.from(d.querySelectorAll('section.chart[data-group]')).map((c) =>
          ({ group: c.dataset.group, points: Number(c.dataset.points || 0), first: Number(c.dataset.first || NaN), last: Number(c.dataset.last || NaN) }));`);
      seen = c;
      return c && c.length && c.every((x) => x.points >= 30 && x.first <= firstTs + 1000) ? c : null;
    },
    20_000,
  ).catch(async (e) => {
    await session.screenshot('fleet-source');
    throw new Error(`${e.message}; first published ts ${firstTs}; charts seen: ${JSON.stringify(seen)}`);
  });
  for (const c of charts) assert.ok(c.last >= firstTs + 29_000, `chart ${c.group} draws up to the newest sample`);
  const banner = await page(`return document.querySelector('.dash .banner')?.textContent ?? '';`);
  assert.doesNotMatch(banner, /no data for/, 'a live source has no stale banner');
  await session.screenshot('fleet-source');
});

test('the overview at 1280×800 and at 900×600 (screenshots), without horizontal scrolling', { timeout: 30_000 }, async () => {
  await page(`window.__telltale.showOverview();`);
  for (const [width, height] of [
    [1280, 800],
    [900, 600],
  ]) {
    await session.setWindowRect({ width, height });
    const size = await until(`a ${width}×${height} window`, () =>
      page(`return [window.innerWidth, window.innerHeight];`).then(([w, h]) => (Math.abs(w - width) <= 40 && Math.abs(h - height) <= 80 ? [w, h] : null)),
    );
    await overviewWith('the overview', (o) => o.visible && o.count === 101);
    await new Promise((r) => setTimeout(r, 500)); // a frame or two at the new size
    const path = await session.screenshot(`fleet-${width}`);
    const overflow = await page(`return document.documentElement.scrollWidth - window.innerWidth;`);
    assert.ok(overflow <= 0, `${width}×${height} (inner ${size.join('×')}): the page is ${overflow} px wider than the window (${path})`);
  }
  await session.setWindowRect({ width: 1280, height: 800 });
});
