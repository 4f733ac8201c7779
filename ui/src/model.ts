// The UI's state, fed by a Backend; no DOM. Views subscribe to its change events.
import type { Alarm, Backend, ConnectionState, Diagnostics, StreamBatch, Unsubscribe } from './backend/types';
import { AlarmStore, type AlarmAction } from './data/alarms';
import { MetricStore } from './data/metrics';

export type LoadStatus = 'loading' | 'ready' | 'error';

export interface ModelEvents {
  /** New samples for these sources. */
  metrics: (sources: Set<string>) => void;
  /** Sources or metric names changed (charts to add). */
  structure: () => void;
  alarms: () => void;
  connection: () => void;
  diagnostics: () => void;
  status: () => void;
}

type Listeners = { [K in keyof ModelEvents]: Set<ModelEvents[K]> };

/** Channel names the UI itself uses for what it refused. */
export const UI_STREAM = 'ui: stream batch';
export const UI_ALARMS = 'ui: alarm payload';

export class Model {
  readonly metrics: MetricStore;
  readonly alarms = new AlarmStore();
  connection: ConnectionState | null = null;
  /** When `connection` was received (for the reconnect countdown). */
  connectionAt = 0;
  catalogStatus: LoadStatus = 'loading';
  catalogError = '';
  alarmsStatus: LoadStatus = 'loading';
  alarmsError = '';
  streamError = '';
  /** Batches received. */
  batches = 0;
  private backendDiag: Diagnostics = { invalid: {} };
  private uiInvalid: Record<string, number> = {};
  private uiLastError = '';
  private uiLastErrorAt = 0;
  private backendErrorAt = 0;
  private readonly listeners: Listeners = {
    metrics: new Set(),
    structure: new Set(),
    alarms: new Set(),
    connection: new Set(),
    diagnostics: new Set(),
    status: new Set(),
  };
  private unsubs: Unsubscribe[] = [];
  private wasLive = false;
  /** Last moment the connection was live (unix ms), 0 before the first time. */
  lastLiveAt = 0;

  constructor(
    readonly backend: Backend,
    readonly now: () => number = () => Date.now(),
  ) {
    this.metrics = new MetricStore();
  }

  on<K extends keyof ModelEvents>(event: K, cb: ModelEvents[K]): () => void {
    (this.listeners[event] as Set<ModelEvents[K]>).add(cb);
    return () => (this.listeners[event] as Set<ModelEvents[K]>).delete(cb);
  }

  private emit<K extends keyof ModelEvents>(event: K, ...args: Parameters<ModelEvents[K]>): void {
    for (const cb of this.listeners[event] as Set<(...a: Parameters<ModelEvents[K]>) => void>) {
      try {
        cb(...args);
      } catch (e) {
        console.error(`listener for ${event} failed`, e);
      }
    }
  }

  async start(): Promise<void> {
    const b = this.backend;
    this.unsubs.push(await b.onConnectionState((s) => this.setConnection(s)));
    this.unsubs.push(await b.onAlarm((a) => this.applyAlarms([a])));
    const stream = b.connectStream((batch) => this.applyBatch(batch)).then(
      (u) => void this.unsubs.push(u),
      (e) => {
        this.streamError = errText(e);
        this.noteError(`connect_stream: ${this.streamError}`);
        this.emit('status');
      },
    );
    const state = b.connectionState().then(
      (s) => {
        // An event may have arrived meanwhile; it is newer.
        if (!this.connection) this.setConnection(s);
      },
      (e) => this.noteError(`connection_state: ${errText(e)}`),
    );
    await Promise.all([stream, state, this.loadCatalog(), this.loadAlarms()]);
  }

  stop(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }

  async loadCatalog(): Promise<void> {
    try {
      const cat = await this.backend.catalog();
      if (this.metrics.applyCatalog(cat)) this.emit('structure');
      this.catalogStatus = 'ready';
      this.catalogError = '';
    } catch (e) {
      this.catalogStatus = this.metrics.sources().length ? 'ready' : 'error';
      this.catalogError = errText(e);
    }
    this.emit('status');
  }

  async loadAlarms(): Promise<void> {
    try {
      const list = await this.backend.alarmsActive();
      this.alarms.replaceActive(list);
      this.alarmsStatus = 'ready';
      this.alarmsError = '';
    } catch (e) {
      this.alarmsStatus = 'error';
      this.alarmsError = errText(e);
    }
    this.emit('alarms');
    this.emit('status');
  }

  setConnection(s: ConnectionState): void {
    this.connection = s;
    this.connectionAt = this.now();
    this.emit('connection');
    const live = s.state === 'live';
    if (live || this.wasLive) this.lastLiveAt = this.now();
    if (live && !this.wasLive) {
      // Back to live: alarms or sources may have changed while we were away.
      if (this.alarmsStatus !== 'loading') void this.loadAlarms();
      if (this.catalogStatus !== 'loading') void this.loadCatalog();
    }
    this.wasLive = live;
  }

