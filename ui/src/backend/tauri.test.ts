// The Tauri seam against @tauri-apps/api's own IPC mock: command names, arguments, the
// stream channel and the events are what ./README.md promises the Rust side.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alarm, StreamBatch } from './types';

type Call = { cmd: string; args: Record<string, unknown> };

const alarm: Alarm = { id: 'h/cpu', source: 'h', severity: 'critical', state: 'firing', title: 'CPU', message: '', ts: 1 };

beforeAll(() => {
  (globalThis as unknown as { window: unknown }).window = globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import('@tauri-apps/api/mocks');
  clearMocks();
});

async function setup(reply: (cmd: string, args: Record<string, unknown>) => unknown) {
  const { mockIPC } = await import('@tauri-apps/api/mocks');
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      if (!cmd.startsWith('plugin:event|')) calls.push({ cmd, args: a });
      return reply(cmd, a);
    },
    { shouldMockEvents: true },
  );
  const { TauriBackend } = await import('./tauri');
  return { backend: new TauriBackend(), calls };
}

describe('TauriBackend', () => {
  it('calls the documented commands with the documented arguments', async () => {
    const { backend, calls } = await setup((cmd) => {
      switch (cmd) {
        case 'alarms_active':
          return [alarm];
        case 'alarms_ack':
          return { ...alarm, state: 'acknowledged', by: 'me' };
        case 'catalog':
          return { sources: [{ source: 'h', channel: 'metrics:h', metrics: ['cpu.total'], last_seen: 5 }] };
        case 'connection_states':
          return [{ state: 'live', server: 'This computer', serverId: 'local' }];
      }
      return null;
    });
    expect(await backend.alarmsActive('local')).toEqual([alarm]);
    expect((await backend.alarmsAck('local', 'h/cpu')).by).toBe('me');
    expect((await backend.catalog('local')).sources[0]!.metrics).toEqual(['cpu.total']);
    expect((await backend.connectionStates())[0]!.serverId).toBe('local');
    expect(calls.map((c) => c.cmd)).toEqual(['alarms_active', 'alarms_ack', 'catalog', 'connection_states']);
    expect(calls.map((c) => c.args)).toEqual([{ server: 'local' }, { server: 'local', id: 'h/cpu' }, { server: 'local' }, {}]);
  });

  it('acks with a comment only when given, and silences until a time', async () => {
    const { backend, calls } = await setup((cmd, args) => {
      if (cmd === 'alarms_ack') return { ...alarm, state: 'acknowledged', by: 'me', comment: args.comment };
      if (cmd === 'alarms_silence') return { alarm: { ...alarm, silenced_until: args.until } };
      return null;
    });
    expect((await backend.alarmsAck('s', 'h/cpu', 'restarting the db')).comment).toBe('restarting the db');
    expect((await backend.alarmsAck('s', 'h/cpu')).comment).toBeUndefined();
    expect((await backend.alarmsSilence('s', 'h/cpu', 1_700_000_600_000)).silenced_until).toBe(1_700_000_600_000);
    expect(calls).toEqual([
      { cmd: 'alarms_ack', args: { server: 's', id: 'h/cpu', comment: 'restarting the db' } },
      { cmd: 'alarms_ack', args: { server: 's', id: 'h/cpu' } },
      { cmd: 'alarms_silence', args: { server: 's', id: 'h/cpu', until: 1_700_000_600_000 } },
    ]);
  });

  it('names the command whose result had an unexpected shape', async () => {
    const { backend } = await setup(() => 42);
    await expect(backend.alarmsSilence('s', 'h/cpu', 1)).rejects.toThrow('alarms_silence returned an unexpected shape');
  });

  it('accepts the RPC result shapes too ({alarms}, {alarm})', async () => {
    const { backend } = await setup((cmd) => (cmd === 'alarms_active' ? { alarms: [alarm] } : { alarm: { ...alarm, by: 'x' } }));
    expect(await backend.alarmsActive('s')).toEqual([alarm]);
    expect((await backend.alarmsAck('s', 'h/cpu')).by).toBe('x');
  });

  it('turns a command error string into an Error with that message', async () => {
    const { backend } = await setup(() => {
      throw 'not connected: connection refused';
    });
    await expect(backend.alarmsAck('s', 'h/cpu')).rejects.toThrow('not connected: connection refused');
  });

  it('turns a coded command error into a BackendError with its code', async () => {
    const { backend } = await setup(() => {
      throw { code: 'hub', message: 'cannot acknowledge h/cpu: server error 107: comment too long', hubCode: 107 };
    });
    const { BackendError } = await import('./tauri');
    const error = await backend.alarmsAck('s', 'h/cpu', 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: 'hub', hubCode: 107, message: 'cannot acknowledge h/cpu: server error 107: comment too long' });
  });

  it('passes a Channel to connect_stream and delivers its messages in order', async () => {
    let channelId = -1;
    const { backend, calls } = await setup((cmd, args) => {
      if (cmd === 'connect_stream') channelId = (args.channel as { id: number }).id;
      return null;
    });
    const got: StreamBatch[] = [];
    const stop = await backend.connectStream((b) => got.push(b));
    expect(calls[0]!.cmd).toBe('connect_stream');
    expect(channelId).toBeGreaterThanOrEqual(0);
    const run = (globalThis as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, d: unknown): void } }).__TAURI_INTERNALS__.runCallback;
    const b0: StreamBatch = { metrics: [{ server: 's', source: 'h', ts: [1], names: ['cpu.total'], values: [[5]] }] };
    const b1: StreamBatch = { alarms: [{ ...alarm, server: 's' }] };
    run(channelId, { index: 1, message: b1 }); // out of order: held back
    expect(got).toEqual([]);
    run(channelId, { index: 0, message: b0 });
    expect(got).toEqual([b0, b1]);
    stop();
    run(channelId, { index: 2, message: b0 });
    expect(got).toHaveLength(2);
  });

  it('listens to the connection-state event', async () => {
    const { backend } = await setup(() => null);
    const states: unknown[] = [];
    await backend.onConnectionState((s) => states.push(s));
    const { emit } = await import('@tauri-apps/api/event');
    await emit('connection-state', { state: 'reconnecting', retryInSecs: 3, server: 'Staging', serverId: 's' });
    expect(states).toEqual([{ state: 'reconnecting', retryInSecs: 3, server: 'Staging', serverId: 's' }]);
  });
});

