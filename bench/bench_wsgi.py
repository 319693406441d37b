#!/usr/bin/env python3
"""Requests/s of apollo-api ``GET /healthcheck`` against a bare eventlet.wsgi
hello-world with the same worker count, both started in this run, load from
wrk on loopback. Prints both figures and apollo/bare (target >= 0.8).

    .venv/bin/python bench/bench_wsgi.py [--workers 2] [--duration 10]
                                         [--connections 50] [--threads 1] [--rounds 1]

Both servers log one access line per request to /dev/null (eventlet's default
for the bare server, phoenix's ``wsgi_access_log`` for apollo), so the
comparison is the framework's cost, not a logging difference.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def serve_hello(port: int, workers: int) -> None:
    """The baseline: pre-forked eventlet.wsgi workers sharing one socket."""
    import warnings
    warnings.filterwarnings('ignore')
    import eventlet
    eventlet.monkey_patch()
    import eventlet.hubs
    import eventlet.wsgi

    def hello(environ, start_response):
        body = b'{"status": "ok"}'
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]

    sock = eventlet.listen(('127.0.0.1', port), backlog=4096, reuse_port=False)
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            eventlet.hubs.use_hub()
            signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
            eventlet.wsgi.server(sock, hello, debug=False)
            os._exit(0)
        children.append(pid)

    def stop(*_):
        for child in children:
            os.kill(child, signal.SIGTERM)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    while True:
        signal.pause()


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit('server exited with %s before answering %s' % (proc.returncode, url))
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit('%s did not answer within %ss' % (url, timeout))


def tree_cpu_seconds(pid: int) -> float:
    """utime+stime of a server process and its workers (from /proc).

    Other load on the machine changes requests/s a lot but CPU per request
    very little, so both are reported."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0.0
    pids = [pid]
    try:
        children = open('/proc/%d/task/%d/children' % (pid, pid)).read().split()
    except OSError:
        children = []
    pids += [int(c) for c in children]
    for one in pids:
        try:
            fields = open('/proc/%d/stat' % one).read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def run_wrk(url: str, args: argparse.Namespace, pid: int) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request)."""
    cmd = ['wrk', '-t%d' % args.threads, '-c%d' % args.connections,
           '-d%ds' % args.duration, '--latency', url]
    cpu_before = tree_cpu_seconds(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = tree_cpu_seconds(pid) - cpu_before
    match = re.search(r'Requests/sec:\s+([\d.]+)', out)
    if not match:
        raise SystemExit('cannot read wrk output:\n' + out)
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    if errors:
        raise SystemExit('%s: %s non-2xx responses' % (url, errors.group(1)))
    total = re.search(r'(\d+) requests in', out)
    rate = float(match.group(1))
    requests = int(total.group(1)) if total else rate * args.duration
    return rate, cpu / max(requests, 1) * 1e6


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def start_bare(workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, '--serve-hello', str(port),
                             '--workers', str(workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d/' % port
    wait_ready(url, proc)
    return proc, url


def start_apollo(workers: int, tmp: str, options: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = os.path.join(tmp, 'apollo.conf')
    with open(config, 'w') as handle:
        handle.write('[DEFAULT]\nbind_host = 127.0.0.1\nport = %d\nwsgi_workers = %d\n'
                     'state_path = %s\napi_paste_config = %s\n'
                     % (port, workers, os.path.join(tmp, 'state'),
                        ROOT / 'etc' / 'apollo' / 'api-paste.ini'))
        handle.write(''.join('%s\n' % option.replace('=', ' = ', 1) for option in options))
    proc = subprocess.Popen([str(BIN / 'apollo-api'), '--config-file', config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d/healthcheck' % port
    wait_ready(url, proc)
    return proc, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--duration', type=int, default=10, help='seconds per wrk run')
    parser.add_argument('--connections', type=int, default=50)
    parser.add_argument('--threads', type=int, default=1, help='wrk threads')
    parser.add_argument('--rounds', type=int, default=1,
                        help='alternate bare/apollo this many times; the best of each counts')
    parser.add_argument('--apollo-option', action='append', default=[], metavar='NAME=VALUE',
                        help='extra [DEFAULT] option for apollo-api (repeatable)')
    parser.add_argument('--serve-hello', type=int, metavar='PORT', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_hello:
        serve_hello(args.serve_hello, args.workers)
        return 0
    if not shutil.which('wrk'):
        print('wrk is not installed (tools/lib-env.sh installs it)', file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix='bench-wsgi-')
    bare_proc, bare_url = start_bare(args.workers)
    apollo_proc, apollo_url = start_apollo(args.workers, tmp, args.apollo_option)
    bare, apollo = [], []
    try:
        for index in range(args.rounds):
            # Alternate the order so a load change on the machine hits both.
            pair = [(bare, bare_url, bare_proc), (apollo, apollo_url, apollo_proc)]
            for results, url, proc in (pair if index % 2 == 0 else pair[::-1]):
                results.append(run_wrk(url, args, proc.pid))
    finally:
        stop(bare_proc)
        stop(apollo_proc)
        shutil.rmtree(tmp, ignore_errors=True)
    best_bare = max(rate for rate, _ in bare)
    best_apollo = max(rate for rate, _ in apollo)
    cpu_bare = min(cpu for _, cpu in bare)
    cpu_apollo = min(cpu for _, cpu in apollo)
    ratio = best_apollo / best_bare
    print('workers=%d connections=%d duration=%ds rounds=%d cpus=%d load=%.2f' % (
        args.workers, args.connections, args.duration, args.rounds, os.cpu_count(),
        os.getloadavg()[0]))
    print('bare eventlet.wsgi hello world : %10.1f req/s  %6.1f us CPU/req  (runs: %s)' % (
        best_bare, cpu_bare, ', '.join('%.0f' % r for r, _ in bare)))
    print('apollo-api GET /healthcheck    : %10.1f req/s  %6.1f us CPU/req  (runs: %s)' % (
        best_apollo, cpu_apollo, ', '.join('%.0f' % r for r, _ in apollo)))
    print('ratio apollo/bare (req/s, best): %10.2f  (target >= 0.80: %s)' % (
        ratio, 'met' if ratio >= 0.8 else 'NOT met'))
    print('ratio bare/apollo (CPU per req): %10.2f' % (cpu_bare / cpu_apollo))
    return 0


if __name__ == '__main__':
    sys.exit(main())
