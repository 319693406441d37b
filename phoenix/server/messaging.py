"""RPC and notification workers over oslo.messaging, and the API-side helpers.

The launcher (phoenix.server.launcher) forks these like every other kind:
capped by ``max_workers``, respawned when they die, SIGTERM = stop taking
messages and finish the ones in flight, SIGHUP = new workers with the new
config. docs/framework.md ("Messaging") describes the contract.

Why the transport is created inside the worker and never in the parent: a
connection (its socket, heartbeat and the driver's locks) must not cross
``fork()``. The parent only checks the configuration (a malformed
``transport_url`` stops the start with exit 2) and builds the manager.

Executor: oslo.messaging picks it from the process: a worker forked from a
monkey-patched parent gets the eventlet executor (green threads), one started
with ``--standard-threads`` the threading executor. Both are what the
library supports for its version pinned in upper-constraints.txt.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import Any, Callable, Iterable, Sequence

import eventlet
from oslo_config import cfg

LOG = logging.getLogger(__name__)

STOP_POLL = 0.1  # seconds between checks of the stop flag inside a worker
#: longest wait of the driver's consume loop before it looks at its stop flag
CONSUME_WAKEUP = 0.2
#: schemes whose URL must name at least one host (the others: fake://, tests)
HOST_SCHEMES = ('rabbit', 'kombu', 'amqp', 'kafka')


class MessagingConfigError(Exception):
    """The messaging configuration cannot work (one line, names the option)."""


def _drivers() -> list[str]:
    from importlib.metadata import entry_points
    return sorted({e.name for e in entry_points(group='oslo.messaging.drivers')})


def check_transport_url(conf: cfg.ConfigOpts) -> str:
    """The configured ``transport_url``, validated; raise MessagingConfigError.

    Only the form is checked here (scheme, hosts, ports): whether the broker
    answers is the worker's business, which retries with backoff instead of
    failing the start (a broker that starts after the service is normal).
    """
    import oslo_messaging
    url: str | None = conf.transport_url  # a StrOpt: text or unset
    if not url:
        raise MessagingConfigError(
            '[DEFAULT] transport_url is not set; set it to the broker, e.g. '
            'rabbit://user:password@host:5672/')
    where = '[DEFAULT] transport_url'
    if conf.config_file:
        where = '%s in %s' % (where, ', '.join(conf.config_file))
    try:
        parsed = oslo_messaging.TransportURL.parse(conf, url)
    except (oslo_messaging.InvalidTransportURL, ValueError) as exc:
        raise MessagingConfigError('%s is malformed (%s); expected '
                                   'driver://user:password@host:port/vhost' % (where, exc)) from exc
    drivers = _drivers()
    if parsed.transport not in drivers:
        raise MessagingConfigError('%s names the driver %r, which is not installed '
                                   '(installed: %s)' % (where, parsed.transport,
                                                        ', '.join(drivers)))
    if parsed.transport in HOST_SCHEMES and not parsed.hosts:
        raise MessagingConfigError('%s names no host; expected '
                                   '%s://user:password@host:port/' % (where, parsed.transport))
    for host in parsed.hosts:
        if not host.hostname:
            raise MessagingConfigError('%s has an empty host name' % where)
        if host.port is not None and not 0 < host.port < 65536:
            raise MessagingConfigError('%s has port %d, outside 1-65535' % (where, host.port))
    return url


def default_server() -> str:
    """The RPC server name of this host (the ``server`` of the Target)."""
    return socket.gethostname()


def _stop_server(server: Any, timeout: float | None, what: str,
                 disconnect: bool = False) -> None:
    """stop() (no new messages) then wait() (in-flight ones finish), bounded.

    ``disconnect``: close the listener's connection right after stop(). The
    rabbit driver acknowledges an RPC message when it is *delivered*, and
    stop() leaves the consumer registered at the broker, so without this a
    message arriving while the in-flight ones finish is delivered, acked and
    never dispatched: lost (found by tests/process/test_messaging.py). Once
    the connection is closed the broker keeps new messages for the next
    worker. Replies go out on other connections; wait() cleans up again
    (closing twice is harmless).
    """
    server.stop()
    if disconnect and getattr(server, 'listener', None) is not None:
        try:
            server.listener.cleanup()
        except Exception as exc:  # the process ends soon; wait() tries again
            LOG.debug('early listener cleanup failed: %s', exc)
    waiter = eventlet.spawn(server.wait)
    try:
        with eventlet.Timeout(timeout):
            waiter.wait()
    except eventlet.Timeout:
        LOG.warning('graceful_shutdown_timeout (%ss) expired with %s still '
                    'handling messages', timeout, what)


def _shorten_consume_wait(server: Any) -> None:
    """Let ``server.stop()`` return within CONSUME_WAKEUP instead of ~1 s.

    The rabbit driver's consume loop looks at its stop flag only between two
    ``drain_events`` waits of ``_poll_timeout`` (1 s, or the heartbeat wait),
    so an idle worker took over a second to stop: systemd's restart after a
    crash waits for every worker of the unit, and the ops crash scenario of
    the box (answering again within 5 s) missed by 0.3 s because of it.
    A shorter wait costs a few wake-ups a second. The attribute is the
    driver's own (oslo.messaging's rabbit Connection, the version pinned in
    upper-constraints.txt); left alone when absent (another driver).
    tests/process/test_messaging.py measures the stop.
    """
    poll_listener = getattr(getattr(server, 'listener', None), '_poll_style_listener', None)
    context = getattr(poll_listener, 'conn', None)
    connection = getattr(context, 'connection', None)  # pool wrapper -> Connection
    if connection is not None and isinstance(getattr(connection, '_poll_timeout', None),
                                             (int, float)):
        connection._poll_timeout = min(connection._poll_timeout, CONSUME_WAKEUP)


class _MessagingService:
    """What RPC and notification services share: the worker loop."""

    kind = ''
    #: close the listener connection at stop (see _stop_server)
    disconnect_on_stop = False

    def __init__(self, conf: cfg.ConfigOpts, workers: int) -> None:
        self.conf = conf
        self.workers = workers
        self.addresses: list[tuple[str, int]] = []  # no listening sockets

    def prepare(self) -> None:
        check_transport_url(self.conf)

    def _make_server(self, transport: Any) -> Any:
        raise NotImplementedError

    def _transport(self) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        """What the worker consumes, for its start-up log line (RPCService, NotificationService)."""
        raise NotImplementedError

    def run_worker(self, should_stop: Callable[[], bool]) -> int:
        """Consume until ``should_stop()``, then drain.

        ``server.start()`` blocks while the broker is unreachable (the rabbit
        driver retries with growing delays, logging each attempt), so it runs
        in a green thread and a stop request is honoured meanwhile.
        """
        transport = self._transport()
        server = self._make_server(transport)
        starter = eventlet.spawn(server.start)
        started_logged = False
        try:
            while not should_stop():
                if starter.dead and not started_logged:
                    try:
                        starter.wait()
                    except Exception as exc:
                        LOG.error('%s worker could not start consuming: %s', self.kind, exc)
                        return 1
                    _shorten_consume_wait(server)
                    LOG.info('%s worker (pid %d) consuming: %s', self.kind, os.getpid(),
                             self.describe())
                    started_logged = True
                eventlet.sleep(STOP_POLL)
            LOG.info('Stopping %s worker (pid %d): no new messages; finishing the '
                     'ones in flight', self.kind, os.getpid())
            if not starter.dead:
                starter.kill()
            else:
                _stop_server(server, self.conf.graceful_shutdown_timeout or None, self.kind,
                             disconnect=self.disconnect_on_stop)
            return 0
        finally:
            try:
                transport.cleanup()
            except Exception as exc:  # the process ends anyway
                LOG.debug('transport cleanup failed: %s', exc)


def transient_queues(conf: cfg.ConfigOpts) -> str | None:
    """Why casts can be lost at a broker restart with this config, or None.

    The rabbit driver publishes persistent messages with publisher confirms,
    but into the queues' durability: with oslo.messaging's default
    ``amqp_durable_queues = false`` (and no quorum queues) a broker restart
    drops the topic queue with the casts waiting in it, and casts sent
    before a worker declares the queue again are confirmed and dropped
    (unroutable). docs/framework.md, "Jobs: exactly once", and
    docs/reliability.md, "The message bus under faults", say what phoenix and
    apollo guarantee. The group exists once the rabbit driver is loaded.
    """
    try:
        group = conf.oslo_messaging_rabbit
        durable, quorum = group.amqp_durable_queues, group.rabbit_quorum_queue
    except (cfg.NoSuchOptError, AttributeError):
        return None  # another driver
    if durable or quorum:
        return None
    return ('[oslo_messaging_rabbit] amqp_durable_queues is false: casts waiting on the '
            'broker are lost if it restarts; set it to true (or rabbit_quorum_queue) '
            'for casts that must survive a broker restart')


class RPCService(_MessagingService):
    """An oslo.messaging RPC server: ``manager``'s public methods on ``topic``."""

    kind = 'rpc'
    disconnect_on_stop = True  # RPC messages are acked on delivery

    def __init__(self, conf: cfg.ConfigOpts, topic: str, server: str | None,
                 manager_factory: Callable[[], Any], serializer: Any,
                 workers: int) -> None:
        super().__init__(conf, workers)
        self.topic = topic
        self.server = server or default_server()
        self.manager_factory = manager_factory
        self.serializer = serializer
        self.manager: Any = None

    def describe(self) -> str:
        return 'rpc server of %s on topic %s (server %s) with %d workers' % (
            type(self.manager).__name__ if self.manager else 'manager',
            self.topic, self.server, self.workers)

    def prepare(self) -> None:
        super().prepare()
        self.manager = self.manager_factory()

    def _transport(self) -> Any:
        import oslo_messaging
        return oslo_messaging.get_rpc_transport(self.conf, url=self.conf.transport_url)

    def _make_server(self, transport: Any) -> Any:
        import oslo_messaging
        warning = transient_queues(self.conf)
        if warning:
            LOG.warning('rpc worker (pid %d): %s', os.getpid(), warning)
        target = oslo_messaging.Target(topic=self.topic, server=self.server)
        # DefaultRPCAccessPolicy: methods whose name starts with "_" are not
        # callable over the bus (only the manager's public methods).
        return oslo_messaging.get_rpc_server(
            transport, target, [self.manager], serializer=self.serializer,
            access_policy=oslo_messaging.DefaultRPCAccessPolicy)


