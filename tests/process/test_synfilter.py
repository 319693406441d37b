"""The stop race the ops restart scenario hit once in 17,445 requests: a
connection whose handshake completes after the last ``accept()`` and before
``close()`` of the listening socket is reset. With the SYN filter attached
first, no connection can enter the queue any more, so none is reset: a late
client is refused (safe to retry), a queued one is still served.

The race is made deterministic here: a client connects in the window
between the drain and the close. Without the filter it is accepted by the
kernel and then reset (the control case, so the test can fail); with it, it
is refused.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from phoenix.server import synfilter


def _listener(family: int, host: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(16)
    return sock


def _drain(sock: socket.socket) -> list[socket.socket]:
    sock.setblocking(False)
    accepted = []
    while True:
        try:
            accepted.append(sock.accept()[0])
        except BlockingIOError:
            return accepted


def _late_client(address: tuple, outcome: dict) -> None:
    """Connect, send a request, read the answer; record what happened."""
    client = socket.socket(socket.AF_INET6 if ':' in address[0] else socket.AF_INET)
    client.settimeout(10)
    try:
        client.connect(address)
        client.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        outcome['answer'] = client.recv(100)
    except OSError as exc:
        outcome['error'] = exc
    finally:
        client.close()


def _stop_with_a_late_client(family: int, host: str, use_filter: bool) -> dict:
    listener = _listener(family, host)
    address = listener.getsockname()[:2]
    queued = socket.create_connection(address, timeout=5)
    queued.sendall(b'queued')
    if use_filter:
        assert synfilter.refuse_new_connections(listener)
    time.sleep(0.1)
    served = _drain(listener)             # the workers' last accepts
    outcome: dict = {}
    late = threading.Thread(target=_late_client, args=(address, outcome))
    late.start()
    time.sleep(0.3)                       # the late client's handshake completes (or its SYN is dropped)
    listener.close()                      # the moment a queued connection is reset
    late.join(15)
    outcome['served'] = []
    for conn in served:
        conn.settimeout(5)
        outcome['served'].append(conn.recv(100))
        conn.close()
    queued.close()
    return outcome


FAMILIES = [(socket.AF_INET, '127.0.0.1')]
if socket.has_ipv6:
    try:
        socket.socket(socket.AF_INET6).bind(('::1', 0))
        FAMILIES.append((socket.AF_INET6, '::1'))
    except OSError:
        pass


@pytest.mark.parametrize('family,host', FAMILIES, ids=[h for _, h in FAMILIES])
def test_a_late_client_is_refused_not_reset(family, host):
    outcome = _stop_with_a_late_client(family, host, use_filter=True)
    assert isinstance(outcome.get('error'), ConnectionRefusedError), outcome
    # the connection queued before the filter was still accepted and read
    assert b'queued' in outcome['served'], outcome


def test_without_the_filter_the_late_client_is_reset():
    """The control case: what the filter prevents really happens without it."""
    outcome = _stop_with_a_late_client(socket.AF_INET, '127.0.0.1', use_filter=False)
    assert isinstance(outcome.get('error'), ConnectionResetError), outcome
