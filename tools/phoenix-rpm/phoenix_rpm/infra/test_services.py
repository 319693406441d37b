"""Every unit the package ships: enabled, running as the service user, hardened, clean journal."""
from __future__ import annotations

import re
import shlex
import signal
from typing import TYPE_CHECKING

import pytest
from infra_helpers import Meta, first_traceback, settle_result, sh, unit_diagnosis, unit_journal

from phoenix_rpm import tracebacks

if TYPE_CHECKING:
    from testinfra.host import Host

# A worker replaced this many times within the settle window is crash-looping
# (one replacement can be an orderly recycle, e.g. uWSGI's max-requests).
RESPAWN_LIMIT = 2

EXPOSURE_RE = re.compile(r"Overall exposure level for \S+:\s*([0-9.]+)\s*(\S*)")


def test_unit_is_enabled(host: Host, meta: Meta, unit: str) -> None:
    svc = host.service(unit)
    state = sh(host, f"systemctl is-enabled {shlex.quote(unit)}").stdout.strip()
    assert svc.is_enabled, f"unit {unit} is not enabled (systemctl is-enabled: {state or 'not found'})"


def _why_not_running(host: Host, unit: str) -> str:
    """One line an admin can act on: state, result, and a missing ExecStart program."""
    q = shlex.quote(unit)
    props = dict(
        line.split("=", 1) for line in sh(
            host, f"systemctl show -p LoadState,ActiveState,SubState,Result,ExecMainStatus,ExecStart {q}"
        ).stdout.splitlines() if "=" in line
    )
    if props.get("LoadState") not in (None, "loaded"):
        return f"unit file not loaded (LoadState={props.get('LoadState')})"
    why = (f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}, "
           f"Result={props.get('Result', '?')}, ExecMainStatus={props.get('ExecMainStatus', '?')}")
    if props.get("Result") == "signal" and props.get("ExecMainStatus", "").isdigit():
        try:
            why += f" (killed by SIG{signal.Signals(int(props['ExecMainStatus'])).name.removeprefix('SIG')})"
        except ValueError:
            pass
    m = re.search(r"path=(\S+)", props.get("ExecStart", ""))
    if m:
        program = m.group(1)
        if not host.file(program).exists:
            why += f"; ExecStart program {program} does not exist"
        elif not host.file(program).is_executable:
            why += f"; ExecStart program {program} is not executable"
    return why


def test_unit_is_running(host: Host, meta: Meta, unit: str) -> None:
    svc = host.service(unit)
    if not svc.is_running:
        pytest.fail(
            f"unit {unit} is not running ({_why_not_running(host, unit)}){unit_diagnosis(host, unit)}",
            pytrace=False,
        )


def _unit_pids(host: Host, unit: str) -> tuple[int, list[int]]:
    q = shlex.quote(unit)
    main_pid = int(sh(host, f"systemctl show -p MainPID --value {q}").stdout.strip() or 0)
    cgroup = sh(host, f"systemctl show -p ControlGroup --value {q}").stdout.strip()
    pids: list[int] = []
    if cgroup:
        # From /proc/PID/cgroup: a box on a cgroup-v1 (hybrid) host has no
        # /sys/fs/cgroup<cgroup>/cgroup.procs, and only the main pid was seen.
        escaped = re.sub(r"([.^$*+?(){}|\\[\]])", r"\\\1", cgroup)
        pattern = shlex.quote(f"^[0-9]+:(name=systemd)?:{escaped}(/.*)?$")
        found = sh(host, f"grep -lE {pattern} /proc/[0-9]*/cgroup 2>/dev/null").stdout
        pids = [int(line.split("/")[2]) for line in found.split() if line.count("/") >= 3]
    return main_pid, sorted(set(pids) | ({main_pid} if main_pid else set()))


def _owner(host: Host, pid: int) -> str:
    """The effective user of a process, from /proc (no procps needed in the box)."""
    status = sh(host, f"cat /proc/{pid}/status 2>/dev/null").stdout
    for line in status.splitlines():
        if line.startswith("Uid:"):
            euid = line.split()[2]
            name: str = sh(host, f"getent passwd {euid}").stdout.split(":", 1)[0]
            return name or euid
    return "?"


