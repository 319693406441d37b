"""Data and helpers of the box-side testinfra suite (imported by conftest and tests).

Kept out of conftest.py so the tests can import them by name; nothing here is
specific to apollo: the package's facts come from the verify metadata file.
"""
from __future__ import annotations

import configparser
import json
import shlex
import time
from typing import Any, Protocol

import pytest

from phoenix_rpm import boxprobes, tracebacks
from phoenix_rpm.verify_plan import HttpCheck, VerifyPlan

# The metadata the verify stage writes (dist/verify-plan.json): one class for
# both sides, so the suite reads exactly what the stage wrote.
Meta = VerifyPlan


# --- helpers the tests share -------------------------------------------------


class CommandResult(Protocol):
    """What testinfra's ``host.run`` returns (testinfra ships no types): the fields the suite reads."""

    @property
    def rc(self) -> int: ...

    @property
    def stdout(self) -> str: ...

    @property
    def stderr(self) -> str: ...


def sh(host: Any, cmd: str) -> CommandResult:
    """Run a shell command in the box; never raises on a non-zero exit."""
    result: CommandResult = host.run(cmd)
    return result


def unit_journal(host: Any, unit: str) -> str:
    return sh(host, f"journalctl -u {shlex.quote(unit)} --no-pager -o cat 2>&1").stdout


def first_traceback(host: Any, unit: str) -> list[str]:
    """The unit's first traceback, from the lines of the one process that wrote it.

    Workers that crash together interleave their tracebacks line by line in
    the unit's journal; the journal knows each line's _PID, so the one
    traceback is put back together.
    """
    out = sh(host, f"journalctl -u {shlex.quote(unit)} --no-pager -o json --output-fields=MESSAGE,_PID 2>/dev/null")
    entries: list[tuple[str, str]] = []
    for line in out.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("MESSAGE")
        if isinstance(message, list):   # journald's byte-array form of non-UTF-8 text
            message = bytes(message).decode("utf-8", "replace")
        entries.append((str(entry.get("_PID", "")), str(message or "")))
    for i, (pid, message) in enumerate(entries):
        if tracebacks.START in message:
            same = "\n".join(m for p, m in entries[i:] if p == pid)
            return tracebacks.first(same)
    return tracebacks.first(unit_journal(host, unit))


def unit_diagnosis(host: Any, unit: str, lines: int = 15) -> str:
    """What an admin would look at first: the first traceback, systemctl status, the journal tail.

    The traceback comes first because it is the cause; the journal's tail
    of a crash-looping unit is mostly systemd's restart lines.
    """
    q = shlex.quote(unit)
    journal = unit_journal(host, unit)
    first = first_traceback(host, unit) if tracebacks.count(journal) else []
    head = ""
    if first:
        head = (f"\n--- first traceback of {tracebacks.count(journal)} in journalctl -u {unit} ---\n"
                + "\n".join(first))
    status = sh(host, f"systemctl status --no-pager --lines=0 {q} 2>&1").stdout.strip()
    tail = "\n".join(journal.rstrip("\n").splitlines()[-lines:])
    return f"{head}\n--- systemctl status {unit} ---\n{status}\n--- journalctl -u {unit} (last {lines}) ---\n{tail}"


def unit_listen_addresses(host: Any, units: list[str]) -> dict[str, list[tuple[str, int]]]:
    """(address, port) of every TCP socket each unit's processes listen on (boxprobes.LISTEN_PY)."""
    out = sh(host, f"python3 -c {shlex.quote(boxprobes.LISTEN_PY)} {shlex.quote(json.dumps(units))}")
    try:
        data = json.loads(out.stdout)
    except ValueError:
        pytest.fail(f"could not list the listening sockets of {', '.join(units)}: {out.stdout} {out.stderr}",
                    pytrace=False)
    return {u: [(a, int(p)) for a, p in v] for u, v in data.items()}


def settle_result(host: Any, meta: VerifyPlan) -> dict[str, Any]:
    """The settle watch over every unit (boxprobes.SETTLE_PY): waits for it, starts it if nobody did.

    The verify stage starts it as soon as the units are ready, so it runs
    while the other checks run; run by hand, the suite starts it here.
    """
    cached: tuple[VerifyPlan, dict[str, Any]] | None = getattr(settle_result, "_cache", None)
    if cached is not None and cached[0] is meta:
        return cached[1]
    unit = boxprobes.SETTLE_UNIT
    state = sh(host, f"systemctl show -p ActiveState --value {unit}").stdout.strip()
    if not host.file(boxprobes.SETTLE_OUT).exists and state not in ("active", "activating"):
        sh(host, boxprobes.settle_start_script(meta.units, meta.settle))
    deadline = time.monotonic() + meta.settle + 30
    while time.monotonic() < deadline:
        state = sh(host, f"systemctl show -p ActiveState --value {unit}").stdout.strip()
        if state not in ("active", "activating") and host.file(boxprobes.SETTLE_OUT).exists:
            text = host.file(boxprobes.SETTLE_OUT).content_string
            if text.strip():
                break
        time.sleep(0.3)
    text = sh(host, f"cat {boxprobes.SETTLE_OUT} 2>/dev/null").stdout
    try:
        data: dict[str, Any] = json.loads(text)
    except ValueError:
        errors = sh(host, f"journalctl -u {unit} --no-pager -o cat -n 20").stdout
        pytest.fail(f"the settle watch ({unit}) gave no result: {text[-500:]!r}\n{errors}", pytrace=False)
    settle_result._cache = (meta, data)  # type: ignore[attr-defined]
    return data


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
    if http.host_option == "":
        # one "host:port" value (a uWSGI ini's http-socket): host and port together
        bind, _, port = raw.strip().rpartition(":")
        return bind.strip("[]") or "0.0.0.0", [int(port)]
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
