// The page a hub that requires a token serves (no --allow-anonymous), in headless Chromium:
// without a token it says so, and a token given in the link's fragment (or pasted into the
// page) connects it. Run by `make test-web` (see page.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stopAll } from '../support/children.mjs';
import { mintToken, startHub } from '../support/hub.mjs';
import { until } from '../support/wait.mjs';
import { alarm } from '../e2e/publish.mjs';
import { Browser, startChromedriver } from './chromium.mjs';

const SECRET = 'web-e2e-token-secret';

let hub;
let browser;
let url;
const page = (script, args) => browser.page(script, args);
const conn = () => page(`const el = document.querySelector('.conn'); return { state: el?.dataset.state ?? null, text: el?.querySelector('.conn-text')?.textContent ?? '' };`);

/** A token of user `user` for this hub, allowed to acknowledge. */
const tokenFor = (user) => mintToken(SECRET, ['--user', user, '--ttl', '10m', '--caps', 'ack']);

/** Opens the page afresh in this tab, with no token kept from before (sessionStorage). */
async function openWithoutToken() {
  await browser.goto(url);
  await page(`sessionStorage.clear(); return true;`);
  await browser.goto('about:blank');
  await browser.goto(url);
}

before(async () => {
  hub = await startHub(['--token-secret', SECRET, '--web']);
  url = `${hub.url}/`;
  browser = await Browser.open(await startChromedriver());
});

after(async () => {
  await browser?.quit();
  stopAll();
});

test('without a token the page says "Authentication failed" and offers a token field', async () => {
  await openWithoutToken();
  const shown = await until('the failed state', async () => {
    const c = await conn();
    return c.state === 'failed' ? c : null;
  });
  assert.equal(shown.text, 'Authentication failed');
  assert.ok(await page(`return !!document.querySelector('.dash-state .token-form input[name=token]');`), 'the token field');
});

test('the same page opened with #token=<JWT> connects, and the token leaves the address bar', async () => {
  const token = tokenFor('ann');
  await browser.goto('about:blank');
  await browser.goto(`${url}#token=${token}`);
  await until('the page live', async () => (await conn()).state === 'live');
  const href = await page(`return location.href;`);
  assert.ok(!href.includes(token) && !href.includes('token='), `the token is gone from the address: ${href}`);
  // The connection is ann's: her ack is recorded under her name, not as an anonymous one.
  await hub.api('publish', { channel: 'alarms', data: alarm('web-token', 'disk', 'warning', { title: 'Disk almost full (token)' }) });
  await until('the alarm row', () => page(`return document.querySelector('li.alarm[data-id="web-token/disk"]')?.dataset.state === 'firing';`));
  await browser.click('li.alarm[data-id="web-token/disk"] button.ack');
  const ack = await until('the ack published on alarms', async () => {
    const last = (await hub.api('history', { channel: 'alarms', limit: 1, reverse: true })).result.publications[0]?.data;
    return last?.state === 'acknowledged' ? last : null;
  });
  assert.equal(ack.by, 'ann');
});

test('a token pasted into the failed page connects it', async () => {
  await openWithoutToken();
  await until('the failed state', async () => (await conn()).state === 'failed');
  await browser.type('.dash-state .token-form input[name=token]', tokenFor('bob'));
  await browser.click('.dash-state .token-form button[type=submit]');
  await until('the page live', async () => (await conn()).state === 'live');
});
