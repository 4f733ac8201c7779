// Publishers shared by the end-to-end tests and the desktop UI benchmark:
// metric samples and alarms sent through the hub's HTTP API (`/api/batch`),
// as an agent or a script feeding the hub would. Every loop here is bounded
// in time and stops on `stop()`.
//
//   const fleet = new Fleet(hub, { sources: names(100), metrics: HOST_METRICS.slice(0, 3) });
//   fleet.start();            // one sample per source per second
//   fleet.pause('web-3');     // that source falls silent
//   await fleet.stop();

/** Largest `/api/batch` body sent: under the hub's default --api-body-limit (64 KiB). */
export const DEFAULT_MAX_BYTES = 60_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The channel of a source's samples. */
export const metricsChannel = (source) => `metrics:${source}`;

/** A metric sample, as published on `metrics:<source>`. */
export const sample = (ts, values) => ({ ts, values });

/** An alarm transition, as published on `alarms`. */
export function alarm(source, rule, severity, { state = 'firing', title = `${rule} on ${source}`, ts = Date.now(), value } = {}) {
  return { id: `${source}/${rule}`, source, severity, state, title, message: `${title} (test)`, ts, ...(value === undefined ? {} : { value }) };
}

/**
 * Sends `publications` ([{channel, data}], in order) through `/api/batch`,
 * in as many requests as it takes to keep each body under `maxBytes`.
 * Returns `{ published, errors, requests, bytes, firstError }`; an HTTP status
 * other than 200 throws (hub.api asserts it).
 */
export async function publishAll(hub, publications, { maxBytes = DEFAULT_MAX_BYTES } = {}) {
  const out = { published: 0, errors: 0, requests: 0, bytes: 0, firstError: undefined };
  let commands = [];
  let size = 40;
  const flush = async () => {
    if (!commands.length) return;
    const reply = await hub.api('batch', { commands });
    out.requests += 1;
    out.bytes += size;
    for (const r of reply.replies ?? []) {
      if (r.error) {
        out.errors += 1;
        out.firstError ??= r.error;
      } else out.published += 1;
    }
    commands = [];
    size = 40;
  };
  for (const p of publications) {
    const command = { publish: { channel: p.channel, data: p.data } };
    const len = JSON.stringify(command).length + 1;
    if (commands.length && size + len > maxBytes) await flush();
    commands.push(command);
    size += len;
  }
  await flush();
  return out;
}

/** Publishes `samples` of one source, in order, through batches. */
export function publishSamples(hub, source, samples, options) {
  return publishAll(
    hub,
    samples.map((data) => ({ channel: metricsChannel(source), data })),
    options,
  );
}

/**
 * `n` source names by role, unpadded, so that a filter like `web-1` matches
 * web-1 and web-10…web-19: 40 % web, 20 % db, 20 % cache, 20 % worker.
 */
export function names(n) {
  const roles = [
    ['web', 0.4],
    ['db', 0.2],
    ['cache', 0.2],
    ['worker', 0.2],
  ];
  const out = [];
  let left = n;
  roles.forEach(([role, share], i) => {
    const count = i === roles.length - 1 ? left : Math.round(n * share);
    for (let k = 1; k <= count; k++) out.push(`${role}-${k}`);
    left -= count;
  });
  return out;
}

/** Eight host-like metrics (names the UI groups into CPU, Memory, Load, Disk, Network). */
export const HOST_METRICS = [
  'cpu.total',
  'mem.used_percent',
  'load.1',
  'load.5',
  'load.15',
  'disk.used_percent',
  'net.rx_bytes_per_s',
  'net.tx_bytes_per_s',
];

/** A small deterministic hash of a string, 0…1. */
function unit(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return ((h >>> 0) % 10_000) / 10_000;
}

