// End-to-end: notifications people act on. The real app, a real hub, and a
// fake freedesktop notification daemon (notify-server.py) on the test's own
// session bus, which records every Notify / CloseNotification and clicks
// buttons (ActionInvoked) as the user would.
//
// "Nothing was sent" is never judged by waiting: a later alarm that does
// notify (a sentinel) is awaited instead. The app sends its notes in order on
// one D-Bus connection, so once the sentinel's note is in, any note before it
// would be too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Session, appHome, hubRpc, startDriver, startHub, stopAll, until } from './driver.mjs';
import { NotifyDaemon } from './notify-daemon.mjs';

/** Flap hold of the main app, seconds: short for the "Resolved" note, long next to a resolve and a re-fire sent back to back. */
const HOLD_SECS = 10;
let daemon;
let hub;
let session;
let sentinels = 0;
/** Temporary app homes, removed at the end. */
const homes = [];
const page = (script, args) => session.page(script, args);

function alarm(id, severity, title, extra = {}) {
  return { id, source: id.split('/')[0], severity, state: 'firing', title, message: `${title} (e2e)`, ts: Date.now(), value: 90, ...extra };
}

const publish = (h, a) => h.api('publish', { channel: 'alarms', data: a });

/** Actions as [key, label] pairs. */
const pairs = (actions) => Array.from({ length: actions.length / 2 }, (_, i) => [actions[2 * i], actions[2 * i + 1]]);

/** Publishes a new alarm that notifies, and waits for its note: everything the app sent before is in. */
async function sentinel(h, severity = 'info') {
  sentinels += 1;
  const title = `Sentinel ${sentinels}`;
  await publish(h, alarm(`sentinel/${sentinels}`, severity, title));
  return daemon.note(title);
}

