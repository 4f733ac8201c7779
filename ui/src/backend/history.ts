// The alarm history seam: what the history view asks of its host. The types are generated
// from crates/history (HistoryRow, HistoryFilter, HistoryPage; see generated.ts); the shell's
// commands are `history_query` and `history_export` (src-tauri/src/history.rs).
import { invoke } from '@tauri-apps/api/core';
import { exportFileName, queryRows } from '../data/history';
import type { HistoryFilter, HistoryPage, HistoryRow } from './generated';
import type { Alarm, AlarmState } from './types';

export type { HistoryFilter, HistoryPage, HistoryRow } from './generated';

export interface HistoryBackend {
  historyQuery(filter: HistoryFilter): Promise<HistoryPage>;
  /** Writes the matching transitions as CSV in the download dir; resolves to the file's path. */
  historyExport(filter: HistoryFilter): Promise<string>;
}

export const HISTORY_COMMANDS = {
  query: 'history_query',
  export: 'history_export',
} as const;

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(typeof e === 'string' ? e : JSON.stringify(e));
}

/** Over the Tauri shell. */
export class TauriHistoryBackend implements HistoryBackend {
  constructor(private readonly call: typeof invoke = invoke) {}

  async historyQuery(filter: HistoryFilter): Promise<HistoryPage> {
    try {
      return await this.call<HistoryPage>(HISTORY_COMMANDS.query, { filter });
    } catch (e) {
      throw asError(e);
    }
  }

  async historyExport(filter: HistoryFilter): Promise<string> {
    try {
      return await this.call<string>(HISTORY_COMMANDS.export, { filter });
    } catch (e) {
      throw asError(e);
    }
  }
}

/** In memory, for the browser preview (`?mock`) and tests. Same semantics as the Rust side. */
export class MockHistoryBackend implements HistoryBackend {
  private readonly rows: HistoryRow[] = [];
  private readonly keys = new Set<string>();
  /** The filters of the exports asked for (the mock writes no file). */
  readonly exports: HistoryFilter[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Like AlarmHistory::record: a transition already held (server, id, state, ts) is ignored. */
  record(serverId: string, serverName: string, alarm: Alarm): void {
    const key = JSON.stringify([serverId, alarm.id, alarm.state, alarm.ts]);
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.rows.push({
      receivedAt: this.now(),
      serverId,
      serverName,
      alarmId: alarm.id,
      source: alarm.source,
      severity: alarm.severity,
      state: alarm.state,
      title: alarm.title,
      message: alarm.message ?? '',
      value: alarm.value ?? null,
      labels: alarm.labels ?? {},
      by: alarm.by ?? null,
      comment: alarm.comment ?? null,
      silencedUntil: alarm.silenced_until ?? null,
      ts: alarm.ts,
    });
  }

  async historyQuery(filter: HistoryFilter): Promise<HistoryPage> {
    return queryRows(this.rows, filter);
  }

  async historyExport(filter: HistoryFilter): Promise<string> {
    this.exports.push(filter);
    return `~/Downloads/${exportFileName(this.now())}`;
  }
}

/**
 * A page served by the hub: the transitions this page received since it opened (the hub
 * keeps no alarm history; the desktop app does, in its own file).
 */
export class PageHistoryBackend extends MockHistoryBackend {
  override async historyExport(): Promise<string> {
    throw new Error('CSV export needs the desktop app, which keeps every transition in its history file; this page holds only what it received since it opened');
  }
}

/** A mock history with `count` transitions over the last 30 days, for the preview. */
export function sampleHistory(count: number, now: number = Date.now()): MockHistoryBackend {
  const history = new MockHistoryBackend(() => now);
  const servers = [
    ['prod', 'Production'],
    ['lab', 'Lab'],
  ] as const;
  const rules = [
    ['cpu', 'CPU high', 'warning'],
    ['disk', 'Disk almost full', 'critical'],
    ['mem', 'Memory pressure', 'warning'],
    ['backup', 'Backup late', 'info'],
  ] as const;
  const span = 30 * 86_400_000;
  for (let i = 0; i < count; i++) {
    const [serverId, serverName] = servers[i % servers.length]!;
    const [rule, title, severity] = rules[(i >> 1) % rules.length]!;
    const source = `host-${(i * 7) % 12}`;
    const state: AlarmState = (['firing', 'acknowledged', 'resolved'] as const)[i % 3]!;
    history.record(serverId, serverName, {
      id: `${source}/${rule}`,
      source,
      severity,
      state,
      title,
      message: `${title} on ${source}`,
      ts: now - Math.floor((span * (count - i)) / count),
      ...(state === 'acknowledged' ? { by: 'alice@desk', comment: i % 2 ? 'looking' : undefined } : {}),
    });
  }
  return history;
}
