"""The eventlet server of a phoenix service: ``run()`` is what ``main()`` calls.

It mirrors the start-up path of docs/framework.md ("Start-up path"): find the development
config, ``common.configure()``, ``wsgi.find_paste_config()``, build services
from the worker counts, ``common.setup_backends()``, ``serve()``.
"""
from __future__ import annotations

import inspect
import os
import sys
from typing import Any, Callable, Iterable, Sequence

import pbr.version
from oslo_config import cfg
from oslo_log import log

from phoenix import wsgi
from phoenix.common import patching, utils
from phoenix.server import common, launcher, messaging, service, sockets

CONF = common.CONF
LOG = log.getLogger(__name__)

WORKER_KINDS = ('wsgi', 'rpc', 'periodic', 'notification')
#: kinds that need a messaging transport (phoenix.server.messaging)
MESSAGING_KINDS = ('rpc', 'notification')


class WorkerConfigError(Exception):
    """A worker count that cannot be honoured (names the option)."""


def configure_threading() -> None:
    """Called before logging is set up: report the threading mode and attach
    the pydev debugger when asked (which needs real threads)."""
    if CONF.pydev_debug_host and CONF.pydev_debug_port:
        try:
            import pydevd  # type: ignore[import-not-found]
        except ImportError:
            sys.stderr.write('pydev-debug-host given but pydevd is not installed\n')
        else:
            pydevd.settrace(CONF.pydev_debug_host, port=CONF.pydev_debug_port,
                            stdoutToServer=True, stderrToServer=True)
    if CONF.standard_threads and patching.is_patched():
        sys.stderr.write('--standard-threads was given after eventlet patching; '
                         'pass it on the command line of the entry point\n')


def get_workers(conf: cfg.ConfigOpts, kind: str) -> int:
    """Worker count of ``kind``, capped by ``max_workers``.

    ``wsgi_workers`` defaults to the CPU count; rpc and notification workers
    need ``transport_url`` and default to 1 when it is set, else 0 (so a
    service with no broker configured runs without them).
    """
    if kind not in WORKER_KINDS:
        raise ValueError('unknown worker kind %r' % kind)
    count: int | None = getattr(conf, '%s_workers' % kind)
    if count is None:
        if kind == 'wsgi':
            count = os.cpu_count() or 1
        else:
            count = 1 if conf.transport_url else 0
    if kind in MESSAGING_KINDS and count > 0 and not conf.transport_url:
        raise WorkerConfigError(
            '[DEFAULT] %s_workers = %d needs [DEFAULT] transport_url (a messaging '
            'transport); set %s_workers = 0 or configure a transport'
            % (kind, count, kind))
    limit: int = conf.max_workers
    return min(count, limit)


def create_wsgi_service(paste_config: str, name: str, host: str,
                        ports: Sequence[int], workers: int) -> service.WSGIService:
    """An HTTP service serving app ``name`` of ``paste_config`` on every port."""
    return service.WSGIService(
        CONF, name, lambda: wsgi.load_app(paste_config, name), host, list(ports), workers)


def create_periodic_service(manager: Callable[[], Any] | Any,
                            workers: int) -> service.PeriodicService:
    """A periodic-task service; ``manager`` is a class/factory or an instance."""
    return service.PeriodicService(CONF, _factory(manager), workers)


def create_rpc_service(topic: str, server: str | None, manager: Callable[[], Any] | Any,
                       serializer: Any, workers: int) -> messaging.RPCService:
    """An RPC server on ``topic`` whose endpoint is ``manager`` (a class or
    factory built once in the parent, or an instance)."""
    return messaging.RPCService(CONF, topic, server, _factory(manager), serializer, workers)


def create_notification_service(endpoints: Callable[[], Sequence[Any]] | Sequence[Any],
                                serializer: Any, workers: int
                                ) -> messaging.NotificationService:
    """A notification listener on ``notification_topics`` in ``notification_pool``."""
    factory = endpoints if callable(endpoints) else (lambda: list(endpoints))
    return messaging.NotificationService(CONF, factory, serializer, workers)


def _factory(manager: Any) -> Callable[[], Any]:
    if isinstance(manager, type) or inspect.isfunction(manager):
        return manager
    return lambda: manager


