#!/usr/bin/python3
"""A fake freedesktop notification daemon for the end-to-end tests.

Owns org.freedesktop.Notifications on the session bus (fails if another
daemon has it) and records what the app asks of it, as JSON lines on stdout:

  {"event": "ready", "capabilities": [...]}
  {"event": "notify", "id": 1, "app_name": ..., "replaces_id": 0, "summary": ...,
   "body": ..., "actions": [key, label, ...], "hints": {"urgency": 2, ...},
   "timeout": -1, "sender": ":1.7", "at": <unix ms>}
  {"event": "close", "id": 1, "sender": ..., "at": ...}       (CloseNotification)
  {"event": "invoked", "id": 1, "key": "ack"}                 (after `invoke`)
  {"event": "dismissed", "id": 1}                             (after `dismiss`)
  {"event": "error", "message": ...}                          (a bad command)

Commands, one a line on stdin:

  invoke <id> <action_key>   emits ActionInvoked(id, action_key)
  dismiss <id>               emits NotificationClosed(id, 2), as a user's dismissal does

It exits when stdin closes: it never outlives the test that started it.

Usage: notify-server.py [--no-actions]   (--no-actions: no "actions" capability)
"""

import argparse
import json
import os
import sys
import time

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = 'org.freedesktop.Notifications'
PATH = '/org/freedesktop/Notifications'
IFACE = 'org.freedesktop.Notifications'
# NotificationClosed reasons (freedesktop specification).
DISMISSED = 2
CLOSED_BY_CALL = 3


def emit(event, **fields):
    print(json.dumps({'event': event, **fields}), flush=True)


def plain(value):
    """A D-Bus value as JSON can carry it (hints hold bytes, booleans, strings, ...)."""
    if isinstance(value, dbus.Boolean):
        return bool(value)
    if isinstance(value, (dbus.Byte, int)):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return repr(value)


def now_ms():
    return int(time.time() * 1000)


class Daemon(dbus.service.Object):
    def __init__(self, bus, capabilities):
        super().__init__(bus, PATH)
        self.capabilities = capabilities
        self.next_id = 1

    @dbus.service.method(IFACE, in_signature='', out_signature='as')
    def GetCapabilities(self):
        return self.capabilities

    @dbus.service.method(IFACE, in_signature='', out_signature='ssss')
    def GetServerInformation(self):
        return ('telltale-e2e', 'telltale', '1.0', '1.2')

    @dbus.service.method(IFACE, in_signature='susssasa{sv}i', out_signature='u', sender_keyword='sender')
    def Notify(self, app_name, replaces_id, app_icon, summary, body, actions, hints, timeout, sender=None):
        if replaces_id:
            nid = int(replaces_id)
        else:
            nid = self.next_id
            self.next_id += 1
        emit(
            'notify',
            id=nid,
            app_name=str(app_name),
            replaces_id=int(replaces_id),
            app_icon=str(app_icon),
            summary=str(summary),
            body=str(body),
            actions=[str(a) for a in actions],
            hints=plain(hints),
            timeout=int(timeout),
            sender=str(sender),
            at=now_ms(),
        )
        return dbus.UInt32(nid)

    @dbus.service.method(IFACE, in_signature='u', out_signature='', sender_keyword='sender')
    def CloseNotification(self, nid, sender=None):
        emit('close', id=int(nid), sender=str(sender), at=now_ms())
        self.NotificationClosed(nid, CLOSED_BY_CALL)

    @dbus.service.signal(IFACE, signature='uu')
    def NotificationClosed(self, nid, reason):
        pass

    @dbus.service.signal(IFACE, signature='us')
    def ActionInvoked(self, nid, action_key):
        pass


def on_command(daemon, line):
    words = line.split()
    try:
        if len(words) == 3 and words[0] == 'invoke':
            nid = int(words[1])
            daemon.ActionInvoked(dbus.UInt32(nid), words[2])
            emit('invoked', id=nid, key=words[2])
        elif len(words) == 2 and words[0] == 'dismiss':
            nid = int(words[1])
            daemon.NotificationClosed(dbus.UInt32(nid), dbus.UInt32(DISMISSED))
            emit('dismissed', id=nid)
        elif words:
            emit('error', message=f'unknown command {line!r}: use "invoke <id> <action_key>" or "dismiss <id>"')
    except ValueError:
        emit('error', message=f'bad id in {line!r}: ids are numbers')


def main():
    parser = argparse.ArgumentParser(description='A fake notification daemon for the e2e tests.')
    parser.add_argument('--no-actions', action='store_true', help='do not advertise the "actions" capability')
    args = parser.parse_args()

    DBusGMainLoop(set_as_default=True)
    try:
        bus = dbus.SessionBus()
    except dbus.exceptions.DBusException as e:
        sys.exit(f'notify-server: no session bus ({e}); run under dbus-run-session')
    try:
        name = dbus.service.BusName(NAME, bus, do_not_queue=True)
    except dbus.exceptions.NameExistsException:
        sys.exit(f'notify-server: {NAME} is already owned on this bus: another notification daemon runs; '
                 'run the tests under a bus of their own (dbus-run-session)')
    capabilities = ['body'] if args.no_actions else ['actions', 'body']
    daemon = Daemon(bus, capabilities)
    loop = GLib.MainLoop()

    pending = b''

    # Raw reads: a buffered readline() could keep a second line that arrived in
    # the same chunk, and the watch would not fire for it.
    def on_stdin(fd, condition):
        nonlocal pending
        chunk = os.read(fd, 4096)
        if not chunk:  # stdin closed: the test is over
            loop.quit()
            return False
        pending += chunk
        *lines, pending = pending.split(b'\n')
        for line in lines:
            on_command(daemon, line.decode(errors='replace').strip())
        return True

    GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_stdin)
    emit('ready', capabilities=capabilities, name=str(name.get_name()))
    loop.run()


if __name__ == '__main__':
    main()
