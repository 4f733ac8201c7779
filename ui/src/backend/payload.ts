// Checks a publication's payload against the wire schema of crates/protocol (what serde would
// accept), in the browser where no Rust decodes it. A payload that does not match is refused
// with a short reason in serde's words, for the diagnostics panel; nothing here throws.
import type { Alarm, MetricSample } from './types';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : t === 'number' ? 'a number' : t === 'string' ? 'a string' : t === 'boolean' ? 'a boolean' : t;
}

const fail = <T>(error: string): Decoded<T> => ({ ok: false, error });
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
/** serde's i64: an integer within the safe range (JSON has no bigger exact integers here). */
const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

/** A `MetricSample`: `{ts: integer, values: {name: number}}`. */
export function decodeSample(data: unknown): Decoded<MetricSample> {
  if (!isObject(data)) return fail(`expected a sample object, found ${kind(data)}`);
  if (!('ts' in data)) return fail('missing field `ts`');
  if (!isInteger(data.ts)) return fail(`ts: expected an integer (unix ms), found ${kind(data.ts)}`);
  if (!('values' in data)) return fail('missing field `values`');
  const values = data.values;
  if (!isObject(values)) return fail(`values: expected an object of numbers, found ${kind(values)}`);
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(`values[${JSON.stringify(name)}]: expected a number, found ${kind(v)}`);
  }
  return { ok: true, value: { ts: data.ts, values: values as Record<string, number> } };
}

const SEVERITIES = ['info', 'warning', 'critical'];
const STATES = ['firing', 'acknowledged', 'resolved'];

/** An `Alarm` as crates/protocol defines it; optional fields may be absent or null. */
export function decodeAlarm(data: unknown): Decoded<Alarm> {
  if (!isObject(data)) return fail(`expected an alarm object, found ${kind(data)}`);
  for (const field of ['id', 'source', 'title'] as const) {
    if (!(field in data)) return fail(`missing field \`${field}\``);
    if (typeof data[field] !== 'string') return fail(`${field}: expected a string, found ${kind(data[field])}`);
  }
  if (!SEVERITIES.includes(data.severity as string)) return fail(`severity: expected one of info, warning, critical, found ${JSON.stringify(data.severity)}`);
  if (!STATES.includes(data.state as string)) return fail(`state: expected one of firing, acknowledged, resolved, found ${JSON.stringify(data.state)}`);
  if (!isInteger(data.ts)) return fail(`ts: expected an integer (unix ms), found ${kind(data.ts)}`);
  const optional: [string, (v: unknown) => boolean, string][] = [
    ['message', (v) => typeof v === 'string', 'a string'],
    ['value', (v) => typeof v === 'number', 'a number'],
    ['by', (v) => typeof v === 'string', 'a string'],
    ['comment', (v) => typeof v === 'string', 'a string'],
    ['silenced_until', isInteger, 'an integer'],
    ['labels', (v) => isObject(v) && Object.values(v).every((s) => typeof s === 'string'), 'an object of strings'],
    ['links', (v) => isObject(v) && Object.values(v).every((s) => typeof s === 'string'), 'an object of strings'],
  ];
  for (const [field, ok, what] of optional) {
    const v = data[field];
    if (v !== undefined && v !== null && !ok(v)) return fail(`${field}: expected ${what}, found ${kind(v)}`);
  }
  // As serde reads it: a missing message is empty, a null optional is absent.
  const alarm: Record<string, unknown> = { ...data, message: typeof data.message === 'string' ? data.message : '' };
  for (const field of ['value', 'by', 'comment', 'silenced_until', 'labels', 'links']) if (alarm[field] === null) delete alarm[field];
  return { ok: true, value: alarm as unknown as Alarm };
}
