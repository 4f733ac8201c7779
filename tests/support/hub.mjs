// A real telltale-hub for the Node end-to-end tests (tests/e2e, tests/web): started on a
// loopback port with an API key, its HTTP API, one RPC as another client would make it,
// and connection tokens minted by the binary itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { start, stop } from './children.mjs';
import { WAIT_MS, until } from './wait.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
export const HUB = resolve(ROOT, process.env.TELLTALE_HUB_BIN ?? 'target/debug/telltale-hub');
export const API_KEY = 'e2e-key';

/**
 * Starts telltale-hub with `args` on `listen` (by default a free loopback port); returns
 * its URLs and an API caller. By default as the desktop's own hub is: anonymous, and
 * anonymous acks allowed (the app connects without a token and acknowledges alarms).
 * `listen` set to the address of a hub that was stopped starts it again where its
 * clients look for it.
 */
export async function startHub(args = ['--allow-anonymous', '--anonymous-ack', '--collector'], { listen = '127.0.0.1:0' } = {}) {
  const child = start(HUB, ['--listen', listen, '--api-key', API_KEY, ...args]);
  let timer;
  const line = await new Promise((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (l) => l.includes('listening on') && ok(l));
    child.on('exit', (code) => fail(new Error(`telltale-hub ${args.join(' ')} exited with ${code}; its stderr is above`)));
    timer = setTimeout(() => fail(new Error(`telltale-hub printed no "listening on" line within ${WAIT_MS} ms`)), WAIT_MS);
  }).finally(() => clearTimeout(timer));
  const addr = line.split('listening on ')[1].trim();
  const hub = { addr, url: `http://${addr}`, ws: `ws://${addr}/connection/websocket`, apiUrl: `http://${addr}/api`, child };
  /** Stops the hub (its clients see the connection drop); resolves once it has exited. */
  hub.stop = (signal = 'SIGTERM') => stop(child, signal);
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

/** A connection JWT from the hub binary itself, e.g. `mintToken(secret, ['--user', 'ann'])`. */
export function mintToken(secret, args) {
  return execFileSync(HUB, ['token', '--token-secret', secret, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
