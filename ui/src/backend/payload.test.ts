// The wire schema checks of a page (what serde accepts on the desktop).
import { describe, expect, it } from 'vitest';
import { decodeAlarm, decodeSample } from './payload';

describe('decodeSample', () => {
  it('accepts a sample and refuses what serde would, saying why', () => {
    expect(decodeSample({ ts: 5, values: { a: 1.5 } })).toEqual({ ok: true, value: { ts: 5, values: { a: 1.5 } } });
    expect(decodeSample('x')).toEqual({ ok: false, error: 'expected a sample object, found a string' });
    expect(decodeSample({ values: {} })).toEqual({ ok: false, error: 'missing field `ts`' });
    expect(decodeSample({ ts: 1.5, values: {} })).toMatchObject({ ok: false, error: 'ts: expected an integer (unix ms), found a number' });
    expect(decodeSample({ ts: 1, values: [] })).toMatchObject({ ok: false, error: 'values: expected an object of numbers, found an array' });
    expect(decodeSample({ ts: 1, values: { 'cpu.total': null } })).toMatchObject({ ok: false, error: 'values["cpu.total"]: expected a number, found null' });
  });
});

describe('decodeAlarm', () => {
  const good = { id: 'h/cpu', source: 'h', severity: 'critical', state: 'firing', title: 'CPU', ts: 1 };

  it('accepts an alarm, reading a missing message as empty and null optionals as absent', () => {
    expect(decodeAlarm({ ...good, by: null, labels: { rule: 'cpu' } })).toEqual({ ok: true, value: { ...good, message: '', labels: { rule: 'cpu' } } });
  });

  it('refuses a wrong state, severity, ts or field type', () => {
    expect(decodeAlarm({ ...good, state: 'on fire' })).toMatchObject({ ok: false, error: expect.stringMatching(/^state: expected one of/) });
    expect(decodeAlarm({ ...good, severity: 'huge' })).toMatchObject({ ok: false, error: expect.stringMatching(/^severity: /) });
    expect(decodeAlarm({ ...good, ts: '1' })).toMatchObject({ ok: false, error: 'ts: expected an integer (unix ms), found a string' });
    expect(decodeAlarm({ ...good, title: 3 })).toMatchObject({ ok: false, error: 'title: expected a string, found a number' });
    expect(decodeAlarm({ ...good, links: { runbook: 5 } })).toMatchObject({ ok: false, error: 'links: expected an object of strings, found an object' });
    const { id: _, ...noId } = good;
    expect(decodeAlarm(noId)).toMatchObject({ ok: false, error: 'missing field `id`' });
  });
});
