// What a WebBackend delivered, for the hub-backed tests: every batch (and whether it came
// inside a display frame), every connection state, and the samples and alarms per key.
import type { ConnectionState, Diagnostics, StreamBatch } from './types';
import type { Alarm } from './types';
import type { WebBackend } from './web';
import { TestFrames } from './test-hub';

export class Recorder {
  readonly batches: StreamBatch[] = [];
  readonly states: ConnectionState[] = [];
  /** Batches delivered outside a frame callback (must stay 0). */
  outsideFrames = 0;
  diagnostics: Diagnostics | null = null;

  private constructor(readonly frames: TestFrames) {}

  static async attach(backend: WebBackend, frames: TestFrames): Promise<Recorder> {
    const r = new Recorder(frames);
    await backend.onConnectionState((s) => r.states.push(s));
    await backend.connectStream((b) => {
      if (!frames.inFrame) r.outsideFrames++;
      r.batches.push(b);
      if (b.diagnostics) r.diagnostics = b.diagnostics;
    });
    return r;
  }

  get state(): ConnectionState | undefined {
    return this.states[this.states.length - 1];
  }

  /** Every sample ts of `source`, in delivery order. */
  ts(source: string): number[] {
    return this.batches.flatMap((b) => (b.metrics ?? []).filter((m) => m.source === source).flatMap((m) => m.ts));
  }

  /** The value of `name` at each delivered sample of `source` (null where absent). */
  values(source: string, name: string): (number | null)[] {
    return this.batches.flatMap((b) =>
      (b.metrics ?? [])
        .filter((m) => m.source === source)
        .flatMap((m) => {
          const j = m.names.indexOf(name);
          return m.ts.map((_, i) => (j < 0 ? null : (m.values[j]![i] ?? null)));
        }),
    );
  }

  /** Alarm transitions of `id`, in delivery order. */
  alarms(id: string): Alarm[] {
    return this.batches.flatMap((b) => (b.alarms ?? []).filter((a) => a.id === id));
  }

  /** The active sets delivered, in order. */
  activeSets(): Alarm[][] {
    return this.batches.flatMap((b) => (b.activeAlarms ?? []).map((s) => s.alarms));
  }

  describe(): string {
    return JSON.stringify({ states: this.states.map((s) => [s.state, s.reason, s.retryInSecs]), batches: this.batches.length, diagnostics: this.diagnostics });
  }
}
