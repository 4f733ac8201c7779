// The desktop app's side of the end-to-end tests: tauri-driver, a WebDriver session on the
// real app, and a fresh home for it. The hub, the child processes (every one killed by
// `stopAll()`), bounded waiting and the WebDriver session itself are shared with the
// browser tests (tests/web) from tests/support/, and re-exported here.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { freePort, start } from '../support/children.mjs';
import { until } from '../support/wait.mjs';
import { Session as WebDriverSession } from '../support/webdriver.mjs';

export { freePort, start, stopAll } from '../support/children.mjs';
export { API_KEY, HUB, hubRpc, startHub } from '../support/hub.mjs';
export { WAIT_MS, until } from '../support/wait.mjs';
export { KEYS } from '../support/webdriver.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
export const APP = resolve(ROOT, process.env.TELLTALE_APP ?? 'target/debug/telltale');
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
export const AGENT = resolve(ROOT, process.env.TELLTALE_AGENT_BIN ?? 'target/debug/telltale-agent');

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
export class Session extends WebDriverSession {
  static open(driverUrl, args) {
    return this.create(driverUrl, { 'tauri:options': { application: APP, args } });
  }
}
