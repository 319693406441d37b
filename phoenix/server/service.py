"""What runs inside a worker process: the HTTP server or the periodic loop.

Services are prepared in the parent (the paste pipeline is loaded once there,
so a broken pipeline fails the start instead of crash-looping workers) and
run in forked children that inherit the loaded application.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import socket
import sys
import time
from typing import Any, Callable, Iterable

import eventlet
import eventlet.wsgi
from eventlet import greenio, patcher
from oslo_config import cfg

from phoenix.server import synfilter, systemd

LOG = logging.getLogger(__name__)
_real_socket = patcher.original('socket')
ACCESS_LOG = logging.getLogger('phoenix.wsgi.access')


class AccessLog:
    """eventlet's per-request log, written straight to the log stream.

    One line per request through oslo.log's formatter costs more than the
    rest of a health check (about 60-120 us against 10); the access line has
    nothing to gain from request contexts, so it is formatted here and written
    to the stream of the root logger's first stream handler (stderr, or the
    log file when log_file is set). Errors and debug lines still go through
    the logging machinery.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._handler: logging.StreamHandler | None = None
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                self._handler = handler
                break
        self._second = -1
        self._stamp = ''

    def _write(self, line: str) -> None:
        stream = self._handler.stream if self._handler is not None else sys.stderr
        try:
            stream.write(line)
            stream.flush()
        except (OSError, ValueError):
            pass

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(second))
        text = msg % args if args else msg
        self._write('%s.%03d %d INFO phoenix.wsgi.access [-] %s\n' % (
            self._stamp, int((now - second) * 1000), self.pid, text))

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        ACCESS_LOG.debug(msg, *args)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        ACCESS_LOG.error(msg, *args)

    def write(self, msg: str, *args: Any) -> None:
        self.info(msg.rstrip('\n'), *args)

STOP_POLL = 0.1  # seconds between checks of the stop flag inside a worker


def _json_error(code: int, title: str, message: str) -> bytes:
    return json.dumps({'error': {'code': code, 'title': title,
                                 'message': message}}).encode('utf-8')


class JSONErrorProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's protocol with JSON bodies for the errors it answers itself.

    http.server answers malformed request lines and oversized headers with an
    HTML page; clients of a JSON API should get JSON there too.
    """

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        short, long = self.responses.get(code, ('Error', 'Error'))
        body = _json_error(code, short, message or long)
        self.close_connection = True
        if self.request_version == 'HTTP/0.9':
            # A request line http.server could not parse ("HELLO THERE WORLD")
            # leaves the 0.9 default, under which it writes no status line or
            # headers at all: the client would get a bare body. Answer as 1.0.
            self.request_version = 'HTTP/1.0'
        self.send_response(code, short)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Connection', 'close')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD' and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def parse_request(self) -> bool:
        # eventlet answers these with hard-coded empty 400s (no JSON, no
        # reason); catch them first so the client learns what was wrong.
        try:
            if not super().parse_request():
                return False
        except eventlet.wsgi.HeaderLineTooLong:
            self.send_error(400, 'A header line is longer than %d bytes.'
                            % eventlet.wsgi.MAX_HEADER_LINE)
            return False
        except eventlet.wsgi.HeadersTooLarge:
            self.send_error(400, 'The request headers are too large.')
            return False
        length = self.headers.get('content-length')
        if length is not None:
            try:
                valid = int(length) >= 0
            except ValueError:
                valid = False
            if not valid:
                self.send_error(400, 'Content-Length is not a non-negative integer.')
                return False
            if self.headers.get('transfer-encoding') is not None:
                self.send_error(400, 'Content-Length and Transfer-Encoding are not '
                                     'allowed together.')
                return False
        return True

    def log_message(self, format: str, *args: Any) -> None:
        LOG.info('%s %s', self.address_string(), format % args)

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self.conn_state[SERVED] += 1
        if getattr(self.server, 'stopping', False):
            # Draining: answer what is in flight, keep no connection alive.
            self.close_connection = 1


#: index of the request counter in eventlet's connection state list
SERVED = 3
#: accept() errors that mean "this client went away", not "the socket is broken"
CLIENT_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN, errno.ESHUTDOWN,
                 errno.ECONNABORTED, errno.EAGAIN}


def _install_eventlet_limits(conf: cfg.ConfigOpts) -> None:
    body = _json_error(414, 'Request-URI Too Long',
                       'The request line is longer than %d bytes.' % conf.max_url_length)
    eventlet.wsgi.RESPONSE_414 = (
        b'HTTP/1.0 414 Request URI Too Long\r\nConnection: close\r\n'
        b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s'
        % (len(body), body))
    eventlet.wsgi.MAX_HEADER_LINE = conf.max_header_line


# -- listening sockets -------------------------------------------------------
#
# Why the sockets go to systemd's file descriptor store: ``systemctl restart``
# stops the old process before it starts the new one. Whoever closes a
# listening socket last resets every connection still queued on it, and a
# handshake can complete between a worker's last accept() and its close(),
# so a client that sent its request gets "connection reset" (the ops restart
# scenario saw it once in ~17,000 requests). With FDSTORE=1 systemd holds a
# copy across the restart (the unit needs FileDescriptorStoreMax=, which the
# toolkit's units set): the socket never closes, connections queue in its
# backlog and the new process, which gets it back through LISTEN_FDS,
# answers them. Not under systemd, the socket is closed as before, after a
# SYN filter where the kernel allows one (see synfilter).
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


# -- services ------------------------------------------------------------------
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
        self.sockets = [listen(host, port, conf.backlog) for port in ports]
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
        _install_eventlet_limits(conf)
        pool = eventlet.GreenPool(conf.wsgi_default_pool_size)
        connections: dict[int, list] = {}
        servers = [eventlet.wsgi.Server(
            sock, sock.getsockname(), self.app, log=AccessLog(),
            log_output=conf.wsgi_access_log, protocol=JSONErrorProtocol,
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
            if conn[2] == eventlet.wsgi.STATE_IDLE and conn[SERVED] > 0:
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
               connections: dict[int, list], client: Any, address: Any) -> None:
        def _finished(_thread: Any, conn: list) -> None:
            connections.pop(id(conn), None)
            greenio.shutdown_safe(conn[1])
            conn[1].close()

        client.settimeout(server.socket_timeout)
        conn = [address, client, eventlet.wsgi.STATE_IDLE, 0]
        connections[id(conn)] = conn
        pool.spawn(server.process_request, conn).link(_finished, conn)

    @classmethod
    def _drain(cls, server: eventlet.wsgi.Server, pool: eventlet.GreenPool,
               connections: dict[int, list]) -> None:
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
                     connections: dict[int, list]) -> None:
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
