import { describe, expect, it } from 'vitest';
import { installRecordedPaths, RecordedPath } from './recorded-path';
import type { PathSink } from './recorded-path';

/** Writes every path command it receives as one line, to compare sequences. */
class Log implements PathSink {
  lines: string[] = [];
  moveTo(...a: number[]): void { this.lines.push(`moveTo ${a.join(' ')}`); }
  lineTo(...a: number[]): void { this.lines.push(`lineTo ${a.join(' ')}`); }
  rect(...a: number[]): void { this.lines.push(`rect ${a.join(' ')}`); }
  arc(...a: unknown[]): void { this.lines.push(`arc ${a.join(' ')}`); }
  arcTo(...a: number[]): void { this.lines.push(`arcTo ${a.join(' ')}`); }
  bezierCurveTo(...a: number[]): void { this.lines.push(`bezierCurveTo ${a.join(' ')}`); }
  closePath(): void { this.lines.push('closePath'); }
}

/** A context whose default path and drawing calls are a log. */
class FakeContext extends Log {
  beginPath(): void { this.lines.push('beginPath'); }
  stroke(...a: unknown[]): void { this.lines.push(`stroke(${a.length})`); }
  fill(...a: unknown[]): void { this.lines.push(`fill(${a.map(String).join(',')})`); }
  clip(...a: unknown[]): void { this.lines.push(`clip(${a.map(String).join(',')})`); }
}

/** A fresh window stand-in per test, so installs do not leak between tests. */
function fakeWindow() {
  class Ctx extends FakeContext {}
  class NativePath {}
  return { Path2D: NativePath as unknown, CanvasRenderingContext2D: Ctx, Ctx };
}

describe('RecordedPath', () => {
  it('replays every command with its arguments, in order', () => {
    const p = new RecordedPath();
    p.moveTo(1, 2);
    p.lineTo(3, 4);
    p.rect(5, 6, 7, 8);
    p.arc(9, 10, 11, 0, Math.PI, true);
    p.arc(1, 1, 2, 0, 1);
    p.arcTo(1, 2, 3, 4, 5);
    p.bezierCurveTo(1, 2, 3, 4, 5, 6);
    p.closePath();
    const log = new Log();
    p.replay(log);
    expect(log.lines).toEqual([
      'moveTo 1 2',
      'lineTo 3 4',
      'rect 5 6 7 8',
      `arc 9 10 11 0 ${Math.PI} true`,
      'arc 1 1 2 0 1 false',
      'arcTo 1 2 3 4 5',
      'bezierCurveTo 1 2 3 4 5 6',
      'closePath',
    ]);
  });

  it('copies a path, and the copy grows on its own', () => {
    const stroke = new RecordedPath();
    stroke.moveTo(0, 0);
    stroke.lineTo(10, 5);
    const fill = new RecordedPath(stroke);
    fill.lineTo(10, 0);
    fill.closePath();
    const a = new Log();
    stroke.replay(a);
    const b = new Log();
    fill.replay(b);
    expect(a.lines).toEqual(['moveTo 0 0', 'lineTo 10 5']);
    expect(b.lines).toEqual(['moveTo 0 0', 'lineTo 10 5', 'lineTo 10 0', 'closePath']);
  });

  it('refuses SVG path strings instead of drawing nothing', () => {
    expect(() => new RecordedPath('M0 0 L1 1')).toThrow(/SVG/);
  });
});

describe('installRecordedPaths', () => {
  it('makes new Path2D() record, and stroke/fill/clip draw it through the default path', () => {
    const win = fakeWindow();
    installRecordedPaths(win);
    const Path = win.Path2D as typeof RecordedPath;
    const p = new Path();
    expect(p).toBeInstanceOf(RecordedPath);
    p.moveTo(1, 1);
    p.lineTo(2, 2);

    const ctx = new win.Ctx();
    ctx.stroke(p);
    ctx.fill(p, 'evenodd');
    ctx.clip(p);
    const path = ['beginPath', 'moveTo 1 1', 'lineTo 2 2'];
    expect(ctx.lines).toEqual([...path, 'stroke(0)', ...path, 'fill(evenodd)', ...path, 'clip()']);
  });

  it('leaves calls without a recorded path alone', () => {
    const win = fakeWindow();
    installRecordedPaths(win);
    const ctx = new win.Ctx();
    ctx.stroke();
    ctx.fill('nonzero');
    const native = {};
    ctx.clip(native);
    expect(ctx.lines).toEqual(['stroke(0)', 'fill(nonzero)', 'clip([object Object])']);
  });

  it('installs once: a second install does not wrap the calls twice', () => {
    const win = fakeWindow();
    installRecordedPaths(win);
    installRecordedPaths(win);
    const p = new (win.Path2D as typeof RecordedPath)();
    p.rect(0, 0, 1, 1);
    const ctx = new win.Ctx();
    ctx.stroke(p);
    expect(ctx.lines).toEqual(['beginPath', 'rect 0 0 1 1', 'stroke(0)']);
  });
});
