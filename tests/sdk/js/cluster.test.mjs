// The real centrifuge-js SDK against two telltale-hub processes sharing one
// Redis: node A is killed with SIGKILL while alarms are published through
// node B, and the client, given both URLs, reconnects to B, recovers there
// what it missed, and has every alarm exactly once, in order.
//
// centrifuge-js 5.8 does not move along its `transports` array once it has
// connected, so the list of nodes lives in the WebSocket class it is given:
// each socket it opens dials the next URL, round robin, whatever URL the
// SDK passes.
//
// Run: `node --test cluster.test.mjs` here, after `cargo build -p
// telltale-hub` at the root; needs /usr/bin/redis-server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

import { Hub, sleep, waitFor, withTimeout } from './hub.mjs';
import { RedisServer } from './redis.mjs';

const API_KEY = 'sdk-js-cluster-key';
/** Bound of each wait; the scenario takes a few seconds. */
const WAIT_MS = 20000;
const TEST = { timeout: 60000 };

/** Alarms published in all. */
const ALARMS = 60;
/** Published (and received through A) before the paced loop: B's publications reach A's clients. */
const BEFORE_LOOP = 5;
/** A is killed right after the loop published this alarm. */
const KILL_AFTER = 20;
/** The loop's pace: about 20 alarms a second. */
const PACE_MS = 50;
/** Time allowed after the last alarm for a duplicate to show up. */
const DUPLICATE_ROOM_MS = 300;

/** Alarm number `n`: an alarm of its own (id `failover/n`), a transition of the active set. */
function alarm(n) {
  return {
    id: `failover/${n}`,
    source: 'failover',
    severity: 'warning',
    state: 'firing',
    title: `alarm ${n}`,
    message: `alarm ${n} of ${ALARMS}`,
    ts: Date.now(),
  };
}

/** The alarm number of an `alarms` publication (from its id). */
function alarmNumber(publication) {
  const m = /^failover\/(\d+)$/.exec(publication.data?.id ?? '');
  assert.ok(m, `not one of this test's alarms: ${JSON.stringify(publication.data)}`);
  return Number(m[1]);
}

/**
 * A WebSocket class that dials `urls` in turn, ignoring the URL it is given;
 * `opened` lists the URLs of the sockets that opened, in order.
 */
function roundRobin(urls) {
  let next = 0;
  const opened = [];
  class RoundRobinWebSocket extends WebSocket {
    constructor(_url, ...rest) {
      const url = urls[next++ % urls.length];
      super(url, ...rest);
      this.addEventListener('open', () => opened.push(url));
    }
  }
  return { RoundRobinWebSocket, opened };
}

/** How many of the node's own clients are on `alarms` (`channels` is per node). */
async function alarmSubscribers(hub) {
  const { channels } = await hub.call('channels', {});
  return channels.alarms?.num_clients ?? 0;
}

