// The fake freedesktop notification daemon (notify-server.py) on the test's session bus,
// driven from node: its events as they come, and clicks as the user would make them.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { until } from './driver.mjs';

const SERVER = resolve(import.meta.dirname, 'notify-server.py');
// Debian's python3-dbus and python3-gi live in the system Python, not in a pyenv or venv one.
const PYTHON = process.env.TELLTALE_SYSTEM_PYTHON ?? '/usr/bin/python3';
/** The fake notification daemon: its events, and commands to it. */
export class NotifyDaemon {
  static async start(args = []) {
    const child = spawn(PYTHON, [SERVER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const daemon = new NotifyDaemon(child);
    await new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('notify-server.py did not say "ready" in 10 s')), 10_000);
      daemon.onReady = () => {
        clearTimeout(timer);
        ok();
      };
      child.on('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`notify-server.py exited with ${code}: ${daemon.stderr.trim()}`));
      });
    });
    return daemon;
  }

  constructor(child) {
    this.child = child;
    this.events = [];
    this.stderr = '';
    this.onReady = () => {};
    child.stderr.on('data', (d) => {
      this.stderr += d;
      process.stderr.write(`[notify-server] ${d}`);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = JSON.parse(line);
      this.events.push(event);
      if (event.event === 'ready') this.onReady();
      if (event.event === 'error') process.stderr.write(`[notify-server] ${event.message}\n`);
    });
  }

  /** Notify calls, in order, whose summary is `summary`. */
  notes(summary) {
    return this.events.filter((e) => e.event === 'notify' && e.summary === summary);
  }

  /** The one note with this summary, once it is there. */
  note(summary) {
    return until(`a notification "${summary}"`, () => this.notes(summary)[0]);
  }

  /** CloseNotification calls for `id`. */
  closes(id) {
    return this.events.filter((e) => e.event === 'close' && e.id === id);
  }

  /** Emits ActionInvoked(id, key), as a click on a button (or on the note, for "default") does. */
  async invoke(id, key) {
    const seen = this.events.length;
    this.child.stdin.write(`invoke ${id} ${key}\n`);
    await until(`ActionInvoked(${id}, ${key}) emitted`, () =>
      this.events.slice(seen).find((e) => e.event === 'invoked' && e.id === id && e.key === key),
    );
  }

  /** Closing stdin ends it (the kill is for one that hangs); resolves once it has exited. */
  stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    const exited = new Promise((ok) => this.child.on('exit', ok));
    this.child.stdin.end();
    setTimeout(() => this.child.kill('SIGKILL'), 2_000).unref();
    return exited;
  }
}
