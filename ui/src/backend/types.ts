// The seam between the UI and whatever feeds it (the Tauri shell, the hub over the
// Centrifugo SDK in a browser, or the mock).
// The wire types are generated from the Rust definitions into ./generated.ts (`make types`;
// `cargo test --test ts_types` fails when it is stale): never mirror them by hand here.
// The contract the Rust side implements is documented in ./README.md.
import type { Catalog, ConnectionState, StreamBatch, Alarm as WireAlarm } from './generated';

export type {
  ActiveSet,
  AlarmState,
  Catalog,
  CatalogSource,
  CommandError,
  ConnectionPhase,
  ConnectionState,
  Diagnostics,
  ErrorCode,
  MetricBlock,
  MetricSample,
  ServerAlarm,
  Severity,
  StreamBatch,
} from './generated';
import type { SettingsBackend, Snooze } from './settings';
import type { HistoryBackend } from './history';

/**
 * An alarm as the UI holds it: the wire alarm plus, UI-only, the id of the hub it came from
 * (the stream's `ServerAlarm` carries it; the model sets it on alarms from commands).
 */
export interface Alarm extends WireAlarm {
  server?: string;
}

export type Unsubscribe = () => void;

/** What the UI needs from its host. Hub calls name the hub (`server`: its id). */
export interface Backend {
  readonly kind: 'tauri' | 'web' | 'mock';
  /** Start (or restart) the stream; `onBatch` is called for every StreamBatch. */
  connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe>;
  /** Low-rate: a hub's connection state changed (or it was added, or switched off). */
  onConnectionState(cb: (state: ConnectionState) => void): Promise<Unsubscribe>;
  /** The user asked to see an alarm outside the window (a notification's click or Open). */
  onAlarmOpen(cb: (server: string, id: string) => void): Promise<Unsubscribe>;
  /** Every hub in the list, in list order. */
  connectionStates(): Promise<ConnectionState[]>;
  alarmsActive(server: string): Promise<Alarm[]>;
  /** Acknowledge, with an optional comment; resolves with the alarm after the change. */
  alarmsAck(server: string, id: string, comment?: string): Promise<Alarm>;
  /** Silence until `until` (unix ms); resolves with the alarm after the change. */
  alarmsSilence(server: string, id: string, until: number): Promise<Alarm>;
  /**
   * Personal snooze: hide an alarm for this user only until `until` (unix ms; null ends it).
   * Nothing is sent to the hub. Resolves with the snoozes still running.
   */
  alarmsSnooze(server: string, id: string, until: number | null): Promise<Snooze[]>;
  /** This user's snoozes still running. */
  snoozes(): Promise<Snooze[]>;
  catalog(server: string): Promise<Catalog>;
  /** Open an http(s) URL (an alarm's link) in the system browser; anything else is refused. */
  openUrl(url: string): Promise<void>;
  /**
   * Only where the user can hand the backend a token (the web backend): connect again with
   * it. The failed-authentication view offers a token field when this exists.
   */
  useToken?(token: string): Promise<void>;
  /** Where the settings view reads and saves (the shell's file; memory in a browser). */
  readonly settings?: SettingsBackend;
  /** What the history view queries (the shell's SQLite file; what a page received). */
  readonly history?: HistoryBackend;
}

/** Command and event names shared with the Rust shell. */
export const COMMANDS = {
  connectStream: 'connect_stream',
  alarmsActive: 'alarms_active',
  alarmsAck: 'alarms_ack',
  alarmsSilence: 'alarms_silence',
  alarmsSnooze: 'alarms_snooze',
  snoozes: 'alarms_snoozes',
  catalog: 'catalog',
  connectionStates: 'connection_states',
} as const;

export const EVENTS = {
  connectionState: 'connection-state',
  alarmOpen: 'alarm-open',
} as const;
