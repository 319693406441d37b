"""``GET /healthcheck``: is the state directory usable?

A paste filter at the front of the pipeline, in plain WSGI, because load
balancers and systemd-style probes call it constantly and it should cost
next to nothing (the benchmark measures exactly this path).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Callable, Iterable

from oslo_config import cfg

CONF = cfg.CONF
PATH = '/healthcheck'
#: seconds a check result is reused: probes may come thousands of times a
#: second, and a state directory does not change that fast
CHECK_TTL = 0.5


def check_state_path(state_path: str, database_file: str | None = None) -> str | None:
    """None when usable, else a sentence saying what is wrong.

    Two access(2) calls on the healthy path: it runs on every probe.
    """
    if not os.access(state_path, os.W_OK | os.X_OK):
        if not os.path.isdir(state_path):
            return 'state_path %s is not a directory' % state_path
        return 'state_path %s is not writable' % state_path
    if database_file and not os.access(database_file, os.R_OK | os.W_OK) \
            and os.path.exists(database_file):
        return 'database %s is not readable and writable' % database_file
    return None


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


class Healthcheck:
    """Answers /healthcheck, passes everything else on.

    The options are read when the pipeline is built: a SIGHUP reload builds a
    new pipeline, so they stay current without a lookup per probe.
    """

    def __init__(self, application: Any, **local_config: str) -> None:
        self.application = application
        self.state_path = CONF.state_path
        self.database_file = CONF.database_file
        self.ok_body = _json({'status': 'ok', 'state_path': self.state_path})
        self.ok_headers = [('Content-Type', 'application/json'),
                           ('Content-Length', str(len(self.ok_body)))]
        self._checked_at = -CHECK_TTL
        self._problem: str | None = None

    def problem(self) -> str | None:
        now = time.monotonic()
        if now - self._checked_at >= CHECK_TTL:
            self._problem = check_state_path(self.state_path, self.database_file)
            self._checked_at = now
        return self._problem

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get('PATH_INFO') != PATH:
            passed: Iterable[bytes] = self.application(environ, start_response)
            return passed
        method = environ.get('REQUEST_METHOD')
        if method not in ('GET', 'HEAD'):
            body = _json({'error': {'code': 405, 'title': 'Method Not Allowed',
                                    'message': 'Use GET or HEAD.'}})
            start_response('405 Method Not Allowed', [
                ('Content-Type', 'application/json'), ('Allow', 'GET, HEAD'),
                ('Content-Length', str(len(body)))])
            return [body]
        problem = self.problem()
        if problem is None:
            start_response('200 OK', list(self.ok_headers))
            return [] if method == 'HEAD' else [self.ok_body]
        body = _json({'status': 'error', 'state_path': self.state_path, 'reason': problem})
        start_response('503 Service Unavailable', [('Content-Type', 'application/json'),
                                                   ('Content-Length', str(len(body)))])
        return [] if method == 'HEAD' else [body]


def filter_factory(global_config: dict[str, Any], **local_config: str) -> Callable[[Any], Healthcheck]:
    def _filter(app: Any) -> Healthcheck:
        return Healthcheck(app, **local_config)
    return _filter
