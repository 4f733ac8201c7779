// A backend that makes realistic data without a hub: used by the unit tests, by `?mock`,
// and whenever the page is not inside Tauri (browser preview).
//
// Tests build it with `autoStart: false` and drive it: tick(), publishAlarm(), setConnection(),
// emit(). The preview (`autoStart: true`) ticks once per second and plays a short alarm script.
import type {
  Alarm,
  Backend,
  Catalog,
  ConnectionState,
  Diagnostics,
  MetricBlock,
  StreamBatch,
  Unsubscribe,
} from './types';
import type { Snooze } from './settings';
import { isWebUrl } from '../data/links';
import { MemorySettingsBackend } from './settings';
import { MockHistoryBackend } from './history';
import { prng } from '../data/prng';

export type MockScenario = 'normal' | 'empty' | 'loading' | 'reconnecting' | 'failed-auth' | 'failed' | 'invalid' | 'quiet';

export interface MockSourceSpec {
  name: string;
  cores: number;
  memTotalBytes: number;
}

export interface MockOptions {
  seed?: number;
  now?: () => number;
  /** Tick on a timer and play the alarm script (browser preview). Default false. */
  autoStart?: boolean;
  intervalMs?: number;
  /** Seconds of history sent as the first batch of connect_stream. Default 0. */
  historySecs?: number;
  sources?: MockSourceSpec[];
  scenario?: MockScenario;
  /** Seed the active set and the recent list with a few alarms. Default true when autoStart. */
  demoAlarms?: boolean;
  /** Who acknowledges through alarmsAck. */
  user?: string;
  /** Artificial latency of commands, ms. */
  latencyMs?: number;
}

/** Longest ack comment the hub accepts, in characters (`MAX_ACK_COMMENT_CHARS`). */
export const MAX_ACK_COMMENT_CHARS = 500;

const DEFAULT_SOURCES: MockSourceSpec[] = [
  { name: 'mock-host', cores: 4, memTotalBytes: 16 * 2 ** 30 },
  { name: 'web-1', cores: 2, memTotalBytes: 8 * 2 ** 30 },
];

export const MOCK_SERVER = 'mock://127.0.0.1 (browser preview)';
/** The mock's hub id (one hub). */
export const MOCK_SERVER_ID = 'mock';

interface SourceState {
  spec: SourceSpecState;
}
interface SourceSpecState extends MockSourceSpec {
  cores01: number[];
  memFrac: number;
  diskFrac: number;
  rx: number;
  tx: number;
  load: [number, number, number];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

export class MockBackend implements Backend {
  readonly kind = 'mock' as const;
  readonly settings = new MemorySettingsBackend();
  readonly history = new MockHistoryBackend();
  readonly now: () => number;
  private readonly rand: () => number;
  private readonly opts: Required<Omit<MockOptions, 'now' | 'seed' | 'sources'>>;
  private readonly sources: SourceState[];
  private readonly batchListeners = new Set<(b: StreamBatch) => void>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private readonly openListeners = new Set<(server: string, id: string) => void>();
  private snoozeList: Snooze[] = [];
  private readonly active = new Map<string, Alarm>();
  private pendingAlarms: Alarm[] = [];
  private diagnostics: Diagnostics = { invalid: {}, lagged: 0 };
  private diagnosticsDirty = false;
  private state: ConnectionState;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private interval: ReturnType<typeof setInterval> | null = null;
  private ticks = 0;
  /** Every batch emitted, for tests. */
  readonly sent: StreamBatch[] = [];
  /** Every ack request received. */
  readonly acks: string[] = [];
  /** Every silence request received. */
  readonly silences: { id: string; until: number }[] = [];
  /** Every URL opened (tests read it; the browser preview also opens a tab). */
  readonly opened: string[] = [];

