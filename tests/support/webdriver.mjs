// A W3C WebDriver session driven by plain `fetch`, for any driver: tauri-driver with the
// desktop app (tests/e2e), chromedriver with Chromium (tests/web). Screenshots land in
// $TELLTALE_ARTIFACTS (default artifacts/).
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = resolve(ROOT, process.env.TELLTALE_ARTIFACTS ?? 'artifacts');

/** The longest one WebDriver command may take (starting a browser included). */
const COMMAND_MS = 120_000;

/** WebDriver key codes for `Session.keys`. */
export const KEYS = { Enter: '\uE007', Escape: '\uE00C', Tab: '\uE004', ArrowLeft: '\uE012', ArrowUp: '\uE013', ArrowRight: '\uE014', ArrowDown: '\uE015' };

/** A W3C WebDriver session, driven by plain `fetch`. */
export class Session {
  /** A new session of the driver at `driverUrl` with these `alwaysMatch` capabilities. */
  static async create(driverUrl, capabilities) {
    const session = new this(driverUrl);
    const created = await session.wd('POST', '/session', { capabilities: { alwaysMatch: capabilities } });
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
      // Bounded: a driver that never answers (a browser that hangs starting) fails the test.
      signal: AbortSignal.timeout(COMMAND_MS),
    }).catch((e) => {
      throw new Error(`${method} ${path}: no answer from the WebDriver server at ${this.driverUrl}: ${e.message}`);
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