const round = (v, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** A plausible value of `metric` for `source` at `ts`: slow waves per source, never above a warning level. */
export function hostValue(source, metric, ts) {
  const phase = unit(`${source}/${metric}`) * 2 * Math.PI;
  const wave = Math.sin(ts / 60_000 + phase) * 0.5 + 0.5; // 0…1, one period ≈ 6 min
  const base = unit(source);
  if (metric === 'cpu.total') return round(5 + 40 * base + 15 * wave);
  if (metric.endsWith('_percent')) return round(20 + 30 * base + 10 * wave);
  if (metric.startsWith('load.')) return round(0.2 + 1.5 * base + wave, 2);
  if (metric.endsWith('_bytes_per_s')) return Math.round(1e5 + 5e6 * base * wave);
  return round(100 * wave);
}

/**
 * Many sources, each publishing one sample of `metrics` every `intervalMs`
 * (default 1 s) through `/api/batch`. Ticks follow the wall clock: a tick
 * that finishes late is counted in `stats.late` and the next one is not
 * moved. `pause(source)` stops one source (it falls silent), `resume` brings
 * it back, `add` adds sources while running.
 */
export class Fleet {
  constructor(hub, { sources, metrics = HOST_METRICS, intervalMs = 1000, maxBytes = DEFAULT_MAX_BYTES, maxMs = 3_600_000, value = hostValue } = {}) {
    this.hub = hub;
    this.sources = [...sources];
    this.metrics = metrics;
    this.intervalMs = intervalMs;
    this.maxBytes = maxBytes;
    this.maxMs = maxMs;
    this.value = value;
    this.paused = new Set();
    this.running = null;
    this.stats = { ticks: 0, published: 0, errors: 0, requests: 0, late: 0, maxTickMs: 0, maxLateMs: 0, firstError: undefined };
  }

  add(...sources) {
    for (const s of sources) if (!this.sources.includes(s)) this.sources.push(s);
  }

  pause(source) {
    this.paused.add(source);
  }

  resume(source) {
    this.paused.delete(source);
  }

  /** One sample of every source that is not paused, all stamped `ts`. */
  async tick(ts = Date.now()) {
    const pubs = [];
    for (const source of this.sources) {
      if (this.paused.has(source)) continue;
      const values = {};
      for (const m of this.metrics) values[m] = this.value(source, m, ts);
      pubs.push({ channel: metricsChannel(source), data: sample(ts, values) });
    }
    const started = Date.now();
    const r = await publishAll(this.hub, pubs, { maxBytes: this.maxBytes });
    const took = Date.now() - started;
    this.stats.ticks += 1;
    this.stats.published += r.published;
    this.stats.errors += r.errors;
    this.stats.requests += r.requests;
    this.stats.firstError ??= r.firstError;
    this.stats.maxTickMs = Math.max(this.stats.maxTickMs, took);
    return r;
  }

  /** Publishes until `stop()` (or `maxMs`). Errors of a tick are kept in `stats.lastFailure` and the loop goes on. */
  start() {
    if (this.running) return this;
    this.stopping = false;
    const begin = Date.now();
    this.running = (async () => {
      let next = begin;
      while (!this.stopping && Date.now() - begin < this.maxMs) {
        const lateBy = Date.now() - next;
        if (lateBy > this.intervalMs / 2) this.stats.late += 1;
        this.stats.maxLateMs = Math.max(this.stats.maxLateMs, lateBy);
        try {
          await this.tick(next);
        } catch (e) {
          this.stats.lastFailure = e.message;
        }
        next += this.intervalMs;
        // Behind by more than a tick: skip the missed ones rather than bursting.
        if (Date.now() - next > this.intervalMs) next = Date.now();
        const wait = next - Date.now();
        if (wait > 0) await this.sleep(wait);
      }
    })();
    return this;
  }

  /** A sleep that `stop()` cuts short. */
  sleep(ms) {
    return new Promise((ok) => {
      const t = setTimeout(ok, ms);
      this.wake = () => {
        clearTimeout(t);
        ok();
      };
    });
  }

  async stop() {
    this.stopping = true;
    this.wake?.();
    await this.running;
    this.running = null;
  }
}

/** `series` metric names in groups of 20: ch0.0 … ch0.19, ch1.0 … (the UI charts each `chN` group). */
export function denseNames(series = 200, perGroup = 20) {
  return Array.from({ length: series }, (_, i) => `ch${Math.floor(i / perGroup)}.${i % perGroup}`);
}

/**
 * One source with many series at a high rate (default 200 series at 100 Hz).
 * `run({ from, untilMs })` publishes samples from `from` (unix ms, may be in
 * the past) one period apart, as fast as the hub takes them while they are
 * in the past (back-dated, ascending), then in step with the clock; it stops
 * at `stop()`, or when `untilMs` passes. `stats.caughtUpAt` is when the
 * back-dated part was done.
 */
export class Dense {
  constructor(hub, { source = 'dense-1', series = 200, hz = 100, maxBytes = DEFAULT_MAX_BYTES } = {}) {
    this.hub = hub;
    this.source = source;
    this.names = denseNames(series);
    this.periodMs = 1000 / hz;
    this.maxBytes = maxBytes;
    this.stats = { published: 0, errors: 0, requests: 0, bytes: 0, caughtUpAt: undefined, firstTs: undefined, lastTs: undefined, firstError: undefined };
  }

  sampleAt(ts) {
    const values = {};
    const t = ts / 1000;
    this.names.forEach((name, i) => {
      values[name] = round(50 + 40 * Math.sin(t * (0.2 + (i % 20) * 0.05) + i), 1);
    });
    return sample(Math.round(ts), values);
  }

  /** Publishes the samples with ts in [cursor, end), at most `maxBytes` per request. */
  async publishUpTo(end) {
    const pubs = [];
    let bytes = 0;
    const channel = metricsChannel(this.source);
    while (this.cursor < end && bytes < this.maxBytes) {
      const data = this.sampleAt(this.cursor);
      pubs.push({ channel, data });
      bytes += JSON.stringify(data).length + 40;
      this.cursor += this.periodMs;
    }
    if (!pubs.length) return 0;
    this.stats.firstTs ??= pubs[0].data.ts;
    this.stats.lastTs = pubs[pubs.length - 1].data.ts;
    const r = await publishAll(this.hub, pubs, { maxBytes: this.maxBytes + 1000 });
    this.stats.published += r.published;
    this.stats.errors += r.errors;
    this.stats.requests += r.requests;
    this.stats.bytes += r.bytes;
    this.stats.firstError ??= r.firstError;
    return pubs.length;
  }

  run({ from = Date.now(), untilMs = Date.now() + 3_600_000, catchUpByMs } = {}) {
    this.cursor = from;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping && Date.now() < untilMs) {
        const now = Date.now();
        if (catchUpByMs && this.stats.caughtUpAt === undefined && now > catchUpByMs) {
          // Back-dating took too long: jump to the present (the gap is in the stats).
          this.stats.skippedMs = now - this.cursor;
          this.cursor = now;
        }
        const sent = await this.publishUpTo(now);
        if (this.cursor >= now - 2 * this.periodMs && this.stats.caughtUpAt === undefined) this.stats.caughtUpAt = Date.now();
        if (sent === 0 || this.cursor >= Date.now()) await sleep(20);
      }
    })().catch((e) => {
      this.stats.lastFailure = e.message;
    });
    return this;
  }

  async stop() {
    this.stopping = true;
    await this.running;
  }
}

