// Desktop UI benchmark: the real app (tauri-driver + WebKitWebDriver, under
// Xvfb) in three scenarios, measuring the CPU of the app process plus its
// WebKitWebProcess, the web process' memory, and the UI's own frame times
// (`__telltale.perf()`). Figures only: nothing here fails on a target; each
// figure is printed with its target and "met" / "not met".
//
//   make bench-ui        (writes the "Desktop UI" section of docs/benchmarks.md)
//   TELLTALE_APP=target/debug/telltale xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
//     node --experimental-websocket --no-warnings tests/e2e/ui-bench.mjs [--only idle,fleet,dense,ingest,alarms,soak] [--seconds N]
//     [--soak-minutes M] [--write FILE]      (--help for every option)
//
// Scenarios:
//   idle   the app on its embedded default (no --server: its own hub, this machine's metrics at
//          1 sample/s), window shown for N s, then hidden for N s
//   fleet  500 sources x 8 metrics at 1 sample/s through a standalone hub's API, overview shown, N s
//   dense  one source, 200 series at 100 Hz: 15 min back-dated first, then live for N s with the
//          source view open on a 15-minute window
//   ingest one source, 200 series at 500 Hz (100,000 points/s) live for N s, source view open on
//          a 1-minute window: points stored per second, lag at the start vs the end, and how old
//          the samples are when drawn (`__telltale.latency()`), publisher rate checked
//   alarms 50 critical alarms one second apart: hub API publish → Notify at a test
//          notification server (notify-server.py) on this session bus
//   soak   --soak-minutes (default 10) at 10,000 points/s (200 series at 50 Hz), RSS of the app
//          process and its web process every 5 s: growth after a warm-up, the app's highest
//
// The app should be a release build (the shipped app): `make bench-ui` builds one.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { relative, resolve } from 'node:path';
import { APP, HUB, Session, WAIT_MS, startDriver, startHub, stopAll, until } from './driver.mjs';
import { NotifyDaemon } from './notify-daemon.mjs';
import { Dense, Fleet, HOST_METRICS, Stream, alarm, names, publishSamples } from './publish.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SCENARIOS = ['idle', 'fleet', 'dense', 'ingest', 'alarms', 'soak'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    only: [...SCENARIOS],
    seconds: 60,
    write: null,
    fleetSources: 500,
    denseBackfillLimitS: 420,
    ingestSeries: 200,
    // 4 % above the 100,000 points/s target: the stored rate is read at two instants, so it
    // carries a batch or so of noise either way; an offered 100,000 would read as 99,9xx.
    ingestHz: 520,
    alarms: 50,
    alarmSpacingMs: 1000,
    soakMinutes: 10,
    soakSeries: 200,
    soakHz: 50,
  };
  const positive = (name, v, max) => {
    if (!(v > 0 && v <= max)) usage(`${name} must be a number in (0, ${max}]`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--only') {
      opts.only = value().split(',').map((s) => s.trim());
      for (const s of opts.only) if (!SCENARIOS.includes(s)) usage(`unknown scenario ${s}`);
    } else if (a === '--seconds') {
      opts.seconds = Number(value());
      if (!(opts.seconds >= 1 && opts.seconds <= 3600)) usage('--seconds must be 1…3600');
    } else if (a === '--write') opts.write = resolve(value());
    else if (a === '--sources') opts.fleetSources = Number(value());
    else if (a === '--backfill-limit') opts.denseBackfillLimitS = Number(value());
    else if (a === '--ingest-series') opts.ingestSeries = positive(a, Number(value()), 2000);
    else if (a === '--ingest-hz') opts.ingestHz = positive(a, Number(value()), 1000);
    else if (a === '--alarms') opts.alarms = Math.round(positive(a, Number(value()), 1000));
    else if (a === '--alarm-spacing') opts.alarmSpacingMs = positive(a, Number(value()), 60_000);
    else if (a === '--soak-minutes') opts.soakMinutes = positive(a, Number(value()), 240);
    else if (a === '--soak-series') opts.soakSeries = positive(a, Number(value()), 2000);
    else if (a === '--soak-hz') opts.soakHz = positive(a, Number(value()), 1000);
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  return opts;
}

function usage(error) {
  if (error) console.error(`error: ${error}`);
  console.error(
    'usage: ui-bench.mjs [--only idle|fleet|dense|ingest|alarms|soak[,…]] [--seconds N (default 60)] [--write docs/benchmarks.md]\n' +
      '                    [--sources N (fleet, default 500)] [--backfill-limit S (dense: most seconds spent back-dating, default 420)]\n' +
      '                    [--ingest-series N (default 200)] [--ingest-hz HZ (default 520)]\n' +
      '                    [--alarms N (default 50)] [--alarm-spacing MS (default 1000)]\n' +
      '                    [--soak-minutes M (default 10; e.g. 1 for a quick check)] [--soak-series N (default 200)] [--soak-hz HZ (default 50)]',
  );
  process.exit(error ? 2 : 0);
}

// ---------------------------------------------------------------- /proc

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const PAGE_KIB = 4;

/** pid, comm, ppid, utime + stime (ticks) of a process, or null. */
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' '); // f[0] = state (field 3)
    return { pid, comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssKiB: Number(f[21]) * PAGE_KIB };
  } catch {
    return null;
  }
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** RSS, PSS and private (unshared) memory of a process in MiB, from /proc/PID/smaps_rollup; NaN when unreadable. */
function memOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rss: kb('Rss') / 1024, pss: kb('Pss') / 1024, private: (kb('Private_Clean') + kb('Private_Dirty')) / 1024 };
  } catch {
    return { rss: NaN, pss: NaN, private: NaN };
  }
}

/** Every live process below `root`. */
function descendants(root) {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => stat(Number(d)))
    .filter(Boolean);
  const children = new Map();
  for (const p of all) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const out = [];
  const queue = [root];
  while (queue.length) {
    for (const c of children.get(queue.shift()) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

const measuredApps = new Set();

/** The app (a descendant of this process, through tauri-driver and WebKitWebDriver) and its web process. */
async function findProcesses() {
  const found = await until('the app and its WebKitWebProcess', () => {
    const app = descendants(process.pid).find((p) => p.comm === 'telltale' && !measuredApps.has(p.pid));
    if (!app) return null;
    const below = descendants(app.pid);
    const web = below.find((p) => p.comm.startsWith('WebKitWebProces'));
    return web ? { app: app.pid, web: web.pid, network: below.find((p) => p.comm.startsWith('WebKitNetworkPr'))?.pid } : null;
  });
  measuredApps.add(found.app);
  return found;
}

/** CPU of `pids` over what happens in `during()`: % of one core each, from utime + stime deltas. */
async function cpuOver(pids, during) {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, stat(pid)?.ticks ?? NaN]));
  const extra = await during();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = {};
  for (const [k, pid] of Object.entries(pids)) cpu[k] = (((stat(pid)?.ticks ?? NaN) - before[k]) / CLK_TCK / seconds) * 100;
  return { cpu, seconds, extra };
}

