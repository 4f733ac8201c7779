// End-to-end: the server list and the other settings, saved in the app's config dir.
// Two hubs from two entries of the settings file, labelled by their names; a change made in
// the settings view is applied at once (a server switched off leaves the window), written to
// the file, and still there after a restart; a corrupt file is moved aside, the app starts on
// defaults and says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Session, appHome, startDriver, startHub, stopAll, until } from './driver.mjs';

const OPEN = ['--allow-anonymous', '--anonymous-ack'];
let alpha;
let beta;
let home;

function entry(id, name, hub) {
  return { id, name, url: hub.ws, token: { kind: 'none' }, enabled: true };
}

async function publishSamples(hub, source) {
  const now = Date.now();
  for (let i = 0; i < 3; i++) await hub.api('publish', { channel: `metrics:${source}`, data: { ts: now - (3 - i) * 1000, values: { 'cpu.total': 20 + i } } });
}

/** The `web` tiles on screen: [server id, hub label]. */
const webTiles = (session) =>
  session.page(`return Array.from(document.querySelectorAll('.tile[data-source="web"]')).map((t) => [t.dataset.server, t.querySelector('.tile-server')?.textContent ?? '']);`);

before(async () => {
  alpha = await startHub(OPEN);
  beta = await startHub(OPEN);
  home = appHome({ embedded: false, servers: [entry('alpha', 'Alpha', alpha), entry('beta', 'Beta', beta)] });
});

after(() => stopAll());

test('two entries of the server list: both hubs followed, each labelled with its name', async () => {
  const session = await Session.open(await startDriver(home.env), []);
  try {
    await publishSamples(alpha, 'web');
    await publishSamples(beta, 'web');
    const tiles = await until('a web tile from each hub', async () => {
      const t = await webTiles(session);
      return t.length === 2 ? t : null;
    });
    assert.deepEqual(Object.fromEntries(tiles), { alpha: 'Alpha', beta: 'Beta' });
  } finally {
    await session.quit();
  }
});

test('the settings view applies and saves a change; a restart keeps it', async () => {
  let session = await Session.open(await startDriver(home.env), []);
  try {
    await publishSamples(beta, 'web');
    await until('beta tile', async () => (await webTiles(session)).some(([s]) => s === 'beta'));
    await session.click('[data-page="settings"]');
    await until('the settings view', () => session.page(`return !!document.querySelector('.server-row[data-id="beta"]');`));
    // Beta off, and the 15 min chart window.
    await session.click('.server-row[data-id="beta"] .row-actions input[type="checkbox"]');
    await session.page(`const s = Array.from(document.querySelectorAll('.settings-view select')).find((e) => Array.from(e.options).some((o) => o.value === '900'));
      s.value = '900'; s.dispatchEvent(new Event('change')); return true;`);
    await session.click('.settings-view button[type="submit"]');
    await until('beta gone from the window', async () => (await webTiles(session)).every(([s]) => s !== 'beta'));
    const saved = JSON.parse(readFileSync(resolve(home.configDir, 'settings.json'), 'utf8'));
    assert.equal(saved.chartWindowSecs, 900);
    assert.deepEqual(saved.servers.map((s) => [s.id, s.enabled]), [['alpha', true], ['beta', false]]);
  } finally {
    await session.quit();
  }
  session = await Session.open(await startDriver(home.env), []);
  try {
    const window = await until('the 15 min window after the restart', () =>
      session.page(`const b = Array.from(document.querySelectorAll('.segmented .seg.active')).map((e) => e.textContent); return b.includes('15 min') ? b : null;`),
    );
    assert.ok(window.includes('15 min'));
    await publishSamples(alpha, 'web');
    await until('alpha still followed', async () => (await webTiles(session)).some(([s]) => s === 'alpha'));
    const states = await session.page(`return window.__telltale.model.connections().map((c) => c.serverId);`);
    assert.deepEqual(states, ['alpha'], 'beta stays off');
  } finally {
    await session.quit();
  }
});

test('a corrupt settings file is moved aside; the app starts on defaults and says so', async () => {
  const broken = appHome();
  writeFileSync(resolve(broken.configDir, 'settings.json'), '{ "servers": [ not json');
  const session = await Session.open(await startDriver(broken.env), []);
  try {
    const text = await until('the banner about the settings file', () =>
      session.page(`const b = document.querySelector('.settings-problem-banner'); return b && !b.classList.contains('hidden') ? b.textContent : null;`),
    );
    assert.match(text, /could not be read/);
    const backups = readdirSync(broken.configDir).filter((f) => f.startsWith('settings.json.broken-'));
    assert.equal(backups.length, 1, `one backup: ${readdirSync(broken.configDir)}`);
    assert.equal(readFileSync(resolve(broken.configDir, backups[0]), 'utf8'), '{ "servers": [ not json', 'the old content is kept');
    assert.ok(text.includes(backups[0]), `the banner names the backup: ${text}`);
    assert.ok(!existsSync(resolve(broken.configDir, 'settings.json')) || readFileSync(resolve(broken.configDir, 'settings.json'), 'utf8') !== '{ "servers": [ not json');
    // Defaults: the embedded hub, this machine's metrics.
    await until('live on the embedded hub', () => session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
    await session.screenshot('e2e-settings-corrupt');
  } finally {
    await session.quit();
  }
});
