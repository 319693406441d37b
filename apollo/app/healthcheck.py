"""``GET /healthcheck``: is the state directory usable?

A paste filter at the front of the pipeline, in plain WSGI, because load
balancers and systemd-style probes call it constantly and it should cost
next to nothing (the benchmark measures exactly this path).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Iterable

from oslo_config import cfg

CONF = cfg.CONF
PATH = '/healthcheck'


def check_state_path(state_path: str, database_file: str | None = None) -> str | None:
    """None when usable, else a sentence saying what is wrong."""
    if not os.path.isdir(state_path):
        return 'state_path %s is not a directory' % state_path
    if not os.access(state_path, os.W_OK | os.X_OK):
        return 'state_path %s is not writable' % state_path
    if database_file and os.path.exists(database_file) \
            and not os.access(database_file, os.R_OK | os.W_OK):
        return 'database %s is not readable and writable' % database_file
    return None


class Healthcheck:
    def __init__(self, application: Any, **local_config: str) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get('PATH_INFO') != PATH:
            return self.application(environ, start_response)
        method = environ.get('REQUEST_METHOD')
        if method not in ('GET', 'HEAD'):
            body = json.dumps({'error': {'code': 405, 'title': 'Method Not Allowed',
                                         'message': 'Use GET or HEAD.'}}).encode()
            start_response('405 Method Not Allowed', [
                ('Content-Type', 'application/json'), ('Allow', 'GET, HEAD'),
                ('Content-Length', str(len(body)))])
            return [body]
        problem = check_state_path(CONF.state_path, CONF.database_file)
        if problem is None:
            status, payload = '200 OK', {'status': 'ok', 'state_path': CONF.state_path}
        else:
            status = '503 Service Unavailable'
            payload = {'status': 'error', 'state_path': CONF.state_path, 'reason': problem}
        body = json.dumps(payload).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(body)))])
        return [] if method == 'HEAD' else [body]


def filter_factory(global_config: dict, **local_config: str) -> Callable[[Any], Healthcheck]:
    def _filter(app: Any) -> Healthcheck:
        return Healthcheck(app, **local_config)
    return _filter
