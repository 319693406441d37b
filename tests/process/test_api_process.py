"""apollo-api as a real process: ports, workers, signals, systemd notify."""
from __future__ import annotations

import os
import signal
import socket
import threading
import time

from apollo_proc import answers, free_ports, http, listening_inodes, recv_until, wait_for


def test_both_ports_answer_with_two_workers_and_share_data(start):
    api = start()
    assert len(api.workers()) == 2
    for index in (0, 1):
        status, body, _ = http('GET', api.url('/healthcheck', index))
        assert (status, body['status']) == (200, 'ok')
    status, body, _ = http('POST', api.url('/v1/items', 0), {'name': 'shared', 'value': 42})
    assert status == 201
    status, body, _ = http('GET', api.url('/v1/items/%s' % body['item']['id'], 1))
    assert status == 200 and body['item']['value'] == 42
    output = api.output()
    assert 'Traceback' not in output
    # eventlet's import-time deprecation warning stays out of the journal.
    assert 'Warning' not in output and 'deprecated' not in output, output


def test_ready_is_sent_once_all_listeners_are_open(start, notify_socket):
    path, sock = notify_socket
    api = start(env={'NOTIFY_SOCKET': path}, wait=False)
    messages = recv_until(sock, 'READY=1')
    # READY=1 means every port accepts connections right now.
    for port in api.ports:
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
    assert any('MAINPID=%d' % api.proc.pid in m for m in messages)
    assert api.stop() == 0
    recv_until(sock, 'STOPPING=1')


def test_abstract_notify_socket_and_watchdog(start):
    name = 'apollo-test-%d' % os.getpid()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind('\0' + name)
    try:
        start(env={'NOTIFY_SOCKET': '@' + name, 'WATCHDOG_USEC': '400000'}, wait=False)
        recv_until(sock, 'READY=1')
        recv_until(sock, 'WATCHDOG=1', timeout=3)
        recv_until(sock, 'WATCHDOG=1', timeout=3)
    finally:
        sock.close()


def test_killed_worker_is_respawned_and_service_keeps_answering(start):
    api = start()
    before = api.workers()
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    after = wait_for(lambda: (lambda w: w if len(w) == 2 and victim not in w else None)(
        api.workers()), 5, interval=0.02, what='a respawned worker')
    assert time.monotonic() - killed_at < 1.0  # the contract: respawn within 1 s
    assert victim not in after and len(after & before) == 1
    for _ in range(20):
        for index in (0, 1):
            assert http('GET', api.url('/healthcheck', index))[0] == 200
    assert 'respawning' in api.output()


def test_sigterm_lets_an_in_flight_request_finish_and_exits_zero(start):
    api = start()
    result = {}

    def slow_request():
        result['response'] = http('GET', api.url('/?sleep=2'), timeout=20)
    thread = threading.Thread(target=slow_request)
    thread.start()
    time.sleep(0.7)  # the request is inside the worker now
    sent = time.monotonic()
    api.signal(signal.SIGTERM)
    def refusing() -> bool:
        try:
            socket.create_connection(('127.0.0.1', api.ports[1]), timeout=1).close()
            return False
        except OSError:
            return True
    thread.join(20)
    status = api.proc.wait(20)
    assert status == 0
    assert result['response'][0] == 200, result
    assert result['response'][1]['service'] == 'apollo'
    assert time.monotonic() - sent >= 1.0  # it waited for the request
    assert refusing()  # every listener closed with the process: nothing left behind
    assert 'Traceback' not in api.output()


def test_sigterm_is_bounded_by_graceful_shutdown_timeout(start):
    api = start(graceful_shutdown_timeout=1)
    thread = threading.Thread(target=lambda: _ignore_errors(
        lambda: http('GET', api.url('/?sleep=30'), timeout=30)))
    thread.start()
    time.sleep(0.7)
    sent = time.monotonic()
    api.signal(signal.SIGTERM)
    assert api.proc.wait(15) == 0
    assert time.monotonic() - sent < 8
    thread.join(30)


def _ignore_errors(fn):
    try:
        fn()
    except OSError:
        pass


def test_sighup_applies_a_changed_option_and_keeps_pid_and_sockets(start, notify_socket):
    path, sock = notify_socket
    api = start(env={'NOTIFY_SOCKET': path})
    recv_until(sock, 'READY=1')
    status, body, _ = http('GET', api.url('/'))
    assert body['versions'][0]['links'][0]['href'].startswith('http://127.0.0.1:')
    old_workers = api.workers()
    sockets_before = listening_inodes(api.ports)
    assert len(sockets_before) == 2
    assert 'DEBUG' not in api.output()
    text = (api.config.read_text() + 'public_endpoint = https://apollo.example.test\n'
            + 'debug = true\n')
    api.config.write_text(text)
    api.signal(signal.SIGHUP)
    recv_until(sock, 'READY=1')

    def endpoint_changed():
        href = http('GET', api.url('/', 1))[1]['versions'][0]['links'][0]['href']
        return href == 'https://apollo.example.test/v1/'
    wait_for(endpoint_changed, 10, what='the new public_endpoint in GET /')
    assert api.proc.poll() is None  # same main PID, still running
    assert listening_inodes(api.ports) == sockets_before  # the very same sockets
    wait_for(lambda: len(api.workers()) == 2 and not (api.workers() & old_workers), 10,
             what='old workers replaced')
    assert http('GET', api.url('/healthcheck', 0))[0] == 200
    assert 'Configuration reloaded' in api.output()
    # The log level changed too: the option dump is logged at DEBUG.
    wait_for(lambda: 'DEBUG phoenix.server.common' in api.output(), 5, what='debug lines')


