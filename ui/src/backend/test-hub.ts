/// <reference types="node" />
// A real telltale-hub process for the web backend's tests (*.hub.test.ts, `npm run test:hub`),
// and what the tests need around it: its HTTP API, tokens it mints, bounded waits.
// The binary is TELLTALE_HUB_BIN, or ../target/debug/telltale-hub from ui/.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const HUB_BIN = resolve(process.env.TELLTALE_HUB_BIN ?? '../target/debug/telltale-hub');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; fails after `ms` saying what it waited for. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string | (() => string), ms = 10_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const w = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${ms} ms waiting for ${w}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    }
    await sleep(everyMs);
  }
}

/** A connection token minted by the hub binary itself (`telltale-hub token`). */
export function mintToken(secret: string, args: string[]): string {
  return execFileSync(HUB_BIN, ['token', '--token-secret', secret, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export class Hub {
  private readonly stderr: string[] = [];
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** `127.0.0.1:PORT` */
    readonly addr: string,
    readonly apiKey: string,
  ) {
    this.exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr.push(chunk);
      if (this.stderr.length > 2000) this.stderr.splice(0, 1000);
    });
  }

  get wsUrl(): string {
    return `ws://${this.addr}/connection/websocket`;
  }

  /** Starts a hub on `listen` (default a free loopback port) with an API key; resolves once it listens. */
  static async start(args: string[], { listen = '127.0.0.1:0', apiKey = 'web-test-api-key' } = {}): Promise<Hub> {
    if (!existsSync(HUB_BIN)) throw new Error(`hub binary ${HUB_BIN} not found: run \`cargo build -p telltale-hub\` or set TELLTALE_HUB_BIN`);
    const all = ['--listen', listen, '--api-key', apiKey, ...args];
    const child = spawn(HUB_BIN, all, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
    const lines = createInterface({ input: child.stdout! });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const addr = await new Promise<string>((resolveAddr, reject) => {
      lines.on('line', (line) => {
        const m = /telltale-hub listening on (\S+)/.exec(line);
        if (m) resolveAddr(m[1]!);
      });
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`hub exited before listening (code ${code}, signal ${signal}): ${all.join(' ')}`)));
      timer = setTimeout(() => reject(new Error(`hub did not print its listening line within 15 s: ${all.join(' ')}`)), 15_000);
    }).catch((e) => {
      child.kill('SIGKILL');
      throw e;
    });
    clearTimeout(timer);
    return new Hub(child, addr, apiKey);
  }

  /** POST /api/<method>; the `result`, or an error with the status and body. */
  async call(method: string, params: unknown): Promise<unknown> {
    const res = await fetch(`http://${this.addr}/api/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': this.apiKey },
      body: JSON.stringify(params),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    const body = text ? (JSON.parse(text) as { result?: unknown }) : null;
    if (res.status !== 200 || !body || !('result' in body)) throw new Error(`/api/${method} ${JSON.stringify(params).slice(0, 200)} → HTTP ${res.status} ${text.slice(0, 300)}`);
    return body.result;
  }

  /** POST /api/batch of publications; fails unless every one succeeded. */
  async publishAll(items: { channel: string; data: unknown }[]): Promise<void> {
    const res = await fetch(`http://${this.addr}/api/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': this.apiKey },
      body: JSON.stringify({ commands: items.map((publish) => ({ publish })) }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    const replies = (JSON.parse(text) as { replies?: { error?: unknown }[] }).replies;
    if (res.status !== 200 || replies?.length !== items.length || replies.some((r) => r.error)) throw new Error(`/api/batch → HTTP ${res.status} ${text.slice(0, 300)}`);
  }

  publish(channel: string, data: unknown): Promise<unknown> {
    return this.call('publish', { channel, data });
  }

  /** SIGKILL (a crash: no goodbye to the clients) or SIGTERM (a shutdown); waits for the exit. */
  async stop(signal: 'SIGKILL' | 'SIGTERM' = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  log(): string {
    return this.stderr.join('');
  }
}

/** A frame scheduler for tests: frames run on a timer, and whether a batch came inside one is recorded. */
export class TestFrames {
  inFrame = false;
  frames = 0;
  readonly schedule = (cb: () => void): void => {
    setTimeout(() => {
      this.frames++;
      this.inFrame = true;
      try {
        cb();
      } finally {
        this.inFrame = false;
      }
    }, 16);
  };
}
