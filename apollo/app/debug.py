"""Testing aid: delay a request by ``?sleep=<seconds>`` when the
``debug_slow_requests`` option is on (the graceful-shutdown process test needs
a request that is still in flight when SIGTERM arrives). Off by default; when
off the parameter is ignored entirely."""
from __future__ import annotations

import urllib.parse
from typing import Any, Callable, Iterable

import eventlet
from oslo_config import cfg

CONF = cfg.CONF
MAX_SLEEP = 60.0


class SlowRequests:
    def __init__(self, application: Any, **local_config: str) -> None:
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if CONF.debug_slow_requests and 'sleep=' in environ.get('QUERY_STRING', ''):
            values = urllib.parse.parse_qs(environ['QUERY_STRING']).get('sleep', [])
            try:
                seconds = min(float(values[0]), MAX_SLEEP) if values else 0.0
            except ValueError:
                seconds = 0.0
            if seconds > 0:
                eventlet.sleep(seconds)
        answer: Iterable[bytes] = self.application(environ, start_response)
        return answer


def filter_factory(global_config: dict[str, Any], **local_config: str) -> Callable[[Any], SlowRequests]:
    def _filter(app: Any) -> SlowRequests:
        return SlowRequests(app, **local_config)
    return _filter