def _build_services(kinds: Iterable[str], manager: Any, topic: str | None = None,
                    server: str | None = None, serializer: Any = None,
                    notification_endpoints: Any = None) -> list[Any]:
    kinds = tuple(kinds)
    counts = {kind: get_workers(CONF, kind) for kind in WORKER_KINDS}
    services: list[Any] = []
    if 'wsgi' in kinds and counts['wsgi'] > 0:
        paste_config = wsgi.find_paste_config()
        services.append(create_wsgi_service(
            paste_config, 'main', CONF.bind_host, CONF.port, counts['wsgi']))
    if 'periodic' in kinds and counts['periodic'] > 0:
        if manager is None:
            raise WorkerConfigError('periodic_workers > 0 but this entry point '
                                    'has no periodic manager')
        services.append(create_periodic_service(manager, counts['periodic']))
    if 'rpc' in kinds and counts['rpc'] > 0:
        if manager is None:
            raise WorkerConfigError('rpc_workers > 0 but this entry point has no '
                                    'RPC manager')
        services.append(create_rpc_service(
            topic or os.environ.get('PROJECT_NAME', 'phoenix'), server, manager,
            serializer, counts['rpc']))
    if 'notification' in kinds and counts['notification'] > 0:
        if notification_endpoints is None:
            raise WorkerConfigError('notification_workers > 0 but this entry point '
                                    'has no notification endpoints')
        services.append(create_notification_service(
            notification_endpoints, serializer, counts['notification']))
    for item in services:
        item.prepare()
    return services


def serve(*services: Any, reload_fn: Callable[[], list[Any]] | None = None) -> int:
    """Run ``services`` in worker processes until stopped; return exit status."""
    if not services:
        LOG.error('Nothing to run: every worker count of this service is 0')
        return 2
    runner = launcher.ProcessLauncher(
        list(services),
        graceful_shutdown_timeout=lambda: CONF.graceful_shutdown_timeout,
        reload_fn=reload_fn, on_close=sockets.close_sockets)
    runner.launch()
    return runner.wait()


def run(topic: str | None = None, server: Any = None, manager: Any = None,
        serializer: Any = None, kinds: Sequence[str] = ('wsgi',),
        load_extra_backends_fn: Callable[[], Any] = lambda: {},
        args: Sequence[str] | None = None,
        notification_endpoints: Any = None) -> int:
    """Configure and serve the project named by PROJECT_NAME (see init_env).

    ``kinds`` are the worker kinds this entry point runs: ``apollo-api`` runs
    ``('wsgi', 'rpc', 'notification')``, ``apollo-periodic`` runs
    ``('periodic',)`` with ``manager``. RPC workers serve ``manager``'s public
    methods on ``topic`` (default: the project name) as ``server`` (default:
    the host name) with ``serializer``; notification workers hand
    notifications to ``notification_endpoints`` (a list or a factory of one).
    Both need ``transport_url`` (see :func:`get_workers`).
    """
    patching.defer_sighup()  # for entry points that did not call it first thing
    env = os.environ
    if 'PROJECT_NAME' not in env:
        utils.init_env()
    name = env['PROJECT_NAME']
    try:
        version = pbr.version.VersionInfo(name).version_string()
    except Exception:  # running from a tree without package metadata
        version = 'unknown'
    common.configure(version=version, config_files=utils.dev_config_files(),
                     pre_setup_logging_fn=configure_threading, args=args)

    def _create_services() -> list[Any]:
        return _build_services(kinds, manager, topic, server, serializer,
                               notification_endpoints)

    def _reload() -> list[Any]:
        common.reload_config()
        messaging.reset_clients()
        load_extra_backends_fn()
        services = _create_services()
        sockets.retain_sockets(a for s in services for a in s.addresses)
        return services

    try:
        _unused, services = common.setup_backends(
            load_extra_backends_fn=load_extra_backends_fn,
            startup_application_fn=_create_services)
    except (WorkerConfigError, messaging.MessagingConfigError, wsgi.PasteConfigError,
            OSError) as exc:
        LOG.error('%s', exc)
        return 2
    # sockets systemd kept from the last run for ports no longer configured
    sockets.retain_sockets(a for s in services for a in s.addresses)
    return serve(*services, reload_fn=_reload)
