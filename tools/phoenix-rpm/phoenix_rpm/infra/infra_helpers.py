"""Data and helpers of the box-side testinfra suite (imported by conftest and tests).

Kept out of conftest.py so the tests can import them by name; nothing here is
specific to apollo: the package's facts come from the verify metadata file.
"""
from __future__ import annotations

import configparser
import shlex
from typing import Any

import pytest

from phoenix_rpm.verify_plan import HttpCheck, VerifyPlan


# The metadata the verify stage writes (dist/verify-plan.json): one class for
# both sides, so the suite reads exactly what the stage wrote.
Meta = VerifyPlan


# --- helpers the tests share -------------------------------------------------


def sh(host: Any, cmd: str) -> Any:
    """Run a shell command in the box; never raises on a non-zero exit."""
    return host.run(cmd)


def unit_diagnosis(host: Any, unit: str, lines: int = 15) -> str:
    """What an admin would look at first: systemctl status and the journal tail."""
    q = shlex.quote(unit)
    status = sh(host, f"systemctl status --no-pager --lines=0 {q} 2>&1").stdout.strip()
    journal = sh(host, f"journalctl -u {q} --no-pager -o cat -n {lines} 2>&1").stdout.strip()
    return f"\n--- systemctl status {unit} ---\n{status}\n--- journalctl -u {unit} (last {lines}) ---\n{journal}"


def installed_config(host: Any, path: str) -> configparser.ConfigParser:
    """The config as installed in the box (interpolation off: values stay raw)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(host.file(path).content_string, source=path)
    return parser


def configured_ports(host: Any, http: HttpCheck) -> tuple[str, list[int]]:
    """(bind host, ports) of one WSGI service, from its installed config file."""
    cfg = installed_config(host, http.config_file)
    section = cfg.defaults() if http.section == "DEFAULT" else cfg[http.section]
    raw = section.get(http.port_option)
    if raw is None:
        pytest.fail(f"{http.config_file}: [{http.section}] {http.port_option} is not set; "
                    f"{http.unit} has no port to check")
    ports = [int(p) for p in raw.replace(",", " ").split()]
    bind = section.get(http.host_option, "0.0.0.0").strip() or "0.0.0.0"
    return bind, ports


def listening_tcp_ports(host: Any) -> set[int]:
    """TCP ports in LISTEN state, from /proc/net (no ss/netstat needed in the box)."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        out = sh(host, f"cat {table} 2>/dev/null").stdout
        for line in out.splitlines()[1:]:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # 0A = TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
