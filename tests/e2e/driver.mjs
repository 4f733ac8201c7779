// Shared pieces of the end-to-end tests: a hub, tauri-driver, a WebDriver
// session on the real app, and bounded waiting. Every child is killed by
// `stopAll()`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { createServer } from 'node:net';

const ROOT = resolve(import.meta.dirname, '../..');
export const APP = resolve(ROOT, process.env.TELLTALE_APP ?? 'target/debug/telltale');
export const HUB = resolve(ROOT, process.env.TELLTALE_HUB_BIN ?? 'target/debug/telltale-hub');
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
const ARTIFACTS = resolve(ROOT, process.env.TELLTALE_ARTIFACTS ?? 'artifacts');
export const AGENT = resolve(ROOT, process.env.TELLTALE_AGENT_BIN ?? 'target/debug/telltale-agent');
export const API_KEY = 'e2e-key';
export const WAIT_MS = 30_000;

const children = [];

/**
 * Starts `cmd` in a process group of its own, so that `stopAll()` also ends
 * what it started (tauri-driver → WebKitWebDriver → the app): a leftover app
 * would keep its inherited stderr pipe, and this process, alive.
 */
export function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stderr.on('data', (d) => process.stderr.write(`[${cmd.split('/').pop()}] ${d}`));
  children.push(child);
  return child;
}

export function stopAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // the group is already gone
    }
  }
}

export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** Polls `check` until it returns a truthy value, at most `ms`. */
export async function until(what, check, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/**
 * Starts telltale-hub on a free port with `args`; returns its URLs and an API caller.
 * By default as the desktop's own hub is: anonymous, and anonymous acks allowed
 * (the app connects without a token and acknowledges alarms).
 */
export async function startHub(args = ['--allow-anonymous', '--anonymous-ack', '--collector']) {
  const child = start(HUB, ['--listen', '127.0.0.1:0', '--api-key', API_KEY, ...args]);
  const line = await new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => l.includes('listening on') && ok(l));
    child.on('exit', (code) => fail(new Error(`telltale-hub exited with ${code}`)));
  });
  const addr = line.split('listening on ')[1].trim();
  const hub = { addr, ws: `ws://${addr}/connection/websocket`, apiUrl: `http://${addr}/api`, child };
  /** Stops the hub (its clients see the connection drop). */
  hub.stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  hub.api = async (method, body) => {
    const res = await fetch(`${hub.apiUrl}/${method}`, {
      method: 'POST',
      headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return res.json();
  };
  return hub;
}

/** A minimal Centrifugo client making one RPC on `hub`, as any other app would; the reply. */
export async function hubRpc(hub, method, data) {
  const ws = new WebSocket(hub.ws);
  const replies = [];
  ws.onmessage = (e) => {
    for (const line of String(e.data).split('\n').filter(Boolean)) {
      const msg = JSON.parse(line);
      if (Object.keys(msg).length === 0) ws.send('{}');
      else replies.push(msg);
    }
  };
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = () => fail(new Error('websocket error'));
  });
  ws.send(`${JSON.stringify({ id: 1, connect: { name: 'e2e' } })}\n${JSON.stringify({ id: 2, rpc: { method, data } })}`);
  const reply = await until(`reply to ${method}`, () => replies.find((r) => r.id === 2));
  ws.close();
  return reply;
}

/** WebDriver key codes for `Session.keys`. */
export const KEYS = { Enter: '\uE007', Escape: '\uE00C', Tab: '\uE004', ArrowLeft: '\uE012', ArrowUp: '\uE013', ArrowRight: '\uE014', ArrowDown: '\uE015' };

/**
 * A fresh home for the app's settings and data (XDG_CONFIG_HOME, XDG_DATA_HOME): no test
 * sees another's settings, alarm history or window state. `settings`, when given, is
 * written as the app's settings file first.
 */
export function appHome(settings) {
  const home = mkdtempSync(resolve(tmpdir(), 'telltale-e2e-'));
  const config = resolve(home, 'config');
  const dir = resolve(config, APP_ID);
  mkdirSync(dir, { recursive: true });
  if (settings) writeFileSync(resolve(dir, 'settings.json'), JSON.stringify(settings, null, 2));
  return { home, configDir: dir, dataDir: resolve(home, 'data', APP_ID), env: { XDG_CONFIG_HOME: config, XDG_DATA_HOME: resolve(home, 'data') } };
}

/** The app's identifier (tauri.conf.json): its directory name under the XDG dirs. */
export const APP_ID = 'dev.telltale.desktop';

let drivers = 0;

