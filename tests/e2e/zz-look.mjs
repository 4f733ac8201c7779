// Scratch (not committed): README screenshots of the real app.
import { Session, appHome, startDriver, startHub, stopAll, until } from './driver.mjs';
const OPEN = ['--allow-anonymous', '--anonymous-ack'];
const prod = await startHub(OPEN);
const stag = await startHub(OPEN);
const entry = (id, name, hub) => ({ id, name, url: hub.ws, token: { kind: 'none' }, enabled: true });
const home = appHome({ embedded: false, servers: [entry('prod', 'Production', prod), entry('staging', 'Staging', stag)] });
const session = await Session.open(await startDriver(home.env), []);
const feed = async (hub, sources) => {
  const now = Date.now();
  for (const [k, s] of sources.entries())
    for (let i = 0; i < 60; i++)
      await hub.api('publish', { channel: `metrics:${s}`, data: { ts: now - (60 - i) * 1000, values: { 'cpu.total': 20 + 15 * Math.sin(i / 6 + k), 'mem.used_percent': 40 + k * 5 + 3 * Math.cos(i / 9), 'load.1': 0.5 + k * 0.2 + 0.3 * Math.sin(i / 4) } } });
};
const alarm = (hub, id, source, severity, title, over = {}) =>
  hub.api('publish', { channel: 'alarms', data: { id, source, severity, state: 'firing', title, message: `${title} (look)`, ts: Date.now(), ...over } });
try {
  await feed(prod, ['web-1', 'web-2', 'web-3', 'api-1', 'db-1']);
  await feed(stag, ['web-1', 'db-1']);
  await until('live', () => session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
  await alarm(prod, 'db-1/disk.high', 'db-1', 'critical', 'Disk above 90%', { value: 93.4 });
  await alarm(stag, 'web-1/cpu.high', 'web-1', 'warning', 'CPU above 90%', { value: 96.1 });
  await alarm(prod, 'api-1/latency', 'api-1', 'warning', 'p99 latency above 500 ms');
  await new Promise((r) => setTimeout(r, 300));
  await prod.api('publish', { channel: 'alarms', data: { id: 'api-1/latency', source: 'api-1', severity: 'warning', state: 'resolved', title: 'p99 latency above 500 ms', ts: Date.now() } });
  await new Promise((r) => setTimeout(r, 300));
  await alarm(prod, 'api-1/latency', 'api-1', 'warning', 'p99 latency above 500 ms');
  await alarm(prod, 'web-3/memory.high', 'web-3', 'info', 'Memory above 80%');
  await until('charts filled', () => session.page(`const m = window.__telltale.model; const k = m.metrics.sources(); return k.length === 7 && k.every((s) => (m.metrics.series(s)?.length ?? 0) > 30);`), 30000);
  await new Promise((r) => setTimeout(r, 1500));
  await session.screenshot('readme-servers');
  console.log('DBG', JSON.stringify(await session.page(`const m = window.__telltale.model; return m.metrics.sources().map((k) => [k, m.metrics.series(k)?.length ?? null, m.metrics.names(k).length, m.metrics.lastSeenOf(k)]).concat([[m.diagnostics()]]);`)));
  await session.click('[data-page="history"]');
  await new Promise((r) => setTimeout(r, 1500));
  await session.screenshot('readme-history');
  await session.click('[data-page="settings"]');
  await new Promise((r) => setTimeout(r, 1500));
  await session.screenshot('readme-settings');
} finally {
  await session.quit();
  stopAll();
}
