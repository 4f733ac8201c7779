// The real, unmodified centrifuge-js SDK (npm `centrifuge` + `ws`) against a
// real telltale-hub process: connect with a JWT, subscribe with recovery,
// receive publications made through the HTTP API, survive a forced disconnect
// and recover exactly what was missed, call the alarm RPCs, watch the host
// collector anonymously, reconnect on a graceful shutdown (3001), and be
// held to the hub's namespace permissions.
//
// Run: `npm test` here, after `cargo build -p telltale-hub` at the root.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

import { Hub, mintToken, signToken, sleep, waitFor, withTimeout, writeConfig } from './hub.mjs';

// For the TLS block: a CA and a certificate made with the openssl CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const API_KEY = 'sdk-js-api-key';
const TOKEN_SECRET = 'sdk-js-token-secret';
const WAIT_MS = 5000;
const TEST = { timeout: 20000 };

/** The `js:*` channels of these tests: open to any token, with history (recovery). */
const JS_NAMESPACE = '[namespaces.js]\nsubscribe = "any"\nhistory = true\n';

/** Every event of a client and its subscriptions, in arrival order. */
class Recorder {
  constructor() {
    this.events = [];
  }

  push(kind, ctx) {
    this.events.push({ kind, ctx, at: Date.now() });
  }

  all(kind) {
    return this.events.filter((e) => e.kind === kind).map((e) => e.ctx);
  }

  /** Waits until at least `n` events of `kind` arrived; returns them all. */
  async atLeast(kind, n, ms = WAIT_MS) {
    return waitFor(() => {
      const got = this.all(kind);
      return got.length >= n ? got : null;
    }, ms, `${n} '${kind}' event(s); events so far: ${this.describe()}`);
  }

  describe() {
    return JSON.stringify(this.events.map((e) => [e.kind, e.ctx]));
  }
}

const openClients = new Set();

/** A client with a token for `user` (plus `claims`), or `options.token`. */
function newClient(hub, user, options = {}, claims = {}) {
  const token = signToken(TOKEN_SECRET, { sub: user, exp: Math.floor(Date.now() / 1000) + 3600, ...claims });
  const client = new Centrifuge(hub.wsUrl, {
    websocket: WebSocket,
    token,
    name: 'telltale-sdk-test',
    timeout: WAIT_MS,
    // At least one second before a reconnect: room to publish while it is away.
    minReconnectDelay: 1000,
    maxReconnectDelay: 2000,
    ...options,
  });
  const rec = new Recorder();
  for (const kind of ['connecting', 'connected', 'disconnected', 'error']) {
    client.on(kind, (ctx) => rec.push(kind, kind === 'error' ? { type: ctx.type, error: ctx.error } : ctx));
  }
  openClients.add(client);
  return { client, rec };
}

function subscribe(client, rec, channel, options = { recoverable: true }) {
  const sub = client.newSubscription(channel, options);
  for (const kind of ['subscribing', 'subscribed', 'unsubscribed', 'publication']) {
    sub.on(kind, (ctx) => rec.push(kind, ctx));
  }
  sub.on('error', (ctx) => rec.push('sub-error', { type: ctx.type, error: ctx.error }));
  sub.subscribe();
  return sub;
}

function closeAllClients() {
  for (const client of openClients) client.disconnect();
  openClients.clear();
}

const received = (rec) => rec.all('publication').map((p) => ({ offset: p.offset, data: p.data }));