  constructor(options: MockOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    this.rand = prng(options.seed ?? 42);
    const autoStart = options.autoStart ?? false;
    this.opts = {
      autoStart,
      intervalMs: options.intervalMs ?? 1000,
      historySecs: options.historySecs ?? 0,
      scenario: options.scenario ?? 'normal',
      demoAlarms: options.demoAlarms ?? autoStart,
      user: options.user ?? 'you',
      latencyMs: options.latencyMs ?? (options.scenario === 'loading' ? 3_600_000 : 0),
    };
    const specs = this.opts.scenario === 'empty' ? [] : (options.sources ?? DEFAULT_SOURCES);
    this.sources = specs.map((s, k) => ({
      spec: {
        ...s,
        cores01: Array.from({ length: s.cores }, (_, i) => 0.15 + 0.1 * ((i + k) % 3)),
        memFrac: 0.42 + 0.2 * k,
        diskFrac: 0.61 + 0.22 * k,
        rx: 2e6,
        tx: 4e5,
        load: [0.8, 0.7, 0.6],
      },
    }));
    this.state = { state: autoStart ? 'connecting' : 'live', server: MOCK_SERVER, serverId: MOCK_SERVER_ID };
    if (this.opts.scenario === 'failed-auth')
      this.state = { state: 'failed', reason: 'unauthorized: invalid token (close 3500)', server: 'ws://hub.example:8000/connection/websocket', serverId: MOCK_SERVER_ID };
    if (this.opts.scenario === 'failed')
      this.state = { state: 'failed', reason: 'invalid server URL: expected ws://HOST:PORT/connection/websocket', server: 'htp://oops', serverId: MOCK_SERVER_ID };
    if (this.opts.demoAlarms && this.sources.length > 0) this.seedDemoAlarms();
    if (this.opts.scenario === 'invalid' || (this.opts.demoAlarms && this.sources.length > 1)) {
      this.diagnostics = {
        invalid: { 'metrics:web-1': 2, alarms: 1 },
        lastError: 'metrics:web-1: values["cpu.total"]: expected a number, found a string',
        lagged: 0,
      };
      this.diagnosticsDirty = true;
    }
  }

  // ------------------------------------------------------------------ Backend

  async connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe> {
    await this.delay();
    this.batchListeners.add(onBatch);
    const noData = this.opts.scenario === 'failed-auth' || this.opts.scenario === 'failed';
    if (!noData) {
      const hist = this.historyBatch();
      if (hist) this.send(hist);
    }
    if (this.opts.autoStart) this.start();
    return () => {
      this.batchListeners.delete(onBatch);
    };
  }

  async onConnectionState(cb: (state: ConnectionState) => void): Promise<Unsubscribe> {
    this.stateListeners.add(cb);
    return () => this.stateListeners.delete(cb);
  }

  async onAlarmOpen(cb: (server: string, id: string) => void): Promise<Unsubscribe> {
    this.openListeners.add(cb);
    return () => this.openListeners.delete(cb);
  }

  /** As a notification's click does: ask the window to show an alarm. */
  openAlarm(id: string): void {
    for (const cb of this.openListeners) cb(MOCK_SERVER_ID, id);
  }

  async connectionStates(): Promise<ConnectionState[]> {
    await this.delay();
    return [{ ...this.state }];
  }

  /** The mock is one hub; a call for another is what the shell refuses too. */
  private checkServer(server: string): void {
    if (server !== MOCK_SERVER_ID) throw new Error(`no server "${server}" in the list (it was removed or switched off)`);
  }

  async alarmsActive(server: string): Promise<Alarm[]> {
    await this.delay();
    this.checkServer(server);
    if (this.state.state === 'failed') throw new Error(`not connected: ${this.state.reason ?? 'failed'}`);
    return [...this.active.values()].map((a) => ({ ...a }));
  }

  async alarmsAck(server: string, id: string, comment?: string): Promise<Alarm> {
    await this.delay();
    this.checkServer(server);
    this.acks.push(id);
    // As the hub does: trimmed, blank is none, too long is refused rather than cut.
    const note = comment?.trim() ?? '';
    const chars = [...note].length;
    if (chars > MAX_ACK_COMMENT_CHARS)
      throw new Error(`alarms.ack: comment too long: ${chars} characters, at most ${MAX_ACK_COMMENT_CHARS}`);
    return this.changeAlarm(id, (a) => {
      const acked: Alarm = { ...a, state: 'acknowledged', by: this.opts.user };
      // A comment belongs to its acker: a later ack without one clears it.
      if (note) acked.comment = note;
      else delete acked.comment;
      return acked;
    });
  }

  async alarmsSilence(server: string, id: string, until: number): Promise<Alarm> {
    await this.delay();
    this.checkServer(server);
    this.silences.push({ id, until });
    return this.changeAlarm(id, (a) => ({ ...a, silenced_until: until }));
  }