describe('centrifuge-js and two hub nodes on one Redis', () => {
  let redis;
  let a;
  let b;
  let client;

  before(async () => {
    redis = await RedisServer.start();
    const args = ['--redis', redis.url, '--allow-anonymous'];
    a = await Hub.start(args, { apiKey: API_KEY });
    b = await Hub.start(args, { apiKey: API_KEY });
  });

  after(async () => {
    client?.disconnect();
    // A is normally dead already; B and Redis go now, whatever happened.
    a?.child.kill('SIGKILL');
    await b?.stop().catch(() => b.child.kill('SIGKILL'));
    await redis?.stop();
  });

  it('moves to B when A is SIGKILLed mid-stream and has every alarm once, in order', TEST, async () => {
    try {
      await killAWhilePublishingThroughB();
    } catch (e) {
      e.message += `\n--- node A's log:\n${a.log()}\n--- node B's log:\n${b.log()}`;
      throw e;
    }
  });

  async function killAWhilePublishingThroughB() {
    const { RoundRobinWebSocket, opened } = roundRobin([a.wsUrl, b.wsUrl]);
    client = new Centrifuge(a.wsUrl, {
      websocket: RoundRobinWebSocket,
      name: 'telltale-sdk-cluster-test',
      timeout: 5000,
      minReconnectDelay: 100,
      maxReconnectDelay: 1000,
    });
    const events = [];
    const push = (kind) => (ctx) => events.push({ kind, ctx });
    for (const kind of ['connecting', 'connected', 'disconnected']) client.on(kind, push(kind));
    const sub = client.newSubscription('alarms', { recoverable: true });
    for (const kind of ['subscribing', 'subscribed', 'unsubscribed', 'publication', 'error']) sub.on(kind, push(kind));
    const all = (kind) => events.filter((e) => e.kind === kind).map((e) => e.ctx);
    const numbers = () => all('publication').map(alarmNumber);
    const describeEvents = () => JSON.stringify(events.map((e) => [e.kind, e.kind === 'publication' ? alarmNumber(e.ctx) : e.ctx]));

    sub.subscribe();
    client.connect();
    const [first] = await waitFor(() => {
      const got = all('subscribed');
      return got.length ? got : null;
    }, WAIT_MS, `'subscribed' on alarms; events: ${describeEvents()}`);
    assert.equal(first.recoverable, true, 'alarms is recoverable');
    assert.equal(first.positioned, true, 'alarms is positioned');
    assert.deepEqual(opened, [a.wsUrl], 'the first socket went to A');
    assert.deepEqual([await alarmSubscribers(a), await alarmSubscribers(b)], [1, 0], 'subscribed on A, not on B');

    // Through B, received on A: the nodes share Redis.
    for (let n = 1; n <= BEFORE_LOOP; n++) await b.call('publish', { channel: 'alarms', data: alarm(n) });
    await waitFor(() => numbers().length >= BEFORE_LOOP, WAIT_MS, `alarms 1..${BEFORE_LOOP} through A; events: ${describeEvents()}`);

    // The paced loop through B; A dies in the middle of it.
    let eventsBeforeKill;
    for (let n = BEFORE_LOOP + 1; n <= ALARMS; n++) {
      await b.call('publish', { channel: 'alarms', data: alarm(n) });
      if (n === KILL_AFTER) {
        // Counted before the kill: the client may see its socket close
        // while this waits for A's exit.
        eventsBeforeKill = events.length;
        a.child.kill('SIGKILL');
        const exit = await withTimeout(a.exited, WAIT_MS, 'node A to die of SIGKILL');
        assert.equal(exit.signal, 'SIGKILL', `A's exit: ${JSON.stringify(exit)}`);
      }
      await sleep(PACE_MS);
    }

    await waitFor(() => numbers().at(-1) === ALARMS, WAIT_MS, `alarm ${ALARMS}; events: ${describeEvents()}`);
    await sleep(DUPLICATE_ROOM_MS);

    assert.deepEqual(
      numbers(),
      Array.from({ length: ALARMS }, (_, i) => i + 1),
      `every alarm exactly once, in order; events: ${describeEvents()}`,
    );
    const afterKill = events.slice(eventsBeforeKill);
    const resubscribed = afterKill.findIndex((e) => e.kind === 'subscribed');
    assert.ok(resubscribed >= 0, `subscribed again after the kill; events: ${describeEvents()}`);
    const again = afterKill[resubscribed].ctx;
    assert.equal(again.wasRecovering, true, `wasRecovering; subscribed: ${JSON.stringify(again)}`);
    assert.equal(again.recovered, true, `recovered; subscribed: ${JSON.stringify(again)}`);
    assert.equal(again.streamPosition.epoch, first.streamPosition.epoch, 'B has the same epoch as A');
    assert.ok(
      afterKill.slice(0, resubscribed).some((e) => e.kind === 'connecting'),
      `the kill is what moved the client; events: ${describeEvents()}`,
    );
    const afterResubscribe = afterKill.slice(resubscribed).filter((e) => e.kind === 'publication');
    assert.ok(
      afterResubscribe.length >= ALARMS - KILL_AFTER,
      `the alarms published after the kill arrived after the resubscription; events: ${describeEvents()}`,
    );
    assert.equal(opened.at(-1), b.wsUrl, `the last socket that opened went to B; opened: ${opened}`);
    assert.equal(await alarmSubscribers(b), 1, 'subscribed on B now');
    assert.equal(client.state, 'connected');
  }
});