describe('centrifuge-js against telltale-hub', () => {
  let hub;

  before(async () => {
    hub = await Hub.start(['--token-secret', TOKEN_SECRET, '--config', writeConfig(JS_NAMESPACE)], { apiKey: API_KEY });
  });

  afterEach(closeAllClients);

  after(async () => {
    closeAllClients();
    if (hub) await hub.stop();
  });

  it('connects with a JWT, subscribes with recovery and receives API publications', TEST, async () => {
    const channel = 'js:live';
    const { client, rec } = newClient(hub, 'js-live');
    subscribe(client, rec, channel);
    client.connect();
    await withTimeout(client.ready(), WAIT_MS, 'client.ready()');

    const [subscribed] = await rec.atLeast('subscribed', 1);
    assert.equal(subscribed.channel, channel);
    assert.equal(subscribed.recoverable, true, 'subscribe reply is recoverable');
    assert.equal(subscribed.positioned, true, 'subscribe reply is positioned');
    assert.equal(subscribed.wasRecovering, false);
    assert.ok(subscribed.streamPosition, 'subscribe reply carries a stream position');
    const { epoch } = subscribed.streamPosition;
    assert.equal(typeof epoch, 'string');
    assert.ok(epoch.length > 0, 'epoch is not empty');
    assert.equal(subscribed.streamPosition.offset, 0, 'a fresh channel starts at offset 0');

    for (let i = 1; i <= 3; i++) {
      const result = await hub.call('publish', { channel, data: { text: `hello ${i}`, n: i } });
      assert.deepEqual(result, { offset: i, epoch }, `publish ${i} result`);
    }
    await rec.atLeast('publication', 3);
    assert.deepEqual(received(rec), [1, 2, 3].map((n) => ({ offset: n, data: { text: `hello ${n}`, n } })));
    const [pub] = rec.all('publication');
    assert.equal(pub.channel, channel);

    // The hub sees this connection and subscription.
    const channels = await hub.call('channels', {});
    assert.deepEqual(channels.channels[channel], { num_clients: 1 });
  });

  it('recovers exactly the missed publications after a forced disconnect (3011)', TEST, async () => {
    const channel = 'js:recover';
    const user = 'js-recover';
    const { client, rec } = newClient(hub, user);
    subscribe(client, rec, channel);
    client.connect();
    const [first] = await rec.atLeast('subscribed', 1);
    const { epoch } = first.streamPosition;

    for (const n of [1, 2]) await hub.call('publish', { channel, data: { n, phase: 'live' } });
    await rec.atLeast('publication', 2);

    // Force every connection of this user to reconnect.
    const result = await hub.call('disconnect', {
      user,
      disconnect: { code: 3011, reason: 'force reconnect' },
    });
    assert.deepEqual(result, {});
    const [connecting] = await waitFor(
      () => {
        const got = rec.all('connecting').filter((c) => c.code === 3011);
        return got.length ? got : null;
      },
      WAIT_MS,
      `a 'connecting' event with code 3011; events: ${rec.describe()}`,
    );
    assert.equal(connecting.reason, 'force reconnect');

    // Published while the client is away (it waits ≥ 1 s before reconnecting).
    for (const n of [3, 4, 5]) {
      const r = await hub.call('publish', { channel, data: { n, phase: 'missed' } });
      assert.deepEqual(r, { offset: n, epoch });
    }
    assert.equal(client.state, 'connecting', 'the missed publications were made while the client was away');

    const subscribedEvents = await rec.atLeast('subscribed', 2);
    const again = subscribedEvents[1];
    assert.equal(again.wasRecovering, true, `wasRecovering; subscribed: ${JSON.stringify(again)}`);
    assert.equal(again.recovered, true, `recovered; subscribed: ${JSON.stringify(again)}`);
    assert.equal(again.streamPosition.epoch, epoch, 'epoch unchanged');
    assert.equal(rec.all('connected').length, 2, 'connected twice');

    // Live again after the recovery.
    for (const n of [6, 7]) await hub.call('publish', { channel, data: { n, phase: 'live' } });
    await rec.atLeast('publication', 7);
    await sleep(200); // room for a duplicate to show up

    const phase = (n) => (n >= 3 && n <= 5 ? 'missed' : 'live');
    assert.deepEqual(
      received(rec),
      [1, 2, 3, 4, 5, 6, 7].map((n) => ({ offset: n, data: { n, phase: phase(n) } })),
      'every publication exactly once, in order',
    );
    // The missed ones arrived after the resubscribe, not before the drop.
    const secondSubscribedAt = rec.events.filter((e) => e.kind === 'subscribed')[1].at;
    const missedAt = rec.events.filter((e) => e.kind === 'publication' && e.ctx.data.phase === 'missed');
    assert.ok(missedAt.every((e) => e.at >= secondSubscribedAt));
  });

  it('answers alarms.active, alarms.ack and unknown methods over RPC', TEST, async () => {
    const user = 'js-operator';
    // Acknowledging needs the `ack` capability in the token.
    const { client, rec } = newClient(hub, user, {}, { telltale: { caps: ['ack'] } });
    subscribe(client, rec, 'alarms');
    client.connect();
    await rec.atLeast('subscribed', 1);

    const id = 'sdk-host/cpu';
    const alarm = {
      id,
      source: 'sdk-host',
      severity: 'critical',
      state: 'firing',
      title: 'CPU above 90%',
      message: 'cpu.total 93.1% for 10 s',
      ts: Date.now(),
      value: 93.1,
      labels: { rule: 'cpu' },
    };
    await hub.call('publish', { channel: 'alarms', data: alarm });
    await rec.atLeast('publication', 1);

    const findActive = async () => {
      const { data } = await client.rpc('alarms.active', {});
      assert.ok(Array.isArray(data?.alarms), `alarms.active returns {alarms: [...]}, got ${JSON.stringify(data)}`);
      return data.alarms.find((a) => a.id === id);
    };
    const active = await waitFor(findActive, WAIT_MS, `alarm ${id} in alarms.active`);
    assert.equal(active.state, 'firing');
    assert.equal(active.severity, 'critical');
    assert.equal(active.title, alarm.title);
    assert.equal(active.source, 'sdk-host');
    assert.equal(active.value, 93.1);

    // Ack: the reply carries the alarm, and the ack is published on `alarms`.
    const { data: acked } = await client.rpc('alarms.ack', { id });
    assert.equal(acked?.alarm?.id, id, `alarms.ack reply: ${JSON.stringify(acked)}`);
    assert.equal(acked.alarm.state, 'acknowledged');
    assert.equal(acked.alarm.by, user, 'ack carries the acknowledging user');
    const pubs = await rec.atLeast('publication', 2);
    assert.equal(pubs[1].data.id, id);
    assert.equal(pubs[1].data.state, 'acknowledged');
    const stillActive = await findActive();
    assert.equal(stillActive?.state, 'acknowledged', 'an acknowledged alarm stays active');

    // Resolved → gone from the active set.
    await hub.call('publish', { channel: 'alarms', data: { ...alarm, state: 'resolved', ts: Date.now() } });
    await waitFor(async () => (await findActive()) === undefined, WAIT_MS, `alarm ${id} to leave alarms.active`);

    // Errors as Centrifugo codes.
    await assert.rejects(client.rpc('no.such.method', {}), (e) => e.code === 104);
    await assert.rejects(client.rpc('alarms.ack', { nope: 1 }), (e) => e.code === 107);
  });
});

