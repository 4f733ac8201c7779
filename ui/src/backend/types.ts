// The seam between the UI and whatever feeds it (the Tauri shell, or the mock).
// Payload types mirror crates/protocol/src/payload.rs (README "Channels, payloads, RPC").
// The contract the Rust side implements is documented in ./README.md.

/** How bad an alarm is. Order: critical > warning > info. */
export type Severity = 'critical' | 'warning' | 'info';

/** Where an alarm is in its life. */
export type AlarmState = 'firing' | 'acknowledged' | 'resolved';

/** An alarm, as published on the `alarms` channel at every transition. */
export interface Alarm {
  /** Stable id, `<source>/<rule>`; repeated firings share it. */
  id: string;
  source: string;
  severity: Severity;
  state: AlarmState;
  title: string;
  message?: string;
  /** Time of this transition, unix ms. */
  ts: number;
  /** The value that crossed the threshold. */
  value?: number;
  labels?: Record<string, string>;
  /** Who acknowledged it. */
  by?: string;
  /** Silenced until, unix ms. */
  silenced_until?: number;
  /** Comment given with the acknowledgement. */
  comment?: string;
}

/** One sample of a source, as published on `metrics:<source>`. */
export interface MetricSample {
  /** unix ms */
  ts: number;
  values: Record<string, number>;
}

export interface CatalogSource {
  source: string;
  channel: string;
  /** Metric names seen from it, sorted. */
  metrics: string[];
  /** unix ms of its last sample. */
  last_seen: number;
}

/** Result of the `catalog` command (and the `catalog` RPC). */
export interface Catalog {
  sources: CatalogSource[];
}

export type ConnectionPhase = 'connecting' | 'live' | 'reconnecting' | 'failed';

/** Payload of the `connection-state` event and result of `connection_state`. */
export interface ConnectionState {
  state: ConnectionPhase;
  /** Why we are not live (close reason, error text). */
  reason?: string;
  /** With `reconnecting`: seconds until the next attempt, counted from when the state was emitted. */
  retryInSecs?: number;
  /** Server the app talks to, e.g. `ws://127.0.0.1:8000/connection/websocket` or `embedded (127.0.0.1:41234)`. */
  server: string;
}

/**
 * Samples of one source, column-major. `ts` is ascending; `values[j][i]` is the value of
 * `names[j]` at `ts[i]`, or `null` when that sample did not carry that name
 * (serde_json writes a NaN/None as null).
 */
export interface MetricBlock {
  source: string;
  ts: number[];
  names: string[];
  values: (number | null)[][];
}

/** Cumulative counters since `connect_stream` was called: a snapshot, not a delta. */
export interface Diagnostics {
  /** Publications whose payload did not match the Telltale schema, per channel. */
  invalid: Record<string, number>;
  /** Last decode / transport error, human readable. */
  lastError?: string;
  /** Events the bridge had to drop because the UI was behind (total). */
  lagged?: number;
}

/**
 * One message on the stream channel; the shell sends about one per display frame
 * (coalesced), never one per WebSocket frame. Every field is optional: send only what changed.
 */
export interface StreamBatch {
  /** New samples, grouped per source. */
  metrics?: MetricBlock[];
  /**
   * The complete active alarm set (e.g. after an alarm recovery gap, `alarms.active` resync).
   * Applied before `alarms`. Active alarms not in it are moved to the recent list.
   */
  activeAlarms?: Alarm[];
  /** Alarm transitions in the order they were received. */
  alarms?: Alarm[];
  /** Present when any counter changed. */
  diagnostics?: Diagnostics;
}

export type Unsubscribe = () => void;

/** What the UI needs from its host. */
export interface Backend {
  readonly kind: 'tauri' | 'mock';
  /** Start (or restart) the stream; `onBatch` is called for every StreamBatch. */
  connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe>;
  /** Low-rate: connection state changes. */
  onConnectionState(cb: (state: ConnectionState) => void): Promise<Unsubscribe>;
  /** Low-rate: single alarm transitions (may duplicate StreamBatch.alarms; the UI dedups). */
  onAlarm(cb: (alarm: Alarm) => void): Promise<Unsubscribe>;
  connectionState(): Promise<ConnectionState>;
  alarmsActive(): Promise<Alarm[]>;
  /** Acknowledge, with an optional comment; resolves with the alarm after the change. */
  alarmsAck(id: string, comment?: string): Promise<Alarm>;
  /** Silence until `until` (unix ms); resolves with the alarm after the change. */
  alarmsSilence(id: string, until: number): Promise<Alarm>;
  catalog(): Promise<Catalog>;
}

/** Command and event names shared with the Rust shell. */
export const COMMANDS = {
  connectStream: 'connect_stream',
  alarmsActive: 'alarms_active',
  alarmsAck: 'alarms_ack',
  alarmsSilence: 'alarms_silence',
  catalog: 'catalog',
  connectionState: 'connection_state',
} as const;

export const EVENTS = {
  connectionState: 'connection-state',
  alarm: 'alarm',
} as const;
