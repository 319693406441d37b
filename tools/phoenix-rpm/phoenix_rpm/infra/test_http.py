"""Every WSGI service answers on every port of its *installed* config."""
from __future__ import annotations

import shlex
import time

import pytest
from infra_helpers import HttpCheck, Meta, configured_ports, listening_tcp_ports, sh, unit_diagnosis

# Inside the box with its own python3: the box needs no curl.
PROBE = (
    "import sys, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen(sys.argv[1], timeout=5)\n"
    "    print(r.status)\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
    "except Exception as e:\n"
    "    print('ERR', type(e).__name__, e)\n"
)


def _probe(host, url: str) -> str:
    return sh(host, f"python3 -c {shlex.quote(PROBE)} {shlex.quote(url)}").stdout.strip()


def test_wsgi_ports_listening(host, meta: Meta, http: HttpCheck) -> None:
    bind, ports = configured_ports(host, http)
    assert ports, f"{http.config_file}: [{http.section}] {http.port_option} lists no port"
    listening = listening_tcp_ports(host)
    if host.exists("ss") or host.exists("netstat"):
        # testinfra's own check, on the configured address (0.0.0.0 = any IPv4)
        missing = [p for p in ports if not host.socket(f"tcp://{bind}:{p}").is_listening]
    else:  # a minimal box: the kernel's table says the same
        missing = [p for p in ports if p not in listening]
    if missing:
        pytest.fail(
            f"unit {http.unit}: port(s) {', '.join(map(str, missing))} from {http.config_file} "
            f"[{http.section}] {http.port_option} not listening "
            f"(listening: {', '.join(map(str, sorted(listening))) or 'none'}){unit_diagnosis(host, http.unit)}",
            pytrace=False,
        )


def test_wsgi_healthcheck_returns_200(host, meta: Meta, http: HttpCheck) -> None:
    bind, ports = configured_ports(host, http)
    target = "127.0.0.1" if bind in ("0.0.0.0", "", "*") else ("[::1]" if bind == "::" else bind)
    bad = {}
    listening = listening_tcp_ports(host)
    for port in ports:
        url = f"http://{target}:{port}{http.healthcheck}"
        if port not in listening:
            bad[url] = "port not listening"
            continue
        # Type=notify: the unit counted as started once READY=1 was sent, but
        # a worker may still be forking: a short grace, not a long wait.
        deadline = time.monotonic() + 5
        while (got := _probe(host, url)) != "200" and time.monotonic() < deadline:
            time.sleep(0.3)
        if got != "200":
            bad[url] = got
    if bad:
        pytest.fail(
            f"unit {http.unit}: GET {http.healthcheck} did not return 200: "
            + "; ".join(f"{u} -> {g or 'no answer'}" for u, g in bad.items())
            + unit_diagnosis(host, http.unit),
            pytrace=False,
        )