// ---------------------------------------------------------------- the page

/** `__telltale.perf()`, or null when this build has none. */
function perf(session) {
  return session.page(`const t = window.__telltale; return t && typeof t.perf === 'function' ? t.perf() : null;`).catch(() => null);
}

async function call(session, method, ...args) {
  return session.page(
    `const [m, args] = arguments; const t = window.__telltale; if (!t || typeof t[m] !== 'function') return false; t[m](...args); return true;`,
    [method, args],
  );
}

/** The lagged counter of the diagnostics panel, when the UI shows one. */
const diagnostics = (session) => session.page(`return document.querySelector('details.diag summary')?.textContent?.trim() ?? null;`).catch(() => null);

/** Newest and oldest drawn sample over the charts of the open source, and their points. */
const charts = (session) =>
  session.page(`
    const cards = Array.from(document.querySelectorAll('section.chart, .card.chart'));
    const num = (v) => (v === undefined || v === '' ? NaN : Number(v));
    const last = cards.map((c) => num(c.dataset.last)).filter(Number.isFinite);
    const first = cards.map((c) => num(c.dataset.first)).filter(Number.isFinite);
    const points = cards.map((c) => num(c.dataset.points)).filter(Number.isFinite);
    return { cards: cards.length, last: last.length ? Math.max(...last) : null, first: first.length ? Math.min(...first) : null,
             points: points.length ? Math.max(...points) : 0, now: Date.now() };`);

const visibility = (session) => session.page(`return document.visibilityState;`).catch((e) => `unknown (${e.message.slice(0, 60)})`);

// ---------------------------------------------------------------- scenarios

const fmt = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const verdict = (v, limit) => (Number.isFinite(v) ? (v <= limit ? 'met' : 'not met') : 'not measured');

/** The dense scenario's frame-time verdict, with what sets the figure when it is missed. */
function denseFrameVerdict(p99) {
  const v = verdict(p99, 50);
  if (v !== 'not met') return v;
  return 'not met: a frame draws at least one chart, and one chart of 20 series over the 15-minute window (two rows per pixel) is about 20 ms of canvas strokes; frame times count that work since charts draw inside their render (before, it ran after the frame was timed)';
}

function perfCells(p) {
  if (!p) return { p99: NaN, text: 'n/a (this build has no `__telltale.perf()`)' };
  return { p99: Number(p.p99), text: `p50 ${fmt(Number(p.p50))} / p99 ${fmt(Number(p.p99))} / max ${fmt(Number(p.max))} ms over ${p.frames} frames` };
}

async function settle(session, ms) {
  await until('the window', () => session.page(`return !!window.__telltale;`), 60_000);
  await sleep(ms);
}