class NotificationService(_MessagingService):
    """A notification listener with the project's endpoints, in a pool."""

    kind = 'notification'

    def __init__(self, conf: cfg.ConfigOpts, endpoints_factory: Callable[[], Sequence[Any]],
                 serializer: Any, workers: int, topics: Iterable[str] | None = None,
                 pool: str | None = None) -> None:
        super().__init__(conf, workers)
        self.endpoints_factory = endpoints_factory
        self.serializer = serializer
        self.topics = list(topics or conf.notification_topics)
        self.pool = pool or conf.notification_pool or os.environ.get('PROJECT_NAME', 'phoenix')
        self.endpoints: list[Any] = []

    def describe(self) -> str:
        return 'notification listener (pool %s) on %s with %d workers' % (
            self.pool, ','.join(self.topics), self.workers)

    def prepare(self) -> None:
        super().prepare()
        if not self.topics:
            raise MessagingConfigError('[DEFAULT] notification_topics is empty; '
                                       'name at least one topic')
        self.endpoints = list(self.endpoints_factory())
        if not self.endpoints:
            raise MessagingConfigError('notification_workers > 0 but this entry point '
                                       'has no notification endpoints')

    def _transport(self) -> Any:
        import oslo_messaging
        return oslo_messaging.get_notification_transport(self.conf, url=self.conf.transport_url)

    def _make_server(self, transport: Any) -> Any:
        import oslo_messaging
        targets = [oslo_messaging.Target(topic=topic) for topic in self.topics]
        return oslo_messaging.get_notification_listener(
            transport, targets, self.endpoints, serializer=self.serializer, pool=self.pool)


