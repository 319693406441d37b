"""Every WSGI application listens and answers its checks.

A phoenix service's ports come from its *installed* config ([DEFAULT] port);
any other WSGI server's (uWSGI, pbr's wsgi script...) are the TCP sockets
its unit's processes listen on. The checks are the profile's
(``[unit:] GET /path -> status``) or the default (docs/verify.md).
"""
from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING

import pytest
from infra_helpers import (
    HttpCheck,
    Meta,
    configured_ports,
    listening_tcp_ports,
    sh,
    unit_diagnosis,
    unit_listen_addresses,
)

from phoenix_rpm.verify_profile import HttpProbe

if TYPE_CHECKING:
    from testinfra.host import Host

# Inside the box with its own python3: the box needs no curl. Prints the
# status code, whatever it is (urllib raises on >= 400).
PROBE = (
    "import sys, urllib.request, urllib.error\n"
    "try:\n"
    "    r = urllib.request.urlopen(urllib.request.Request(sys.argv[1], method=sys.argv[2]), timeout=5)\n"
    "    print(r.status)\n"
    "except urllib.error.HTTPError as e:\n"
    "    print(e.code)\n"
    "except Exception as e:\n"
    "    print('ERR', type(e).__name__, e)\n"
)

# How long a port may take to answer after the stage saw the units ready
# (a worker may still be forking): a short grace, not a long wait.
GRACE = 5.0


def _probe(host: Host, url: str, method: str = "GET") -> str:
    answer: str = sh(host, f"python3 -c {shlex.quote(PROBE)} {shlex.quote(url)} {method}").stdout.strip()
    return answer


def _targets(host: Host, http: HttpCheck) -> tuple[list[tuple[str, int]], str]:
    """(host, port) pairs to probe and where they came from (for messages)."""
    if http.discovered:
        addresses = unit_listen_addresses(host, [http.unit])[http.unit]
        return addresses, "the sockets its processes listen on"
    bind, ports = configured_ports(host, http)
    return [(bind, p) for p in ports], f"{http.config_file} [{http.section}] {http.port_option}"


def _url_host(bind: str) -> str:
    if bind in ("0.0.0.0", "", "*"):
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


def test_wsgi_ports_listening(host: Host, meta: Meta, http: HttpCheck) -> None:
    if http.discovered:
        addresses = unit_listen_addresses(host, [http.unit])[http.unit]
        if not addresses:
            pytest.fail(
                f"unit {http.unit}: listens on no TCP port (a WSGI application must serve HTTP; "
                f"its port never opened){unit_diagnosis(host, http.unit)}",
                pytrace=False,
            )
        return
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


def test_wsgi_answers_checks(host: Host, meta: Meta, http: HttpCheck) -> None:
    targets, origin = _targets(host, http)
    if not targets:
        pytest.fail(f"unit {http.unit}: no port to check ({origin}: none){unit_diagnosis(host, http.unit)}",
                    pytrace=False)
    probes = [HttpProbe(**p) for p in http.probes]
    listening = listening_tcp_ports(host)
    bad: dict[str, str] = {}
    for bind, port in targets:
        for probe in probes:
            url = f"http://{_url_host(bind)}:{port}{probe.path}"
            label = f"{probe.method} {url} (want {probe.expectation})"
            if port not in listening:
                bad[label] = "port not listening"
                continue
            deadline = time.monotonic() + GRACE
            while True:
                got = _probe(host, url, probe.method)
                if (got.isdigit() and probe.accepts(int(got))) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            if not (got.isdigit() and probe.accepts(int(got))):
                bad[label] = got or "no answer"
    if bad:
        if len(probes) == 1 and probes[0].status is not None:
            # one exact expectation: the short form admins grep for
            head = f"unit {http.unit}: {probes[0].method} {probes[0].path} did not return {probes[0].status}: "
            detail = "; ".join(f"{label.split(' ')[1]} -> {got}" for label, got in bad.items())
        else:
            head = f"unit {http.unit}: {len(bad)} check(s) failed: "
            detail = "; ".join(f"{label} -> {got}" for label, got in bad.items())
        pytest.fail(head + detail + unit_diagnosis(host, http.unit), pytrace=False)
