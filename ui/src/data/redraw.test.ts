import { describe, expect, it } from 'vitest';
import { dataRedrawDue, MIN_REDRAW_MS } from './redraw';

const chart = (onScreen: boolean, renderedAt: number, msPerPixel: number) => ({ onScreen, renderedAt, msPerPixel: () => msPerPixel });

describe('dataRedrawDue', () => {
  it('redraws an on-screen chart once a pixel of time has passed', () => {
    expect(dataRedrawDue(chart(true, 1000, 100), 1099)).toBe(false);
    expect(dataRedrawDue(chart(true, 1000, 100), 1100)).toBe(true);
    expect(dataRedrawDue(chart(true, -Infinity, 100), 0)).toBe(true);
  });

  it('never more often than a frame, however narrow the pixel', () => {
    expect(dataRedrawDue(chart(true, 1000, 1), 1000 + MIN_REDRAW_MS - 1)).toBe(false);
    expect(dataRedrawDue(chart(true, 1000, 1), 1000 + MIN_REDRAW_MS)).toBe(true);
  });

  it('leaves a chart scrolled out of view alone, however old its drawing', () => {
    expect(dataRedrawDue(chart(false, -Infinity, 100), 1_000_000)).toBe(false);
  });
});
