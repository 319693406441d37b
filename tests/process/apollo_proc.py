"""Helpers of the process tests (a module name of its own: several test
directories have a conftest.py, so ``from conftest import`` is ambiguous)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASTE_INI = ROOT / 'etc' / 'apollo' / 'api-paste.ini'


def free_ports(count: int) -> list[int]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(('127.0.0.1', 0))
        socks.append(sock)
    ports = [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()
    return ports


def http(method: str, url: str, body: object = None, timeout: float = 10):
    """(status, parsed JSON body or None, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), response.headers
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, (json.loads(raw) if raw else None), exc.headers


def children_of(pid: int) -> set[int]:
    path = Path('/proc/%d/task/%d/children' % (pid, pid))
    try:
        return {int(p) for p in path.read_text().split()}
    except FileNotFoundError:
        return set()


def listening_inodes(ports: list[int]) -> dict[int, str]:
    """Socket inode of the LISTEN socket of each port (from /proc/net/tcp*)."""
    found: dict[int, str] = {}
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            port = int(fields[1].rsplit(':', 1)[1], 16)
            if fields[3] == '0A' and port in ports:  # 0A: LISTEN
                found[port] = fields[9]
    return found


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = ''):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what or predicate))


@dataclass
class Service:
    """A running apollo-api/apollo-periodic with its config and output."""

    proc: subprocess.Popen
    config: Path
    ports: list[int]
    log: Path
    state: Path
    extra: dict = field(default_factory=dict)

    def url(self, path: str = '/', port_index: int = 0) -> str:
        return 'http://127.0.0.1:%d%s' % (self.ports[port_index], path)

    def workers(self) -> set[int]:
        return children_of(self.proc.pid)

    def output(self) -> str:
        return self.log.read_text(errors='replace')

    def signal(self, signo: int) -> None:
        self.proc.send_signal(signo)

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            for pid in children_of(self.proc.pid):
                os.kill(pid, signal.SIGKILL)
            self.proc.wait(5)
            raise


def write_config(path: Path, state: Path, ports: list[int],
                 sections: dict[str, dict[str, object]] | None = None,
                 **options: object) -> None:
    values = {'bind_host': '127.0.0.1', 'port': ','.join(map(str, ports)),
              'wsgi_workers': 2, 'periodic_workers': 1, 'state_path': state,
              'api_paste_config': PASTE_INI, 'graceful_shutdown_timeout': 15,
              'debug_slow_requests': 'true', 'periodic_interval': 1}
    values.update(options)
    text = '[DEFAULT]\n' + ''.join('%s = %s\n' % kv for kv in values.items())
    for section, entries in (sections or {}).items():
        text += '[%s]\n' % section + ''.join('%s = %s\n' % kv for kv in entries.items())
    path.write_text(text)


def answers(service: Service, port_index: int) -> bool:
    if service.proc.poll() is not None:
        raise AssertionError('service exited with %s:\n%s' % (service.proc.returncode,
                                                              service.output()))
    try:
        return http('GET', service.url('/healthcheck', port_index), timeout=2)[0] == 200
    except OSError:
        return False


def recv_until(sock: socket.socket, wanted: str, timeout: float = 15) -> list[str]:
    """Messages received until one contains the line ``wanted``."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            message = sock.recv(4096).decode()
        except socket.timeout:
            break
        seen.append(message)
        if wanted in message.splitlines():
            return seen
    raise AssertionError('no %s among %r' % (wanted, seen))


def run_tool(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True,
                          text=True, timeout=timeout)
