// Backend of a page the hub serves to a browser: the official Centrifugo SDK (npm
// `centrifuge`) to the hub that served the page, doing in the page what the desktop shell
// does in Rust (crates/client/src/follow.rs, src-tauri/src/stream.rs and notifications/):
//
// - follows `alarms` and every `metrics:<source>` of the catalog (polled every 5 s and at
//   each connect), with recovery; a fresh or gapped `alarms` gets the hub's active set, a
//   fresh or gapped source its recent history before its live samples (./backfill.ts);
// - coalesces publications into one StreamBatch per display frame (./pending-batch.ts);
// - one hub, id `web`, named after the page's host, with the desktop's connection phases;
// - personal snoozes in localStorage, alarm notifications through the browser's API.
//
// See ./README.md ("The web backend") for the contract and the token handling.
import { Centrifuge, UnauthorizedError, type Subscription } from 'centrifuge';
import type { Alarm, Backend, Catalog, CatalogSource, ConnectionState, MetricSample, StreamBatch, Unsubscribe } from './types';
import { MemorySettingsBackend, defaultSettings, type NotifyPrefs, type Snooze } from './settings';
import { PageHistoryBackend } from './history';
import { isWebUrl } from '../data/links';
import { BackendError } from './command-error';
import { unwrapAlarm, unwrapAlarms } from './replies';
import { decodeAlarm, decodeSample } from './payload';
import { PendingBatch } from './pending-batch';
import { Backfill, recentSamples, type Ticket } from './backfill';
import { NotifyPolicy, defaultPrefs } from './notify-policy';
import { BrowserNotes, type NotificationApi } from './browser-notes';
import { SnoozeStore, type KeyValueStorage } from './snooze-store';
import { StoredToken, tokenExpiry, type TokenSource } from './web-token';

/** The one hub's id: every block, alarm and state of this backend carries it. */
export const WEB_SERVER_ID = 'web';
export const ALARMS_CHANNEL = 'alarms';
export const METRICS_PREFIX = 'metrics:';
/** How often the catalog is checked for new sources (as the desktop does). */
export const DISCOVERY_INTERVAL_MS = 5000;
/** Longest wait for a source's history, queueing included; its live samples are held meanwhile. */
export const BACKFILL_WAIT_MS = 10_000;
/** History requests at once: after a reconnect every source asks. */
const BACKFILLS_AT_ONCE = 2;
/** Most catalog pages read: a bound on a hub that pages forever. */
const MAX_CATALOG_PAGES = 100;
/** No-frame fallback: a hidden tab runs no animation frames, but its batches still go out (and stay bounded). */
const FRAME_FALLBACK_MS = 1000;

/** Runs `cb` at the next display frame (requestAnimationFrame in a page). */
export type FrameScheduler = (cb: () => void) => void;

export interface WebBackendOptions {
  /** `ws(s)://HOST/connection/websocket`; see hubEndpoint(). */
  endpoint: string;
  /** The hub's name in the UI; default: the endpoint's host. */
  serverName?: string;
  /** Where the token comes from (sessionStorage in a page); none: anonymous. */
  tokens?: TokenSource;
  /** Where personal snoozes are kept (localStorage in a page); null: nowhere. */
  storage?: KeyValueStorage | null;
  now?: () => number;
  /** One StreamBatch per call at most; default pageFrame(). */
  frame?: FrameScheduler;
  /** A WebSocket constructor for the SDK where there is no global one. */
  websocket?: unknown;
  /** The Notifications API; null or absent: no notifications. */
  notifications?: NotificationApi | null;
  /** Where the first click asks for notification permission (the document). */
  gestureTarget?: EventTarget | null;
  /** Opens an http(s) URL; default window.open with noopener. */
  openWindow?: (url: string) => void;
  /** Brings the page forward when a notification is clicked. */
  focus?: () => void;
  discoveryMs?: number;
  backfillWaitMs?: number;
  /** The SDK's reconnect backoff bounds (ms). */
  reconnectDelayMs?: { min: number; max: number };
  /** The SDK's request timeout (ms). */
  timeoutMs?: number;
}

