// The UI's state, fed by a Backend; no DOM. Views subscribe to its change events.
import type { Alarm, Backend, ConnectionState, Diagnostics, MetricBlock, StreamBatch, Unsubscribe } from './backend/types';
import { AlarmStore, isAlarm, type AlarmAction } from './data/alarms';
import { FlapTracker } from './data/flapping';
import { MetricStore } from './data/metrics';
import { ServerNames, qualify, splitKey } from './data/servers';

export type LoadStatus = 'loading' | 'ready' | 'error';

export interface ModelEvents {
  /** New samples for these sources. */
  metrics: (sources: Set<string>) => void;
  /** Sources or metric names changed (charts to add). */
  structure: () => void;
  alarms: () => void;
  /** Show this alarm (its key): a notification was clicked. */
  open: (key: string) => void;
  connection: () => void;
  diagnostics: () => void;
  status: () => void;
}

type Listeners = { [K in keyof ModelEvents]: Set<ModelEvents[K]> };

/** Channel names the UI itself uses for what it refused. */
export const UI_STREAM = 'ui: stream batch';
export const UI_ALARMS = 'ui: alarm payload';

/** Phases from worst to best: the summary of several hubs is the worst one. */
const PHASE_ORDER: ConnectionState['state'][] = ['failed', 'reconnecting', 'connecting', 'live'];

