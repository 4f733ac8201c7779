// When a chart of the source view redraws for new samples: only when it is on screen (a
// chart scrolled out of view is drawn again when it comes back), and once a pixel of time
// has passed since its last draw (drawing faster moves nothing), at most once a frame.

/** What the decision needs to know of a chart. */
export interface RedrawCandidate {
  /** Inside (or near) the visible part of the view. */
  onScreen: boolean;
  /** When it last drew (model clock, ms). */
  renderedAt: number;
  /** Milliseconds of the window one pixel stands for. */
  msPerPixel(): number;
}

/** About one display frame: no chart redraws more often for data. */
export const MIN_REDRAW_MS = 16;

export function dataRedrawDue(chart: RedrawCandidate, now: number): boolean {
  return chart.onScreen && now - chart.renderedAt >= Math.max(MIN_REDRAW_MS, chart.msPerPixel());
}