  /** As the hub does: change an active alarm, publish the result on `alarms`, return it. */
  private changeAlarm(id: string, edit: (alarm: Alarm) => Alarm): Alarm {
    if (this.state.state !== 'live') throw new Error('not connected');
    const a = this.active.get(id);
    if (!a) throw new Error(`unknown alarm id: ${id}`);
    const changed: Alarm = { ...edit(a), ts: Math.max(this.now(), a.ts) };
    this.active.set(id, changed);
    this.pendingAlarms.push(changed);
    this.flushAlarms();
    return { ...changed };
  }

  async alarmsSnooze(server: string, id: string, until: number | null): Promise<Snooze[]> {
    await this.delay();
    this.checkServer(server);
    const now = this.now();
    this.snoozeList = this.snoozeList.filter((s) => s.until > now && s.id !== id);
    if (until !== null && until > now) this.snoozeList.push({ server, id, until });
    return this.snoozeList.map((s) => ({ ...s }));
  }

  async snoozes(): Promise<Snooze[]> {
    const now = this.now();
    return this.snoozeList.filter((s) => s.until > now).map((s) => ({ ...s }));
  }

  async catalog(server: string): Promise<Catalog> {
    await this.delay();
    this.checkServer(server);
    if (this.state.state === 'failed') throw new Error(`not connected: ${this.state.reason ?? 'failed'}`);
    const last = this.now();
    return {
      sources: this.sources.map(({ spec }) => ({
        source: spec.name,
        channel: `metrics:${spec.name}`,
        metrics: this.metricNames(spec).sort(),
        last_seen: last,
      })),
    };
  }

  async openUrl(url: string): Promise<void> {
    // The shell's rule: http(s) only.
    if (!isWebUrl(url)) throw new Error(`not an http(s) URL: ${url}`);
    this.opened.push(url);
    if (this.opts.autoStart && typeof window !== 'undefined') window.open(url, '_blank', 'noopener,noreferrer');
  }

  // ------------------------------------------------------------------ driving

  /** Publish an alarm transition the way the hub would (tracks the active set). */
  publishAlarm(alarm: Alarm, flush = true): void {
    if (alarm.state === 'resolved') this.active.delete(alarm.id);
    else this.active.set(alarm.id, { ...alarm });
    this.pendingAlarms.push({ ...alarm });
    if (flush) this.flushAlarms();
  }

  /** Replace the hub's active set without publishing anything: transitions the UI missed. */
  changeWhileAway(active: Alarm[]): void {
    this.active.clear();
    for (const a of active) this.active.set(a.id, { ...a });
  }

  /** Send the hub's active set, as the shell does after a resync. */
  resync(): void {
    this.send({ activeAlarms: [{ server: MOCK_SERVER_ID, alarms: [...this.active.values()].map((a) => ({ ...a })) }] });
  }

  setConnection(state: Partial<ConnectionState> & Pick<ConnectionState, 'state'>): void {
    this.state = { server: this.state.server, serverId: MOCK_SERVER_ID, ...state };
    for (const cb of this.stateListeners) cb({ ...this.state });
  }

  setDiagnostics(d: Diagnostics): void {
    this.diagnostics = d;
    this.diagnosticsDirty = true;
  }

  /** Send a raw batch (tests use it for malformed input). */
  emit(batch: StreamBatch): void {
    this.send(batch);
  }

