/**
 * A stand-in for `Path2D` that records its commands in an ordinary array and
 * replays them into the context's own path when it is stroked, filled or used
 * as a clip.
 *
 * Why: uPlot builds new `Path2D` objects for every series on every redraw. In
 * WebKitGTK each one holds native path memory that the JavaScript collector
 * does not count, so at tens of redraws a second they pile up between
 * collections and the web process grows for minutes. With paths stubbed out a
 * 3-minute soak grew 2.2 % instead of 10.8 %. A recorded path is plain
 * JavaScript memory, which the collector sees and reclaims, and the drawing
 * reuses the context's single default path.
 *
 * Only the commands uPlot issues are recorded; anything else is missing on
 * purpose, so a new caller fails loudly rather than drawing wrong.
 */

const MOVE = 0;
const LINE = 1;
const RECT = 2;
const ARC = 3;
const ARC_TO = 4;
const BEZIER = 5;
const CLOSE = 6;

/** The subset of a 2D context a recorded path replays into. */
export interface PathSink {
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  rect(x: number, y: number, w: number, h: number): void;
  arc(x: number, y: number, r: number, start: number, end: number, ccw?: boolean): void;
  arcTo(x1: number, y1: number, x2: number, y2: number, r: number): void;
  bezierCurveTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number): void;
  closePath(): void;
}

/** A path kept as a flat list of opcodes and their arguments. */
export class RecordedPath implements PathSink {
  private ops: number[];

  constructor(from?: RecordedPath | string) {
    if (typeof from === 'string') throw new TypeError('RecordedPath does not parse SVG path strings');
    this.ops = from ? from.ops.slice() : [];
  }

  moveTo(x: number, y: number): void {
    this.ops.push(MOVE, x, y);
  }

  lineTo(x: number, y: number): void {
    this.ops.push(LINE, x, y);
  }

  rect(x: number, y: number, w: number, h: number): void {
    this.ops.push(RECT, x, y, w, h);
  }

  arc(x: number, y: number, r: number, start: number, end: number, ccw = false): void {
    this.ops.push(ARC, x, y, r, start, end, ccw ? 1 : 0);
  }

  arcTo(x1: number, y1: number, x2: number, y2: number, r: number): void {
    this.ops.push(ARC_TO, x1, y1, x2, y2, r);
  }

  bezierCurveTo(c1x: number, c1y: number, c2x: number, c2y: number, x: number, y: number): void {
    this.ops.push(BEZIER, c1x, c1y, c2x, c2y, x, y);
  }

  closePath(): void {
    this.ops.push(CLOSE);
  }

  /** Issues every recorded command, in order, on `sink`. */
  replay(sink: PathSink): void {
    const o = this.ops;
    let i = 0;
    while (i < o.length) {
      switch (o[i]!) {
        case MOVE: sink.moveTo(o[i + 1]!, o[i + 2]!); i += 3; break;
        case LINE: sink.lineTo(o[i + 1]!, o[i + 2]!); i += 3; break;
        case RECT: sink.rect(o[i + 1]!, o[i + 2]!, o[i + 3]!, o[i + 4]!); i += 5; break;
        case ARC: sink.arc(o[i + 1]!, o[i + 2]!, o[i + 3]!, o[i + 4]!, o[i + 5]!, o[i + 6]! === 1); i += 7; break;
        case ARC_TO: sink.arcTo(o[i + 1]!, o[i + 2]!, o[i + 3]!, o[i + 4]!, o[i + 5]!); i += 6; break;
        case BEZIER: sink.bezierCurveTo(o[i + 1]!, o[i + 2]!, o[i + 3]!, o[i + 4]!, o[i + 5]!, o[i + 6]!); i += 7; break;
        case CLOSE: sink.closePath(); i += 1; break;
        default: throw new Error(`corrupt recorded path at ${i}`);
      }
    }
  }
}

type Draw = (this: CanvasRenderingContext2D, ...args: unknown[]) => void;

/** The drawing calls that take a path as their first argument. */
const PATH_TAKERS = ['stroke', 'fill', 'clip'] as const;

/**
 * Makes `new Path2D()` in `win` build a `RecordedPath`, and teaches the 2D
 * context's `stroke`, `fill` and `clip` to draw one: start a fresh default
 * path, replay into it, then call the original with the remaining arguments
 * (the fill rule). Calls without a recorded path are untouched. Idempotent.
 */
export function installRecordedPaths(win: { Path2D: unknown; CanvasRenderingContext2D: { prototype: object } }): void {
  if (win.Path2D === RecordedPath) return;
  const proto = win.CanvasRenderingContext2D.prototype as Record<string, Draw>;
  for (const name of PATH_TAKERS) {
    const original = proto[name];
    if (!original) throw new TypeError(`this canvas context has no ${name}()`);
    proto[name] = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
      const path = args[0];
      if (!(path instanceof RecordedPath)) return original.apply(this, args);
      this.beginPath();
      path.replay(this);
      return original.apply(this, args.slice(1));
    };
  }
  win.Path2D = RecordedPath;
}
