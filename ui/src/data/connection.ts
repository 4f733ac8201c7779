// What the connection indicator says. Pure: the view re-evaluates it every second so the
// reconnect countdown runs live.
import type { ConnectionState } from '../backend/types';

export type Tone = 'ok' | 'busy' | 'warn' | 'bad';

export interface ConnectionView {
  tone: Tone;
  /** Short headline: "Live", "Connecting…", "Reconnecting in 3 s", "Authentication failed". */
  text: string;
  /** Secondary line: the reason, or the server. */
  detail: string;
}

const AUTH = /\b(auth|authentication|authenticate|authorization|unauthori[sz]ed|invalid token|token expired|bad token|forbidden|permission denied|401|3500|code 101)\b/i;

export function isAuthFailure(reason: string | undefined): boolean {
  return !!reason && AUTH.test(reason);
}

/** Seconds left before the next attempt, counted from when the state was received. */
export function secondsLeft(state: ConnectionState, receivedAt: number, now: number): number {
  const total = state.retryInSecs ?? 0;
  return Math.max(0, Math.ceil(total - (now - receivedAt) / 1000));
}

export function connectionView(state: ConnectionState | null, receivedAt: number, now: number): ConnectionView {
  if (!state) return { tone: 'busy', text: 'Connecting…', detail: 'waiting for the backend' };
  const server = state.server || 'unknown server';
  switch (state.state) {
    case 'live':
      return { tone: 'ok', text: 'Live', detail: server };
    case 'connecting':
      return { tone: 'busy', text: 'Connecting…', detail: state.reason ? `${server} · ${state.reason}` : server };
    case 'reconnecting': {
      const left = secondsLeft(state, receivedAt, now);
      const text = state.retryInSecs === undefined ? 'Reconnecting…' : left > 0 ? `Reconnecting in ${left} s` : 'Reconnecting now…';
      return { tone: 'warn', text, detail: state.reason ? `${state.reason} · ${server}` : server };
    }
    case 'failed': {
      const reason = state.reason || 'unknown error';
      if (isAuthFailure(reason)) return { tone: 'bad', text: 'Authentication failed', detail: `${reason} · ${server}` };
      return { tone: 'bad', text: 'Connection failed', detail: `${reason} · ${server}` };
    }
    default:
      return { tone: 'bad', text: 'Unknown state', detail: String((state as { state: unknown }).state) };
  }
}
