import { describe, expect, it } from 'vitest';
import { relativeTime, spanText } from './format';

describe('spans of time', () => {
  it('reads a silent source\'s span in the largest whole unit', () => {
    expect(spanText(500)).toBeNull();
    expect(spanText(12_000)).toBe('12 s');
    expect(spanText(125_000)).toBe('2 min');
    expect(spanText(3 * 3600_000 + 5)).toBe('3 h');
    expect(spanText(50 * 3600_000)).toBe('2 d');
  });

  it('keeps relative times as before', () => {
    expect(relativeTime(1000, 1200)).toBe('just now');
    expect(relativeTime(0, 125_000)).toBe('2 min ago');
    expect(relativeTime(5000, 0)).toBe('just now');
  });
});
