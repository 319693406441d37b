"""The sd_notify protocol, without libsystemd.

The unit runs with ``Type=notify`` and ``NotifyAccess=main``: only the parent
process may speak, so workers never call these functions. The socket is the
real (unpatched) one so notifying never needs a running eventlet hub.
"""
from __future__ import annotations

import array
import os
from typing import Sequence

from eventlet import patcher

_socket = patcher.original('socket')


def _address() -> str | None:
    address = os.environ.get('NOTIFY_SOCKET')
    if not address:
        return None
    if address.startswith('@'):  # abstract namespace socket
        address = '\0' + address[1:]
    return address


def notify(state: str, fds: Sequence[int] = ()) -> bool:
    """Send ``state`` (for example ``READY=1``); False when not under systemd.

    ``fds`` go along as SCM_RIGHTS, which is how ``FDSTORE=1`` hands
    descriptors to the service manager (sd_pid_notify_with_fds(3)).
    """
    address = _address()
    if address is None:
        return False
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    try:
        sock.connect(address)
        if fds:
            sock.sendmsg([state.encode('utf-8')], [
                (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array('i', fds).tobytes())])
        else:
            sock.sendall(state.encode('utf-8'))
    except OSError:
        return False
    finally:
        sock.close()
    return True


#: the first descriptor systemd passes (sd_listen_fds(3))
LISTEN_FDS_START = 3


def listen_fds() -> list[tuple[int, str]]:
    """The descriptors systemd passed to this process, with their names.

    They come from the unit's file descriptor store (what an earlier run
    stored with ``FDSTORE=1``) or from a socket unit. The variables are
    removed once read so that no child process takes them for its own.
    """
    pid, count, names = (os.environ.pop(key, '') for key in
                         ('LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'))
    if not (pid.isdigit() and count.isdigit()) or int(pid) != os.getpid():
        return []
    given = names.split(':') if names else []
    fds = []
    for i in range(int(count)):
        fd = LISTEN_FDS_START + i
        os.set_inheritable(fd, False)
        fds.append((fd, given[i] if i < len(given) else ''))
    return fds


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
