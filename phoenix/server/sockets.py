"""Listening sockets, kept open across reloads and restarts.

Why the sockets go to systemd's file descriptor store (docs/framework.md,
"Restarts without a closed port"): ``systemctl restart`` stops the old
process before it starts the new one. Whoever closes a listening socket last
resets every connection still queued on it, and a handshake can complete
between a worker's last accept() and its close(), so a client that sent its
request gets "connection reset" (the ops restart scenario saw it once in
~17,000 requests). With FDSTORE=1 systemd holds a copy across the restart
(the unit needs FileDescriptorStoreMax=, which the toolkit's units set): the
socket never closes, connections queue in its backlog and the new process,
which gets it back through LISTEN_FDS, answers them. Not under systemd, the
socket is closed as before, after a SYN filter where the kernel allows one
(see synfilter).
"""
from __future__ import annotations

import logging
import socket
from typing import Any, Iterable

import eventlet
from eventlet import greenio, patcher

from phoenix.server import synfilter, systemd

# The logger name these lines carried before server/service.py was split
# (docs/framework.md, "Module map"): kept, so default_log_levels and log
# filters that name it still match.
LOG = logging.getLogger('phoenix.server.service')
_real_socket = patcher.original('socket')

_SOCKETS: dict[tuple[str, int], socket.socket] = {}
#: fd-store name of each socket systemd holds a copy of
_STORED: dict[tuple[str, int], str] = {}
#: sockets systemd passed in at start-up not yet claimed, by bound address
_INHERITED: dict[tuple[Any, ...], tuple[socket.socket, str]] | None = None


def _inherited() -> dict[tuple[Any, ...], tuple[socket.socket, str]]:
    global _INHERITED
    if _INHERITED is None:
        _INHERITED = {}
        for fd, name in systemd.listen_fds():
            try:
                sock = greenio.GreenSocket(_real_socket.socket(fileno=fd))
                address = sock.getsockname()[:2]
            except OSError as exc:
                LOG.warning('Ignoring descriptor %d (%s) passed by systemd: %s', fd, name, exc)
                continue
            _INHERITED[address] = (sock, name)
    return _INHERITED


def _store_name(host: str, port: int) -> str:
    # FDNAME: printable ASCII without ':' (sd_pid_notify_with_fds(3))
    return 'listen-%s-%d' % (''.join(c if c.isalnum() or c in '.-_' else '_' for c in host), port)


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket for (host, port), reused across reloads and restarts."""
    key = (host, port)
    sock = _SOCKETS.get(key)
    if sock is None:
        info = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)[0]
        adopted = _inherited().pop(tuple(info[4][:2]), None)
        if adopted is not None:
            sock, name = adopted
            sock.listen(backlog)
            _STORED[key] = name
            LOG.info('Listening on %s:%d (socket kept by systemd across the restart)',
                     host, port)
        else:
            # reuse_port=False: with SO_REUSEPORT a second instance would silently
            # share the port (and half the connections) instead of failing.
            sock = eventlet.listen(info[4], family=info[0], backlog=backlog,
                                   reuse_addr=True, reuse_port=False)
            name = _store_name(host, sock.getsockname()[1])
            if systemd.notify('FDSTORE=1\nFDNAME=%s' % name, [sock.fileno()]):
                _STORED[key] = name
            LOG.info('Listening on %s:%d', host, sock.getsockname()[1])
        _SOCKETS[key] = sock
    return sock


def _unstore(name: str) -> None:
    """systemd closes its copy of the socket stored under ``name``."""
    if name:
        systemd.notify('FDSTOREREMOVE=1\nFDNAME=%s' % name)


def _close(key: tuple[str, int], forget: bool) -> None:
    """Close this process's copy; ``forget``: systemd lets go of its copy too."""
    sock = _SOCKETS.pop(key)
    stored = _STORED.pop(key, None)
    if forget and stored is not None:
        _unstore(stored)
    if forget or stored is None:
        # Nobody keeps the socket open: this close may be the last one, so
        # refuse new connections first (none queued after the workers' last
        # accept and then reset).
        synfilter.refuse_new_connections(sock)
    sock.close()


def retain_sockets(keep: Iterable[tuple[str, int]]) -> None:
    """Close the listening sockets the (re)loaded config no longer names.

    Also the sockets systemd passed in for ports no longer configured: they
    leave its store, else the old port would go on queueing connections.
    The workers that still hold copies serve what is queued and close theirs.
    """
    keep = set(keep)
    for key in list(_SOCKETS):
        if key not in keep:
            LOG.info('No longer listening on %s:%d', *key)
            _close(key, forget=True)
    inherited = _inherited()
    for address, (sock, name) in list(inherited.items()):
        LOG.info('No longer listening on %s:%d (released the socket systemd kept)',
                 *address)
        _unstore(name)
        sock.close()
        del inherited[address]


def close_sockets() -> None:
    """On stop: close this process's copies; systemd keeps its own for a restart."""
    for key in list(_SOCKETS):
        _close(key, forget=False)
