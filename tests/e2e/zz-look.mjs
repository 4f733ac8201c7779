// Scratch (not committed): screenshots of the pages for a look.
import { Session, startDriver, startHub, stopAll, until, appHome } from './driver.mjs';
const out = process.argv[2] ?? 'look';
const hub = await startHub();
const home = appHome(JSON.parse(process.env.LOOK_SETTINGS ?? 'null') ?? undefined);
const session = await Session.open(await startDriver(home.env), ['--server', hub.ws]);
try {
  await until('live', () => session.page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
  await hub.api('publish', { channel: 'alarms', data: { id: 'db1/disk', source: 'db1', severity: 'critical', state: 'firing', title: 'Disk above 90%', message: 'disk.used_percent is 93.1', ts: Date.now(), value: 93.1 } });
  await new Promise((r) => setTimeout(r, 4000));
  await session.screenshot(`${out}-sources`);
  await session.click('[data-page="history"]');
  await new Promise((r) => setTimeout(r, 1500));
  await session.screenshot(`${out}-history`);
  await session.click('[data-page="settings"]');
  await new Promise((r) => setTimeout(r, 1500));
  await session.screenshot(`${out}-settings`);
} finally {
  await session.quit();
  stopAll();
}