describe('centrifuge-js watching the host collector, anonymously', () => {
  let hub;

  before(async () => {
    hub = await Hub.start(
      ['--allow-anonymous', '--collector', '--collector-interval', '200ms', '--node-name', 'sdk-host'],
      { apiKey: API_KEY },
    );
  });

  afterEach(closeAllClients);

  after(async () => {
    closeAllClients();
    if (hub) await hub.stop();
  });

  it('finds the source in `catalog` and receives live samples on metrics:<node>', TEST, async () => {
    const client = new Centrifuge(hub.wsUrl, { websocket: WebSocket, name: 'telltale-sdk-test', timeout: WAIT_MS });
    openClients.add(client);
    const rec = new Recorder();
    client.on('connected', (ctx) => rec.push('connected', ctx));
    client.connect();
    await withTimeout(client.ready(), WAIT_MS, 'anonymous client.ready()');

    const source = await waitFor(
      async () => {
        const { data } = await client.rpc('catalog', {});
        return data?.sources?.find((s) => s.source === 'sdk-host');
      },
      WAIT_MS,
      'source sdk-host in catalog',
      100,
    );
    assert.equal(source.channel, 'metrics:sdk-host');
    assert.ok(source.metrics.includes('cpu.total'), `catalog metrics: ${source.metrics}`);
    assert.ok(source.last_seen > 0);

    subscribe(client, rec, source.channel);
    const [first, second] = await rec.atLeast('publication', 2);
    assert.equal(second.offset, first.offset + 1);
    for (const { data } of [first, second]) {
      assert.equal(typeof data.ts, 'number');
      for (const name of ['cpu.total', 'mem.used_bytes']) {
        assert.equal(typeof data.values[name], 'number', `${name} in ${JSON.stringify(data.values)}`);
      }
    }
    assert.ok(second.data.ts > first.data.ts, 'samples move forward in time');
  });
});

