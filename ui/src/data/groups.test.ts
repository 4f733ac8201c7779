import { describe, expect, it } from 'vitest';
import { formatAxis, formatValue, groupMetrics, unitOf } from './groups';

describe('unit detection', () => {
  it('reads the unit from clear suffixes', () => {
    expect(unitOf('http.latency_seconds')).toBe('seconds');
    expect(unitOf('job.run_secs')).toBe('seconds');
    expect(unitOf('http.latency_ms')).toBe('millis');
    expect(unitOf('gc.pause_millis')).toBe('millis');
    expect(unitOf('temp.gpu_celsius')).toBe('celsius');
    expect(unitOf('cache.hit_ratio')).toBe('ratio');
  });

  it('keeps counters plain, also counters of seconds or bytes', () => {
    expect(unitOf('http.requests_total')).toBe('plain');
    expect(unitOf('http.errors_count')).toBe('plain');
    expect(unitOf('proc.cpu_seconds_total')).toBe('plain');
    expect(unitOf('net.rx_bytes_total')).toBe('plain');
  });

  it('keeps the known families and suffixes', () => {
    expect(unitOf('cpu.total')).toBe('percent');
    expect(unitOf('cpu.core.3')).toBe('percent');
    expect(unitOf('load.5')).toBe('load');
    expect(unitOf('mem.used_bytes')).toBe('bytes');
    expect(unitOf('net.tx_bytes_per_s')).toBe('bytesPerSec');
    expect(unitOf('disk.used_percent')).toBe('percent');
  });

  it('never puts two units on one chart', () => {
    const groups = groupMetrics(['temp.gpu_celsius', 'temp.fan', 'http.latency_ms', 'http.latency_seconds', 'http.requests_total', 'http.hit_ratio']);
    for (const g of groups) expect(new Set(g.names.map(unitOf)).size).toBe(1);
    expect(groups.map((g) => g.key).sort()).toEqual(['http|millis', 'http|plain', 'http|ratio', 'http|seconds', 'temp|celsius', 'temp|plain']);
    expect(groups.find((g) => g.key === 'temp|celsius')!.title).toBe('temp (°C)');
  });

  it('formats values and axis ticks of the new units', () => {
    expect(formatValue('seconds', 0.0125)).toBe('12.5 ms');
    expect(formatValue('seconds', 3.2)).toBe('3.20 s');
    expect(formatValue('seconds', 270)).toBe('4.5 min');
    expect(formatValue('millis', 0.42)).toBe('420 µs');
    expect(formatValue('millis', 1500)).toBe('1.50 s');
    expect(formatValue('celsius', 61.26)).toBe('61.3 °C');
    expect(formatValue('ratio', 0.25)).toBe('25.0 %');
    expect(formatValue('ratio', null)).toBe('–');
    expect(formatAxis('seconds', 0.5)).toBe('0.5s');
    expect(formatAxis('millis', 250)).toBe('250ms');
    expect(formatAxis('celsius', 60)).toBe('60°');
    expect(formatAxis('ratio', 0.5)).toBe('50%');
  });
});
