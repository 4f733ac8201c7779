#!/usr/bin/env node
// Drives the built UI in headless Chromium over the DevTools protocol (no npm packages:
// Node 20 needs --experimental-websocket), checks a few interactions, and saves a screenshot.
//
//   npm run build && npx vite preview --host 127.0.0.1 --port 4173 &
//   node --experimental-websocket scripts/look.mjs http://127.0.0.1:4173/?mock out.png
//
// Chromium: Debian package `chromium` (/usr/bin/chromium). Exits non-zero if a check fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.argv[2] ?? 'http://127.0.0.1:4173/?mock';
const out = process.argv[3] ?? 'ui.png';
const port = 9300 + Math.floor(Math.random() * 500);
const profile = mkdtempSync(join(tmpdir(), 'tt-chromium-'));
const chrome = spawn(
  process.env.CHROMIUM ?? '/usr/bin/chromium',
  [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--hide-scrollbars', `--user-data-dir=${profile}`, '--window-size=1280,800',
    `--remote-debugging-port=${port}`, '--remote-debugging-address=127.0.0.1', 'about:blank',
  ],
  { stdio: 'ignore' },
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures++;
}

async function target() {
  for (let i = 0; i < 50; i++) {
    try {
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      const page = list.find((t) => t.type === 'page');
      if (page) return page.webSocketDebuggerUrl;
    } catch {}
    await sleep(200);
  }
  throw new Error('chromium did not come up');
}

try {
  const ws = new WebSocket(await target());
  await new Promise((r, j) => { ws.onopen = r; ws.onerror = j; });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const n = ++id;
      waiting.set(n, (m) => (m.error ? reject(new Error(`${method}: ${m.error.message}`)) : resolve(m.result)));
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  const js = async (expr) => {
    const r = await send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expr}: ${r.exceptionDetails.text}`);
    return r.result.value;
  };
  const key = async (k) => {
    await send('Input.dispatchKeyEvent', { type: 'keyDown', key: k, text: k.length === 1 ? k : undefined });
    await send('Input.dispatchKeyEvent', { type: 'keyUp', key: k });
  };

  await send('Page.enable');
  await send('Runtime.enable');
  await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 800, deviceScaleFactor: 1, mobile: false });
  await send('Page.navigate', { url });
  await sleep(2500);

  const charts = await js(`[...document.querySelectorAll('.chart')].map(c => [c.querySelector('h3').textContent, +c.dataset.points])`);
  check('charts drawn', charts.length >= 5, charts.map(([t, n]) => `${t}:${n}`).join(', '));
  const last = () => js(`+document.querySelector('.chart').dataset.last`);
  const l0 = await last();
  await sleep(2200);
  const l1 = await last();
  check('newest drawn sample advances', l1 > l0, `${l0} → ${l1}`);
  check('connection shows Live', (await js(`document.querySelector('.conn-text').textContent`)) === 'Live');

  const order = await js(`[...document.querySelectorAll('.alarm')].map(a => a.className.match(/sev-(\\w+)/)[1])`);
  const rank = { critical: 3, warning: 2, info: 1 };
  check('alarms sorted by severity', order.every((s, i) => i === 0 || rank[order[i - 1]] >= rank[s]), order.join(' > '));

  const firstId = await js(`document.querySelector('.alarm')?.dataset.id`);
  await key('j');
  await sleep(100);
  const sel = await js(`document.querySelector('.alarm.selected')?.dataset.id`);
  check('j selects the first alarm', !!sel && sel === firstId, String(sel));
  const secondId = await js(`document.querySelectorAll('.alarm')[1]?.dataset.id`);
  await key('ArrowDown');
  await sleep(100);
  const sel2 = await js(`document.querySelector('.alarm.selected')?.dataset.id`);
  check('ArrowDown moves to the second alarm', !!sel2 && sel2 === secondId, String(sel2));
  await key('a');
  await sleep(300);
  const acked = await js(`(() => { const r = document.querySelector('.alarm[data-id="${sel2}"]'); return r && [r.dataset.state, r.querySelector('.a-badge').textContent]; })()`);
  check('a acknowledges the selected alarm', acked?.[0] === 'acknowledged', JSON.stringify(acked));

  await key('1');
  await sleep(900);
  check('1 switches to the 1 min window', (await js(`document.querySelector('.seg.active').textContent`)) === '1 min');
  await key('1');
  await key('5');
  await sleep(300);
  check('1 5 switches to 15 min', (await js(`document.querySelector('.seg.active').textContent`)) === '15 min');
  await key('5');
  await sleep(300);
  check('5 switches to 5 min', (await js(`document.querySelector('.seg.active').textContent`)) === '5 min');

  await key('p');
  await sleep(200);
  const frozen = await last();
  await sleep(2200);
  const still = await last();
  check('pause freezes the charts', still === frozen && (await js(`document.querySelector('.btn.pause').textContent`)) === 'Resume', `${frozen} → ${still}`);
  await key('p');
  await sleep(1500);

  // Hover the middle of the first chart: the legend reads that sample.
  const box = await js(`(() => { const r = document.querySelector('.chart .u-over').getBoundingClientRect(); return [r.x + r.width * 0.5, r.y + r.height * 0.5]; })()`);
  await send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: box[0], y: box[1] });
  await sleep(300);
  const stamp = await js(`[document.querySelector('.chart-stamp').className, document.querySelector('.chart-stamp').textContent]`);
  check('hover readout shows the hovered time', stamp[0].includes('hover') && /^\d\d:\d\d:\d\d$/.test(stamp[1]), stamp[1]);

  if (process.env.OPEN_DIAG) await js(`document.querySelector('details.diag').open = true`);
  await sleep(200);
  const shot = await send('Page.captureScreenshot', { format: 'png' });
  writeFileSync(out, Buffer.from(shot.data, 'base64'));
  console.log(`screenshot: ${out}`);
  ws.close();
} catch (e) {
  console.error(e);
  failures++;
} finally {
  chrome.kill();
  await sleep(300);
  rmSync(profile, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
