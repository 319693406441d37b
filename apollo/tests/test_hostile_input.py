"""Hostile requests the ops scenario (tests/ops, issue 7) found answered badly:
a JSON recursion bomb was a 500, and eventlet's own 400s for a bad
Content-Length or an overlong header line had no JSON body."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

from apollo.tests.test_items_api import app, call  # noqa: F401  (fixture)


def test_deeply_nested_json_is_a_400_not_a_500(app):  # noqa: F811
    body = b'{"item": {"name": "deep", "value": ' + b'[' * 50000 + b']' * 50000 + b'}}'
    response = call(app, '/v1/items', method='POST', body=body)
    assert response.status_int == 400
    assert response.json['error']['message'] == 'The request body is nested too deeply.'


SERVER = textwrap.dedent('''
    import sys, eventlet, eventlet.wsgi
    from phoenix.server.protocol import JSONErrorProtocol
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [b'{}']
    sock = eventlet.listen(('127.0.0.1', 0))
    print(sock.getsockname()[1], flush=True)
    eventlet.wsgi.server(sock, app, protocol=JSONErrorProtocol, log_output=False)
''')


@pytest.fixture(scope='module')
def server_port():
    proc = subprocess.Popen([sys.executable, '-W', 'ignore', '-c', SERVER],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()


def _send(port: int, raw: bytes) -> tuple[int, dict]:
    with socket.create_connection(('127.0.0.1', port), timeout=5) as conn:
        conn.sendall(raw)
        data = b''
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize('headers, message', [
    (b'Content-Length: lots\r\n', 'Content-Length is not a non-negative integer.'),
    (b'Content-Length: -5\r\n', 'Content-Length is not a non-negative integer.'),
    (b'Content-Length: 2\r\nTransfer-Encoding: chunked\r\n',
     'Content-Length and Transfer-Encoding are not allowed together.'),
    (b'X-Big: ' + b'h' * 9000 + b'\r\n', 'A header line is longer than 8192 bytes.'),
])
def test_requests_eventlet_rejects_get_a_json_400(server_port, headers, message):
    status, body = _send(server_port, b'POST / HTTP/1.1\r\nHost: x\r\n' + headers + b'\r\n{}')
    assert status == 400
    assert body['error']['message'] == message


def test_a_good_request_still_passes_the_protocol(server_port):
    status, body = _send(server_port, b'POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                                      b'Content-Length: 2\r\n\r\n{}')
    assert (status, body) == (200, {})


@pytest.mark.parametrize('line', [b'HELLO THERE WORLD', b'GET / HTTP/x.y', b'GET'])
def test_an_unparsable_request_line_gets_a_status_line_and_json(server_port, line):
    status, body = _send(server_port, line + b'\r\n\r\n')
    assert status == 400
    assert body['error']['code'] == 400