/**
 * One source with `series` values per sample at `hz`, live: every `tickMs` one request
 * carries the samples due since the last one (the count follows the clock, so the rate is
 * exact), the newest stamped with the time the request is built, its publish time, the
 * others one period apart before it. One request is in flight at a time: a slow request
 * makes the next carry more samples (still under `maxBytes`), never a burst of requests.
 * `stats.behind` is how many due samples were not sent yet when it stopped.
 */
export class Stream {
  constructor(hub, { source = 'stream-1', series = 200, hz = 500, tickMs = 10, maxBytes = DEFAULT_MAX_BYTES } = {}) {
    this.hub = hub;
    this.source = source;
    this.names = denseNames(series);
    this.hz = hz;
    this.periodMs = 1000 / hz;
    this.tickMs = tickMs;
    this.maxBytes = maxBytes;
    this.lastTs = 0;
    this.stats = { published: 0, errors: 0, requests: 0, late: 0, maxRequestMs: 0, behind: 0, startedAt: undefined, stoppedAt: undefined, firstError: undefined };
  }

  /** Values of one sample at `ts` (slow sine waves, one phase per series). */
  values(ts) {
    const values = {};
    const t = ts / 1000;
    this.names.forEach((name, i) => {
      values[name] = round(50 + 40 * Math.sin(t * (0.2 + (i % 20) * 0.05) + i), 1);
    });
    return values;
  }

  /** Samples published per second since start (or between start and stop). */
  rate() {
    const end = this.stats.stoppedAt ?? Date.now();
    return this.stats.startedAt === undefined ? NaN : (this.stats.published / (end - this.stats.startedAt)) * 1000;
  }

  /** Publishes until `stop()` or `maxMs`. */
  start({ maxMs = 3_600_000 } = {}) {
    if (this.running) return this;
    this.stopping = false;
    const begin = Date.now();
    this.stats.startedAt = begin;
    const channel = metricsChannel(this.source);
    // JSON of one sample, roughly: the request takes as many as fit in maxBytes.
    const perRequest = Math.max(1, Math.floor(this.maxBytes / (JSON.stringify({ publish: { channel, data: sample(begin, this.values(begin)) } }).length + 1)));
    let sent = 0;
    this.running = (async () => {
      let tick = 0;
      while (!this.stopping && Date.now() - begin < maxMs) {
        const now = Date.now();
        const due = Math.floor(((now - begin) * this.hz) / 1000);
        const k = Math.min(due - sent, perRequest);
        if (k > 0) {
          const pubs = [];
          for (let i = 0; i < k; i++) {
            const ts = Math.max(this.lastTs + 1, Math.round(now - (k - 1 - i) * this.periodMs));
            this.lastTs = ts;
            pubs.push({ channel, data: sample(ts, this.values(ts)) });
          }
          const t0 = Date.now();
          try {
            const r = await publishAll(this.hub, pubs, { maxBytes: this.maxBytes + 1000 });
            this.stats.published += r.published;
            this.stats.errors += r.errors;
            this.stats.requests += r.requests;
            this.stats.firstError ??= r.firstError;
          } catch (e) {
            this.stats.lastFailure = e.message;
          }
          this.stats.maxRequestMs = Math.max(this.stats.maxRequestMs, Date.now() - t0);
          sent += k;
        }
        // The next tick on the clock; ticks a slow request overran are skipped (counted in
        // `late`): the next request carries their samples.
        const next = Math.floor((Date.now() - begin) / this.tickMs) + 1;
        if (next > tick + 2) this.stats.late += 1;
        tick = next;
        await sleep(Math.max(0, begin + tick * this.tickMs - Date.now()));
      }
      this.stats.stoppedAt = Date.now();
      this.stats.behind = Math.floor(((this.stats.stoppedAt - begin) * this.hz) / 1000) - sent;
    })().catch((e) => {
      this.stats.lastFailure = e.message;
    });
    return this;
  }

  async stop() {
    this.stopping = true;
    await this.running;
    this.running = null;
  }
}
