// The hub's RPC replies carry the alarm(s) in a wrapper (`{alarms}`, `{alarm}`); the shell's
// commands return them bare. Both are accepted so either backend can use these.
import type { Alarm } from './types';

/** Accept both `Alarm[]` and the RPC's `{alarms: Alarm[]}` shape. */
export function unwrapAlarms(result: unknown): Alarm[] {
  if (Array.isArray(result)) return result as Alarm[];
  if (result && typeof result === 'object' && Array.isArray((result as { alarms?: unknown }).alarms)) {
    return (result as { alarms: Alarm[] }).alarms;
  }
  throw new Error('alarms_active returned an unexpected shape');
}

/** Accept both `Alarm` and the RPC's `{alarm: Alarm}` shape. */
export function unwrapAlarm(result: unknown, command: string = 'alarms_ack'): Alarm {
  if (result && typeof result === 'object') {
    const inner = (result as { alarm?: unknown }).alarm;
    if (inner && typeof inner === 'object') return inner as Alarm;
    if (typeof (result as { id?: unknown }).id === 'string') return result as Alarm;
  }
  throw new Error(`${command} returned an unexpected shape`);
}