  applyBatch(batch: StreamBatch): void {
    this.batches++;
    if (!batch || typeof batch !== 'object') {
      this.noteInvalid(UI_STREAM, 'stream batch is not an object');
      return;
    }
    if (batch.metrics !== undefined) {
      const res = this.metrics.applyBlocks(batch.metrics);
      for (const r of res.rejected) this.noteInvalid(UI_STREAM, r);
      if (res.discovered) this.emit('structure');
      if (res.touched.size) this.emit('metrics', res.touched);
    }
    let alarmsChanged = false;
    if (batch.activeAlarms !== undefined) {
      if (Array.isArray(batch.activeAlarms)) {
        const before = this.alarms.invalid;
        this.alarms.replaceActive(batch.activeAlarms);
        if (this.alarms.invalid > before) this.noteInvalid(UI_ALARMS, 'malformed alarm in activeAlarms', this.alarms.invalid - before);
        this.alarmsStatus = 'ready';
        alarmsChanged = true;
      } else this.noteInvalid(UI_STREAM, 'activeAlarms is not an array');
    }
    if (batch.alarms !== undefined) {
      if (Array.isArray(batch.alarms)) alarmsChanged = this.applyAlarms(batch.alarms, false) || alarmsChanged;
      else this.noteInvalid(UI_STREAM, 'alarms is not an array');
    }
    if (alarmsChanged) this.emit('alarms');
    if (batch.diagnostics && typeof batch.diagnostics === 'object') {
      const d = batch.diagnostics;
      if (d.lastError && d.lastError !== this.backendDiag.lastError) this.backendErrorAt = this.now();
      this.backendDiag = { invalid: { ...(d.invalid ?? {}) }, lastError: d.lastError, lagged: d.lagged };
      this.emit('diagnostics');
    }
  }

  /** Returns whether anything changed. */
  private applyAlarms(list: readonly unknown[], emit = true): boolean {
    let changed = false;
    for (const a of list) {
      const before = this.alarms.invalid;
      if (this.alarms.apply(a)) changed = true;
      else if (this.alarms.invalid > before) this.noteInvalid(UI_ALARMS, `malformed alarm: ${short(a)}`);
    }
    if (changed && emit) this.emit('alarms');
    return changed;
  }

  /** Acknowledge a firing alarm; a blank comment is no comment. Resolves with success. */
  async ack(id: string, comment?: string): Promise<boolean> {
    const entry = this.alarms.get(id);
    if (!entry || entry.alarm.state !== 'firing' || entry.pending) return false;
    const note = comment?.trim() || undefined;
    return this.change(id, 'ack', () => this.backend.alarmsAck(id, note));
  }

  /** Silence an active alarm until `until` (unix ms). Resolves with success. */
  async silence(id: string, until: number): Promise<boolean> {
    const entry = this.alarms.get(id);
    if (!entry || !this.alarms.isActive(id) || entry.pending) return false;
    return this.change(id, 'silence', () => this.backend.alarmsSilence(id, until));
  }

  /** One request about an alarm: pending on the row meanwhile, its error on the row after. */
  private async change(id: string, action: AlarmAction, request: () => Promise<Alarm>): Promise<boolean> {
    this.alarms.markPending(id, action);
    this.emit('alarms');
    try {
      const updated = await request();
      this.alarms.clearPending(id);
      this.alarms.apply(updated);
      this.emit('alarms');
      return true;
    } catch (e) {
      this.alarms.markFailed(id, action, errText(e));
      this.emit('alarms');
      return false;
    }
  }

  private noteInvalid(channel: string, error: string, n = 1): void {
    this.uiInvalid[channel] = (this.uiInvalid[channel] ?? 0) + n;
    this.uiLastError = error;
    this.uiLastErrorAt = this.now();
    this.emit('diagnostics');
  }

  private noteError(error: string): void {
    this.uiLastError = error;
    this.uiLastErrorAt = this.now();
    this.emit('diagnostics');
  }

  /** Backend counters plus what the UI refused itself. */
  diagnostics(): Diagnostics {
    const invalid: Record<string, number> = { ...this.backendDiag.invalid };
    for (const [k, v] of Object.entries(this.uiInvalid)) invalid[k] = (invalid[k] ?? 0) + v;
    const lastError =
      this.uiLastError && (this.uiLastErrorAt >= this.backendErrorAt || !this.backendDiag.lastError)
        ? this.uiLastError
        : this.backendDiag.lastError;
    const out: Diagnostics = { invalid };
    if (lastError) out.lastError = lastError;
    if (this.backendDiag.lagged) out.lagged = this.backendDiag.lagged;
    return out;
  }
}

function errText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return typeof e === 'string' ? e : JSON.stringify(e);
}

function short(x: unknown): string {
  try {
    const s = JSON.stringify(x);
    return s.length > 80 ? `${s.slice(0, 77)}…` : s;
  } catch {
    return String(x);
  }
}
