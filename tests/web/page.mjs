// Where the browser finds the page: the hub serves it itself (`--web`). While a hub
// without --web is all there is, TELLTALE_WEB_PREVIEW=1 serves ui/dist with `vite preview`
// instead, which forwards /connection/websocket to the hub (ui/vite.config.ts).
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { start } from '../support/children.mjs';
import { WAIT_MS } from '../support/wait.mjs';

const UI = resolve(import.meta.dirname, '../../ui');
export const PREVIEW = Boolean(process.env.TELLTALE_WEB_PREVIEW);

/** The hub flag that serves the page. */
export const WEB_FLAGS = PREVIEW ? [] : ['--web'];

/** The page's URL for `hub` (ends in `/`). */
export async function pageUrl(hub) {
  if (!PREVIEW) return `${hub.url}/`;
  const child = start(resolve(UI, 'node_modules/.bin/vite'), ['preview', UI, '--port', '0'], { TELLTALE_HUB_URL: hub.url });
  let timer;
  return new Promise((ok, fail) => {
    createInterface({ input: child.stdout }).on('line', (l) => {
      const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(l)?.[1];
      if (url) ok(url);
    });
    child.on('exit', (code) => fail(new Error(`vite preview exited with ${code}; build ui/dist first (npm --prefix ui run build)`)));
    timer = setTimeout(() => fail(new Error(`vite preview printed no URL within ${WAIT_MS} ms`)), WAIT_MS);
  }).finally(() => clearTimeout(timer));
}
