"""Whatever a service listens on must not answer a plain GET / with a server error.

test_http.py checks the WSGI services (their configured or discovered ports,
the profile's or the default checks). Every unit is judged here too, HTTP
service or not: its listening TCP sockets (infra_helpers.unit_listen_addresses)
each get ``GET /``. A 5xx (a broken application answering 500 on every
request) fails; any other status, or a port that does not speak HTTP, passes:
the service is up and not failing its requests (docs/verify.md).
"""
from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

import pytest
from infra_helpers import Meta, sh, unit_diagnosis, unit_listen_addresses

if TYPE_CHECKING:
    from testinfra.host import Host

# One GET / per address, in the box (python3): the status, or why there is none.
GET_PY = r"""
import json, socket, sys

out = []
for ip, port in json.loads(sys.argv[1]):
    ip = {"0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}.get(ip, ip)
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect((ip, port))
            s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\nUser-Agent: phoenix-verify\r\n\r\n")
            # Read the whole answer (HTTP/1.0: the server closes): closing
            # first would reset the connection under the server, whose
            # traceback would then fail the journal check.
            data = b""
            while len(data) < 1 << 20:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break  # a protocol that keeps the connection open: judge what came
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        out.append([ip, port, "no answer (%s)" % exc])
        continue
    parts = data[:64].decode("latin-1").split()
    ok = len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit()
    out.append([ip, port, parts[1] if ok else "not HTTP"])
print(json.dumps(out))
"""


def unit_listeners(host: Host, units: list[str]) -> dict[str, list[list[Any]]]:
    """unit -> [[address, port, status of GET / or why none]] for every listening TCP socket."""
    found = unit_listen_addresses(host, units)
    out: dict[str, list[list[Any]]] = {}
    for unit, addresses in found.items():
        if not addresses:
            out[unit] = []
            continue
        probe = sh(host, f"python3 -c {shlex.quote(GET_PY)} {shlex.quote(json.dumps(addresses))}")
        assert probe.rc == 0, f"GET / probe failed in the box: {probe.stderr.strip()[-2000:]}"
        out[unit] = json.loads(probe.stdout)
    return out


def test_listening_ports_answer_without_server_error(host: Host, meta: Meta) -> None:
    listeners = unit_listeners(host, meta.units) if meta.units else {}
    if not any(listeners.values()):
        pytest.skip(f"no service of package {meta.package} listens on a TCP port: nothing to probe "
                    "(a service that should serve must listen once started)")
    bad = [(unit, f"http://{ip}:{port}/ -> {status}")
           for unit, socks in listeners.items() for ip, port, status in socks
           if status.isdigit() and int(status) >= 500]
    if bad:
        pytest.fail("server error on GET /: " + "; ".join(f"unit {u}: {what}" for u, what in bad)
                    + unit_diagnosis(host, bad[0][0]), pytrace=False)