# -- API side: clients, one per process -----------------------------------------
_CLIENTS: dict[Any, tuple[int, Any]] = {}


def _per_process(key: Any, build: Callable[[], Any]) -> Any:
    """``build()`` once per process: transports must not cross fork()."""
    cached = _CLIENTS.get(key)
    if cached is None or cached[0] != os.getpid():
        cached = (os.getpid(), build())
        _CLIENTS[key] = cached
    return cached[1]


def rpc_client(conf: cfg.ConfigOpts, topic: str, serializer: Any = None,
               version: str | None = None, timeout: float | None = None) -> Any:
    """An oslo.messaging RPCClient for ``topic`` (raises MessagingConfigError
    when no transport is configured: the caller answers 503)."""
    import oslo_messaging
    url = check_transport_url(conf)

    def build() -> Any:
        transport = oslo_messaging.get_rpc_transport(conf, url=url)
        target = oslo_messaging.Target(topic=topic, version=version)
        return oslo_messaging.get_rpc_client(transport, target, serializer=serializer,
                                             timeout=timeout)
    return _per_process(('rpc', url, topic, version, timeout, id(serializer)), build)


def notifier(conf: cfg.ConfigOpts, publisher_id: str | None = None,
             serializer: Any = None) -> Any:
    """An oslo.messaging Notifier publishing as ``publisher_id`` (default
    ``<project>.<host>``) on ``notification_topics``; a no-op notifier when
    no transport is configured (notifications are optional, the API is not)."""
    import oslo_messaging
    publisher = publisher_id or '%s.%s' % (os.environ.get('PROJECT_NAME', 'phoenix'),
                                           default_server())
    url = conf.transport_url
    topics = list(conf.notification_topics)

    def build() -> Any:
        if not url:
            transport = oslo_messaging.get_notification_transport(conf, url='fake://')
            return oslo_messaging.Notifier(transport, publisher, driver='noop')
        check_transport_url(conf)
        transport = oslo_messaging.get_notification_transport(conf, url=url)
        return oslo_messaging.Notifier(transport, publisher, driver='messagingv2',
                                       topics=topics, serializer=serializer)
    return _per_process(('notify', url, publisher, tuple(topics), id(serializer)), build)


def reset_clients() -> None:
    """Forget the cached clients (a reload with a new transport_url)."""
    _CLIENTS.clear()

