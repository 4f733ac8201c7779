// End-to-end: the stack teams already run, into the desktop. A real Prometheus evaluates a
// rule that always fires, sends it to a real Alertmanager, whose webhook receiver posts it to
// the hub (/api/alertmanager); the app shows it and raises a desktop notification on the
// test's session bus. The time from the rule firing to the Notify call is logged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { API_KEY, Session, freePort, start, startDriver, startHub, stopAll, until } from './driver.mjs';
import { NotifyDaemon } from './notify-daemon.mjs';

const PROMETHEUS = process.env.TELLTALE_PROMETHEUS ?? '/usr/bin/prometheus';
const ALERTMANAGER = process.env.TELLTALE_ALERTMANAGER ?? '/usr/bin/prometheus-alertmanager';
const TITLE = 'E2EChainFiring on chain-host';

let daemon;
let session;

function need(path, pkg) {
  assert.ok(existsSync(path), `${path} is missing: run scripts/install-deps.sh (Debian package ${pkg})`);
}

/** Alertmanager on a free port, its webhook receiver posting to the hub. */
async function startAlertmanager(hub, dir) {
  const port = await freePort();
  const config = resolve(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    `route:
  receiver: telltale
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: telltale
    webhook_configs:
      - url: http://${hub.addr}/api/alertmanager?receiver=chain
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: ${API_KEY}
`,
  );
  start(ALERTMANAGER, [`--config.file=${config}`, `--storage.path=${resolve(dir, 'am')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=']);
  await until('Alertmanager ready', async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, 30_000);
  return port;
}

/** Prometheus on a free port with one rule that always fires, alerting `amPort`. */
async function startPrometheus(amPort, dir) {
  const port = await freePort();
  writeFileSync(
    resolve(dir, 'rules.yml'),
    `groups:
  - name: chain
    interval: 1s
    rules:
      - alert: E2EChainFiring
        expr: vector(1) > 0
        for: 1s
        labels:
          severity: critical
          instance: chain-host
        annotations:
          summary: The e2e chain fires
`,
  );
  writeFileSync(
    resolve(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:${amPort}']
`,
  );
  const child = start(PROMETHEUS, [
    `--config.file=${resolve(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${resolve(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--rules.alert.resend-delay=1s',
  ]);
  await until('Prometheus ready', async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok, 30_000);
  return { port, child };
}

before(async () => {
  need(PROMETHEUS, 'prometheus');
  need(ALERTMANAGER, 'prometheus-alertmanager');
  daemon = await NotifyDaemon.start();
});

after(async () => {
  await session?.close('e2e-chain');
  await daemon?.stop();
  stopAll();
});

test('a Prometheus rule reaches the desktop as a notification, through Alertmanager and the hub', async () => {
  const dir = mkdtempSync(resolve(tmpdir(), 'telltale-chain-'));
  const hub = await startHub(['--allow-anonymous', '--anonymous-ack']);
  session = await Session.open(await startDriver(), ['--server', hub.ws]);
  await until('live', () => session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
  const amPort = await startAlertmanager(hub, dir);
  const prometheus = await startPrometheus(amPort, dir);
  const promPort = prometheus.port;

  const note = await until('the notification', () => daemon.notes(TITLE)[0], 90_000);
  const alerts = await (await fetch(`http://127.0.0.1:${promPort}/api/v1/alerts`)).json();
  const firing = alerts.data.alerts.find((a) => a.labels.alertname === 'E2EChainFiring');
  assert.ok(firing, 'Prometheus has the alert');
  // activeAt is when the rule's expression became true; it fires 1 s (`for`) later.
  const firedAt = Date.parse(firing.activeAt) + 1000;
  const notifiedAt = note.at ?? Date.now();
  console.log(`rule firing → desktop Notify: ${notifiedAt - firedAt} ms (Prometheus → Alertmanager → hub → app → D-Bus)`);
  assert.equal(note.hints?.urgency ?? note.urgency, 2, 'critical urgency');

  const row = await until('the alarm row', () =>
    session.page(`const r = Array.from(document.querySelectorAll('.alarm')).find((e) => e.textContent.includes(${JSON.stringify(TITLE)})); return r ? r.dataset.id : null;`),
  );
  assert.match(row, /^chain\//, 'the alarm id carries the receiver name');

  // The rule stops (Prometheus goes away) and the alert ends in Alertmanager: the window
  // moves the alarm to the resolved list.
  process.kill(-prometheus.child.pid, 'SIGTERM');
  const ended = new Date(Date.now() - 1000).toISOString();
  const post = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ labels: firing.labels, annotations: firing.annotations, startsAt: firing.activeAt, endsAt: ended }]),
  });
  assert.ok(post.ok, `Alertmanager took the resolution: ${post.status}`);
  await until(
    'the alarm resolved in the window',
    () => session.page(`return !!document.querySelector('.recent[data-id=${JSON.stringify(row)}]') && !document.querySelector('.alarm[data-id=${JSON.stringify(row)}]');`),
    60_000,
  );
});
