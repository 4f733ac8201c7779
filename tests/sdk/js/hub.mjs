// Starts a real telltale-hub process for the SDK tests and talks to its HTTP API.
//
// The binary comes from TELLTALE_HUB_BIN, or target/debug/telltale-hub at the
// repository root (build it with `cargo build -p telltale-hub`).

import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const HUB_BIN = process.env.TELLTALE_HUB_BIN
  ? resolve(process.env.TELLTALE_HUB_BIN)
  : resolve(here, '../../../target/debug/telltale-hub');

/** Rejects with `what` after `ms` unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (sync or async) until it returns a truthy value; bounded by `ms`. */
export async function waitFor(check, ms, what, everyMs = 20) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${inspectLast(last)}`);
    }
    await sleep(everyMs);
  }
}

function inspectLast(value) {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** An HS256 connection JWT, signed with Node's crypto only. */
export function signToken(secret, claims) {
  const enc = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const unsigned = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

/**
 * A connection JWT minted by the hub binary itself (`telltale-hub token`),
 * e.g. `mintToken(secret, ['--user', 'ann', '--channels', 'private:pay*'])`.
 */
export function mintToken(secret, args) {
  const out = execFileSync(HUB_BIN, ['token', '--token-secret', secret, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out.trim();
}

/** Writes `toml` to a fresh temporary file for `--config`; returns its path. */
export function writeConfig(toml) {
  const path = join(mkdtempSync(join(tmpdir(), 'telltale-sdk-js-')), 'hub.toml');
  writeFileSync(path, toml);
  return path;
}

/**
 * A running hub on 127.0.0.1 with a port chosen by the OS.
 *
 * `await Hub.start(['--api-key', 'k'])` resolves once the hub printed
 * `telltale-hub listening on 127.0.0.1:PORT`.
 */
export class Hub {
  constructor(child, addr, apiKey, tls = false) {
    this.child = child;
    this.addr = addr;
    this.apiKey = apiKey;
    // A TLS hub is addressed by name, as its certificate is.
    const authority = tls ? `localhost:${addr.split(':').pop()}` : addr;
    this.wsUrl = `${tls ? 'wss' : 'ws'}://${authority}/connection/websocket`;
    this.httpUrl = `${tls ? 'https' : 'http'}://${authority}`;
    this.stderr = [];
    this.exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => r({ code, signal }));
    });
  }

  /**
   * `tls: true` when `args` hold --tls-cert/--tls-key: the URLs become
   * wss://localhost and https://localhost (`api()` then needs a fetch that
   * trusts the test CA).
   */
  static async start(args, { apiKey, startTimeoutMs = 15000, tls = false } = {}) {
    if (!existsSync(HUB_BIN)) {
      throw new Error(`hub binary ${HUB_BIN} not found: run \`cargo build -p telltale-hub\` or set TELLTALE_HUB_BIN`);
    }
    const allArgs = ['--listen', '127.0.0.1:0', ...(apiKey ? ['--api-key', apiKey] : []), ...args];
    const child = spawn(HUB_BIN, allArgs, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' },
    });
    const stderr = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stderr.push(chunk);
      if (process.env.TELLTALE_HUB_LOG) process.stderr.write(chunk);
    });
    const lines = createInterface({ input: child.stdout });
    const listening = new Promise((resolveAddr, reject) => {
      lines.on('line', (line) => {
        const m = /telltale-hub listening on (\S+)/.exec(line);
        if (m) resolveAddr(m[1]);
      });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`hub exited before listening (code ${code}, signal ${signal}):\n${stderr.join('')}`)),
      );
    });
    let addr;
    try {
      addr = await withTimeout(listening, startTimeoutMs, `hub to print its listening line (${allArgs.join(' ')})`);
    } catch (e) {
      child.kill('SIGKILL');
      throw e;
    }
    const hub = new Hub(child, addr, apiKey, tls);
    hub.stderr = stderr;
    return hub;
  }

  /** POST /api/<method> with the API key; returns {status, body} (body parsed when JSON). */
  async api(method, params, { apiKey = this.apiKey, timeoutMs = 5000 } = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (apiKey) headers['X-API-Key'] = apiKey;
    const res = await fetch(`${this.httpUrl}/api/${method}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(params),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body };
  }

  /** Like `api` but expects HTTP 200 with {"result": ...} and returns the result. */
  async call(method, params) {
    const { status, body } = await this.api(method, params);
    if (status !== 200 || !body || typeof body !== 'object' || !('result' in body)) {
      throw new Error(`/api/${method} ${JSON.stringify(params)} → HTTP ${status} ${JSON.stringify(body)}`);
    }
    return body.result;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `ms`. Returns the exit status. */
  async stop(ms = 5000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.child.kill('SIGTERM');
    try {
      return await withTimeout(this.exited, ms, 'hub to exit after SIGTERM');
    } catch (e) {
      this.child.kill('SIGKILL');
      await withTimeout(this.exited, 2000, 'hub to exit after SIGKILL').catch(() => {});
      throw e;
    }
  }

  log() {
    return this.stderr.join('');
  }
}
