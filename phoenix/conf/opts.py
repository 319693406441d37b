"""Options every phoenix service has, by the names docs/framework.md ("Options") fixes.

Options are registered next to the code that reads them in spirit, but listed
here once so the sample config generator and ``configure()`` see one list.
"""
from __future__ import annotations

import copy
import os

from oslo_config import cfg, types

cli_opts = [
    cfg.BoolOpt('standard-threads', default=False,
                help='Do not monkey-patch the standard library with eventlet '
                     '(the entry point reads this flag before anything else).'),
    cfg.StrOpt('pydev-debug-host',
               help='Host of a pydev debug server to connect to at start.'),
    cfg.PortOpt('pydev-debug-port',
                help='Port of the pydev debug server.'),
]

server_opts = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       help='Address the HTTP service listens on.'),
    cfg.ListOpt('port', item_type=types.Port(), default=[8780],
                help='Ports the HTTP service listens on (a list: one '
                     'service listens on every port, with the same workers).'),
    cfg.IntOpt('backlog', default=4096, min=1,
               help='Listen backlog of each listening socket.'),
    cfg.IntOpt('max_workers', default=64, min=0,
               help='Upper bound for every *_workers option.'),
    cfg.IntOpt('wsgi_workers', min=0,
               help='Worker processes of the HTTP service '
                    '(default: the number of CPUs).'),
    cfg.IntOpt('periodic_workers', default=1, min=0,
               help='Worker processes of the periodic-task service.'),
    cfg.IntOpt('rpc_workers', min=0,
               help='Worker processes of the RPC server (oslo.messaging) of '
                    'the entry points that run one; needs transport_url '
                    '(default: 1 when transport_url is set, else 0).'),
    cfg.IntOpt('notification_workers', min=0,
               help='Worker processes of the notification listener of the '
                    'entry points that run one; needs transport_url '
                    '(default: 1 when transport_url is set, else 0).'),
    cfg.ListOpt('notification_topics', default=['notifications'],
                help='Topics the service emits notifications on and its '
                     'notification workers listen to.'),
    cfg.StrOpt('notification_pool',
               help='Listener pool of the notification workers: every pool '
                    'gets its own copy of each notification, workers of one '
                    'pool share them (default: the project name).'),
    cfg.IntOpt('graceful_shutdown_timeout', default=60, min=0,
               help='Seconds a stopping worker may spend finishing in-flight '
                    'requests; 0 waits without bound.'),
    cfg.StrOpt('api_paste_config', default='api-paste.ini',
               help='PasteDeploy file of the HTTP pipeline; a relative path '
                    'is looked up next to the config files.'),
    cfg.StrOpt('state_path', default='/var/lib/%s' % os.environ.get('PROJECT_NAME', 'phoenix'),
               sample_default='/var/lib/<project>',
               help='Directory of the service\'s persistent state.'),
    cfg.IntOpt('max_request_body_size', default=114688, min=0,
               help='Largest request body in bytes; bigger ones get 413.'),
    cfg.IntOpt('max_url_length', default=8192, min=256,
               help='Longest request line in bytes; longer ones get 414.'),
    cfg.IntOpt('max_header_line', default=16384, min=256,
               help='Longest header line in bytes.'),
    cfg.BoolOpt('wsgi_keep_alive', default=True,
                help='Keep idle HTTP/1.1 connections open between requests.'),
    cfg.IntOpt('client_socket_timeout', default=900, min=0,
               help='Seconds of client inactivity before a connection is '
                    'closed; 0 waits forever.'),
    cfg.IntOpt('wsgi_default_pool_size', default=1000, min=1,
               help='Concurrent requests each HTTP worker serves.'),
    cfg.BoolOpt('wsgi_access_log', default=True,
                help='Log one line per HTTP request at INFO level.'),
]


def messaging_opts() -> list[cfg.Opt]:
    """oslo.messaging's own [DEFAULT] options (transport_url,
    rpc_response_timeout, ...), the very objects it registers itself: an
    option registered twice must be equal, so phoenix cannot declare its own
    ``transport_url``. ``phoenix.conf.configure()`` registers them and makes
    ``transport_url`` default to None (oslo's default "rabbit://" would mean
    "localhost" and hide a missing setting; docs/framework.md)."""
    from oslo_messaging import opts as messaging
    return [opt for group, opts in messaging.list_opts() if group is None for opt in opts]


def sample_messaging_opts() -> list[cfg.Opt]:
    """Copies of :func:`messaging_opts` as the sample config shows them."""
    result = []
    for opt in messaging_opts():
        opt = copy.copy(opt)
        if opt.name == 'transport_url':
            opt.default = None
        result.append(opt)
    return result


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Options of the framework, for oslo-config-generator."""
    return [(None, cli_opts + server_opts + sample_messaging_opts())]
