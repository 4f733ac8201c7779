// Desktop UI benchmark: the real app (tauri-driver + WebKitWebDriver, under
// Xvfb) in three scenarios, measuring the CPU of the app process plus its
// WebKitWebProcess, the web process' memory, and the UI's own frame times
// (`__telltale.perf()`). Figures only: nothing here fails on a target; each
// figure is printed with its target and "met" / "not met".
//
//   make bench-ui        (writes the "Desktop UI" section of docs/benchmarks.md)
//   TELLTALE_APP=target/debug/telltale xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- \
//     node --experimental-websocket --no-warnings tests/e2e/ui-bench.mjs [--only idle|fleet|dense] [--seconds N] [--write FILE]
//
// Scenarios:
//   idle   the app on its embedded default (no --server: its own hub, this machine's metrics at
//          1 sample/s), window shown for N s, then hidden for N s
//   fleet  500 sources x 8 metrics at 1 sample/s through a standalone hub's API, overview shown, N s
//   dense  one source, 200 series at 100 Hz: 15 min back-dated first, then live for N s with the
//          source view open on a 15-minute window
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { relative, resolve } from 'node:path';
import { APP, HUB, Session, startDriver, startHub, stopAll, until } from './driver.mjs';
import { Dense, Fleet, HOST_METRICS, names, publishSamples } from './publish.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SCENARIOS = ['idle', 'fleet', 'dense'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = { only: [...SCENARIOS], seconds: 60, write: null, fleetSources: 500, denseBackfillLimitS: 420 };
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
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  return opts;
}

function usage(error) {
  if (error) console.error(`error: ${error}`);
  console.error(
    'usage: ui-bench.mjs [--only idle|fleet|dense[,…]] [--seconds N (default 60)] [--write docs/benchmarks.md]\n' +
      '                    [--sources N (fleet, default 500)] [--backfill-limit S (dense: most seconds spent back-dating, default 420)]',
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
        ['Frame time (`__telltale.perf()`)', p.text, 'p99 ≤ 50 ms', verdict(p.p99, 50)],
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
    `App: ${relative(ROOT, APP)}; hub: ${relative(ROOT, HUB)} (${/\/debug\//.test(APP) ? 'debug builds, as `make build` makes them' : 'as given'})`,
    `1-minute load average when the run started: ${os.loadavg()[0].toFixed(2)} (a shared machine: other work competes for the same cores)`,
  ];
}

function section(results, opts, command, started) {
  const lines = ['## Desktop UI', ''];
  lines.push(
    `The desktop app (a real window under Xvfb, driven through tauri-driver + WebKitWebDriver) measured by \`tests/e2e/ui-bench.mjs\` on ${started.toISOString().slice(0, 10)}, ${opts.seconds} s per measurement. Figures only: nothing fails on a target. Generated section: rerun the command below to refresh it (\`make bench\` rewrites only its own sections and keeps this one).`,
    '',
    '- *CPU* = (utime + stime) deltas from /proc/PID/stat of the app process and of its WebKitWebProcess (a descendant of the app), summed, over the measurement, in % of one core.',
    '- *RSS* = VmRSS of the WebKitWebProcess at the end. *Frame time* = `__telltale.perf()` read at the end: the time the UI spends rendering one frame (p50 / p99 / max over its last 1,000 rendered frames, so possibly including frames from before the measurement), not the time it spends taking in data; *frames rendered* per second tells whether the page keeps up.',
    '- Publishers (node, this script) and a standalone hub are not counted.',
    '',
  );
  for (const r of results) {
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

/** Replaces the "## Desktop UI" section of `file` (up to the next "## " heading), or appends it. */
function writeSection(file, text) {
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Desktop UI');
  let out;
  if (start < 0) out = `${doc.replace(/\n*$/, '')}\n\n${text}`;
  else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    out = [...lines.slice(0, start), ...text.replace(/\n*$/, '').split('\n'), ...(end < lines.length ? ['', ...lines.slice(end)] : [''])].join('\n');
  }
  writeFileSync(file, out.replace(/\n*$/, '\n'));
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  opts.errors = [];
  const started = new Date();
  const quote = (a) => (/^[\w./:=,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const node = `TELLTALE_APP=${relative(ROOT, APP)} xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- node --experimental-websocket --no-warnings tests/e2e/ui-bench.mjs ${process.argv.slice(2).map(quote).join(' ')}`.trim();
  const command = process.env.TELLTALE_BENCH_UI_COMMAND ? `${process.env.TELLTALE_BENCH_UI_COMMAND}\n# which runs:\n${node}` : node;
  const loadAtStart = os.loadavg()[0];
  const results = [];
  const driverUrl = await startDriver();
  for (const name of opts.only) {
    console.error(`ui-bench: ${name} (${opts.seconds} s per measurement) …`);
    const t = Date.now();
    try {
      await { idle, fleet, dense }[name](driverUrl, opts, results);
    } catch (e) {
      console.error(`ui-bench: ${name} failed: ${e.stack ?? e}`);
      opts.errors.push({ scenario: name, error: e.message });
    }
    console.error(`ui-bench: ${name} took ${Math.round((Date.now() - t) / 1000)} s`);
  }
  const text = section(results, opts, command, started).replace(/1-minute load average when the run started: [\d.]+/, `1-minute load average when the run started: ${loadAtStart.toFixed(2)}`);
  console.log(text);
  if (opts.write) {
    writeSection(opts.write, text);
    console.error(`wrote the "Desktop UI" section of ${relative(process.cwd(), opts.write)}`);
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
