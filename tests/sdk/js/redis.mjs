// A private redis-server (Debian's) on a free loopback port for one test
// file: no persistence, a scratch directory of its own, killed by `stop()`.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sleep, withTimeout } from './hub.mjs';

const REDIS_SERVER = '/usr/bin/redis-server';
/** Upper bound of the wait for a started server to answer PING. */
const READY_MS = 10000;
/** Ports tried when another process binds the free port first. */
const PORT_ATTEMPTS = 5;

/** A port the OS just gave out on 127.0.0.1 (free, unless someone takes it first). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether a Redis on `port` answers an inline PING with +PONG now (at most 500 ms). */
function answersPing(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply === '+PONG\r\n');
    });
  });
}

/** A running redis-server: `url` for `--redis`, `stop()` kills it. */
export class RedisServer {
  constructor(child, port, dir, log) {
    this.child = child;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.dir = dir;
    this.output = log;
    this.exited = new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) r();
      else child.once('exit', () => r());
    });
  }

  /** Starts a server on a free port and resolves once it answers PING. */
  static async start() {
    if (!existsSync(REDIS_SERVER)) {
      throw new Error(`${REDIS_SERVER} is missing: run scripts/install-deps.sh (it installs Debian's redis-server)`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'telltale-sdk-redis-'));
    const log = [];
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      const port = await freePort();
      const child = spawn(
        REDIS_SERVER,
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      for (const stream of [child.stdout, child.stderr]) {
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => log.push(chunk));
      }
      const server = new RedisServer(child, port, dir, log);
      if (await server.#ready()) return server;
      // It exited: the port was taken between freePort() and its bind.
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not start on any of ${PORT_ATTEMPTS} free ports; its log:\n${log.join('')}`);
  }

  /** True once it answers PING, false when it exited first; throws after READY_MS. */
  async #ready() {
    const deadline = Date.now() + READY_MS;
    for (;;) {
      if (await answersPing(this.port)) return true;
      if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
      if (Date.now() >= deadline) {
        await this.stop();
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${READY_MS} ms; its log:\n${this.log()}`);
      }
      await sleep(20);
    }
  }

  /** Kills the server (SIGKILL: nothing to save) and removes its directory. */
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await withTimeout(this.exited, 5000, 'redis-server to exit after SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  log() {
    return this.output.join('');
  }
}
