// End-to-end: the window over a day of use, on the real app under Xvfb.
// Closing the window (as a window manager's close button does) hides it and
// the app keeps running; launching `telltale` again exits at once with 0 and
// shows the first window; `--hidden` starts with no window shown.
//
// X11 state is read with xwininfo/xdotool; the close request is sent by
// wm-close.py (there is no window manager under bare Xvfb).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { APP, Session, startDriver, startHub, stopAll, until } from './driver.mjs';

const run = promisify(execFile);
const WM_CLOSE = resolve(import.meta.dirname, 'wm-close.py');

let hub;
let session;
const homes = [];

/** Settings, window state and autostart entries of their own, and an instance name. */
function isolated(name) {
  const home = mkdtempSync(join(tmpdir(), `telltale-${name}-`));
  homes.push(home);
  return {
    TELLTALE_INSTANCE: `${name}-${process.pid}`,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_DATA_HOME: join(home, 'data'),
  };
}

/** Ids of the X windows named Telltale… (`visible`: mapped ones only). */
async function telltaleWindows(visible) {
  const args = ['search', ...(visible ? ['--onlyvisible'] : []), '--name', '^Telltale'];
  try {
    const { stdout } = await run('xdotool', args);
    return stdout.split('\n').filter(Boolean);
  } catch (e) {
    if (e.code === 1) return []; // none found
    throw e;
  }
}

/** "IsViewable", "IsUnMapped" or "IsUnviewable". */
async function mapState(id) {
  const { stdout } = await run('xwininfo', ['-id', id]);
  return stdout.match(/Map State:\s*(\w+)/)[1];
}

/** Launches `telltale` directly (not through WebDriver); resolves with its exit code. */
function launchAgain(env, args) {
  const child = spawn(APP, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (d) => process.stderr.write(`[second telltale] ${d}`));
  const exited = new Promise((ok) => child.on('exit', (code, signal) => ok(code ?? signal)));
  return { child, exited };
}

/** The exit code of `launch`, or a failure (and a kill) if it keeps running. */
async function exitCode(launch, what) {
  let code;
  launch.exited.then((c) => {
    code = c;
  });
  try {
    await until(what, () => code !== undefined);
  } finally {
    if (code === undefined) launch.child.kill('SIGKILL');
  }
  return code;
}

const env = isolated('e2e-instance');

before(async () => {
  hub = await startHub(['--allow-anonymous', '--anonymous-ack']);
  session = await Session.open(await startDriver(env), ['--server', hub.ws]);
  await until('the page', () => session.page(`return document.readyState === 'complete';`));
});

after(async () => {
  await session?.quit();
  stopAll();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

let windowId;

test('closing the window hides it to the tray and the app keeps running', async () => {
  [windowId] = await until('a visible Telltale window', async () => {
    const ids = await telltaleWindows(true);
    return ids.length === 1 ? ids : null;
  });
  assert.equal(await mapState(windowId), 'IsViewable');

  await run('python3', [WM_CLOSE, windowId]);
  await until('the window unmapped', async () => (await mapState(windowId)) === 'IsUnMapped');
  assert.deepEqual(await telltaleWindows(true), []);
  // The same process still answers: the page runs and the window exists.
  assert.equal(await session.page('return 6 * 7;'), 42);
  assert.ok((await telltaleWindows(false)).includes(windowId));
});

test('a second launch exits with 0 and shows the first window', async () => {
  assert.equal(await mapState(windowId), 'IsUnMapped', 'the previous test hid the window');
  const second = launchAgain(env, ['--server', hub.ws]);
  assert.equal(await exitCode(second, 'the second telltale to exit'), 0);
  await until('the first window shown again', async () => (await mapState(windowId)) === 'IsViewable');
  assert.deepEqual(await telltaleWindows(true), [windowId]);
  await until('the page visible', () => session.page(`return document.visibilityState === 'visible';`));
});

test('--hidden starts with no window shown, and a launch shows it', async () => {
  await session.quit();
  await until('the first app gone', async () => (await telltaleWindows(false)).length === 0);
  const hiddenEnv = isolated('e2e-hidden');
  session = await Session.open(await startDriver(hiddenEnv), ['--server', hub.ws, '--hidden']);
  // The app runs (its page loads and connects) with nothing on screen.
  await until('live connection state', () =>
    session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`),
  );
  assert.deepEqual(await telltaleWindows(true), []);
  const [hidden] = await until('the hidden window', async () => {
    const ids = await telltaleWindows(false);
    return ids.length > 0 ? ids : null;
  });
  assert.equal(await mapState(hidden), 'IsUnMapped');

  const second = launchAgain(hiddenEnv, ['--server', hub.ws]);
  assert.equal(await exitCode(second, 'the second telltale to exit'), 0);
  await until('the window shown', async () => (await telltaleWindows(true)).length === 1);
});