describe('centrifuge-js and a hub shutdown', () => {
  let hub;

  before(async () => {
    hub = await Hub.start(['--token-secret', TOKEN_SECRET, '--config', writeConfig(JS_NAMESPACE)], { apiKey: API_KEY });
  });

  after(async () => {
    closeAllClients();
    if (hub) await hub.stop().catch(() => {});
  });

  it('gets 3001 on SIGTERM and keeps trying to reconnect', TEST, async () => {
    const { client, rec } = newClient(hub, 'js-shutdown');
    subscribe(client, rec, 'js:shutdown');
    client.connect();
    await rec.atLeast('subscribed', 1);

    const exit = await hub.stop(WAIT_MS);
    assert.equal(exit.code, 0, `hub exit status ${JSON.stringify(exit)}; log:\n${hub.log()}`);
    const connecting = await waitFor(
      () => rec.all('connecting').find((c) => c.code === 3001),
      WAIT_MS,
      `a 'connecting' event with code 3001; events: ${rec.describe()}`,
    );
    assert.equal(connecting.code, 3001);
    assert.equal(rec.all('disconnected').length, 0, 'a shutdown is not terminal for the client');
    client.disconnect();
  });
});

describe('namespace permissions', () => {
  let hub;

  before(async () => {
    const config = writeConfig([
      '[namespaces.private]',
      'subscribe = "claim"',
      'history = true',
      '',
      '[namespaces.team]',
      'subscribe = "any"',
      'presence = true',
      '',
    ].join('\n'));
    hub = await Hub.start(
      ['--token-secret', TOKEN_SECRET, '--allow-anonymous', '--config', config],
      { apiKey: API_KEY },
    );
  });

  afterEach(closeAllClients);

  after(async () => {
    closeAllClients();
    if (hub) await hub.stop();
  });

  /** Tokens come from the hub binary: `telltale-hub token`. */
  const tokenFor = (...args) => mintToken(TOKEN_SECRET, args);

  /** The `unsubscribed` event of a refused subscription (the SDK's way to report a non-temporary subscribe error). */
  async function refusedSubscription(client, rec, channel) {
    subscribe(client, rec, channel, {});
    const [unsubscribed] = await rec.atLeast('unsubscribed', 1);
    assert.equal(rec.all('subscribed').length, 0, `never subscribed; events: ${rec.describe()}`);
    return unsubscribed;
  }

  it('refuses an anonymous subscription to private:payroll with 103', TEST, async () => {
    const client = new Centrifuge(hub.wsUrl, { websocket: WebSocket, name: 'telltale-sdk-test', timeout: WAIT_MS });
    openClients.add(client);
    const rec = new Recorder();
    client.connect();
    await withTimeout(client.ready(), WAIT_MS, 'anonymous client.ready()');
    const refused = await refusedSubscription(client, rec, 'private:payroll');
    assert.equal(refused.code, 103, JSON.stringify(refused));
    assert.match(refused.reason, /^permission denied: anonymous connections may not subscribe to "private:payroll"/);
    assert.equal(rec.all('sub-error').length, 0, 'a permanent refusal is not retried');
  });

  it('lets a token whose channels claim matches subscribe and read history; a plain token may not', TEST, async () => {
    await hub.call('publish', { channel: 'private:payroll', data: { month: 'march' } });

    const payroll = newClient(hub, 'ann', { token: tokenFor('--user', 'ann', '--channels', 'private:pay*') });
    const sub = subscribe(payroll.client, payroll.rec, 'private:payroll', {});
    payroll.client.connect();
    const [subscribed] = await payroll.rec.atLeast('subscribed', 1);
    assert.equal(subscribed.streamPosition.offset, 1);
    const history = await sub.history({ limit: 10 });
    assert.deepEqual(history.publications.map((p) => p.data), [{ month: 'march' }]);
    await hub.call('publish', { channel: 'private:payroll', data: { month: 'april' } });
    const [live] = await payroll.rec.atLeast('publication', 1);
    assert.deepEqual(live.data, { month: 'april' });

    const plain = newClient(hub, 'bob', { token: tokenFor('--user', 'bob') });
    plain.client.connect();
    await withTimeout(plain.client.ready(), WAIT_MS, 'plain token client.ready()');
    const refused = await refusedSubscription(plain.client, plain.rec, 'private:payroll');
    assert.equal(refused.code, 103, JSON.stringify(refused));
    assert.match(refused.reason, /needs a token whose channels claim matches/);
    await assert.rejects(plain.client.history('private:payroll', { limit: 10 }), (e) => e.code === 103);
  });

  it('allows presence on team and refuses it (103) on metrics', TEST, async () => {
    const { client, rec } = newClient(hub, 'cleo', { token: tokenFor('--user', 'cleo') });
    subscribe(client, rec, 'team:ops', {});
    client.connect();
    await rec.atLeast('subscribed', 1);
    const { clients } = await client.presence('team:ops');
    assert.deepEqual(Object.values(clients).map((c) => c.user), ['cleo']);
    const stats = await client.presenceStats('team:ops');
    assert.deepEqual(stats, { numClients: 1, numUsers: 1 });
    await assert.rejects(client.presence('metrics:web-1'), (e) => {
      assert.equal(e.code, 103);
      assert.match(e.message, /namespace "metrics" does not allow presence/);
      return true;
    });
  });
});