async function idle(driverUrl, opts, out) {
  const session = await Session.open(driverUrl, []);
  try {
    const pids = await findProcesses();
    await settle(session, 5000);
    const view = await session
      .page(`const o = document.querySelector('main.overview'); const d = document.querySelector('main.dash');
        if (o && !o.classList.contains('hidden')) return 'the fleet overview (' + o.dataset.count + ' tile(s))';
        return d ? 'the source view of ' + (d.dataset.source || '?') : 'no overview / source view found';`)
      .catch(() => 'unknown');
    const shown = await cpuOver({ app: pids.app, web: pids.web }, () => sleep(opts.seconds * 1000));
    const shownPerf = await perf(session);
    const shownRss = rssMiB(pids.web);
    // Hide the window: WebDriver minimise first; without a window manager (bare Xvfb) that may
    // leave the page visible, then `xdotool windowunmap` when it is installed.
    let how = 'WebDriver minimize';
    await session.minimize().catch((e) => (how += ` (failed: ${e.message.slice(0, 80)})`));
    await sleep(1000);
    let vis = await visibility(session);
    if (vis !== 'hidden' && spawnSync('xdotool', ['--version']).status === 0) {
      const ids = spawnSync('xdotool', ['search', '--onlyvisible', '--pid', String(pids.app)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      for (const id of ids) spawnSync('xdotool', ['windowunmap', id]);
      how = `xdotool windowunmap (WebDriver minimize left the page ${vis})`;
      await sleep(1000);
      vis = await visibility(session);
    }
    await sleep(2000);
    const framesBefore = (await perf(session))?.frames;
    const hidden = await cpuOver({ app: pids.app, web: pids.web }, () => sleep(opts.seconds * 1000));
    const hiddenPerf = await perf(session);
    const shownSum = shown.cpu.app + shown.cpu.web;
    const hiddenSum = hidden.cpu.app + hidden.cpu.web;
    const sp = perfCells(shownPerf);
    out.push({
      scenario: 'idle',
      title: `Idle, embedded default (no --server), window shown, ${opts.seconds} s`,
      rows: [
        [`CPU, app + web process (% of one core)`, `${fmt(shownSum)} (app ${fmt(shown.cpu.app)} + web ${fmt(shown.cpu.web)})`, '≤ 3 %', verdict(shownSum, 3)],
        ['Web process RSS at the end (MiB)', fmt(shownRss, 0), '', ''],
        ['Frame time (`__telltale.perf()`)', sp.text, '', ''],
      ],
      more: [
        {
          title: `Idle, window hidden (${how}; page visibilityState "${vis}"), ${opts.seconds} s`,
          rows: [
            [`CPU, app + web process (% of one core)`, `${fmt(hiddenSum)} (app ${fmt(hidden.cpu.app)} + web ${fmt(hidden.cpu.web)})`, '≤ 1 %', verdict(hiddenSum, 1)],
            ['Web process RSS at the end (MiB)', fmt(rssMiB(pids.web), 0), '', ''],
            ['Frames rendered while hidden', hiddenPerf && Number.isFinite(framesBefore) ? String(hiddenPerf.frames - framesBefore) : 'n/a', '', ''],
          ],
        },
      ],
      notes: [`window showing ${view}; hidden by: ${how}; document.visibilityState afterwards: ${vis}`],
    });
  } finally {
    await session.quit();
  }
}

async function fleet(driverUrl, opts, out) {
  const n = opts.fleetSources;
  const hub = await startHub(['--allow-anonymous', '--anonymous-ack']);
  const publisher = new Fleet(hub, { sources: names(n), metrics: HOST_METRICS, maxMs: (opts.seconds + 600) * 1000 }).start();
  const session = await Session.open(driverUrl, ['--server', hub.ws]);
  try {
    const pids = await findProcesses();
    await settle(session, 0);
    // Every source on screen: the overview's count, or (older UI) one element per source.
    const discoveredIn = Date.now();
    const shownSources = () =>
      session.page(`const o = document.querySelector('main.overview');
        return o ? Number(o.dataset.count || 0) : new Set(Array.from(document.querySelectorAll('[data-source]')).map((e) => e.dataset.source)).size;`);
    let seen = 0;
    await until(`${n} sources on screen`, async () => (seen = await shownSources()) >= n, 90_000).catch(() => {});
    const discoverSeconds = (Date.now() - discoveredIn) / 1000;
    const overview = await call(session, 'showOverview');
    await sleep(5000);
    const perf0 = await perf(session);
    const rss0 = rssMiB(pids.web);
    const stats0 = { ...publisher.stats };
    const m = await cpuOver({ app: pids.app, web: pids.web }, () => sleep(opts.seconds * 1000));
    const perf1 = await perf(session);
    const rss1 = rssMiB(pids.web);
    const diag = await diagnostics(session);
    // Lag: open one source and compare its newest drawn sample with the clock.
    let lag = NaN;
    const first = names(n)[0];
    if ((await call(session, 'openSource', first)) || (await session.click(`[data-source="${first}"]`).then(() => true, () => false))) {
      await sleep(2500);
      const c = await charts(session);
      if (c.last) lag = (c.now - c.last) / 1000;
    }
    const sum = m.cpu.app + m.cpu.web;
    const frames = perf1 && perf0 ? perf1.frames - perf0.frames : NaN;
    const p = perfCells(perf1);
    const published = publisher.stats.published - stats0.published;
    out.push({
      scenario: 'fleet',
      title: `${n} sources × ${HOST_METRICS.length} metrics at 1 sample/s, standalone hub, overview shown, ${opts.seconds} s`,
      rows: [
        [`CPU, app + web process (% of one core)`, `${fmt(sum)} (app ${fmt(m.cpu.app)} + web ${fmt(m.cpu.web)})`, '≤ 25 %', verdict(sum, 25)],
        ['Web process RSS at the end (MiB)', `${fmt(rss1, 0)} (${fmt(rss0, 0)} when the measurement started)`, '≤ 400 MiB', verdict(rss1, 400)],
        ['Frame time (`__telltale.perf()`)', p.text, '', ''],
        ['Frames rendered during the measurement (per s)', Number.isFinite(frames) ? `${frames} (${fmt(frames / m.seconds)} /s)` : 'n/a', '', ''],
        ['Lag: clock − newest drawn sample of one source, opened afterwards (s)', fmt(lag, 2), 'no growing backlog', Number.isFinite(lag) ? (lag <= 3 ? 'met' : 'not met') : 'not measured'],
      ],
      notes: [
        `${seen} of ${n} sources on screen ${fmt(discoverSeconds, 0)} s after the window opened; __telltale.showOverview ${overview ? 'called' : 'not available in this build'}`,
        `publisher: ${published} samples in the measurement (${fmt(published / m.seconds, 0)} /s), ${publisher.stats.errors} refused, ticks late ${publisher.stats.late}, slowest tick ${publisher.stats.maxTickMs} ms${publisher.stats.lastFailure ? `, last failure: ${publisher.stats.lastFailure}` : ''}`,
        diag ? `diagnostics panel at the end: "${diag}"` : 'no diagnostics panel found',
      ],
    });
  } finally {
    await session.quit();
    await publisher.stop();
  }
}

async function dense(driverUrl, opts, out) {
  const source = 'dense-1';
  const windowMs = 15 * 60_000;
  // A generous API body and client queue: the benchmark is about the window, not about the
  // hub cutting a slow client (which it would with the defaults while 15 minutes arrive at once).
  const hub = await startHub(['--allow-anonymous', '--anonymous-ack', '--api-body-limit', '4194304', '--client-queue-bytes', '536870912']);
  const publisher = new Dense(hub, { source, series: 200, hz: 100, maxBytes: 1_000_000 });
  // One sample first, so that the catalog lists the source and the app subscribes before the
  // 15 minutes of back-dated samples arrive (the hub keeps only --history-size of them).
  const started = Date.now();
  const from = started - windowMs;
  await publishSamples(hub, source, [publisher.sampleAt(from - 10)]);
  const session = await Session.open(driverUrl, ['--server', hub.ws]);
  try {
    const pids = await findProcesses();
    await settle(session, 0);
    await until('the dense source on screen', () => session.page(`return !!document.querySelector('[data-source="${source}"]');`), 60_000);
    let opened = await call(session, 'openSource', source);
    if (!opened) {
      await session.click(`[data-source="${source}"]`);
      opened = 'by a click on its tab';
    }
    const windowSet = await call(session, 'setWindow', windowMs);
    // Back-dated from 15 min ago up to now, then in step with the clock: the window stays full.
    const backfillFrom = Date.now();
    publisher.run({ from, untilMs: backfillFrom + (opts.denseBackfillLimitS + opts.seconds + 120) * 1000, catchUpByMs: backfillFrom + opts.denseBackfillLimitS * 1000 });
    await until('back-dated samples published', () => publisher.stats.caughtUpAt !== undefined, (opts.denseBackfillLimitS + 30) * 1000).catch(() => {});
    const backfillSeconds = ((publisher.stats.caughtUpAt ?? Date.now()) - backfillFrom) / 1000;
    const backfilled = publisher.stats.published;
    // Let the app drain what it was sent (newest drawn sample close to the clock), bounded.
    const drainFrom = Date.now();
    await until('the charts caught up', async () => {
      const c = await charts(session);
      return c.last && c.now - c.last < 2000;
    }, 120_000).catch(() => {});
    const drainSeconds = (Date.now() - drainFrom) / 1000;
    const perf0 = await perf(session);
    const pub0 = publisher.stats.published;
    const m = await cpuOver({ app: pids.app, web: pids.web }, () => sleep(opts.seconds * 1000));
    const perf1 = await perf(session);
    const rss = rssMiB(pids.web);
    const c = await charts(session);
    const diag = await diagnostics(session);
    await publisher.stop();
    const p = perfCells(perf1);
    const frames = perf1 && perf0 ? perf1.frames - perf0.frames : NaN;
    const coverage = c.first ? (c.now - c.first) / 60_000 : NaN;
    const lag = c.last ? (c.now - c.last) / 1000 : NaN;
    const live = publisher.stats.published - pub0;
    out.push({
      scenario: 'dense',
      title: `One source, 200 series at 100 Hz, 15-minute window full, source view open, live for ${opts.seconds} s`,
      rows: [
        ['Web process RSS at the end (MiB)', fmt(rss, 0), '≤ 500 MiB', verdict(rss, 500)],
        ['Frame time (`__telltale.perf()`)', p.text, 'p99 ≤ 50 ms', denseFrameVerdict(p.p99)],
        [`CPU, app + web process (% of one core)`, `${fmt(m.cpu.app + m.cpu.web)} (app ${fmt(m.cpu.app)} + web ${fmt(m.cpu.web)})`, '', ''],
        ['Frames rendered during the measurement (per s)', Number.isFinite(frames) ? `${frames} (${fmt(frames / m.seconds)} /s)` : 'n/a', '', ''],
        ['Window drawn: minutes from the oldest drawn sample to now; points per chart', `${fmt(coverage)} min; ${c.points} points (${c.cards} charts)`, '15 min', Number.isFinite(coverage) ? (coverage >= 14.5 ? 'met' : 'not met') : 'not measured'],
        ['Lag: clock − newest drawn sample (s)', fmt(lag, 2), '', ''],
      ],
      notes: [
        `back-dated: ${backfilled} samples (${fmt(publisher.stats.bytes / 1048576, 0)} MiB of API bodies so far) in ${fmt(backfillSeconds, 0)} s${publisher.stats.skippedMs ? `; not caught up within ${opts.denseBackfillLimitS} s, ${fmt(publisher.stats.skippedMs / 1000, 0)} s of samples skipped` : ''}; the charts caught up ${fmt(drainSeconds, 0)} s later`,
        `live: ${live} samples in ${fmt(m.seconds, 0)} s (${fmt(live / m.seconds, 0)} /s), ${publisher.stats.errors} refused${publisher.stats.lastFailure ? `, failure: ${publisher.stats.lastFailure}` : ''}`,
        `source view opened ${opened === true ? 'with __telltale.openSource' : opened}; 15-min window ${windowSet ? 'set with __telltale.setWindow(900000)' : 'not set (no __telltale.setWindow in this build)'}`,
        diag ? `diagnostics panel at the end: "${diag}"` : 'no diagnostics panel found',
      ],
    });
  } finally {
    await session.quit();
    await publisher.stop();
  }
}

// ------------------------------------------------- speed targets (ingest, alarms, soak)

/** The model's counters and the draw latency rings, in one WebDriver round trip. */
const pageStats = (session) =>
  session.page(`const t = window.__telltale;
    if (!t) return null;
    return { samples: t.model?.samples ?? null, diagnostics: t.model?.diagnostics?.() ?? null,
             latency: typeof t.latency === 'function' ? t.latency() : null, perf: t.perf(), now: Date.now() };`);

/** Nearest-rank percentile of `values` (numbers), NaN when empty. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] : NaN;
}

const median = (values) => percentile(values, 0.5);
const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en') : 'n/a');
const latencyText = (l) => (l && l.count ? `p50 ${fmt(l.p50, 0)} / p99 ${fmt(l.p99, 0)} / max ${fmt(l.max, 0)} ms over ${int(l.count)} chart draws` : 'n/a (no draw recorded, or no `__telltale.latency()` in this build)');

/** Opens `source` in the source view on a `windowMs` window, once the app lists it; how it was opened. */
async function openStream(session, source, windowMs) {
  await until(`${source} on screen`, () => session.page(`return !!document.querySelector('[data-source="${source}"]');`), 60_000);
  let opened = (await call(session, 'openSource', source)) ? 'with __telltale.openSource' : null;
  if (!opened) {
    await session.click(`[data-source="${source}"]`);
    opened = 'by a click on its tab';
  }
  const windowSet = await call(session, 'setWindow', windowMs);
  return `source view opened ${opened}; ${windowMs / 60_000}-min window ${windowSet ? 'set' : 'not set (no __telltale.setWindow)'}`;
}

/**
 * A standalone hub, a publisher of `series` × `hz` points/s for `source`, and the app on that hub
 * with the source view open on a `windowMs` window; runs `measure` once the publisher has started
 * (for at most `maxMs`), then closes the app, the publisher and the hub.
 */
async function withStream(driverUrl, { source, series, hz, tickMs, windowMs, maxMs }, measure) {
  const hub = await startHub(['--allow-anonymous', '--anonymous-ack']);
  const stream = new Stream(hub, { source, series, hz, tickMs });
  // One sample first, so that the catalog lists the source when the app starts.
  const first = Date.now() - 1000;
  await publishSamples(hub, source, [{ ts: first, values: stream.values(first) }]);
  const session = await Session.open(driverUrl, ['--server', hub.ws]);
  try {
    const pids = await findProcesses();
    await settle(session, 0);
    const opened = await openStream(session, source, windowMs);
    stream.start({ maxMs });
    return await measure({ stream, session, pids, opened });
  } finally {
    await session.quit();
    await stream.stop();
    hub.stop();
  }
}

/** Target 1 and 2: `series` × `hz` points/s through hub WS → backend → IPC → charts, and how old the drawn samples are. */
async function ingest(driverUrl, opts, out) {
  const { ingestSeries: series, ingestHz: hz } = opts;
  const target = 100_000;
  const source = 'ingest-1';
  const windowMs = 60_000;
  const run = { source, series, hz, windowMs, maxMs: (opts.seconds + 120) * 1000 };
  await withStream(driverUrl, run, async ({ stream, session, pids, opened }) => {
    // The plot's width sets the redraw pace (one per pixel of time); how many charts are in view.
    const layout = await session
      .page(`const main = document.querySelector('main.dash'); const cards = Array.from(document.querySelectorAll('main.dash section.chart'));
        const view = main ? main.getBoundingClientRect() : null;
        const seen = view ? cards.filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > view.top && r.top < view.bottom; }).length : null;
        return { width: document.querySelector('main.dash .chart-body')?.clientWidth ?? null, cards: cards.length, seen };`)
      .catch(() => ({}));
    const warmupS = Math.min(10, Math.max(3, opts.seconds / 4));
    await sleep(warmupS * 1000);
    const c0 = await charts(session);
    await call(session, 'resetLatency');
    const s0 = await pageStats(session);
    const pub0 = stream.stats.published;
    const m = await cpuOver({ app: pids.app, web: pids.web }, () => sleep(opts.seconds * 1000));
    const s1 = await pageStats(session);
    const c1 = await charts(session);
    const pub1 = stream.stats.published;
    const publisherRate = ((pub1 - pub0) / m.seconds) * series;
    await stream.stop();
    // Everything published reaches the store? Bounded wait after the publisher stopped.
    const published = stream.stats.published + 1;
    let stored = NaN;
    await until('every published sample stored', async () => (stored = (await pageStats(session))?.samples ?? NaN) >= published, 30_000).catch(() => {});
    const storedRate = s1 && s0 ? (((s1.samples - s0.samples) / m.seconds) * series) : NaN;
    const lag0 = c0.last ? (c0.now - c0.last) / 1000 : NaN;
    const lag1 = c1.last ? (c1.now - c1.last) / 1000 : NaN;
    const frames = s1 && s0 ? s1.perf.frames - s0.perf.frames : NaN;
    const lagged = s1?.diagnostics?.lagged ?? NaN;
    // No growing backlog: the newest drawn sample is as close to the clock at the end as at the start.
    const backlogOk = Number.isFinite(lag0) && Number.isFinite(lag1) && lag1 - lag0 <= 1;
    const ingestOk = storedRate >= target && backlogOk && publisherRate >= target;
    const newest = s1?.latency?.newest;
    const firstDrawn = s1?.latency?.firstDrawn;
    const p = perfCells(s1?.perf);
    const why = [];
    if (publisherRate < target) why.push(`the publisher reached only ${int(publisherRate)} points/s (this script, on the same 2 cores)`);
    if (storedRate < target && publisherRate >= target) why.push('the app stored fewer points than were published');
    if (!backlogOk) why.push(`the lag grew from ${fmt(lag0, 2)} s to ${fmt(lag1, 2)} s`);
    out.push({
      scenario: 'ingest',
      title: `Ingest: one source, ${series} series at ${hz} Hz (${int(series * hz)} points/s) through a standalone hub, source view open on a 1-minute window, ${opts.seconds} s`,
      rows: [
        [
          'Points stored by the UI per second (hub WS → backend → IPC → charts)',
          `${int(storedRate)} (publisher: ${int(publisherRate)})`,
          '≥ 100,000 points/s, no growing backlog',
          (Number.isFinite(storedRate) ? (ingestOk ? 'met' : 'not met') : 'not measured') + (why.length ? `: ${why.join('; ')}` : ''),
        ],
        ['Lag: clock − newest drawn sample, at the start → at the end of the measurement (s)', `${fmt(lag0, 2)} → ${fmt(lag1, 2)}`, 'not growing', Number.isFinite(lag1) ? (backlogOk ? 'met' : 'not met') : 'not measured'],
        [
          'Publish → newest point drawn (`__telltale.latency().newest`)',
          latencyText(newest),
          'p99 ≤ 100 ms',
          verdict(Number(newest?.p99), 100) +
            (Number(newest?.p99) > 100
              ? `: the web process' main thread is busy (${fmt(m.cpu.web, 0)} % of a core): a stream batch waits there behind chart redraws (once a pixel of time has passed, each chart on screen strokes its 20 series again; decimating the ${int(windowMs / 1000 * hz)} rows of its window is incremental, see ui/src/data/window-rows.ts)`
              : ''),
        ],
        ['Publish → oldest newly drawn point (`firstDrawn`: adds the wait for the next redraw)', latencyText(firstDrawn), '', ''],
        ['Frames rendered during the measurement (per s)', Number.isFinite(frames) ? `${frames} (${fmt(frames / m.seconds)} /s)` : 'n/a', '', ''],
        ['Frame time (`__telltale.perf()`)', p.text, '', ''],
        [`CPU, app + web process (% of one core)`, `${fmt(m.cpu.app + m.cpu.web)} (app ${fmt(m.cpu.app)} + web ${fmt(m.cpu.web)})`, '', ''],
        ['App (backend) RSS / web process RSS at the end (MiB)', `${fmt(rssMiB(pids.app), 0)} / ${fmt(rssMiB(pids.web), 0)}`, '', ''],
      ],
      notes: [
        `publisher: ${int(stream.stats.published)} samples of ${series} values in ${int(stream.stats.requests)} \`/api/batch\` requests (${fmt(stream.rate(), 0)} samples/s over its run; ${int(publisherRate)} points/s during the measurement), ${stream.stats.errors} refused, ${stream.stats.late} ticks overrun, slowest request ${stream.stats.maxRequestMs} ms, ${stream.stats.behind} due samples unsent at the stop${stream.stats.lastFailure ? `, failure: ${stream.stats.lastFailure}` : ''}`,
        `each request carries the samples due since the previous one; the newest is stamped with the time the request was built (its publish time), the others ${fmt(1000 / hz)} ms apart before it, so latencies are measured from publication (or a little before it)`,
        `after the publisher stopped: ${int(stored)} of ${int(published)} published samples stored by the UI; samples dropped by the backend bridge (diagnostics "lagged"): ${Number.isFinite(lagged) ? lagged : 'n/a'}`,
        `latency: one record per chart draw that drew a new sample (${layout.cards ?? '?'} charts of 20 series, ${layout.seen ?? '?'} of them in view when the measurement started), now − sample ts after the draw; rings of the last 4,096 draws, reset ${warmupS} s after the publisher started; a chart redraws once a pixel of time passes (plots ${layout.width ?? '?'} px wide: ${layout.width ? fmt(windowMs / layout.width, 0) : '?'} ms on a 1-minute window), so a sample can wait up to that for its first draw (\`firstDrawn\`), while the newest point on screen is what \`newest\` measures`,
        `lag = Date.now() − the last x drawn by the charts (\`data-last\`), read through WebDriver`,
        opened,
        s1?.diagnostics ? `diagnostics at the end: ${JSON.stringify(s1.diagnostics)}` : 'no diagnostics read',
      ],
    });
  });
}

/** Target 3: alarm publish (HTTP API) → Notify arriving at the test notification server on the session bus. */
async function alarms(driverUrl, opts, out) {
  const count = opts.alarms;
  const spacingMs = opts.alarmSpacingMs;
  const daemon = await NotifyDaemon.start();
  const hub = await startHub(['--allow-anonymous', '--anonymous-ack']);
  const session = await Session.open(driverUrl, ['--server', hub.ws]);
  const publish = async (i) => {
    const at = Date.now();
    const title = `Bench alarm ${i}`;
    await hub.api('publish', { channel: 'alarms', data: alarm(`bench${i}`, 'latency', 'critical', { title, ts: at, value: 99 }) });
    const note = await daemon.note(title).catch(() => null);
    return { at, note, latency: note ? note.at - at : NaN };
  };
  try {
    await settle(session, 0);
    await until('live connection state', () => session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`), 60_000);
    // The first note opens the app's D-Bus connection and asks the server's capabilities: not counted.
    const warm = await publish(0);
    const latencies = [];
    let missing = 0;
    for (let i = 1; i <= count; i++) {
      const slot = Date.now() + spacingMs;
      const r = await publish(i);
      if (r.note) latencies.push(r.latency);
      else missing += 1;
      await sleep(Math.max(0, slot - Date.now()));
    }
    const p50 = percentile(latencies, 0.5);
    const p99 = percentile(latencies, 0.99);
    out.push({
      scenario: 'alarms',
      title: `Alarm publish → D-Bus Notify: ${count} critical alarms, one every ${spacingMs} ms, each a new alarm id`,
      rows: [
        [
          'Latency: hub API publish → Notify received by the notification server (ms)',
          latencies.length ? `p50 ${fmt(p50, 0)} / p99 ${fmt(p99, 0)} / max ${fmt(Math.max(...latencies), 0)} over ${latencies.length} notes` : 'n/a',
          'p99 ≤ 200 ms',
          verdict(p99, 200) + (missing ? `: ${missing} of ${count} alarms got no note within ${WAIT_MS / 1000} s` : ''),
        ],
        ['First note (opens the D-Bus connection, asks the capabilities; not counted above) (ms)', fmt(warm.latency, 0), '', ''],
      ],
      notes: [
        'publish time = Date.now() just before the HTTP `/api/publish` request of this script; arrival = the server\'s clock when its Notify handler ran (tests/e2e/notify-server.py on this run\'s dbus-run-session bus); one machine, one clock',
        `the app has no rate limit on notes: one note per firing of each alarm (flap hold and repeats apply per alarm id; see src-tauri/src/notifications/policy.rs), and notes go out in order on one D-Bus connection. Each alarm here is a new id, published after the previous note arrived and at least ${spacingMs} ms after the previous publish: single firings, nothing queued behind another`,
      ],
    });
  } finally {
    await session.quit();
    hub.stop();
    await daemon.stop();
  }
}

/** Target 4: `soakMinutes` at `soakSeries` × `soakHz` points/s; RSS of the app process and its web process over time. */
async function soak(driverUrl, opts, out) {
  const { soakSeries: series, soakHz: hz } = opts;
  const durationS = opts.soakMinutes * 60;
  const warmupS = Math.min(120, Math.max(10, durationS * 0.2));
  const everyMs = 5000;
  const source = 'soak-1';
  const run = { source, series, hz, tickMs: 20, windowMs: 5 * 60_000, maxMs: (durationS + 120) * 1000 };
  await withStream(driverUrl, run, async ({ stream, session, pids, opened }) => {
    const begin = Date.now();
    const samples = [];
    // What the UI's own sample store holds (series.ts' accounting): bounded by design, unlike the JS heap's garbage.
    const storeMiB = () => session.page(`return window.__telltale?.model?.metrics?.bytes?.() ?? null;`).then((b) => (b === null ? NaN : b / 1048576), () => NaN);
    let storeAtWarmup = NaN;
    const m = await cpuOver({ app: pids.app, web: pids.web }, async () => {
      while (Date.now() - begin < durationS * 1000) {
        if (Number.isNaN(storeAtWarmup) && Date.now() - begin >= warmupS * 1000) storeAtWarmup = await storeMiB();
        samples.push({ t: (Date.now() - begin) / 1000, app: rssMiB(pids.app), web: rssMiB(pids.web) });
        await sleep(Math.min(everyMs, Math.max(0, begin + durationS * 1000 - Date.now())));
      }
      samples.push({ t: (Date.now() - begin) / 1000, app: rssMiB(pids.app), web: rssMiB(pids.web) });
    });
    const appMem = memOf(pids.app);
    const storeAtEnd = await storeMiB();
    const s1 = await pageStats(session).catch(() => null);
    const c1 = await charts(session).catch(() => ({}));
    await stream.stop();
    // Baseline: the first 30 s after the warm-up; end: the last 30 s (medians: one sample is noise).
    const after = samples.filter((x) => x.t >= warmupS);
    const base = after.filter((x) => x.t < warmupS + 30);
    const end = after.filter((x) => x.t > durationS - 30);
    const growth = (k) => (median(end.map((x) => x[k])) / median(base.map((x) => x[k])) - 1) * 100;
    const gApp = growth('app');
    const gWeb = growth('web');
    const maxApp = Math.max(...after.map((x) => x.app));
    // The floor: the lowest reading (just after a collection) in the first and the last third
    // after the warm-up. Unlike the medians it does not depend on where the collector's
    // sawtooth happens to be, so it tells retained memory from garbage not yet collected.
    const third = Math.max(1, Math.floor(after.length / 3));
    const floor = (part) => Math.min(...part.map((x) => x.web));
    const floorFirst = floor(after.slice(0, third));
    const floorLast = floor(after.slice(-third));
    const toMB = (mib) => (mib * 1048576) / 1e6;
    const lag = c1?.last ? (c1.now - c1.last) / 1000 : NaN;
    const minutes = samples.filter((x, i) => i === 0 || Math.floor(x.t / 60) !== Math.floor(samples[i - 1].t / 60) || i === samples.length - 1);
    out.push({
      scenario: 'soak',
      title: `Soak: ${opts.soakMinutes} min at ${int(series * hz)} points/s (one source, ${series} series at ${hz} Hz), source view open on a 5-minute window`,
      rows: [
        ['App (backend) RSS growth after the warm-up (%)', `${fmt(gApp)} (${fmt(median(base.map((x) => x.app)), 1)} → ${fmt(median(end.map((x) => x.app)), 1)} MiB)`, '≤ 5 %', verdict(gApp, 5)],
        [
          'Web process RSS growth after the warm-up (%)',
          `${fmt(gWeb)} (${fmt(median(base.map((x) => x.web)), 0)} → ${fmt(median(end.map((x) => x.web)), 0)} MiB; lowest / highest after the warm-up ${fmt(Math.min(...after.map((x) => x.web)), 0)} / ${fmt(Math.max(...after.map((x) => x.web)), 0)} MiB)`,
          '≤ 5 %',
          verdict(gWeb, 5) +
            (gWeb > 5 ? `: the UI's sample store grew from ${fmt(storeAtWarmup, 1)} to ${fmt(storeAtEnd, 1)} MiB (bounded by design); the rest is WebKit's JS heap and allocator, which hold garbage (each stream batch arrives as new objects; each redraw's canvas paths are JavaScript arrays, see ui/src/ui/recorded-path.ts) until a collection and return memory lazily: see the floor below and the readings by minute` : ''),
        ],
        [
          'Web process RSS floor: lowest reading in the first → the last third after the warm-up (MiB)',
          `${fmt(floorFirst, 0)} → ${fmt(floorLast, 0)} (${fmt((floorLast / floorFirst - 1) * 100)} %)`,
          '',
          '',
        ],
        [
          'App (backend) RSS, highest after the warm-up (MB)',
          `${fmt(toMB(maxApp), 1)} (${fmt(maxApp, 1)} MiB; at the end: PSS ${fmt(appMem.pss, 1)} MiB, private ${fmt(appMem.private, 1)} MiB)`,
          '≤ 80 MB',
          verdict(toMB(maxApp), 80) +
            (toMB(maxApp) > 80 ? `: RSS counts every resident page of the shared libraries mapped in the app process (Tauri runs the WebKitGTK UI side, GTK and, under Xvfb, Mesa's llvmpipe with libLLVM in it); the part of them that is the app's alone (private) is ${fmt(appMem.private, 0)} MiB, its proportional share (PSS) ${fmt(appMem.pss, 0)} MiB` : ''),
        ],
        [`CPU, app + web process (% of one core)`, `${fmt(m.cpu.app + m.cpu.web)} (app ${fmt(m.cpu.app)} + web ${fmt(m.cpu.web)})`, '', ''],
        ['Lag at the end: clock − newest drawn sample (s)', fmt(lag, 2), '', ''],
      ],
      notes: [
        `RSS = VmRSS from /proc/PID/status every ${everyMs / 1000} s (${samples.length} readings); warm-up ${fmt(warmupS, 0)} s; growth = median of the last 30 s over the median of the 30 s after the warm-up`,
        `the UI's sample store (\`model.metrics.bytes()\`): ${fmt(storeAtWarmup, 1)} MiB after the warm-up, ${fmt(storeAtEnd, 1)} MiB at the end; the rest of the web process' RSS is WebKit's (JS heap with its garbage until a collection, caches, compositing)`,
        `RSS by minute (app / web, MiB): ${minutes.map((x) => `${fmt(x.t / 60, 1)} min ${fmt(x.app, 0)}/${fmt(x.web, 0)}`).join(', ')}`,
        `publisher: ${int(stream.stats.published)} samples (${fmt(stream.rate() * series, 0)} points/s), ${stream.stats.errors} refused, slowest request ${stream.stats.maxRequestMs} ms; UI stored ${int(s1?.samples)} samples${s1?.diagnostics ? `; diagnostics: ${JSON.stringify(s1.diagnostics)}` : ''}`,
        opened,
      ],
    });
  });
}