def test_unit_processes_run_as_service_user(host: Host, meta: Meta, unit: str) -> None:
    # Only a running unit has processes to judge: one that fails and is
    # restarted has a main PID for a few milliseconds per attempt (systemd's
    # child before its exec fails), which would make this check pass or
    # fail by chance.
    q = shlex.quote(unit)
    state = sh(host, f"systemctl show -p ActiveState --value {q}").stdout.strip()
    sub = sh(host, f"systemctl show -p SubState --value {q}").stdout.strip()
    if (state, sub) != ("active", "running"):
        pytest.fail(f"unit {unit} is {state} ({sub}): no running service to check"
                    f"{unit_diagnosis(host, unit)}", pytrace=False)
    main_pid, pids = _unit_pids(host, unit)
    if not main_pid:
        pytest.fail(f"unit {unit} has no main process (not running?){unit_diagnosis(host, unit)}", pytrace=False)
    owners = {pid: _owner(host, pid) for pid in pids}
    owners = {pid: o for pid, o in owners.items() if o != "?"}  # exited meanwhile
    wrong = {pid: o for pid, o in owners.items() if o != meta.user}
    assert owners.get(main_pid) != "root", f"unit {unit}: main process {main_pid} runs as root, expected {meta.user}"
    assert not wrong, (
        f"unit {unit}: processes not running as the service user {meta.user}: "
        + ", ".join(f"pid {pid} as {o}" for pid, o in sorted(wrong.items()))
    )


def test_unit_security_exposure(host: Host, meta: Meta, unit: str) -> None:
    out = sh(host, f"systemd-analyze security --no-pager {shlex.quote(unit)} 2>&1").stdout
    m = EXPOSURE_RE.search(out)
    assert m, f"unit {unit}: systemd-analyze security printed no exposure level:\n{out[-2000:]}"
    level = float(m.group(1))
    if level > meta.max_exposure:
        # The lines marked ✗ are the settings that cost points: name the
        # costliest on the first line (that line is what the report shows).
        costs = []
        for ln in out.splitlines():
            if "✗" in ln:
                parts = ln.replace("✗", "").split()
                if parts and re.fullmatch(r"[0-9.]+", parts[-1]):
                    costs.append((float(parts[-1]), parts[0], ln.strip()))
        costs.sort(key=lambda c: -c[0])
        worst = ", ".join(f"{name} ({cost})" for cost, name, _ in costs[:5])
        pytest.fail(
            f"unit {unit}: systemd-analyze security exposure {level} {m.group(2)} > {meta.max_exposure}; "
            f"costliest missing settings: {worst}\n  " + "\n  ".join(full for _, _, full in costs),
            pytrace=False,
        )


def test_unit_stays_up_with_stable_workers(host: Host, meta: Meta, unit: str) -> None:
    """Active for the whole settle window, never restarted, main process and workers unchanged.

    "running" at one instant says little: a unit restarted by systemd
    (NRestarts), or whose main process stays while its workers die and are
    respawned, is running most of the time and serving almost never.
    """
    got = settle_result(host, meta).get(unit)
    if got is None:
        pytest.fail(f"unit {unit}: the settle watch did not observe it", pytrace=False)
    window = got["window"]
    problems = []
    if got["states"] != ["active/running"]:
        problems.append(f"not active/running throughout the {window:g} s watch (states: {' -> '.join(got['states'])})")
    if got["nrestarts"]:
        problems.append(f"restarted by systemd {got['nrestarts']} time(s) (NRestarts={got['nrestarts']})")
    if len(got["main_pids"]) > 1:
        problems.append(f"main process changed: pids {', '.join(map(str, got['main_pids']))}")
    elif got["up"] < meta.settle:
        problems.append(f"up only {got['up']:g} s, less than the settle time {meta.settle:g} s")
    respawned = min(len(got["exited"]), len(got["started"]))
    if respawned >= RESPAWN_LIMIT:
        problems.append(f"worker crash-loop: {len(got['exited'])} child process(es) exited and "
                        f"{len(got['started'])} new one(s) started within {window:g} s while the main process "
                        f"stayed (exited pids: {', '.join(map(str, got['exited'][:8]))})")
    if problems:
        pytest.fail(f"unit {unit}: " + "; ".join(problems) + unit_diagnosis(host, unit), pytrace=False)


def test_unit_journal_has_no_traceback(host: Host, meta: Meta, unit: str) -> None:
    out = unit_journal(host, unit)
    hits = tracebacks.count(out)
    if hits:
        first = "\n".join(first_traceback(host, unit))
        pytest.fail(f"unit {unit}: {hits} traceback(s) in its journal; the first:\n{first}", pytrace=False)


def test_unit_journal_has_no_error_log(host: Host, meta: Meta, unit: str) -> None:
    """ERROR/CRITICAL log records fail the unit even without a traceback.

    A daemon that cannot reach a server it was not given (a message bus left
    out of ``needs``) retries forever, logging ``ERROR ... Connection
    refused`` and no traceback, and stays active: only its log says so
    (docs/verify.md, "Health").
    """
    records = tracebacks.error_records(unit_journal(host, unit))
    if records:
        first = records[0] if len(records[0]) <= 400 else records[0][:400] + " ..."
        pytest.fail(f"unit {unit}: {len(records)} ERROR/CRITICAL log record(s) in its journal; the first: {first}",
                    pytrace=False)
