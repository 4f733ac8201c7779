// The processes a Node end-to-end test starts (hubs, WebDriver servers, browsers), each in
// a process group of its own so that `stopAll()` also ends what they started; and free
// loopback ports for them to listen on.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

const children = [];

/**
 * Starts `cmd` in a process group of its own, so that `stopAll()` also ends
 * what it started (tauri-driver → WebKitWebDriver → the app, chromedriver →
 * Chromium): a leftover would keep its inherited stderr pipe, and this process, alive.
 */
export function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stderr.on('data', (d) => process.stderr.write(`[${cmd.split('/').pop()}] ${d}`));
  children.push(child);
  return child;
}

/** Whether `child` has exited. */
export const exited = (child) => child.exitCode !== null || child.signalCode !== null;

/** Sends `signal` to `child`'s process group; resolves once `child` itself has exited. */
export function stop(child, signal = 'SIGTERM') {
  const gone = exited(child) ? Promise.resolve() : new Promise((ok) => child.once('exit', () => ok()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
  return gone;
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