def test_sighup_binds_added_ports_and_closes_removed_ones(start):
    api = start()
    kept, dropped = api.ports
    added = free_ports(1)[0]
    api.config.write_text(api.config.read_text().replace(
        'port = %d,%d' % (kept, dropped), 'port = %d,%d' % (kept, added)))
    api.signal(signal.SIGHUP)
    wait_for(lambda: _healthy(added), 10, what='the added port to answer')
    assert _healthy(kept)
    wait_for(lambda: not _healthy(dropped), 10, what='the removed port to close')


def _healthy(port: int) -> bool:
    try:
        return http('GET', 'http://127.0.0.1:%d/healthcheck' % port, timeout=2)[0] == 200
    except OSError:
        return False


def test_sighup_with_a_broken_config_keeps_serving(start):
    api = start()
    old_workers = api.workers()
    api.config.write_text(api.config.read_text() + 'wsgi_workers = lots\n')
    api.signal(signal.SIGHUP)
    wait_for(lambda: 'Reload failed' in api.output(), 10, what='reload failure logged')
    assert api.workers() == old_workers
    assert http('GET', api.url('/healthcheck'))[0] == 200


def test_bad_requests_get_json_errors_from_the_real_server(start):
    api = start(max_request_body_size=1024)
    cases = [
        ('POST', '/v1/items', b'{"name": ', 400),
        ('POST', '/v1/items', b'{"name": "\xff"}', 400),
        ('POST', '/v1/items', b'{"name": ["x"]}', 400),
        ('POST', '/v1/items', b'{"name": "' + b'x' * 2000 + b'"}', 413),
        ('GET', '/v1/items/..%2F..%2Fetc%2Fpasswd', None, 404),
        ('DELETE', '/v1/items', None, 405),
        ('BREW', '/v1/items', None, 405),
        ('GET', '/' + 'a' * 9000, None, 414),
    ]
    for method, path, data, expected in cases:
        conn = socket.create_connection(('127.0.0.1', api.ports[0]), timeout=5)
        request = b'%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' % (
            method.encode(), path.encode())
        if data is not None:
            request += b'Content-Type: application/json\r\nContent-Length: %d\r\n' % len(data)
        conn.sendall(request + b'\r\n' + (data or b''))
        raw = b''
        while chunk := conn.recv(65536):
            raw += chunk
        conn.close()
        head, _, body = raw.partition(b'\r\n\r\n')
        status = int(head.split()[1])
        assert status == expected, (method, path, raw[:300])
        assert b'"error"' in body and b'Traceback' not in body, raw[:300]
    # A chunked body has no Content-Length: the limit applies while reading.
    conn = socket.create_connection(('127.0.0.1', api.ports[1]), timeout=5)
    body = b'{"name": "' + b'y' * 3000 + b'"}'
    chunks = b''.join(b'%x\r\n%s\r\n' % (len(body[i:i + 500]), body[i:i + 500])
                      for i in range(0, len(body), 500)) + b'0\r\n\r\n'
    conn.sendall(b'POST /v1/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                 b'Transfer-Encoding: chunked\r\n\r\n' + chunks)
    raw = b''
    while chunk := conn.recv(65536):
        raw += chunk
    conn.close()
    assert raw.split()[1] == b'413', raw[:300]
    assert b'"error"' in raw
    status, _, _ = http('POST', api.url('/v1/items'), {'name': 'dup'})
    assert status == 201
    assert http('POST', api.url('/v1/items'), {'name': 'dup'})[0] == 409
    assert 'Traceback' not in api.output()


def test_rpc_workers_without_transport_fail_with_a_clear_message(start):
    api = start(wait=False, rpc_workers=1)
    assert api.proc.wait(15) == 2
    assert 'transport_url' in api.output()
    assert 'Traceback' not in api.output()


def test_port_in_use_fails_the_start(start):
    blocker = socket.socket()
    blocker.bind(('127.0.0.1', 0))
    blocker.listen()
    try:
        api = start(wait=False, port=blocker.getsockname()[1])
        assert api.proc.wait(15) == 2
        assert 'Address already in use' in api.output()
        assert 'Traceback' not in api.output()
    finally:
        blocker.close()


def test_standard_threads_flag_runs_unpatched(start):
    api = start(args=['--standard-threads'])
    assert http('GET', api.url('/healthcheck', 1))[0] == 200
    assert api.stop() == 0


def _catches(pid: int, signo: int) -> bool:
    for line in open('/proc/%d/status' % pid):
        if line.startswith('SigCgt:'):
            return bool(int(line.split()[1], 16) & (1 << (signo - 1)))
    return False


def test_sighup_during_start_up_is_a_reload_once_ready(start, notify_socket):
    """SIGHUP's default action ends a process; one that arrives while the
    service is still loading its config must not kill it."""
    path, sock = notify_socket
    api = start(env={'NOTIFY_SOCKET': path}, wait=False)
    wait_for(lambda: _catches(api.proc.pid, signal.SIGHUP), 10, interval=0.001,
             what='the entry point to catch SIGHUP')
    sock.setblocking(False)
    try:
        early = sock.recv(4096).decode()
    except BlockingIOError:
        early = ''
    assert 'READY=1' not in early, 'too late to test: the service was already ready'
    api.signal(signal.SIGHUP)
    recv_until(sock, 'READY=1')              # started, then reloaded: READY again
    recv_until(sock, 'READY=1')
    assert api.proc.poll() is None, api.output()
    for index in range(len(api.ports)):
        wait_for(lambda index=index: answers(api, index), 10, what='port %d' % api.ports[index])
    assert 'A SIGHUP came during start-up: reloading now' in api.output()
    assert api.stop() == 0
