#!/usr/bin/env python3
"""Asks an X11 window to close, as a window manager's close button does
(a WM_DELETE_WINDOW client message), where no window manager runs (Xvfb).

Usage: wm-close.py WINDOW_ID   (decimal or 0x hex, e.g. from xdotool search)
"""
import ctypes
import ctypes.util
import sys

X11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
CLIENT_MESSAGE = 33
NO_EVENT_MASK = 0


class ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class Event(ctypes.Union):
    # XEvent is 24 longs whatever the kind.
    _fields_ = [("client", ClientMessage), ("pad", ctypes.c_long * 24)]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    window = int(sys.argv[1], 0)
    X11.XOpenDisplay.restype = ctypes.c_void_p
    X11.XInternAtom.restype = ctypes.c_ulong
    X11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    X11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]
    X11.XFlush.argtypes = [ctypes.c_void_p]
    X11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    display = X11.XOpenDisplay(None)
    if not display:
        sys.exit("wm-close.py: cannot open the X display (is DISPLAY set?)")
    event = Event()
    event.client.type = CLIENT_MESSAGE
    event.client.window = window
    event.client.message_type = X11.XInternAtom(display, b"WM_PROTOCOLS", 0)
    event.client.format = 32
    event.client.data[0] = X11.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
    event.client.data[1] = 0  # CurrentTime
    if not X11.XSendEvent(display, window, 0, NO_EVENT_MASK, ctypes.byref(event)):
        sys.exit("wm-close.py: XSendEvent failed")
    X11.XFlush(display)
    X11.XCloseDisplay(display)


if __name__ == "__main__":
    main()
