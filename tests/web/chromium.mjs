// Headless Chromium driven through chromedriver (W3C WebDriver, plain `fetch`), for the
// tests of the page the hub serves. Debian's packages: chromium and chromium-driver.
import { freePort, start } from '../support/children.mjs';
import { until } from '../support/wait.mjs';
import { Session } from '../support/webdriver.mjs';

export const CHROMIUM = process.env.TELLTALE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMEDRIVER = process.env.TELLTALE_CHROMEDRIVER ?? '/usr/bin/chromedriver';

/** chromedriver on a free loopback port; returns its URL once it takes sessions. */
export async function startChromedriver() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = start(CHROMEDRIVER, [`--port=${port}`]);
  // Its few lines of stdout are not needed, but a pipe nobody reads could fill up.
  child.stdout.resume();
  await until('chromedriver ready', async () => (await (await fetch(`${url}/status`)).json()).value?.ready === true);
  return url;
}

/** One Chromium window (a WebDriver session); its console is collected in `log`. */
export class Browser extends Session {
  static async open(driverUrl) {
    const browser = await this.create(driverUrl, {
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: CHROMIUM,
        // --no-sandbox: Chromium's sandbox refuses to start as root (CI runs as root) and
        // needs user namespaces that containers often lack; the page is our own.
        args: ['--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,800', '--no-first-run'],
        // Notifications allowed up front: a headless browser has no prompt to click.
        prefs: { 'profile.default_content_setting_values.notifications': 1 },
      },
      // The console (console.error, uncaught errors, failed loads) through `se/log`.
      'goog:loggingPrefs': { browser: 'ALL' },
      // Bounded: a page load or a script that hangs fails the test instead of stalling it.
      timeouts: { pageLoad: 30_000, script: 30_000, implicit: 0 },
    });
    browser.log = [];
    return browser;
  }

  /** Loads `url` (returns when the document has loaded). */
  goto(url) {
    return this.wd('POST', `/session/${this.id}/url`, { url });
  }

  /** A Chrome DevTools Protocol command through chromedriver. */
  cdp(cmd, params = {}) {
    return this.wd('POST', `/session/${this.id}/goog/cdp/execute`, { cmd, params });
  }

  /** Runs `source` in every document this window loads from now on, before the page's own scripts. */
  beforeEveryPage(source) {
    return this.cdp('Page.addScriptToEvaluateOnNewDocument', { source });
  }

  /** The console entries since the last call (chromedriver hands each out once), also kept in `log`. */
  async readLog() {
    const entries = await this.wd('POST', `/session/${this.id}/se/log`, { type: 'browser' });
    this.log.push(...entries);
    return entries;
  }

  /** The page's size in CSS pixels (`mobile` as a phone: the viewport meta tag applies). */
  viewport(width, height, mobile = false) {
    return this.cdp('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile });
  }
}

/** The console entries that are errors (SEVERE), as `level message` lines. */
export const severe = (entries) => entries.filter((e) => e.level === 'SEVERE').map((e) => `${e.level} ${e.message}`);
