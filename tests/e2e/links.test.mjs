// End-to-end: an alarm's links (runbook, graph, ...) become buttons in its row, and a click
// opens the URL through the shell's opener plugin, which runs the system's `xdg-open`.
// Here `xdg-open` is a script first in the app's PATH that writes its argument to a file,
// so the test sees what the app asked to open without starting a browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { KEYS, Session, appHome, freePort, startDriver, startHub, stopAll, until } from './driver.mjs';

let hub;
let session;
let opened;
let base;
const page = (script, args) => session.page(script, args);

/** The URLs the fake `xdg-open` was run with, one per call. */
const openedUrls = () => (existsSync(opened) ? readFileSync(opened, 'utf8').split('\n').filter(Boolean) : []);

before(async () => {
  const bin = mkdtempSync(resolve(tmpdir(), 'telltale-e2e-opener-'));
  opened = resolve(bin, 'opened.txt');
  writeFileSync(resolve(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s\\n' "$1" >> '${opened}'\n`);
  chmodSync(resolve(bin, 'xdg-open'), 0o755);
  // Nothing listens there: the fake opener only records the URL.
  base = `http://127.0.0.1:${await freePort()}`;
  hub = await startHub();
  const env = { ...appHome().env, PATH: `${bin}:${process.env.PATH}` };
  session = await Session.open(await startDriver(env), ['--server', hub.ws]);
  await until('live connection state', () => page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
});

after(async () => {
  await session?.close('e2e-links');
  stopAll();
});

test("an alarm's links show as buttons, runbook first, and a click opens the runbook", async () => {
  const alarm = {
    id: 'e2e/disk-links',
    source: 'e2e',
    severity: 'critical',
    state: 'firing',
    title: 'Disk almost full',
    message: 'disk.used_percent = 97 % on /',
    ts: Date.now(),
    links: {
      generator: `${base}/graph?g0.expr=disk`,
      silence: `${base}/#/silences/new`,
      wiki: `${base}/wiki/disk`,
      runbook: `${base}/runbook`,
      // From whoever published the alarm: must never become something to click.
      dashboard: 'javascript:alert(document.cookie)',
      exploit: 'file:///etc/passwd',
    },
  };
  await hub.api('publish', { channel: 'alarms', data: alarm });
  const row = '.alarm[data-id="e2e/disk-links"]';
  const buttons = await until('link buttons in the row', () =>
    page(
      `const bs = [...document.querySelectorAll(arguments[0] + ' .a-links button')];
       return bs.length ? bs.map((b) => ({ name: b.dataset.link, label: b.textContent, title: b.title, tabIndex: b.tabIndex })) : null;`,
      [row],
    ),
  );
  assert.deepEqual(
    buttons.map((b) => b.label),
    ['Runbook', 'Graph', 'Silence in Alertmanager', 'Wiki'],
  );
  assert.deepEqual(
    buttons.map((b) => b.title),
    [`${base}/runbook`, `${base}/graph?g0.expr=disk`, `${base}/#/silences/new`, `${base}/wiki/disk`],
  );
  assert.ok(buttons.every((b) => b.tabIndex >= 0), 'every link button is in the tab order');
  const html = await page(`return document.querySelector(arguments[0]).innerHTML;`, [row]);
  assert.doesNotMatch(html, /javascript:|file:/, 'no trace of the other schemes in the row');

  await session.click(`${row} button[data-link="runbook"]`);
  const urls = await until('the runbook opened', () => (openedUrls().length ? openedUrls() : null));
  assert.deepEqual(urls, [`${base}/runbook`]);
  // The click opened the link only: the row was not selected through it.
  assert.equal(await page(`return document.querySelector(arguments[0]).getAttribute('aria-selected');`, [row]), 'false');
});

test('a link button works from the keyboard (focus, Enter)', async () => {
  const before = openedUrls().length;
  await page(`document.querySelector('.alarm[data-id="e2e/disk-links"] button[data-link="generator"]').focus(); return true;`);
  await session.keys(KEYS.Enter);
  const urls = await until('the graph opened', () => (openedUrls().length > before ? openedUrls() : null));
  assert.equal(urls.at(-1), `${base}/graph?g0.expr=disk`);
});

test('the shell refuses to open anything but http(s), whoever asks', async () => {
  const before = openedUrls().length;
  for (const url of ['javascript:alert(1)', 'file:///etc/passwd', 'mailto:ops@example.com']) {
    // Straight to the plugin's command, past the UI's own check: the capability must hold.
    const outcome = await page(
      `return window.__TAURI_INTERNALS__.invoke('plugin:opener|open_url', { url: arguments[0] })
         .then(() => 'opened', (e) => 'refused: ' + (typeof e === 'string' ? e : JSON.stringify(e)));`,
      [url],
    );
    assert.match(outcome, /^refused: /, `${url}: ${outcome}`);
  }
  // An allowed one through the same path does open: the refusals above are the scope's.
  const ok = await page(
    `return window.__TAURI_INTERNALS__.invoke('plugin:opener|open_url', { url: arguments[0] }).then(() => 'opened', (e) => 'refused: ' + JSON.stringify(e));`,
    [`${base}/direct`],
  );
  assert.equal(ok, 'opened');
  const urls = await until('the allowed URL opened', () => (openedUrls().length > before ? openedUrls() : null));
  assert.deepEqual(urls.slice(before), [`${base}/direct`]);
});