export class Model {
  readonly metrics: MetricStore;
  readonly alarms = new AlarmStore();
  /** Alarms that resolve and fire again within the hold: shown as flapping. */
  readonly flaps = new FlapTracker();
  /** The hubs in the list, by id (their names label sources and alarms). */
  readonly servers = new ServerNames();
  /** Each hub's state, in list order. */
  private readonly states = new Map<string, { state: ConnectionState; at: number }>();
  /** The summary of every hub's state: the worst one (see `connections()` for each). */
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
  /** Samples stored (refused duplicates and malformed blocks not counted). */
  samples = 0;
  private backendDiag: Diagnostics = { invalid: {}, lagged: 0 };
  private uiInvalid: Record<string, number> = {};
  private uiLastError = '';
  private uiLastErrorAt = 0;
  private backendErrorAt = 0;
  private readonly listeners: Listeners = {
    metrics: new Set(),
    structure: new Set(),
    alarms: new Set(),
    open: new Set(),
    connection: new Set(),
    diagnostics: new Set(),
    status: new Set(),
  };
  private unsubs: Unsubscribe[] = [];
  private wasLive = false;
  /** This user's snoozes: alarm key → hidden until (unix ms). */
  private readonly snoozeUntil = new Map<string, number>();
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
    this.unsubs.push(await b.onAlarmOpen((server, id) => this.emit('open', qualify(server, id))));
    const stream = b.connectStream((batch) => this.applyBatch(batch)).then(
      (u) => void this.unsubs.push(u),
      (e) => {
        this.streamError = errText(e);
        this.noteError(`connect_stream: ${this.streamError}`);
        this.emit('status');
      },
    );
    const states = b.connectionStates().then(
      (list) => {
        // An event may have arrived meanwhile; it is newer.
        for (const s of list) if (!this.states.has(s.serverId)) this.setConnection(s);
        if (list.length === 0) {
          this.catalogStatus = this.alarmsStatus = 'ready';
          this.emit('status');
        }
      },
      (e) => this.noteError(`connection_states: ${errText(e)}`),
    );
    await Promise.all([stream, states]);
    await Promise.all([this.loadCatalog(), this.loadAlarms(), this.loadSnoozes()]);
  }

  /** Each hub's state, in list order. */
  connections(): ConnectionState[] {
    return [...this.states.values()].map((s) => s.state);
  }

  /** Whether hub `server` is live now. */
  isLive(server: string): boolean {
    return this.states.get(server)?.state.state === 'live';
  }

  /** When a hub's state was received. */
  connectionAtOf(server: string): number {
    return this.states.get(server)?.at ?? 0;
  }

  stop(): void {
    for (const u of this.unsubs) u();
    this.unsubs = [];
  }

  /** Every hub's catalog (or only `servers`'); the status is the worst of them. */
  async loadCatalog(servers: string[] = this.servers.ids()): Promise<void> {
    const errors: string[] = [];
    await Promise.all(
      servers.map(async (server) => {
        try {
          const cat = await this.backend.catalog(server);
          const sources = (cat?.sources ?? []).map((src) => ({ ...src, source: qualify(server, src.source) }));
          if (this.servers.has(server) && this.metrics.applyCatalog({ sources })) this.emit('structure');
        } catch (e) {
          errors.push(this.servers.several ? `${this.servers.name(server)}: ${errText(e)}` : errText(e));
        }
      }),
    );
    this.catalogStatus = errors.length && !this.metrics.sources().length ? 'error' : 'ready';
    this.catalogError = errors.join('; ');
    this.emit('status');
  }

  /** Every hub's active alarms (or only `servers`'). */
  async loadAlarms(servers: string[] = this.servers.ids()): Promise<void> {
    const errors: string[] = [];
    await Promise.all(
      servers.map(async (server) => {
        try {
          const list = await this.backend.alarmsActive(server);
          if (this.servers.has(server)) this.alarms.replaceActive(list.map((a) => this.qualifyAlarm(server, a)), server);
        } catch (e) {
          errors.push(this.servers.several ? `${this.servers.name(server)}: ${errText(e)}` : errText(e));
        }
      }),
    );
    this.alarmsStatus = errors.length ? 'error' : 'ready';
    this.alarmsError = errors.join('; ');
    this.emit('alarms');
    this.emit('status');
  }

  private async loadSnoozes(): Promise<void> {
    try {
      this.setSnoozes(await this.backend.snoozes());
    } catch (e) {
      this.noteError(`snoozes: ${errText(e)}`);
    }
  }

  private setSnoozes(list: readonly { server: string; id: string; until: number }[]): void {
    this.snoozeUntil.clear();
    for (const s of list) this.snoozeUntil.set(qualify(s.server, s.id), s.until);
    this.emit('alarms');
  }

  /** Until when this user snoozed alarm `key`, or null when it is not snoozed at `now`. */
  snoozedUntil(key: string, now: number = this.now()): number | null {
    const until = this.snoozeUntil.get(key);
    return until !== undefined && until > now ? until : null;
  }

  /** Opens an alarm's link in the browser; a refusal lands in the diagnostics. */
  async openUrl(url: string): Promise<boolean> {
    try {
      await this.backend.openUrl(url);
      return true;
    } catch (e) {
      this.noteError(`open ${url}: ${errText(e)}`);
      return false;
    }
  }

  /** Hides alarm `key` for this user until `until` (null: show it again). Resolves with success. */
  async snooze(key: string, until: number | null): Promise<boolean> {
    const { server, name } = splitKey(key);
    try {
      this.setSnoozes(await this.backend.alarmsSnooze(server, name, until));
      return true;
    } catch (e) {
      this.noteError(`snooze: ${errText(e)}`);
      return false;
    }
  }

  /** An alarm as the UI keys it: id and source qualified by the hub. */
  private qualifyAlarm(server: string, a: Alarm): Alarm {
    if (!a || typeof a !== 'object' || typeof a.id !== 'string') return a;
    return { ...a, id: qualify(server, a.id), source: qualify(server, typeof a.source === 'string' ? a.source : ''), server };
  }

  /** One hub's state changed; a hub seen for the first time is loaded, an `off` one dropped. */
  setConnection(s: ConnectionState): void {
    const server = s.serverId ?? '';
    const known = this.states.has(server);
    if (s.state === 'off') {
      this.states.delete(server);
      this.servers.delete(server);
      this.metrics.forgetServer(server);
      this.alarms.forgetServer(server);
      this.emit('structure');
      this.emit('alarms');
    } else {
      this.states.set(server, { state: s, at: this.now() });
      if (this.servers.set(server, s.server)) this.emit('structure');
    }
    this.summarize();
    this.emit('connection');
    // A hub added after start: its data so far. (Resyncs after a reconnect come from the
    // shell on the stream, so nothing is reloaded here when a known hub goes live again.)
    if (!known && s.state !== 'off' && this.alarmsStatus !== 'loading') {
      void this.loadAlarms([server]);
      void this.loadCatalog([server]);
    }
  }

  /** `connection` is the worst hub's state, so one pill and banner speak for all. */
  private summarize(): void {
    let worst: { state: ConnectionState; at: number } | null = null;
    for (const s of this.states.values()) {
      if (!worst || PHASE_ORDER.indexOf(s.state.state) < PHASE_ORDER.indexOf(worst.state.state)) worst = s;
    }
    this.connection = worst?.state ?? null;
    this.connectionAt = worst?.at ?? this.now();
    const live = this.connection?.state === 'live';
    if (live || this.wasLive) this.lastLiveAt = this.now();
    this.wasLive = live;
  }

  applyBatch(batch: StreamBatch): void {
    this.batches++;
    if (!batch || typeof batch !== 'object') {
      this.noteInvalid(UI_STREAM, 'stream batch is not an object');
      return;
    }
    if (batch.metrics !== undefined) {
      const blocks = Array.isArray(batch.metrics) ? batch.metrics.map((b) => this.qualifyBlock(b)) : batch.metrics;
      const res = this.metrics.applyBlocks(blocks);
      this.samples += res.accepted;
      for (const r of res.rejected) this.noteInvalid(UI_STREAM, r);
      if (res.discovered) this.emit('structure');
      if (res.touched.size) this.emit('metrics', res.touched);
    }
    let alarmsChanged = false;
    if (batch.activeAlarms !== undefined) {
      if (Array.isArray(batch.activeAlarms)) {
        for (const set of batch.activeAlarms) {
          if (!set || typeof set.server !== 'string' || !Array.isArray(set.alarms)) {
            this.noteInvalid(UI_STREAM, 'activeAlarms entry without a server and its alarms');
            continue;
          }
          if (!this.servers.has(set.server)) continue;
          const before = this.alarms.invalid;
          this.alarms.replaceActive(set.alarms.map((a) => this.qualifyAlarm(set.server, a)), set.server);
          if (this.alarms.invalid > before) this.noteInvalid(UI_ALARMS, 'malformed alarm in activeAlarms', this.alarms.invalid - before);
          alarmsChanged = true;
        }
        if (alarmsChanged) this.alarmsStatus = 'ready';
      } else this.noteInvalid(UI_STREAM, 'activeAlarms is not an array');
    }
    if (batch.alarms !== undefined) {
      if (Array.isArray(batch.alarms)) {
        const list = batch.alarms.map((a) => (a && typeof a.server === 'string' ? this.qualifyAlarm(a.server, a) : a));
        alarmsChanged = this.applyAlarms(list, false) || alarmsChanged;
      } else this.noteInvalid(UI_STREAM, 'alarms is not an array');
    }
    if (alarmsChanged) this.emit('alarms');
    if (batch.diagnostics && typeof batch.diagnostics === 'object') {
      const d = batch.diagnostics;
      if (d.lastError && d.lastError !== this.backendDiag.lastError) this.backendErrorAt = this.now();
      this.backendDiag = { invalid: { ...(d.invalid ?? {}) }, lastError: d.lastError, lagged: d.lagged ?? 0 };
      this.emit('diagnostics');
    }
  }

  /** A block keyed by the hub's qualified source (a block without a hub stays invalid). */
  private qualifyBlock(b: MetricBlock): MetricBlock {
    if (!b || typeof b !== 'object') return b;
    if (typeof b.server !== 'string' || typeof b.source !== 'string') return { ...b, source: '' };
    return { ...b, source: qualify(b.server, b.source) };
  }

  /** Returns whether anything changed. */
  private applyAlarms(list: readonly unknown[], emit = true): boolean {
    let changed = false;
    for (const a of list) {
      const before = this.alarms.invalid;
      if (isAlarm(a)) this.flaps.observe(a.id, { state: a.state, at: a.ts });
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
    const { server, name } = splitKey(id);
    return this.change(id, 'ack', () => this.backend.alarmsAck(server, name, note));
  }

  /** Silence an active alarm until `until` (unix ms). Resolves with success. */
  async silence(id: string, until: number): Promise<boolean> {
    const entry = this.alarms.get(id);
    if (!entry || !this.alarms.isActive(id) || entry.pending) return false;
    const { server, name } = splitKey(id);
    return this.change(id, 'silence', () => this.backend.alarmsSilence(server, name, until));
  }

  /** One request about an alarm: pending on the row meanwhile, its error on the row after. */
  private async change(id: string, action: AlarmAction, request: () => Promise<Alarm>): Promise<boolean> {
    this.alarms.markPending(id, action);
    this.emit('alarms');
    try {
      const updated = await request();
      this.alarms.clearPending(id);
      this.alarms.apply(this.qualifyAlarm(splitKey(id).server, updated));
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
    const out: Diagnostics = { invalid, lagged: this.backendDiag.lagged };
    if (lastError) out.lastError = lastError;
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