/** A throwaway CA and a server certificate for localhost and 127.0.0.1 it signed, in `dir`. */
function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=telltale test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', 'key.pem', '-out', 'cert.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'cert.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'cert.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '4242',
    '-days', '1', '-extfile', 'cert.ext', '-out', 'cert.pem');
  return readFileSync(join(dir, 'ca.pem'));
}

/** POST /api/<method> over https, trusting `ca` (fetch cannot be given a CA). */
function httpsApi(hub, ca, method, params) {
  const body = JSON.stringify(params);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${hub.httpUrl}/api/${method}`, {
      method: 'POST',
      ca,
      headers: { 'Content-Type': 'application/json', 'X-API-Key': hub.apiKey },
      timeout: WAIT_MS,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('centrifuge-js over wss:// (TLS)', () => {
  let hub;
  let dir;
  let ca;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telltale-sdk-tls-'));
    ca = makeCertificates(dir);
    hub = await Hub.start(
      ['--allow-anonymous', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')],
      { apiKey: API_KEY, tls: true },
    );
  });

  afterEach(closeAllClients);

  after(async () => {
    closeAllClients();
    if (hub) await hub.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects to wss://localhost and receives a publication made over https', TEST, async () => {
    assert.match(hub.wsUrl, /^wss:\/\/localhost:\d+\/connection\/websocket$/);
    // `ws` takes the CA per connection; centrifuge-js only ever calls `new websocket(url[, protocol])`.
    class TrustingWebSocket extends WebSocket {
      constructor(url, protocols) {
        super(url, protocols, { ca });
      }
    }
    const client = new Centrifuge(hub.wsUrl, { websocket: TrustingWebSocket, name: 'telltale-sdk-test', timeout: WAIT_MS });
    openClients.add(client);
    const rec = new Recorder();
    client.connect();
    await withTimeout(client.ready(), WAIT_MS, 'client.ready() over wss://');

    const channel = 'metrics:tls-web';
    subscribe(client, rec, channel);
    await rec.atLeast('subscribed', 1);
    const data = { ts: Date.now(), values: { 'cpu.total': 12.5 } };
    const { status, body } = await httpsApi(hub, ca, 'publish', { channel, data });
    assert.equal(status, 200, JSON.stringify(body));
    const [publication] = await rec.atLeast('publication', 1);
    assert.deepEqual(publication.data, data);
  });

  it('refuses a client that does not trust the CA', TEST, async () => {
    const ws = new WebSocket(hub.wsUrl);
    const error = await withTimeout(new Promise((resolve) => ws.once('error', resolve)), WAIT_MS, 'a TLS error');
    assert.match(error.code ?? error.message, /SELF_SIGNED|UNABLE_TO_VERIFY|self.signed/i);
  });
});
