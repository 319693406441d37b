"""What eventlet's HTTP server is given: the access log and the protocol.

Every answer of a phoenix API is JSON, errors included (docs/framework.md,
"The apollo HTTP API"). Some errors never reach the application: eventlet
and http.server answer a malformed request line, oversized headers or an
overlong URL themselves, with HTML or an empty body. The protocol here
answers those with the same JSON error body. The access log writes one line
per request without oslo.log's per-record cost.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

import eventlet.wsgi
from oslo_config import cfg

# The logger name these lines carried before server/service.py was split
# (docs/framework.md, "Module map"): kept, so default_log_levels and log
# filters that name it still match.
LOG = logging.getLogger('phoenix.server.service')
ACCESS_LOG = logging.getLogger('phoenix.wsgi.access')

#: index of the request counter in eventlet's connection state list
SERVED = 3


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
        self._handler: logging.StreamHandler[Any] | None = None
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


def _json_error(code: int, title: str, message: str) -> bytes:
    return json.dumps({'error': {'code': code, 'title': title,
                                 'message': message}}).encode('utf-8')


class JSONErrorProtocol(eventlet.wsgi.HttpProtocol):  # type: ignore[misc]  # eventlet ships no types
    """eventlet's protocol with JSON bodies for the errors it answers itself.

    http.server answers malformed request lines and oversized headers with an
    HTML page; clients of a JSON API should get JSON there too.
    """

    # http.server's attributes this class sets (its base is untyped for mypy)
    request_version: str
    close_connection: bool

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
            self.close_connection = True


def install_eventlet_limits(conf: cfg.ConfigOpts) -> None:
    body = _json_error(414, 'Request-URI Too Long',
                       'The request line is longer than %d bytes.' % conf.max_url_length)
    eventlet.wsgi.RESPONSE_414 = (
        b'HTTP/1.0 414 Request URI Too Long\r\nConnection: close\r\n'
        b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s'
        % (len(body), body))
    eventlet.wsgi.MAX_HEADER_LINE = conf.max_header_line