/** The hub's WebSocket endpoint for a page it served: wss when the page is https. */
export function hubEndpoint(loc: { protocol: string; host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/connection/websocket`;
}

/** requestAnimationFrame, or a timer when no frame comes (hidden tab), whichever is first. */
export function pageFrame(): FrameScheduler {
  return (cb) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb();
    };
    const timer = setTimeout(once, FRAME_FALLBACK_MS);
    if (typeof requestAnimationFrame === 'function') requestAnimationFrame(once);
  };
}

/** What the SDK rejects with: `{code, message}` (codes below 100 are its own). */
function sdkError(e: unknown): { code: number | undefined; message: string } {
  const o = e as { code?: unknown; message?: unknown } | null;
  const code = o && typeof o.code === 'number' ? o.code : undefined;
  const message = o && typeof o.message === 'string' ? o.message : String(e);
  return { code, message };
}

export class WebBackend implements Backend {
  readonly kind = 'web' as const;
  readonly serverName: string;
  /** A page has no settings file: the settings view works on memory (notification prefs apply here). */
  readonly settings = new MemorySettingsBackend(defaultSettings(), null, 'file', 'this tab only (a page served by the hub has no settings file)');
  /** The transitions this page received (the hub keeps no alarm history). */
  readonly history: PageHistoryBackend;
  private readonly endpoint: string;
  private readonly tokens: TokenSource;
  private readonly now: () => number;
  private readonly frame: FrameScheduler;
  private readonly openWindow: (url: string) => void;
  private readonly opts: WebBackendOptions;
  private client: Centrifuge | null = null;
  private state: ConnectionState;
  private readonly pending = new PendingBatch();
  private onBatch: ((batch: StreamBatch) => void) | null = null;
  private frameQueued = false;
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private readonly openListeners = new Set<(server: string, id: string) => void>();
  private readonly backfill = new Backfill();
  private backfillsRunning = 0;
  private readonly backfillWaiting: (() => void)[] = [];
  private discovery: ReturnType<typeof setInterval> | null = null;
  private readonly policy: NotifyPolicy | null;
  private readonly notes: BrowserNotes;
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly snoozeStore: SnoozeStore;
  /** Notification preferences from the settings view (desktop defaults until changed). */
  private prefs: NotifyPrefs = defaultPrefs();
  /** Why the connection is not live, kept for the reconnect countdown. */
  private lastReason: string | undefined;
  /** Why the token source refused to give a token (the SDK reports only "unauthorized"). */
  private tokenRefusal: string | null = null;
  /** Whether the last connect attempt carried a token. */
  private sentToken = false;
  private closed = false;

  constructor(options: WebBackendOptions) {
    this.opts = options;
    this.endpoint = options.endpoint;
    this.serverName = options.serverName ?? hostOf(options.endpoint);
    this.tokens = options.tokens ?? new StoredToken(null);
    this.now = options.now ?? (() => Date.now());
    this.frame = options.frame ?? pageFrame();
    this.openWindow = options.openWindow ?? ((url) => void window.open(url, '_blank', 'noopener,noreferrer'));
    this.snoozeStore = new SnoozeStore(options.storage ?? null, this.now);
    this.history = new PageHistoryBackend(this.now);
    this.state = { state: 'connecting', server: this.serverName, serverId: WEB_SERVER_ID };
    const api = options.notifications ?? null;
    // Without the API nothing would be shown: no policy, no timers.
    this.policy = api ? new NotifyPolicy(this.notifyPrefs()) : null;
    // Notification preferences changed in the settings view apply to this page's notes.
    this.settings.onSettingsChanged((s) => {
      this.prefs = s.notifications;
      this.policy?.setPrefs(this.notifyPrefs());
      this.armWake();
    });
    this.notes = new BrowserNotes(api, (server, id) => this.emitOpen(server, id), options.focus);
    this.notes.askOnFirstGesture(options.gestureTarget ?? null);
  }

  // ------------------------------------------------------------------ Backend

  async connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe> {
    this.onBatch = onBatch;
    this.start();
    this.schedule();
    return () => {
      if (this.onBatch === onBatch) this.onBatch = null;
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

  async connectionStates(): Promise<ConnectionState[]> {
    return [{ ...this.state }];
  }

  async alarmsActive(server: string): Promise<Alarm[]> {
    this.checkServer(server);
    return this.rpc('alarms.active', {}, 'cannot load active alarms', unwrapAlarms);
  }

  async alarmsAck(server: string, id: string, comment?: string): Promise<Alarm> {
    this.checkServer(server);
    const data = comment === undefined ? { id } : { id, comment };
    return this.rpc('alarms.ack', data, `cannot acknowledge ${id}`, (r) => unwrapAlarm(r, 'alarms.ack'));
  }

  async alarmsSilence(server: string, id: string, until: number): Promise<Alarm> {
    this.checkServer(server);
    return this.rpc('alarms.silence', { id, until }, `cannot silence ${id}`, (r) => unwrapAlarm(r, 'alarms.silence'));
  }

  async alarmsSnooze(server: string, id: string, until: number | null): Promise<Snooze[]> {
    this.checkServer(server);
    const list = this.snoozeStore.set(server, id, until);
    this.policy?.setPrefs(this.notifyPrefs());
    this.armWake();
    return list;
  }

  async snoozes(): Promise<Snooze[]> {
    return this.snoozeStore.list();
  }

  async catalog(server: string): Promise<Catalog> {
    this.checkServer(server);
    return this.readCatalog();
  }

  async openUrl(url: string): Promise<void> {
    if (!isWebUrl(url)) throw new Error(`not an http(s) URL: ${url}; only http and https links are opened`);
    this.openWindow(url);
  }

  /** Connects again with `token` (kept for this tab): the token form of the failed state. */
  async useToken(token: string): Promise<void> {
    const t = token.trim();
    if (!t) throw new Error('the token is empty: paste the whole token (three parts separated by dots)');
    this.tokens.set(t);
    this.tokenRefusal = null;
    const client = this.client;
    if (!client) return;
    client.setToken(t);
    if (client.state === 'disconnected') client.connect();
  }

  /** Disconnects and stops every timer (tests; a page just goes away). */
  close(): void {
    this.closed = true;
    if (this.discovery) clearInterval(this.discovery);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.discovery = this.wakeTimer = null;
    this.client?.disconnect();
    this.onBatch = null;
  }

  // ------------------------------------------------------------------ connection

  private start(): void {
    if (this.client || this.closed) return;
    const initial = this.tokens.get();
    this.sentToken = !!initial;
    const client = new Centrifuge(this.endpoint, {
      token: initial ?? '',
      getToken: async () => this.nextToken(),
      name: 'telltale-web',
      ...(this.opts.websocket ? { websocket: this.opts.websocket } : {}),
      ...(this.opts.timeoutMs ? { timeout: this.opts.timeoutMs } : {}),
      ...(this.opts.reconnectDelayMs ? { minReconnectDelay: this.opts.reconnectDelayMs.min, maxReconnectDelay: this.opts.reconnectDelayMs.max } : {}),
    });
    this.client = client;
    this.reportReconnectDelay(client);
    client.on('connecting', (ctx) => this.onConnecting(ctx.code, ctx.reason));
    client.on('connected', () => this.onConnected());
    client.on('disconnected', (ctx) => this.onDisconnected(ctx.code, ctx.reason));
    client.on('error', (ctx) => {
      // A transport that never opened says nothing else about why.
      if (ctx.type === 'transport') this.lastReason = `cannot reach the hub: ${sdkError(ctx.error).message || 'connection failed'}`;
    });
    this.subscribe(ALARMS_CHANNEL);
    this.discovery = setInterval(() => {
      if (client.state === 'connected') void this.subscribeNewSources();
    }, this.opts.discoveryMs ?? DISCOVERY_INTERVAL_MS);
    client.connect();
  }

  /**
   * The token for a (re)connect: the stored one, none for anonymous, or a refusal when it
   * has expired (the SDK then stops with "unauthorized" instead of retrying a dead token).
   */
  private nextToken(): string {
    const token = this.tokens.get();
    this.sentToken = !!token;
    if (!token) return '';
    const exp = tokenExpiry(token);
    if (exp !== null && exp <= this.now()) {
      this.tokenRefusal = `the token expired at ${new Date(exp).toISOString()}`;
      throw new UnauthorizedError(this.tokenRefusal);
    }
    return token;
  }

  /**
   * The SDK does not report how long it waits before reconnecting; the countdown needs it.
   * Its one hook is read when present (feature-detected); without it the UI says
   * "Reconnecting…" without a countdown.
   */
  private reportReconnectDelay(client: Centrifuge): void {
    const c = client as unknown as { _getReconnectDelay?: () => number };
    const original = c._getReconnectDelay;
    if (typeof original !== 'function') return;
    c._getReconnectDelay = () => {
      const ms = original.call(client);
      if (!this.closed) this.setState({ state: 'reconnecting', reason: this.lastReason, retryInSecs: Math.max(0, Math.ceil(ms / 1000)) });
      return ms;
    };
  }

  private onConnecting(code: number, reason: string): void {
    if (code === 0) {
      // connect() called: the first attempt, or again after a new token.
      this.setState({ state: 'connecting' });
      return;
    }
    this.lastReason = `${reason} (code ${code})`;
    this.setState({ state: 'reconnecting', reason: this.lastReason });
  }

  private onConnected(): void {
    this.lastReason = undefined;
    this.tokenRefusal = null;
    this.setState({ state: 'live' });
    void this.subscribeNewSources();
  }

  private onDisconnected(code: number, reason: string): void {
    if (this.closed) return;
    let why = `${reason} (code ${code})`;
    // The hub answers a missing token with "bad request"; the UI must say it is about the token.
    if (code === 3501 && !this.sentToken) why = `unauthorized: this hub accepts no connection without a token (${reason}, code 3501)`;
    else if (code === 1) why = `unauthorized: ${this.tokenRefusal ?? 'no token'} (code 1)`;
    this.lastReason = why;
    this.setState({ state: 'failed', reason: why });
  }

  private setState(s: Omit<ConnectionState, 'server' | 'serverId'>): void {
    const next: ConnectionState = { state: s.state, server: this.serverName, serverId: WEB_SERVER_ID };
    if (s.reason !== undefined) next.reason = s.reason;
    if (s.retryInSecs !== undefined) next.retryInSecs = s.retryInSecs;
    this.state = next;
    for (const cb of this.stateListeners) {
      try {
        cb({ ...next });
      } catch (e) {
        console.error('connection state listener failed', e);
      }
    }
  }

  private checkServer(server: string): void {
    if (server !== WEB_SERVER_ID) throw new BackendError(`no server ${JSON.stringify(server)} in the list (this page follows only the hub that served it)`, 'unknown_server');
  }

  // ------------------------------------------------------------------ RPC

  private async rpc<T>(method: string, data: object, what: string, unwrap: (r: unknown) => T): Promise<T> {
    const client = this.client;
    if (!client) throw new BackendError(`${what}: not connected yet (the stream has not started)`, 'unreachable');
    let result: unknown;
    try {
      result = (await client.rpc(method, data)).data;
    } catch (e) {
      throw this.commandError(what, e);
    }
    try {
      return unwrap(result);
    } catch (e) {
      throw new BackendError(`${what}: ${e instanceof Error ? e.message : String(e)}`, 'hub');
    }
  }

  /** As the shell's CommandError::hub: the hub's refusals carry its code, the rest is "unreachable". */
  private commandError(what: string, e: unknown): BackendError {
    const { code, message } = sdkError(e);
    if (code !== undefined && code >= 100) return new BackendError(`${what}: server error ${code}: ${message}`, 'hub', code);
    const timeout = (this.opts.timeoutMs ?? 5000) / 1000;
    const why =
      code === 1
        ? `no reply within ${timeout} s; check that the hub is running`
        : code === 3 || code === 4
          ? `not connected to the hub (${this.state.reason ?? this.state.state})`
          : `connection lost before the reply (${message}); try again once it is back`;
    return new BackendError(`${what}: ${why}`, 'unreachable');
  }

  /** Every page of the catalog. */
  private async readCatalog(): Promise<Catalog> {
    const sources: CatalogSource[] = [];
    let offset = 0;
    for (let page = 0; page < MAX_CATALOG_PAGES; page++) {
      const reply = await this.rpc('catalog', { offset }, 'cannot load the catalog', (r) => {
        const c = r as Partial<Catalog> | null;
        if (!c || !Array.isArray(c.sources)) throw new Error('catalog returned an unexpected shape');
        return c as Catalog;
      });
      sources.push(...reply.sources);
      const next = reply.next_offset;
      if (!reply.truncated || typeof next !== 'number' || next <= offset) return { sources };
      offset = next;
    }
    return { sources, truncated: true, next_offset: offset };
  }

  // ------------------------------------------------------------------ following

  private subscribe(channel: string): void {
    const client = this.client;
    if (!client || client.getSubscription(channel)) return;
    const sub = client.newSubscription(channel, { recoverable: true, positioned: true });
    sub.on('publication', (ctx) => this.onPublication(channel, ctx.data));
    sub.on('subscribed', (ctx) => {
      // Fresh (starts at "now") or a gap recovery could not fill: both miss what the hub still knows.
      if (!(ctx.wasRecovering && ctx.recovered)) this.resync(channel, sub);
    });
    sub.on('unsubscribed', (ctx) => {
      if (ctx.code !== 0) this.problem(`${channel}: not subscribed: ${ctx.reason} (code ${ctx.code})`);
    });
    sub.on('error', (ctx) => this.problem(`${channel}: ${ctx.type} failed: ${sdkError(ctx.error).message}`));
    sub.subscribe();
  }

  /** Subscribes to every metrics channel of the catalog not yet known. */
  private async subscribeNewSources(): Promise<void> {
    let catalog: Catalog;
    try {
      catalog = await this.readCatalog();
    } catch {
      return; // Not available now; the next poll or connect asks again.
    }
    for (const source of catalog.sources) {
      // subscribe() skips a channel the client already has a subscription for.
      if (typeof source?.channel === 'string' && source.channel.startsWith(METRICS_PREFIX)) this.subscribe(source.channel);
    }
  }

  private onPublication(channel: string, data: unknown): void {
    if (channel === ALARMS_CHANNEL) {
      const decoded = decodeAlarm(data);
      if (!decoded.ok) this.pending.invalid(channel, decoded.error);
      else {
        this.pending.alarm(WEB_SERVER_ID, decoded.value);
        this.history.record(WEB_SERVER_ID, this.serverName, decoded.value);
        this.notify(this.policy?.onAlarm(WEB_SERVER_ID, this.serverName, decoded.value, this.now()));
      }
    } else {
      const decoded = decodeSample(data);
      const source = channel.slice(METRICS_PREFIX.length);
      if (!decoded.ok) this.pending.invalid(channel, decoded.error);
      else {
        const sample = this.backfill.live(source, decoded.value);
        if (sample) this.pending.samples(WEB_SERVER_ID, source, [sample]);
      }
    }
    this.schedule();
  }

  private resync(channel: string, sub: Subscription): void {
    if (channel === ALARMS_CHANNEL) void this.loadActiveAlarms();
    else void this.loadHistory(this.backfill.begin(channel.slice(METRICS_PREFIX.length)), sub);
  }

  private async loadActiveAlarms(): Promise<void> {
    let alarms: Alarm[];
    try {
      alarms = await this.rpc('alarms.active', {}, 'alarm resync failed', unwrapAlarms);
    } catch (e) {
      this.problem(e instanceof Error ? e.message : String(e));
      return;
    }
    const valid: Alarm[] = [];
    for (const a of alarms) {
      const decoded = decodeAlarm(a);
      if (decoded.ok) valid.push(decoded.value);
      else this.pending.invalid('alarms.active', decoded.error);
    }
    this.pending.activeSet(WEB_SERVER_ID, valid);
    for (const a of valid) this.history.record(WEB_SERVER_ID, this.serverName, a);
    this.notify(this.policy?.onActive(WEB_SERVER_ID, this.serverName, valid, this.now()));
    this.schedule();
  }

  /** Loads `ticket`'s history and releases it with the held samples; a failure releases them alone. */
  private async loadHistory(ticket: Ticket, sub: Subscription): Promise<void> {
    const channel = `${METRICS_PREFIX}${ticket.source}`;
    const wait = this.opts.backfillWaitMs ?? BACKFILL_WAIT_MS;
    let gaveUp = false;
    const decode = (data: unknown): MetricSample | null => {
      const d = decodeSample(data);
      return d.ok ? d.value : null;
    };
    const load = this.inTurn(
      () => recentSamples((limit) => sub.history({ limit, reverse: true }), decode, (ms) => new Promise((r) => setTimeout(r, ms))),
      () => gaveUp,
    );
    // Settles after a timeout too (abandoned in the queue, or late): nothing left to do then.
    load.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), wait)));
    let history: MetricSample[] = [];
    try {
      const result = await Promise.race([load, timeout]);
      if (result === 'timeout') {
        gaveUp = true;
        this.problem(`${channel}: history not loaded within ${wait / 1000} s, recent samples missing`);
      } else history = result;
    } catch (e) {
      this.problem(`${channel}: history not loaded, recent samples missing: ${sdkError(e).message}`);
    } finally {
      clearTimeout(timer);
    }
    const samples = this.backfill.finish(ticket, history);
    if (samples.length) {
      this.pending.samples(WEB_SERVER_ID, ticket.source, samples);
      this.schedule();
    }
  }

  /** Runs `job` when one of the BACKFILLS_AT_ONCE turns is free, unless abandoned meanwhile. */
  private async inTurn<T>(job: () => Promise<T>, abandoned: () => boolean): Promise<T> {
    while (this.backfillsRunning >= BACKFILLS_AT_ONCE) await new Promise<void>((r) => this.backfillWaiting.push(r));
    this.backfillsRunning++;
    try {
      if (abandoned()) throw new Error('abandoned');
      return await job();
    } finally {
      this.backfillsRunning--;
      this.backfillWaiting.shift()?.();
    }
  }

  private problem(message: string): void {
    this.pending.error(message);
    this.schedule();
  }

  // ------------------------------------------------------------------ stream

  private schedule(): void {
    // Nobody listens (before connectStream, or after its unsubscribe): keep a bounded tail.
    if (!this.onBatch) this.pending.trimUnsent();
    if (this.frameQueued || !this.onBatch || this.pending.empty) return;
    this.frameQueued = true;
    this.frame(() => this.flush());
  }

  private flush(): void {
    this.frameQueued = false;
    const onBatch = this.onBatch;
    if (!onBatch) return;
    const batch = this.pending.take();
    if (!batch) return;
    try {
      onBatch(batch);
    } catch (e) {
      console.error('stream batch listener failed', e);
    }
  }

  // ------------------------------------------------------------------ notifications

  private notify(effects: ReturnType<NotifyPolicy['wake']> | undefined): void {
    if (!effects) return;
    this.notes.apply(effects);
    this.armWake();
  }

  /** Sleeps until the policy next has work (a repeat, a deferred note, a resolve's hold). */
  private armWake(): void {
    if (!this.policy || this.closed) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const now = this.now();
    const at = this.policy.nextWake(now);
    if (at === null) return;
    // At most a minute at a time: timers stop while the machine sleeps, alarm times do not.
    const ms = Math.min(60_000, Math.max(1000, at - now));
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      if (this.policy) this.notify(this.policy.wake(this.now()));
    }, ms);
  }

  /** The settings view's notification preferences, with this browser's snoozes. */
  private notifyPrefs(): NotifyPrefs {
    return { ...this.prefs, snoozes: this.snoozeStore.list() };
  }

  private emitOpen(server: string, id: string): void {
    for (const cb of this.openListeners) cb(server, id);
  }
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}
