// Coalesces redraws: any number of markDirty() calls between two animation frames lead to
// exactly one render() per target in the next frame.

export interface Renderable {
  render(): void;
}

export type RequestFrame = (cb: (t: number) => void) => unknown;

export class FrameScheduler<T extends Renderable = Renderable> {
  private readonly dirty = new Set<T>();
  private scheduled = false;
  /** Frames that rendered something. */
  frames = 0;

  constructor(private readonly requestFrame: RequestFrame) {}

  markDirty(target: T): void {
    this.dirty.add(target);
    if (!this.scheduled) {
      this.scheduled = true;
      this.requestFrame(() => this.flush());
    }
  }

  forget(target: T): void {
    this.dirty.delete(target);
  }

  get pending(): number {
    return this.dirty.size;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty];
    this.dirty.clear();
    this.frames++;
    for (const t of batch) {
      try {
        t.render();
      } catch (e) {
        console.error('render failed', e);
      }
    }
  }
}
