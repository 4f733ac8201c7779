import { describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import { Model } from '../model';
import { connectionView, isAuthFailure } from './connection';
import { relativeTime } from './format';

const T0 = 1_700_000_000_000;
const server = 'ws://10.0.0.5:8000/connection/websocket';
const serverId = 'hub';

describe('connection-state text', () => {
  it('says connecting before anything is known, and Live with the server when live', () => {
    expect(connectionView(null, 0, 0)).toMatchObject({ tone: 'busy', text: 'Connecting…' });
    expect(connectionView({ state: 'connecting', server, serverId }, T0, T0)).toMatchObject({ tone: 'busy', text: 'Connecting…', detail: server });
    expect(connectionView({ state: 'live', server, serverId }, T0, T0)).toEqual({ tone: 'ok', text: 'Live', detail: server });
  });

  it('counts the reconnect delay down live from when the state arrived', () => {
    const s = { state: 'reconnecting' as const, retryInSecs: 5, reason: 'connection refused', server, serverId };
    expect(connectionView(s, T0, T0).text).toBe('Reconnecting in 5 s');
    expect(connectionView(s, T0, T0 + 1200).text).toBe('Reconnecting in 4 s');
    expect(connectionView(s, T0, T0 + 4001).text).toBe('Reconnecting in 1 s');
    expect(connectionView(s, T0, T0 + 5000).text).toBe('Reconnecting now…');
    expect(connectionView(s, T0, T0 + 60_000).text).toBe('Reconnecting now…');
    expect(connectionView(s, T0, T0).detail).toContain('connection refused');
    expect(connectionView(s, T0, T0).tone).toBe('warn');
    expect(connectionView({ state: 'reconnecting', server, serverId }, T0, T0).text).toBe('Reconnecting…');
  });

  it('says "Authentication failed" when the reason is about the token', () => {
    for (const reason of ['unauthorized', 'invalid token (close 3500)', 'authentication failed', 'token expired', 'connect error: code 101']) {
      expect(connectionView({ state: 'failed', reason, server, serverId }, T0, T0).text).toBe('Authentication failed');
      expect(isAuthFailure(reason)).toBe(true);
    }
  });

  it('says "Connection failed" with the reason otherwise', () => {
    const v = connectionView({ state: 'failed', reason: 'connection refused (os error 111)', server, serverId }, T0, T0);
    expect(v).toMatchObject({ tone: 'bad', text: 'Connection failed' });
    expect(v.detail).toContain('connection refused (os error 111)');
    expect(isAuthFailure('connection refused (os error 111)')).toBe(false);
    expect(isAuthFailure('author of the bug')).toBe(false);
    expect(connectionView({ state: 'failed', server, serverId }, T0, T0).detail).toContain('unknown error');
  });

  it('follows the backend through the mock: events update the model and its countdown', async () => {
    let t = T0;
    const mock = new MockBackend({ now: () => t });
    const model = new Model(mock, () => t);
    await model.start();
    const text = () => connectionView(model.connection, model.connectionAt, model.now()).text;
    expect(text()).toBe('Live');
    mock.setConnection({ state: 'reconnecting', retryInSecs: 3, reason: 'no ping' });
    expect(text()).toBe('Reconnecting in 3 s');
    t += 2000;
    expect(text()).toBe('Reconnecting in 1 s');
    mock.setConnection({ state: 'failed', reason: 'invalid token' });
    expect(text()).toBe('Authentication failed');
    expect(model.connection?.server).toBe(await mock.connectionStates().then((s) => s[0]!.server));
  });
});

describe('relative time', () => {
  it('reads like a person would say it, and refreshes as time passes', () => {
    expect(relativeTime(T0, T0)).toBe('just now');
    expect(relativeTime(T0 + 5000, T0)).toBe('just now');
    expect(relativeTime(T0, T0 + 12_400)).toBe('12 s ago');
    expect(relativeTime(T0, T0 + 13_000)).toBe('13 s ago');
    expect(relativeTime(T0, T0 + 4 * 60_000 + 59_000)).toBe('4 min ago');
    expect(relativeTime(T0, T0 + 2 * 3600_000)).toBe('2 h ago');
    expect(relativeTime(T0, T0 + 3 * 86400_000)).toBe('3 d ago');
  });
});
