"""The sd_notify protocol, without libsystemd.

The unit runs with ``Type=notify`` and ``NotifyAccess=main``: only the parent
process may speak, so workers never call these functions. The socket is the
real (unpatched) one so notifying never needs a running eventlet hub.
"""
from __future__ import annotations

import os

from eventlet import patcher

_socket = patcher.original('socket')


def _address() -> str | None:
    address = os.environ.get('NOTIFY_SOCKET')
    if not address:
        return None
    if address.startswith('@'):  # abstract namespace socket
        address = '\0' + address[1:]
    return address


def notify(state: str) -> bool:
    """Send ``state`` (for example ``READY=1``); False when not under systemd."""
    address = _address()
    if address is None:
        return False
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        sock.sendall(state.encode('utf-8'))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings, or None when no watchdog is armed.

    systemd sets WATCHDOG_USEC (and WATCHDOG_PID for the process it means);
    pinging at half the timeout is what sd_watchdog_enabled(3) recommends.
    """
    usec = os.environ.get('WATCHDOG_USEC')
    if not usec:
        return None
    pid = os.environ.get('WATCHDOG_PID')
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    if value <= 0:
        return None
    return value / 2.0 / 1e6