/**
 * tauri-driver on free ports; returns its URL. The apps it starts get `env` (by default a
 * fresh home, see appHome), and an instance name of their own (TELLTALE_INSTANCE), so
 * that an app still shutting down from an earlier test is never taken for a running
 * Telltale that a new one should hand over to (single instance).
 */
export async function startDriver(env = appHome().env) {
  const port = await freePort();
  const nativePort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  drivers += 1;
  start(DRIVER, ['--port', String(port), '--native-port', String(nativePort)], {
    TELLTALE_INSTANCE: `e2e-${process.pid}-${drivers}`,
    ...env,
  });
  await until('tauri-driver', async () => (await fetch(`${url}/status`)).ok);
  return url;
}

/** A WebDriver session running the app with `args`. */
export class Session {
  static async open(driverUrl, args) {
    const session = new Session(driverUrl);
    const created = await session.wd('POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application: APP, args } } },
    });
    session.id = created.sessionId;
    return session;
  }

  constructor(driverUrl) {
    this.driverUrl = driverUrl;
    this.id = null;
  }

  async wd(method, path, body) {
    const res = await fetch(`${this.driverUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json.value;
  }

  /** Runs a function body in the page and returns its value. */
  page(script, args = []) {
    return this.wd('POST', `/session/${this.id}/execute/sync`, { script, args });
  }

  async click(selector) {
    const element = await this.wd('POST', `/session/${this.id}/element`, { using: 'css selector', value: selector });
    await this.wd('POST', `/session/${this.id}/element/${Object.values(element)[0]}/click`, {});
  }

  /** The first element matching `selector` (a WebDriver element id). */
  async element(selector) {
    const element = await this.wd('POST', `/session/${this.id}/element`, { using: 'css selector', value: selector });
    return Object.values(element)[0];
  }

  /** Clears the input matching `selector`, then types `text` into it as keystrokes. */
  async type(selector, text) {
    const id = await this.element(selector);
    await this.wd('POST', `/session/${this.id}/element/${id}/clear`, {});
    if (text) await this.wd('POST', `/session/${this.id}/element/${id}/value`, { text });
  }

  /** Presses and releases each key in turn, on whatever has the focus (WebDriver key codes, e.g. KEYS.ArrowDown). */
  async keys(...keys) {
    const actions = keys.flatMap((k) => [
      { type: 'keyDown', value: k },
      { type: 'keyUp', value: k },
    ]);
    await this.wd('POST', `/session/${this.id}/actions`, { actions: [{ type: 'key', id: 'keyboard', actions }] });
    await this.wd('DELETE', `/session/${this.id}/actions`).catch(() => {});
  }

  /** Resizes the window (outer size, in CSS pixels); returns the rect the window got. */
  setWindowRect(rect) {
    return this.wd('POST', `/session/${this.id}/window/rect`, rect);
  }

  /** Minimises the window (under bare Xvfb, with no window manager, WebKitGTK still turns the page's visibilityState to "hidden"). */
  minimize() {
    return this.wd('POST', `/session/${this.id}/window/minimize`, {});
  }

  /**
   * WebKitWebDriver takes a screenshot at the page's next paint. An idle page (nothing
   * changes: the app draws nothing it does not have to) may not paint for minutes, so
   * give it a second of paints to take it from.
   */
  async nudgePaints() {
    await this.page(`let n = 0;
      const paint = () => { document.body.style.opacity = n % 2 ? '0.999' : ''; if (++n < 60) requestAnimationFrame(paint); else document.body.style.opacity = ''; };
      requestAnimationFrame(paint);
      return true;`).catch(() => {});
  }

  /** Saves a screenshot as artifacts/<name>.png; the session goes on. */
  async screenshot(name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await this.nudgePaints();
    const png = await this.wd('GET', `/session/${this.id}/screenshot`);
    const path = resolve(ARTIFACTS, `${name}.png`);
    writeFileSync(path, Buffer.from(png, 'base64'));
    return path;
  }

  /** Ends the session without a screenshot. */
  async quit() {
    if (!this.id) return;
    await this.wd('DELETE', `/session/${this.id}`).catch(() => {});
    this.id = null;
  }

  /** Saves a screenshot as artifacts/<name>.png, then ends the session. */
  async close(name) {
    if (!this.id) return;
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      await this.nudgePaints();
      const png = await this.wd('GET', `/session/${this.id}/screenshot`);
      writeFileSync(resolve(ARTIFACTS, `${name}.png`), Buffer.from(png, 'base64'));
    } catch (e) {
      console.error(`screenshot failed: ${e.message}`);
    }
    await this.wd('DELETE', `/session/${this.id}`).catch(() => {});
    this.id = null;
  }
}