const waitLive = () => until('live connection state', () => page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
const rowState = (id) => page(`return document.querySelector('.alarm[data-id="${id}"]')?.dataset.state ?? null;`);

before(async () => {
  // Before the app: it asks the daemon's capabilities once, at its first note.
  daemon = await NotifyDaemon.start();
  hub = await startHub();
  const home = appHome({ embedded: false, notifications: { flapHoldSecs: HOLD_SECS } });
  homes.push(home.home);
  session = await Session.open(await startDriver(home.env), ['--server', hub.ws]);
  await waitLive();
});

after(async () => {
  await session?.close('e2e-notify');
  stopAll();
  await daemon?.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

test('a critical alarm notifies once, with Acknowledge and Open; the same firing again does not', async () => {
  const title = 'Disk almost full (notify)';
  await publish(hub, alarm('web1/disk', 'critical', title));
  const note = await daemon.note(title);
  assert.equal(note.app_name, 'Telltale');
  assert.equal(note.replaces_id, 0);
  assert.equal(note.hints.urgency, 2, 'critical urgency');
  assert.equal(note.timeout, 0, 'critical notes stay until dismissed');
  assert.ok(note.body.includes(`web1 · ${hub.addr}`), `the body names the source and the hub: ${note.body}`);
  const actions = pairs(note.actions);
  assert.deepEqual(actions.find(([key]) => key === 'ack'), ['ack', 'Acknowledge']);
  assert.ok(actions.some(([key]) => key === 'default'), `a click opens the window: ${note.actions}`);

  // The same episode, a new value: the window shows it, the desktop is not told again.
  await publish(hub, alarm('web1/disk', 'critical', title, { value: 97.25 }));
  await until('the row shows the new value', () => page(`return document.querySelector('.alarm[data-id="web1/disk"]')?.textContent.includes('97.25');`));
  await sentinel(hub);
  assert.equal(daemon.notes(title).length, 1, 'one notification per firing');
});

test('Acknowledge on the notification acknowledges the alarm on the hub as this user, and the note closes', async () => {
  const note = daemon.notes('Disk almost full (notify)')[0];
  await daemon.invoke(note.id, 'ack');
  const acked = await until('the hub has the alarm acknowledged', async () => {
    const reply = await hubRpc(hub, 'alarms.active', {});
    const a = reply.rpc?.data?.alarms?.find((x) => x.id === 'web1/disk');
    return a?.state === 'acknowledged' ? a : null;
  });
  assert.match(acked.by ?? '', /.@./, `acknowledged by user@host: ${acked.by}`);
  await until('CloseNotification for the acknowledged note', () => daemon.closes(note.id).length > 0);
  await until('the row shows acknowledged', async () => (await rowState('web1/disk')) === 'acknowledged');
});

test('a flapping alarm notifies once: resolved and firing again within the hold sends nothing', async () => {
  const title = 'Link flapping (notify)';
  await publish(hub, alarm('sw1/link', 'critical', title));
  const note = await daemon.note(title);
  await publish(hub, { ...alarm('sw1/link', 'critical', title), state: 'resolved' });
  await publish(hub, alarm('sw1/link', 'critical', title, { value: 91 }));
  await until('the row is firing again', async () => (await rowState('sw1/link')) === 'firing');
  await sentinel(hub);
  assert.equal(daemon.notes(title).length, 1, 'not notified again');
  assert.deepEqual(daemon.closes(note.id), [], 'its note stays on screen');
  assert.deepEqual(daemon.notes(`Resolved: ${title}`), [], 'no "Resolved" note');
});

test('a resolved alarm: after the flap hold its note closes and a quiet "Resolved" note follows', async () => {
  const title = 'Temperature high (notify)';
  await publish(hub, alarm('rack2/temp', 'warning', title));
  const note = await daemon.note(title);
  assert.equal(note.hints.urgency, 1, 'warning: normal urgency');
  await publish(hub, { ...alarm('rack2/temp', 'warning', title), state: 'resolved' });
  await until('the window shows it resolved', async () => (await rowState('rack2/temp')) !== 'firing');
  const resolvedNote = await until('the "Resolved" note', () => daemon.notes(`Resolved: ${title}`)[0], (HOLD_SECS + 30) * 1000);
  const close = daemon.closes(note.id)[0];
  assert.ok(close, 'the firing note was closed');
  assert.ok(daemon.events.indexOf(close) < daemon.events.indexOf(resolvedNote), 'closed before the "Resolved" note');
  assert.ok(resolvedNote.at - close.at >= 0);
  assert.equal(resolvedNote.hints.urgency, 0, 'low urgency');
  assert.ok(!pairs(resolvedNote.actions).some(([key]) => key === 'ack'), 'nothing to acknowledge');
});

test('Open on the notification brings the window forward with the alarm selected', async () => {
  const title = 'Memory pressure (notify)';
  await publish(hub, alarm('db1/mem', 'critical', title));
  const note = await daemon.note(title);
  await until('the row', () => page(`return !!document.querySelector('.alarm[data-id="db1/mem"]');`));
  // Minimised first, so that "brought forward" can be seen: under Xvfb the page turns hidden.
  await session.minimize();
  await until('the page hidden', () => page(`return document.visibilityState === 'hidden';`));
  assert.equal(await page(`return !!document.querySelector('.alarm.selected[data-id="db1/mem"]');`), false, 'not selected before');
  await daemon.invoke(note.id, 'default');
  await until('the page visible again', () => page(`return document.visibilityState === 'visible';`));
  await until('the alarm selected', () => page(`return !!document.querySelector('.alarm.selected[data-id="db1/mem"]');`));
  await session.screenshot('e2e-notify-open');
  assert.deepEqual(daemon.closes(note.id), [], 'opening does not acknowledge or close');
});

/**
 * Runs `body(app, hub)` on an app of its own, with `notifications` as its saved
 * notification settings, connected to a hub of its own (so the other apps never
 * see its alarms); the app ends with a screenshot `name`.
 */
async function withApp(name, notifications, body) {
  const own = await startHub();
  const home = appHome({ embedded: false, notifications });
  homes.push(home.home);
  const app = await Session.open(await startDriver(home.env), ['--server', own.ws]);
  try {
    await until('live connection state', () => app.page(`return document.querySelector('.conn')?.dataset.state === 'live';`));
    await body(app, own);
  } finally {
    await app.close(name);
    own.stop();
  }
}

const HOUR_MS = 3_600_000;

test('do not disturb: a warning does not notify but shows in the window; a critical alarm breaks through when allowed', async () => {
  await withApp('e2e-notify-dnd', { dndUntil: Date.now() + HOUR_MS, criticalBreaksDnd: true }, async (app, own) => {
    const warning = 'Queue backing up (dnd)';
    const critical = 'Database down (dnd)';
    await publish(own, alarm('mq1/queue', 'warning', warning));
    await until('the warning in the window', () => app.page(`return document.querySelector('.alarm[data-id="mq1/queue"]')?.dataset.state === 'firing';`));
    await publish(own, alarm('db2/down', 'critical', critical));
    const note = await daemon.note(critical);
    assert.equal(note.hints.urgency, 2);
    // The critical note came after the warning's would have: none was sent.
    assert.deepEqual(daemon.notes(warning), [], 'the warning waits for do not disturb to end');
  });
});

test('do not disturb with "critical alarms break do not disturb" off: a critical alarm waits until it ends', async () => {
  // Short, so that its end can be awaited: the note must come then, and not before.
  const dndUntil = Date.now() + 15_000;
  await withApp('e2e-notify-dnd-strict', { dndUntil, criticalBreaksDnd: false }, async (app, own) => {
    const title = 'Power supply failed (dnd)';
    await publish(own, alarm('pdu1/psu', 'critical', title));
    await until('the alarm in the window', () => app.page(`return !!document.querySelector('.alarm[data-id="pdu1/psu"]');`));
    const shownAt = Date.now();
    const note = await until('the note once do not disturb ends', () => daemon.notes(title)[0], dndUntil - Date.now() + 30_000);
    assert.ok(note.at >= dndUntil, `notified ${dndUntil - note.at} ms before do not disturb ended`);
    assert.equal(daemon.notes(title).length, 1);
    if (shownAt >= dndUntil) process.stderr.write('notify.test: the app started after do not disturb ended; the hold-back was not observed\n');
  });
});

test('a notification service without actions gets plain notifications', async () => {
  await daemon.stop();
  daemon = await NotifyDaemon.start(['--no-actions']);
  await withApp('e2e-notify-plain', {}, async (app, own) => {
    const title = 'Fan failed (plain)';
    await publish(own, alarm('srv9/fan', 'critical', title));
    const note = await daemon.note(title);
    assert.deepEqual(note.actions, [], 'no buttons the service would not show');
    assert.ok(note.body.includes(`srv9 · ${own.addr}`), note.body);
  });
});
