// Recent history for metric sources, delivered before their live samples: the browser's copy
// of crates/client/src/follow/backfill.rs (see ./README.md, "Recent history of a source").
//
// The UI drops a sample whose ts is not after the newest one it holds for that source, so
// one live sample sent first would make it drop the whole history. While a history request
// is in flight that source's live samples are held; then the history (only what is newer
// than what was already sent), then the held samples, go out ascending, each ts once.
import type { MetricSample } from './types';

/** Publications asked for first: what the hub keeps per channel by default. */
export const HISTORY_LIMIT = 1000;
/** Below this the request is not halved again: the hub is configured so it never fits. */
export const MIN_HISTORY_LIMIT = 16;
/** Live samples held per source while its history loads; the oldest go first. */
export const MAX_HELD = 120;
/** Pause before asking again when the hub says this client sends too many commands (111). */
export const RATE_LIMITED_PAUSE_MS = 250;
/** Requests of one history load at most (halvings and rate-limit retries together). */
const MAX_REQUESTS = 40;

/** The hub's "the reply would not fit this connection's queue". */
export const LIMIT_EXCEEDED = 106;
/** The hub's "too many requests". */
export const TOO_MANY_REQUESTS = 111;

/** One history request of a source; only the newest one releases the hold. */
export interface Ticket {
  readonly source: string;
  readonly id: number;
}

interface SourceState {
  /** ts of the newest sample handed on, so history never repeats it. */
  lastSent: number | null;
  hold: { ticket: number; held: MetricSample[] } | null;
}

export class Backfill {
  private readonly sources = new Map<string, SourceState>();
  private nextTicket = 0;

  private state(source: string): SourceState {
    let s = this.sources.get(source);
    if (!s) {
      s = { lastSent: null, hold: null };
      this.sources.set(source, s);
    }
    return s;
  }

  /** Starts holding `source`'s live samples; a request already in flight is superseded. */
  begin(source: string): Ticket {
    const id = ++this.nextTicket;
    const s = this.state(source);
    s.hold = { ticket: id, held: s.hold?.held ?? [] };
    return { source, id };
  }

  /** A live sample: returned to send now, or null while it is held. */
  live(source: string, sample: MetricSample): MetricSample | null {
    const s = this.state(source);
    if (s.hold) {
      if (s.hold.held.length >= MAX_HELD) s.hold.held.shift();
      s.hold.held.push(sample);
      return null;
    }
    s.lastSent = s.lastSent === null ? sample.ts : Math.max(s.lastSent, sample.ts);
    return sample;
  }

  /**
   * Ends the hold of `ticket` with `history` (any order; empty when it failed): what to
   * send, ascending, each ts once and newer than anything sent before. Nothing for a
   * superseded ticket.
   */
  finish(ticket: Ticket, history: MetricSample[]): MetricSample[] {
    const s = this.sources.get(ticket.source);
    if (!s || s.hold?.ticket !== ticket.id) return [];
    const held = s.hold.held;
    s.hold = null;
    const sorted = [...history].sort((a, b) => a.ts - b.ts);
    const out: MetricSample[] = [];
    for (const sample of [...sorted, ...held]) {
      const newest = out.length ? out[out.length - 1]!.ts : s.lastSent;
      if (newest === null || sample.ts > newest) out.push(sample);
    }
    if (out.length) s.lastSent = out[out.length - 1]!.ts;
    return out;
  }
}

/** A history read as the SDK offers it: newest first with `reverse`. */
export type ReadHistory = (limit: number) => Promise<{ publications: { data: unknown }[] }>;

/** An error of the SDK or the hub: `{code, message}`. */
function codeOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The newest samples of a channel's history, oldest first. Starts with HISTORY_LIMIT and
 * halves while the hub answers 106; asks again after a pause on 111. What is not a sample
 * is skipped (the live path counts it as invalid). The caller bounds the whole wait.
 */
export async function recentSamples(read: ReadHistory, decode: (data: unknown) => MetricSample | null, sleep: (ms: number) => Promise<void>): Promise<MetricSample[]> {
  let limit = HISTORY_LIMIT;
  let lastError: unknown = null;
  for (let i = 0; i < MAX_REQUESTS; i++) {
    try {
      const { publications } = await read(limit);
      const samples: MetricSample[] = [];
      for (let j = publications.length - 1; j >= 0; j--) {
        const sample = decode(publications[j]!.data);
        if (sample) samples.push(sample);
      }
      return samples;
    } catch (e) {
      lastError = e;
      const code = codeOf(e);
      if (code === LIMIT_EXCEEDED && limit > MIN_HISTORY_LIMIT) limit = Math.floor(limit / 2);
      else if (code === TOO_MANY_REQUESTS) await sleep(RATE_LIMITED_PAUSE_MS);
      else throw e;
    }
  }
  throw lastError;
}