  /** One sample per source at `ts`, plus pending alarm transitions, as one batch. */
  tick(ts: number = this.now()): StreamBatch {
    const metrics: MetricBlock[] = this.sources.map((s) => {
      const values = this.sample(s.spec);
      const names = Object.keys(values);
      return { server: MOCK_SERVER_ID, source: s.spec.name, ts: [ts], names, values: names.map((n) => [values[n]!]) };
    });
    const batch: StreamBatch = { metrics };
    this.attachPending(batch);
    this.send(batch);
    this.ticks++;
    return batch;
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  // ------------------------------------------------------------------ internals

  private delay(): Promise<void> {
    const ms = this.opts.latencyMs;
    return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
  }

  private send(batch: StreamBatch): void {
    this.sent.push(batch);
    for (const cb of this.batchListeners) cb(batch);
  }

  private attachPending(batch: StreamBatch): void {
    if (this.pendingAlarms.length) {
      batch.alarms = this.pendingAlarms.map((a) => ({ ...a, server: MOCK_SERVER_ID }));
      this.pendingAlarms = [];
    }
    if (this.diagnosticsDirty) {
      batch.diagnostics = { ...this.diagnostics, invalid: { ...this.diagnostics.invalid } };
      this.diagnosticsDirty = false;
    }
  }

  private flushAlarms(): void {
    if (this.batchListeners.size === 0) return; // delivered with the next batch
    const batch: StreamBatch = {};
    this.attachPending(batch);
    if (batch.alarms || batch.diagnostics) this.send(batch);
  }

  private metricNames(spec: MockSourceSpec): string[] {
    return Object.keys(this.sampleShape(spec));
  }

  private sampleShape(spec: MockSourceSpec): Record<string, number> {
    const shape: Record<string, number> = { 'cpu.total': 0 };
    for (let i = 0; i < spec.cores; i++) shape[`cpu.core.${i}`] = 0;
    Object.assign(shape, {
      'mem.used_percent': 0,
      'mem.used_bytes': 0,
      'mem.available_bytes': 0,
      'net.rx_bytes_per_s': 0,
      'net.tx_bytes_per_s': 0,
      'disk.used_percent': 0,
      'load.1': 0,
      'load.5': 0,
      'load.15': 0,
    });
    return shape;
  }

  /** Advance one source's random walk and return its values. */
  private sample(s: SourceSpecState): Record<string, number> {
    const r = this.rand;
    const spike = r() < 0.03;
    s.cores01 = s.cores01.map((c) => {
      const target = 0.25 + (spike ? 0.6 : 0);
      return clamp(c + (target - c) * 0.15 + (r() - 0.5) * 0.12, 0.01, 0.99);
    });
    const total = s.cores01.reduce((a, b) => a + b, 0) / s.cores01.length;
    s.memFrac = clamp(s.memFrac + (r() - 0.48) * 0.004, 0.2, 0.95);
    s.diskFrac = clamp(s.diskFrac + r() * 0.00005, 0, 0.99);
    const burst = r() < 0.08 ? 1 + r() * 6 : 1;
    s.rx = clamp(s.rx * 0.8 + 0.2 * (1.5e6 + r() * 1.5e6) * burst, 1e3, 5e8);
    s.tx = clamp(s.tx * 0.8 + 0.2 * (3e5 + r() * 3e5) * (burst > 1 ? 2 : 1), 1e3, 5e8);
    const instant = total * s.cores + (r() - 0.5) * 0.2;
    const ema = (prev: number, secs: number) => prev + (instant - prev) * (1 - Math.exp(-1 / secs));
    s.load = [ema(s.load[0], 60), ema(s.load[1], 300), ema(s.load[2], 900)];
    const out: Record<string, number> = { 'cpu.total': round(total * 100, 1) };
    s.cores01.forEach((c, i) => (out[`cpu.core.${i}`] = round(c * 100, 1)));
    out['mem.used_percent'] = round(s.memFrac * 100, 1);
    out['mem.used_bytes'] = Math.round(s.memFrac * s.memTotalBytes);
    out['mem.available_bytes'] = Math.round((1 - s.memFrac) * s.memTotalBytes);
    out['net.rx_bytes_per_s'] = Math.round(s.rx);
    out['net.tx_bytes_per_s'] = Math.round(s.tx);
    out['disk.used_percent'] = round(s.diskFrac * 100, 2);
    out['load.1'] = round(Math.max(0, s.load[0]), 2);
    out['load.5'] = round(Math.max(0, s.load[1]), 2);
    out['load.15'] = round(Math.max(0, s.load[2]), 2);
    return out;
  }

  private historyBatch(): StreamBatch | null {
    const n = Math.floor((this.opts.historySecs * 1000) / this.opts.intervalMs);
    const batch: StreamBatch = {};
    if (n > 0 && this.sources.length > 0) {
      const end = this.now();
      const ts = Array.from({ length: n }, (_, i) => end - (n - i) * this.opts.intervalMs);
      batch.metrics = this.sources.map(({ spec }) => {
        const rows = ts.map(() => this.sample(spec));
        const names = Object.keys(rows[0]!);
        return { server: MOCK_SERVER_ID, source: spec.name, ts: [...ts], names, values: names.map((nm) => rows.map((row) => row[nm] ?? null)) };
      });
    }
    this.attachPending(batch);
    return batch.metrics || batch.alarms || batch.diagnostics ? batch : null;
  }

  private seedDemoAlarms(): void {
    const now = this.now();
    const host = this.sources[0]!.spec.name;
    const other = this.sources[1]?.spec.name ?? host;
    const mk = (a: Omit<Alarm, 'labels'>): Alarm => ({ ...a, labels: { rule: a.id.split('/')[1] ?? a.id } });
    // A resolved episode for the recent list: fired, then resolved.
    this.publishAlarm(
      mk({ id: `${host}/net_rx_high`, source: host, severity: 'warning', state: 'firing', title: 'Network receive above 50 MiB/s', message: 'net.rx_bytes_per_s = 61 MiB/s (threshold 50 MiB/s)', ts: now - 9 * 60_000, value: 61 * 2 ** 20 }),
      false,
    );
    this.publishAlarm(
      mk({ id: `${host}/net_rx_high`, source: host, severity: 'warning', state: 'resolved', title: 'Network receive above 50 MiB/s', message: 'back below threshold', ts: now - 6 * 60_000 }),
      false,
    );
    this.publishAlarm(mk({ id: `${other}/mem_pressure`, source: other, severity: 'info', state: 'firing', title: 'Memory pressure rising', message: 'mem.used_percent trending up for 30 min', ts: now - 31 * 60_000, value: 62.4 }), false);
    this.publishAlarm(mk({ id: `${other}/disk_full`, source: other, severity: 'warning', state: 'firing', title: 'Disk above 80 %', message: 'disk.used_percent = 83.1 % on /', ts: now - 11 * 60_000, value: 83.1 }), false);
    this.publishAlarm(mk({ id: `${other}/disk_full`, source: other, severity: 'warning', state: 'acknowledged', title: 'Disk above 80 %', message: 'disk.used_percent = 83.1 % on /', ts: now - 4 * 60_000, value: 83.1, by: 'alice' }), false);
    this.publishAlarm(mk({ id: `${host}/load_high`, source: host, severity: 'warning', state: 'firing', title: 'Load average above 3', message: 'load.1 = 3.4 for 2 min', ts: now - 95_000, value: 3.4,
      // As an alarm from Alertmanager carries them (shown as buttons in the row).
      links: {
        runbook: 'https://wiki.example/runbooks/load',
        generator: 'http://prometheus.example:9090/graph?g0.expr=node_load1%20%3E%203',
        silence: 'http://alertmanager.example:9093/#/silences/new',
      } }), false);
    this.publishAlarm(mk({ id: `${host}/cpu_high`, source: host, severity: 'critical', state: 'firing', title: 'CPU above 90 %', message: 'cpu.total = 93.4 % for 30 s', ts: now - 12_000, value: 93.4 }), false);
  }

  private start(): void {
    if (this.interval) return;
    const { scenario } = this.opts;
    if (scenario === 'loading') return; // stays 'connecting', commands never answer
    if (scenario === 'failed-auth' || scenario === 'failed') {
      this.setConnection({ ...this.state });
      return;
    }
    if (scenario === 'reconnecting') {
      this.setConnection({ state: 'reconnecting', reason: 'connection refused (os error 111)', retryInSecs: 8 });
      this.interval = setInterval(() => {
        this.setConnection({ state: 'reconnecting', reason: 'connection refused (os error 111)', retryInSecs: 8 });
      }, 8500);
      return;
    }
    this.timers.push(setTimeout(() => this.setConnection({ state: 'live' }), 400));
    if (scenario === 'quiet') return;
    this.interval = setInterval(() => this.autoTick(), this.opts.intervalMs);
  }

  /** The preview's script: a repeated firing, a resolve and a re-fire, on a 2-minute loop. */
  private autoTick(): void {
    const t = this.ticks % 120;
    const host = this.sources[0]?.spec.name;
    if (host && this.opts.demoAlarms) {
      const cpu = this.active.get(`${host}/cpu_high`);
      if (t === 10 && cpu) this.publishAlarm({ ...cpu, state: cpu.state, ts: this.now(), value: 95.2, message: 'cpu.total = 95.2 % for 40 s' }, false);
      const load = this.active.get(`${host}/load_high`);
      if (t === 45 && load) this.publishAlarm({ ...load, state: 'resolved', ts: this.now(), message: 'load.1 back below 3' }, false);
      if (t === 90 && !load)
        this.publishAlarm({ id: `${host}/load_high`, source: host, severity: 'warning', state: 'firing', title: 'Load average above 3', message: 'load.1 = 3.2', ts: this.now(), value: 3.2 }, false);
    }
    this.tick();
  }
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
