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
  /** Id of the hub it came from (set by the shell on the stream, and by the model). */
  server?: string;
}

/** An alarm transition on the stream, with the hub it came from. */
export interface ServerAlarm extends Alarm {
  server: string;
}

/** One hub's complete active alarm set. */
export interface ActiveSet {
  server: string;
  alarms: Alarm[];
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

/** `off`: the hub was switched off or removed from the list; the UI drops its data. */
export type ConnectionPhase = 'connecting' | 'live' | 'reconnecting' | 'failed' | 'off';

/** One hub's state: payload of the `connection-state` event, items of `connection_states`. */
export interface ConnectionState {
  state: ConnectionPhase;
  /** Why we are not live (close reason, error text). */
  reason?: string;
  /** With `reconnecting`: seconds until the next attempt, counted from when the state was emitted. */
  retryInSecs?: number;
  /** The hub's name, e.g. `Production`, `This computer`, or the URL given with --server. */
  server: string;
  /** The hub's stable id, on every sample and alarm from it. */
  serverId: string;
}

/**
 * Samples of one source, column-major. `ts` is ascending; `values[j][i]` is the value of
 * `names[j]` at `ts[i]`, or `null` when that sample did not carry that name
 * (serde_json writes a NaN/None as null).
 */
export interface MetricBlock {
  /** Id of the hub it came from. */
  server: string;
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
   * Complete active alarm sets of hubs that resynced (first subscribe, or a gap recovery
   * could not fill). Applied before `alarms`. That hub's active alarms not in its set move
   * to the recent list.
   */
  activeAlarms?: ActiveSet[];
  /** Alarm transitions in the order they were received. */
  alarms?: ServerAlarm[];
  /** Present when any counter changed. */
  diagnostics?: Diagnostics;
}

export type Unsubscribe = () => void;

/** Why a command failed: a code to act on, a message for the user. */
export type ErrorCode = 'unknown_server' | 'hub' | 'unreachable' | 'invalid' | 'storage';

/** A command's error, as the shell sends it. */
export interface CommandError {
  code: ErrorCode;
  message: string;
  /** The hub's error code, with `hub`. */
  hubCode?: number;
}

/** What the UI needs from its host. Hub calls name the hub (`server`: its id). */
export interface Backend {
  readonly kind: 'tauri' | 'mock';
  /** Start (or restart) the stream; `onBatch` is called for every StreamBatch. */
  connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe>;
  /** Low-rate: a hub's connection state changed (or it was added, or switched off). */
  onConnectionState(cb: (state: ConnectionState) => void): Promise<Unsubscribe>;
  /** Every hub in the list, in list order. */
  connectionStates(): Promise<ConnectionState[]>;
  alarmsActive(server: string): Promise<Alarm[]>;
  /** Acknowledge, with an optional comment; resolves with the alarm after the change. */
  alarmsAck(server: string, id: string, comment?: string): Promise<Alarm>;
  /** Silence until `until` (unix ms); resolves with the alarm after the change. */
  alarmsSilence(server: string, id: string, until: number): Promise<Alarm>;
  catalog(server: string): Promise<Catalog>;
}

/** Command and event names shared with the Rust shell. */
export const COMMANDS = {
  connectStream: 'connect_stream',
  alarmsActive: 'alarms_active',
  alarmsAck: 'alarms_ack',
  alarmsSilence: 'alarms_silence',
  catalog: 'catalog',
  connectionStates: 'connection_states',
} as const;

export const EVENTS = {
  connectionState: 'connection-state',
} as const;
