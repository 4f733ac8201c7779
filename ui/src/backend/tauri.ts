// Backend over the Tauri v2 shell: commands via `invoke`, the stream via an ipc `Channel`,
// low-rate state via events. See ./README.md for the contract.
import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import {
  COMMANDS,
  EVENTS,
  type Alarm,
  type Backend,
  type Catalog,
  type CommandError,
  type ConnectionState,
  type StreamBatch,
  type Unsubscribe,
} from './types';
import type { Snooze } from './settings';
import { isWebUrl } from '../data/links';
import { TauriSettingsBackend } from './settings';
import { TauriHistoryBackend } from './history';
import { BackendError } from './command-error';
import { unwrapAlarm, unwrapAlarms } from './replies';

// Shared with the web backend; re-exported for the callers that import them from here.
export { BackendError } from './command-error';
export { unwrapAlarm, unwrapAlarms } from './replies';

/** Command errors arrive as `CommandError` objects (older shells: strings). */
function errorText(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  const c = e as Partial<CommandError> | null;
  if (c && typeof c === 'object' && typeof c.message === 'string') return new BackendError(c.message, c.code, c.hubCode);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw errorText(e);
  }
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;
  readonly settings = new TauriSettingsBackend();
  readonly history = new TauriHistoryBackend();
  private channel: Channel<StreamBatch> | null = null;

  async connectStream(onBatch: (batch: StreamBatch) => void): Promise<Unsubscribe> {
    const channel = new Channel<StreamBatch>();
    channel.onmessage = onBatch;
    this.channel = channel;
    await call<void>(COMMANDS.connectStream, { channel });
    return () => {
      // The shell replaces the channel on the next connect_stream; until then drop messages.
      channel.onmessage = () => {};
      if (this.channel === channel) this.channel = null;
    };
  }

  async onConnectionState(cb: (state: ConnectionState) => void): Promise<Unsubscribe> {
    return listen<ConnectionState>(EVENTS.connectionState, (e) => cb(e.payload));
  }

  async onAlarmOpen(cb: (server: string, id: string) => void): Promise<Unsubscribe> {
    return listen<{ server: string; id: string }>(EVENTS.alarmOpen, (e) => cb(e.payload.server, e.payload.id));
  }

  connectionStates(): Promise<ConnectionState[]> {
    return call<ConnectionState[]>(COMMANDS.connectionStates);
  }

  async alarmsActive(server: string): Promise<Alarm[]> {
    return unwrapAlarms(await call<unknown>(COMMANDS.alarmsActive, { server }));
  }

  async alarmsAck(server: string, id: string, comment?: string): Promise<Alarm> {
    const args = comment === undefined ? { server, id } : { server, id, comment };
    return unwrapAlarm(await call<unknown>(COMMANDS.alarmsAck, args));
  }

  async alarmsSilence(server: string, id: string, until: number): Promise<Alarm> {
    return unwrapAlarm(await call<unknown>(COMMANDS.alarmsSilence, { server, id, until }), COMMANDS.alarmsSilence);
  }

  alarmsSnooze(server: string, id: string, until: number | null): Promise<Snooze[]> {
    return call<Snooze[]>(COMMANDS.alarmsSnooze, { server, id, until });
  }

  snoozes(): Promise<Snooze[]> {
    return call<Snooze[]>(COMMANDS.snoozes);
  }

  catalog(server: string): Promise<Catalog> {
    return call<Catalog>(COMMANDS.catalog, { server });
  }

  async openUrl(url: string): Promise<void> {
    // Checked here too, so a bad link fails with a clear message; the shell's capability
    // (http/https only) is what actually holds.
    if (!isWebUrl(url)) throw new Error(`not an http(s) URL: ${url}`);
    // The opener plugin's command, called directly: no npm package needed for one call.
    await call<void>(OPEN_URL, { url });
  }
}

/** tauri-plugin-opener's command (registered in src-tauri/src/lib.rs). */
export const OPEN_URL = 'plugin:opener|open_url';
