"""Paste filters every phoenix pipeline wants.

They are plain WSGI callables (not WebOb-wrapped) because they run on every
request, health checks included, and the benchmark counts each layer.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any, Callable, Iterable, Iterator

from oslo_config import cfg

from phoenix import exception, wsgi

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

StartResponse = wsgi.StartResponse
Environ = wsgi.Environ
App = wsgi.App


def _filter_factory(cls: type) -> Callable[..., Callable[[Any], Any]]:
    def factory(global_config: dict[str, Any], **local_config: str) -> Callable[[Any], Any]:
        def _filter(app: Any) -> Any:
            return cls(app, **local_config)
        return _filter
    return factory


def _error(exc: BaseException, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """This layer's answer: the JSON error response for ``exc`` (phoenix.wsgi.fault)."""
    response: App = wsgi.fault(exc)
    return response(environ, start_response)


class FaultWrapper:
    """Last line of defence: any exception below becomes a JSON 500."""

    def __init__(self, application: App, **local_config: str) -> None:
        self.application = application

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self.application(environ, start_response)
        except Exception as exc:
            return _error(exc, environ, start_response)


class RequestId:
    """Gives each request an id (``phoenix.request_id``) and echoes it back."""

    HEADER = 'X-Openstack-Request-Id'

    def __init__(self, application: App, **local_config: str) -> None:
        self.application = application

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request_id = 'req-%s' % uuid.uuid4()
        environ['phoenix.request_id'] = request_id

        def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((self.HEADER, request_id))
            return start_response(status, headers, exc_info)
        return self.application(environ, _start_response)


class LimitingReader:
    """Wraps wsgi.input: reading past ``limit`` bytes raises 413.

    Needed for chunked bodies, whose size is not known from Content-Length.
    """

    def __init__(self, data: Any, limit: int) -> None:
        self.data = data
        self.limit = limit
        self.bytes_read = 0

    def _count(self, chunk: bytes) -> bytes:
        self.bytes_read += len(chunk)
        if self.bytes_read > self.limit:
            raise exception.RequestEntityTooLarge(
                'The request body is larger than %d bytes.' % self.limit)
        return chunk

    def read(self, size: int | None = None) -> bytes:
        if size is None or size < 0:
            return self._count(self.data.read(self.limit + 1 - self.bytes_read))
        return self._count(self.data.read(min(size, self.limit + 1 - self.bytes_read)))

    def readline(self, size: int | None = None) -> bytes:
        return self._count(self.data.readline(size if size is not None else self.limit + 1))

    def __iter__(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(65536)
            if not chunk:
                return
            yield chunk


class SizeLimit:
    """413 for bodies over ``[DEFAULT] max_request_body_size`` (0 = no limit)."""

    def __init__(self, application: App, **local_config: str) -> None:
        self.application = application

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        limit = CONF.max_request_body_size
        if limit:
            length = environ.get('CONTENT_LENGTH')
            if length:
                try:
                    too_big = int(length) > limit
                except ValueError:
                    return _error(exception.BadRequest('Content-Length is not a number.'),
                                  environ, start_response)
                if too_big:
                    return _error(exception.RequestEntityTooLarge(
                        'The request body is larger than %d bytes.' % limit), environ, start_response)
            elif 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
                environ['wsgi.input'] = LimitingReader(environ['wsgi.input'], limit)
        return self.application(environ, start_response)


faultwrap_factory = _filter_factory(FaultWrapper)
request_id_factory = _filter_factory(RequestId)
sizelimit_factory = _filter_factory(SizeLimit)
