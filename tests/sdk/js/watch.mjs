#!/usr/bin/env node
// Watches a running telltale-hub with the real centrifuge-js SDK and prints
// every publication as one line of JSON.
//
//   node tests/sdk/js/watch.mjs                 # every source in `catalog`, plus `alarms`
//   node tests/sdk/js/watch.mjs alarms metrics:myhost
//
// Environment: TELLTALE_URL (default ws://127.0.0.1:8000/connection/websocket),
// TELLTALE_TOKEN (a connection JWT; without it the hub must allow anonymous),
// WATCH_SECONDS (stop after this long; default: until Ctrl-C).

import { Centrifuge } from 'centrifuge';
import WebSocket from 'ws';

const url = process.env.TELLTALE_URL ?? 'ws://127.0.0.1:8000/connection/websocket';
const seconds = Number(process.env.WATCH_SECONDS ?? 0);

const client = new Centrifuge(url, {
  websocket: WebSocket,
  token: process.env.TELLTALE_TOKEN ?? '',
  name: 'telltale-watch',
});
const log = (obj) => console.log(JSON.stringify(obj));
client.on('connecting', ({ code, reason }) => log({ event: 'connecting', code, reason }));
client.on('connected', ({ client: id }) => log({ event: 'connected', client: id, url }));
let stopping = false;
client.on('disconnected', ({ code, reason }) => {
  log({ event: 'disconnected', code, reason });
  if (!stopping) process.exit(1); // terminal: bad token, anonymous not allowed, ...
});

function watch(channel) {
  const sub = client.newSubscription(channel, { recoverable: true });
  sub.on('subscribed', (ctx) =>
    log({ event: 'subscribed', channel, offset: ctx.streamPosition?.offset, recovered: ctx.recovered }),
  );
  sub.on('publication', ({ offset, data }) => log({ channel, offset, data }));
  sub.on('error', ({ error }) => log({ event: 'error', channel, error }));
  sub.subscribe();
}

client.connect();
let channels = process.argv.slice(2);
if (channels.length === 0) {
  await client.ready(10000);
  // The collector's first sample may still be on its way: ask a few times.
  let sources = [];
  for (let attempt = 0; attempt < 5 && sources.length === 0; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
    const { data } = await client.rpc('catalog', {});
    sources = data?.sources ?? [];
  }
  channels = ['alarms', ...sources.map((s) => s.channel)];
  const { data: active } = await client.rpc('alarms.active', {});
  log({ event: 'active alarms', alarms: active?.alarms ?? [] });
}
channels.forEach(watch);

const stop = () => {
  stopping = true;
  client.disconnect();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
if (seconds > 0) setTimeout(stop, seconds * 1000);
