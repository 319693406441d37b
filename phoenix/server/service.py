"""What runs inside a worker process: the HTTP server or the periodic loop.

Services are prepared in the parent (the paste pipeline is loaded once there,
so a broken pipeline fails the start instead of crash-looping workers) and
run in forked children that inherit the loaded application. What the HTTP
server is given per connection is in ``protocol``; the listening sockets it
serves, and how they outlive a restart, in ``sockets``.
"""
from __future__ import annotations

import errno
import logging
import time
from typing import Any, Callable

import eventlet
import eventlet.wsgi
from eventlet import greenio
from oslo_config import cfg

from phoenix.server import protocol, sockets

LOG = logging.getLogger(__name__)

STOP_POLL = 0.1  # seconds between checks of the stop flag inside a worker
#: accept() errors that mean "this client went away", not "the socket is broken"
CLIENT_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN,
                 errno.ECONNABORTED, errno.EAGAIN}
#: eventlet's state of one connection: [address, socket, state, requests served]
#: (a list it mutates in place; protocol.SERVED is the last index)
Connection = list[Any]


class WSGIService:
    """An HTTP service: one paste app served on every listening socket."""

    kind = 'wsgi'

    def __init__(self, conf: cfg.ConfigOpts, name: str,
                 app_loader: Callable[[], Any], host: str, ports: list[int],
                 workers: int) -> None:
        self.conf = conf
        self.name = name
        self.app_loader = app_loader
        self.host = host
        self.workers = workers
        self.sockets = [sockets.listen(host, port, conf.backlog) for port in ports]
        self.ports = [s.getsockname()[1] for s in self.sockets]
        self.addresses = [(host, port) for port in ports]
        self.app: Any = None

    def describe(self) -> str:
        return '%s on %s port %s with %d workers' % (
            self.name, self.host, ','.join(map(str, self.ports)), self.workers)

    def prepare(self) -> None:
        self.app = self.app_loader()

    def run_worker(self, should_stop: Callable[[], bool]) -> int:
        """Serve until asked to stop, then drain.

        eventlet.wsgi.server() is not used: on stop it shuts down every
        connection that is between requests, including one accepted a moment
        ago whose first request is still in the kernel buffer, so a client
        racing a reload would see its connection closed without an answer.
        Here only connections that already had a request answered are closed;
        the rest get their answer and then ``Connection: close``.
        """
        conf = self.conf
        protocol.install_eventlet_limits(conf)
        pool = eventlet.GreenPool(conf.wsgi_default_pool_size)
        connections: dict[int, Connection] = {}
        servers = [eventlet.wsgi.Server(
            sock, sock.getsockname(), self.app, log=protocol.AccessLog(),
            log_output=conf.wsgi_access_log, protocol=protocol.JSONErrorProtocol,
            keepalive=conf.wsgi_keep_alive, debug=False,
            socket_timeout=conf.client_socket_timeout or None,
            url_length_limit=conf.max_url_length) for sock in self.sockets]
        loops = [eventlet.spawn(self._accept_loop, server, pool, connections)
                 for server in servers]
        while not should_stop():
            if any(loop.dead for loop in loops):
                LOG.error('An accept loop ended unexpectedly')
                return 1
            eventlet.sleep(STOP_POLL)
        LOG.info('Stopping: no new connections; draining %d open connections',
                 pool.running())
        for server in servers:
            server.stopping = True
        for loop in loops:
            loop.kill()
        for server in servers:
            # Serve what the kernel already queued for this socket, then close
            # this process's copy (the parent closed its copy first): a queued
            # connection is never reset, a late one is refused (retryable).
            self._drain(server, pool, connections)
            server.socket.close()
        for conn in list(connections.values()):
            if conn[2] == eventlet.wsgi.STATE_IDLE and conn[protocol.SERVED] > 0:
                greenio.shutdown_safe(conn[1])  # idle keep-alive: nothing in flight
        timeout = conf.graceful_shutdown_timeout or None
        try:
            with eventlet.Timeout(timeout):
                pool.waitall()
        except eventlet.Timeout:
            LOG.warning('graceful_shutdown_timeout (%ss) expired with %d requests '
                        'in flight', timeout, pool.running())
        return 0

    @staticmethod
    def _spawn(server: eventlet.wsgi.Server, pool: eventlet.GreenPool,
               connections: dict[int, Connection], client: Any, address: Any) -> None:
        def _finished(_thread: Any, conn: Connection) -> None:
            connections.pop(id(conn), None)
            greenio.shutdown_safe(conn[1])
            conn[1].close()

        client.settimeout(server.socket_timeout)
        conn: Connection = [address, client, eventlet.wsgi.STATE_IDLE, 0]
        connections[id(conn)] = conn
        pool.spawn(server.process_request, conn).link(_finished, conn)

    @classmethod
    def _drain(cls, server: eventlet.wsgi.Server, pool: eventlet.GreenPool,
               connections: dict[int, Connection]) -> None:
        """Accept, without waiting, every connection already queued."""
        real = server.socket.fd  # the non-blocking socket under the green one
        while True:
            try:
                client, address = real.accept()
            except OSError as exc:
                if exc.errno in CLIENT_ERRNOS - {errno.EAGAIN}:
                    continue
                return  # EAGAIN: the queue is empty
            client.setblocking(False)
            cls._spawn(server, pool, connections, greenio.GreenSocket(client), address)

    @classmethod
    def _accept_loop(cls, server: eventlet.wsgi.Server, pool: eventlet.GreenPool,
                     connections: dict[int, Connection]) -> None:
        sock = server.socket
        while True:
            try:
                client, address = sock.accept()
            except OSError as exc:
                if exc.errno in CLIENT_ERRNOS:
                    continue
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    LOG.error('accept() failed: %s; retrying shortly', exc)
                    eventlet.sleep(0.1)
                    continue
                raise
            cls._spawn(server, pool, connections, client, address)
            # Let the new connection's greenthread start before accepting the
            # next: a worker that takes a whole burst of connections leaves its
            # siblings idle (and a core unused) for the life of those connections.
            eventlet.sleep(0)


class PeriodicService:
    """A non-HTTP service: a manager's periodic tasks, run in a loop.

    The manager has ``run_periodic_tasks() -> float`` returning the seconds to
    idle before the next run (docs/framework.md, "Start-up path": ``run(manager=...)``).
    """

    kind = 'periodic'

    def __init__(self, conf: cfg.ConfigOpts, manager_factory: Callable[[], Any],
                 workers: int) -> None:
        self.conf = conf
        self.manager_factory = manager_factory
        self.workers = workers
        self.manager: Any = None
        self.addresses: list[tuple[str, int]] = []

    def describe(self) -> str:
        return 'periodic tasks of %s with %d workers' % (
            type(self.manager).__name__ if self.manager else 'manager', self.workers)

    def prepare(self) -> None:
        self.manager = self.manager_factory()

    def run_worker(self, should_stop: Callable[[], bool]) -> int:
        while not should_stop():
            try:
                idle = float(self.manager.run_periodic_tasks())
            except Exception:
                LOG.exception('Periodic tasks failed; retrying after the interval')
                idle = float(getattr(self.manager, 'interval', 60))
            deadline = time.monotonic() + idle
            while not should_stop() and time.monotonic() < deadline:
                eventlet.sleep(min(STOP_POLL, max(0.0, deadline - time.monotonic())))
        return 0
