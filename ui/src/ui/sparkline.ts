// A tile's small line chart: one canvas, one series, drawn by hand. A uPlot per tile would
// cost hundreds of instances at 500 sources; a canvas path of ~100 points costs microseconds.

export interface SparkOptions {
  color: string;
  /** Fixed y range (e.g. 0–100 for percentages); otherwise the data's own. */
  range?: [number, number];
}

/** Sizes the canvas backing store to its CSS box once (tiles have a fixed size). */
export function sparkCanvas(width: number, height: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  c.width = Math.round(width * dpr);
  c.height = Math.round(height * dpr);
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  return c;
}

/** Draws `ys` against `x` over [from, to]; a null breaks the line. */
export function drawSpark(
  c: HTMLCanvasElement,
  x: ArrayLike<number>,
  ys: ArrayLike<number | null>,
  from: number,
  to: number,
  o: SparkOptions,
): void {
  const g = c.getContext('2d');
  if (!g) return;
  const w = c.width;
  const hgt = c.height;
  g.clearRect(0, 0, w, hgt);
  let [lo, hi] = o.range ?? [Infinity, -Infinity];
  if (!o.range)
    for (let i = 0; i < ys.length; i++) {
      const v = ys[i];
      if (v === null || v === undefined) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  if (!(hi >= lo)) return;
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const pad = 1.5;
  const sx = (w - 1) / Math.max(1, to - from);
  const sy = (hgt - 2 * pad) / (hi - lo);
  g.lineWidth = Math.max(1, w / c.clientWidth || 1) * 1.2;
  g.strokeStyle = o.color;
  g.beginPath();
  let pen = false;
  for (let i = 0; i < x.length; i++) {
    const v = ys[i];
    if (v === null || v === undefined) {
      pen = false;
      continue;
    }
    const px = (x[i]! - from) * sx;
    const py = hgt - pad - (Math.min(hi, Math.max(lo, v)) - lo) * sy;
    if (pen) g.lineTo(px, py);
    else g.moveTo(px, py);
    pen = true;
  }
  g.stroke();
}