describe('MockBackend alarm changes', () => {
  it('stores an ack comment, refuses an overlong one and silences', async () => {
    const { MockBackend } = await import('./mock');
    const mock = new MockBackend({ now: () => 10 });
    mock.publishAlarm(alarm);
    const acked = await mock.alarmsAck('mock', 'h/cpu', '  restarting the db ');
    expect([acked.state, acked.comment, acked.ts]).toEqual(['acknowledged', 'restarting the db', 10]);
    expect((await mock.alarmsActive('mock'))[0]!.comment).toBe('restarting the db');
    await expect(mock.alarmsAck('mock', 'h/cpu', 'x'.repeat(501))).rejects.toThrow('comment too long: 501 characters');
    expect((await mock.alarmsAck('mock', 'h/cpu')).comment).toBeUndefined();
    const silenced = await mock.alarmsSilence('mock', 'h/cpu', 99);
    expect([silenced.silenced_until, silenced.state]).toEqual([99, 'acknowledged']);
    expect(mock.silences).toEqual([{ id: 'h/cpu', until: 99 }]);
    await expect(mock.alarmsSilence('mock', 'nope', 1)).rejects.toThrow('unknown alarm id: nope');
    await expect(mock.alarmsAck('elsewhere', 'h/cpu')).rejects.toThrow('no server "elsewhere"');
  });
});
