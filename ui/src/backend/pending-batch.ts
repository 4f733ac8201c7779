// What arrived since the last StreamBatch went out, as the shell's `Pending` keeps it
// (src-tauri/src/stream.rs): samples column-major per source, alarm transitions in order,
// a hub's complete active set replacing its older transitions, diagnostics when they change.
import type { Alarm, Diagnostics, MetricBlock, MetricSample, ServerAlarm, StreamBatch, ActiveSet } from './types';

/** Samples kept per source while no stream listener takes them: 15 min at 1 Hz. */
export const MAX_ROWS_UNSENT = 900;

export class PendingBatch {
  private blocks: MetricBlock[] = [];
  private bySource = new Map<string, MetricBlock>();
  private active: ActiveSet[] = [];
  private alarms: ServerAlarm[] = [];
  private diagnostics: Diagnostics = { invalid: {}, lagged: 0 };
  private diagnosticsChanged = false;

  /** Adds samples of `source` on hub `server`, in the order given. */
  samples(server: string, source: string, samples: readonly MetricSample[]): void {
    const key = JSON.stringify([server, source]);
    let block = this.bySource.get(key);
    if (!block) {
      block = { server, source, ts: [], names: [], values: [] };
      this.bySource.set(key, block);
      this.blocks.push(block);
    }
    for (const sample of samples) push(block, sample);
  }

  /** Bounds what is kept while nobody listens (the newest MAX_ROWS_UNSENT per source). */
  trimUnsent(): void {
    for (const block of this.blocks) keepLast(block, MAX_ROWS_UNSENT);
  }

  /** One alarm transition of hub `server`. */
  alarm(server: string, alarm: Alarm): void {
    this.alarms.push({ ...alarm, server });
  }

  /** Hub `server`'s complete active set: its transitions received before it are older. */
  activeSet(server: string, alarms: Alarm[]): void {
    this.alarms = this.alarms.filter((a) => a.server !== server);
    this.active = this.active.filter((s) => s.server !== server);
    this.active.push({ server, alarms });
  }

  /** Counts a publication whose payload did not decode. */
  invalid(channel: string, error: string): void {
    this.diagnostics.invalid[channel] = (this.diagnostics.invalid[channel] ?? 0) + 1;
    this.diagnostics.lastError = `${channel}: ${error}`;
    this.diagnosticsChanged = true;
  }

  /** An error that did not end the connection, for the diagnostics panel. */
  error(message: string): void {
    this.diagnostics.lastError = message;
    this.diagnosticsChanged = true;
  }

  /** Whether there is anything to send. */
  get empty(): boolean {
    return this.blocks.length === 0 && this.active.length === 0 && this.alarms.length === 0 && !this.diagnosticsChanged;
  }

  /** Everything pending as one batch, or null when nothing changed. */
  take(): StreamBatch | null {
    if (this.empty) return null;
    const batch: StreamBatch = {};
    if (this.blocks.length) batch.metrics = this.blocks;
    if (this.active.length) batch.activeAlarms = this.active;
    if (this.alarms.length) batch.alarms = this.alarms;
    if (this.diagnosticsChanged) batch.diagnostics = { ...this.diagnostics, invalid: { ...this.diagnostics.invalid } };
    this.blocks = [];
    this.bySource = new Map();
    this.active = [];
    this.alarms = [];
    this.diagnosticsChanged = false;
    return batch;
  }
}

/** One more row: a column per name, null where the sample lacks it. */
function push(block: MetricBlock, sample: MetricSample): void {
  const row = block.ts.length;
  block.ts.push(sample.ts);
  for (const column of block.values) column.push(null);
  for (const [name, value] of Object.entries(sample.values)) {
    let j = block.names.indexOf(name);
    if (j < 0) {
      block.names.push(name);
      block.values.push(new Array<number | null>(row + 1).fill(null));
      j = block.names.length - 1;
    }
    block.values[j]![row] = value;
  }
}

function keepLast(block: MetricBlock, rows: number): void {
  const excess = block.ts.length - rows;
  if (excess <= 0) return;
  block.ts.splice(0, excess);
  for (const column of block.values) column.splice(0, excess);
}