// ---------------------------------------------------------------- report

function machine() {
  const osRelease = existsSync('/etc/os-release') ? /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
  const webkit = spawnSync('sh', ['-c', "dpkg-query -W -f '${Version}' libwebkit2gtk-4.1-0 2>/dev/null"], { encoding: 'utf8' }).stdout.trim();
  return [
    `CPUs (nproc): ${os.availableParallelism?.() ?? os.cpus().length}`,
    `CPU model: ${os.cpus()[0]?.model ?? 'unknown'}`,
    `Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `OS: ${osRelease ?? os.type()}, kernel ${os.release()}`,
    `Node: ${process.version}${webkit ? `; WebKitGTK (libwebkit2gtk-4.1-0): ${webkit}` : ''}`,
    `Display: Xvfb ${process.env.DISPLAY ?? '(no DISPLAY)'}, 1280×800×24, no window manager`,
    `App: ${relative(ROOT, APP)}; hub: ${relative(ROOT, HUB)} (${/\/release\//.test(APP) ? 'release builds, as shipped' : /\/debug\//.test(APP) ? 'debug builds, as `make build` makes them' : 'as given'})`,
    `1-minute load average when the run started: ${os.loadavg()[0].toFixed(2)} (a shared machine: other work competes for the same cores)`,
  ];
}

function section(results, opts, command, started) {
  const lines = ['## Desktop UI', ''];
  lines.push(
    `The desktop app (a real window under Xvfb, driven through tauri-driver + WebKitWebDriver) measured by \`tests/e2e/ui-bench.mjs\` on ${started.toISOString().slice(0, 10)}, ${opts.seconds} s per measurement. Figures only: nothing fails on a target. Generated section: rerun the command below to refresh it (\`make bench\` rewrites only its own sections and keeps this one); a run with \`--only\` replaces only its scenarios' tables and says when and how they were measured.`,
    '',
    '- *CPU* = (utime + stime) deltas from /proc/PID/stat of the app process and of its WebKitWebProcess (a descendant of the app), summed, over the measurement, in % of one core.',
    '- *RSS* = VmRSS of the WebKitWebProcess at the end. *Frame time* = `__telltale.perf()` read at the end: the time the UI spends rendering one frame (p50 / p99 / max over its last 1,000 rendered frames, so possibly including frames from before the measurement), not the time it spends taking in data; *frames rendered* per second tells whether the page keeps up.',
    '- Publishers (node, this script) and a standalone hub are not counted.',
    `- *Ingest*: points stored by the UI's store per second (\`__telltale.model.samples\` × series), over the measurement; *publish → drawn* = \`__telltale.latency()\`: after each chart draw that drew a new sample, now − the newest drawn sample's ts (the publisher stamps a request's newest sample with the time it sends it), p50 / p99 / max over the measurement (rings of the last 4,096 draws). *Alarms*: Date.now() before the HTTP publish → the Notify call's arrival at tests/e2e/notify-server.py on the session bus. *Soak*: VmRSS of the app process (the Rust backend with GTK and WebKit's UI side) and of its WebKitWebProcess every 5 s; growth from the 30 s after the warm-up to the last 30 s (medians). The soak lasts \`--soak-minutes\` (${opts.soakMinutes} in this run), the other measurements \`--seconds\`.`,
    '',
  );
  for (const r of results) {
    lines.push(scenarioMarker(r.scenario), '');
    for (const t of [r, ...(r.more ?? [])]) {
      lines.push(`### ${t.title}`, '', '| | measured | target | |', '|---|---|---|---|');
      for (const row of t.rows) lines.push(`| ${row.join(' | ')} |`);
      lines.push('');
    }
    for (const n of r.notes ?? []) lines.push(`- ${n}`);
    lines.push('');
  }
  for (const e of opts.errors) lines.push(`- **${e.scenario}: not measured**: ${e.error}`);
  if (opts.errors.length) lines.push('');
  lines.push('Machine:', '', ...machine().map((m) => `- ${m}`), '', 'Command:', '', '```sh', command, '```', '');
  return lines.join('\n');
}

/** The invisible line that starts a scenario's tables, so that a later `--only` run can replace them alone. */
function scenarioMarker(name) {
  return `<!-- ui-bench scenario: ${name} -->`;
}

/** The lines of `file` and where its "## Desktop UI" section starts and ends (start -1: none). */
function findSection(file) {
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Desktop UI');
  let end = start < 0 ? -1 : lines.findIndex((l, i) => i > start && /^## /.test(l));
  if (start >= 0 && end < 0) end = lines.length;
  return { doc, lines, start, end };
}

/** Replaces the "## Desktop UI" section of `file` (up to the next "## " heading), or appends it. */
function writeSection(file, text) {
  const { doc, lines, start, end } = findSection(file);
  let out;
  if (start < 0) out = `${doc.replace(/\n*$/, '')}\n\n${text}`;
  else out = [...lines.slice(0, start), ...text.replace(/\n*$/, '').split('\n'), ...(end < lines.length ? ['', ...lines.slice(end)] : [''])].join('\n');
  writeFileSync(file, out.replace(/\n*$/, '\n'));
}

/**
 * Splits the lines of a generated section into what comes before the first scenario, each
 * scenario's block (by its marker) and the footer ("Machine:" onwards).
 */
function splitScenarios(lines) {
  const footerAt = lines.findIndex((l) => l === 'Machine:');
  const body = footerAt < 0 ? lines : lines.slice(0, footerAt);
  const footer = footerAt < 0 ? [] : lines.slice(footerAt);
  const blocks = new Map();
  let head = [];
  let current = null;
  for (const l of body) {
    const m = /^<!-- ui-bench scenario: (\w+) -->$/.exec(l);
    if (m) {
      current = [l];
      blocks.set(m[1], current);
    } else if (current) current.push(l);
    else head.push(l);
  }
  return { head, blocks, footer };
}

/**
 * Replaces only the scenarios that `text` (a run with `--only`) measured in the "## Desktop
 * UI" section of `file`, each followed by a note of when and with what command it was
 * measured; the other scenarios' tables, the introduction and the full run's footer stay.
 */
function mergeScenarios(file, text, note) {
  const { lines, start, end } = findSection(file);
  if (start < 0) return writeSection(file, text);
  const old = splitScenarios(lines.slice(start, end));
  const fresh = splitScenarios(text.split('\n'));
  const missing = [...fresh.blocks.keys()].filter((k) => !old.blocks.has(k));
  if (old.blocks.size === 0) {
    throw new Error(`${file}: its "Desktop UI" section has no scenario markers (written before they existed); run every scenario once (make bench-ui) before refreshing some with --only`);
  }
  const blocks = [];
  for (const name of SCENARIOS) {
    const block = fresh.blocks.get(name) ?? old.blocks.get(name);
    if (!block) continue;
    const trimmed = [...block];
    while (trimmed.length && trimmed[trimmed.length - 1] === '') trimmed.pop();
    if (fresh.blocks.has(name)) trimmed.push(`- ${note}`);
    blocks.push(...trimmed, '');
  }
  const section = [...old.head, ...blocks, ...old.footer];
  const out = [...lines.slice(0, start), ...section, ...(end < lines.length ? lines.slice(end) : [])].join('\n');
  writeFileSync(file, out.replace(/\n*$/, '\n'));
  if (missing.length) console.error(`ui-bench: added ${missing.join(', ')} (not in the section before)`);
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  opts.errors = [];
  const started = new Date();
  const quote = (a) => (/^[\w./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  // The file written is named relative to the project, as a reader would run it.
  const args = process.argv.slice(2).map((a, i, all) => (all[i - 1] === '--write' && opts.write ? relative(ROOT, opts.write) : a));
  const node = `TELLTALE_APP=${relative(ROOT, APP)} xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- node --experimental-websocket --no-warnings tests/e2e/ui-bench.mjs ${args.map(quote).join(' ')}`.trim();
  const command = process.env.TELLTALE_BENCH_UI_COMMAND ? `${process.env.TELLTALE_BENCH_UI_COMMAND}\n# which runs:\n${node}` : node;
  const loadAtStart = os.loadavg()[0];
  const results = [];
  const driverUrl = await startDriver();
  for (const name of opts.only) {
    console.error(`ui-bench: ${name} (${opts.seconds} s per measurement) …`);
    const t = Date.now();
    try {
      await { idle, fleet, dense, ingest, alarms, soak }[name](driverUrl, opts, results);
    } catch (e) {
      console.error(`ui-bench: ${name} failed: ${e.stack ?? e}`);
      opts.errors.push({ scenario: name, error: e.message });
    }
    console.error(`ui-bench: ${name} took ${Math.round((Date.now() - t) / 1000)} s`);
  }
  const text = section(results, opts, command, started).replace(/1-minute load average when the run started: [\d.]+/, `1-minute load average when the run started: ${loadAtStart.toFixed(2)}`);
  console.log(text);
  if (opts.write) {
    const partial = opts.only.length < SCENARIOS.length;
    if (partial) {
      const when = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, 1-minute load average ${loadAtStart.toFixed(2)} at the start`;
      mergeScenarios(opts.write, text, `refreshed alone on ${when}, with \`${node}\``);
      console.error(`replaced the ${opts.only.join(', ')} tables in the "Desktop UI" section of ${relative(process.cwd(), opts.write)}`);
    } else {
      writeSection(opts.write, text);
      console.error(`wrote the "Desktop UI" section of ${relative(process.cwd(), opts.write)}`);
    }
  }
  return opts.errors.length ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  stopAll();
  // Give the process groups a moment to go, then make sure nothing is left.
  await sleep(1000);
}
process.exit(code);
