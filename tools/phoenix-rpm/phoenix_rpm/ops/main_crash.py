"""Scenario 3, main process crash: kill -9 of MainPID; systemd must restart it,
answering again within the limit, and what was written before reads back intact."""
from __future__ import annotations

import time
import uuid
from typing import Any

from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.target import ScenarioResult, Target

# Seconds from kill -9 of the main process to answering again, less the new
# process's own start-up (exec to READY=1, read from systemd): what systemd's
# restart policy adds (RestartSec=, detection) must stay under it. The start-up
# is the project's and the machine load's: a figure of the report, judged only
# against STARTUP_LIMIT (docs/reliability.md).
RESTART_LIMIT = 5.0
STARTUP_LIMIT = 30.0


def _startup_s(props: dict[str, str]) -> float:
    """exec of the main process to READY=1 (Type=notify: active), from systemd's monotonic stamps."""
    try:
        began = int(props.get("ExecMainStartTimestampMonotonic", "0"))
        ready = int(props.get("ActiveEnterTimestampMonotonic", "0"))
    except ValueError:
        return 0.0
    return round((ready - began) / 1e6, 2) if began and ready > began else 0.0


def judge_main_crash(f: dict[str, Any]) -> list[str]:
    problems = []
    if not f["answered"]:
        problems.append(f"main crash: the service did not answer within {f['waited_s']:.0f} s after kill -9 "
                        f"of its main process (last: {f.get('last', '?')})")
    elif f["back_s"] - f.get("startup_s", 0.0) > RESTART_LIMIT:
        problems.append(f"main crash: answering again took {f['back_s']:.1f} s, "
                        f"{f['back_s'] - f.get('startup_s', 0.0):.1f} s of it before the new process "
                        f"started; the limit is {RESTART_LIMIT:.0f} s (RestartSec= of the unit?)")
    if f.get("startup_s", 0.0) > STARTUP_LIMIT:
        problems.append(f"main crash: the new main process took {f['startup_s']:.1f} s from exec to "
                        f"READY=1; the limit is {STARTUP_LIMIT:.0f} s")
    if f["answered"] and f["new_pid"] == f["old_pid"]:
        problems.append("main crash: MainPID did not change: systemd did not restart the service")
    if f["missing"] or f["changed"]:
        problems.append(f"main crash: data written before the crash lost: {len(f['missing'])} items missing, "
                        f"{len(f['changed'])} changed of {f['written']}")
    return problems


def main_crash(target: Target, items: int = 20) -> ScenarioResult:
    # A profile that seeds nothing writes nothing: then only the restart is judged.
    seeded = target.client("seed", {"count": items if target.profile.seeds else 0,
                                    "prefix": f"crash-{uuid.uuid4().hex[:8]}"})
    if seeded["errors"]:
        raise CheckFailed("main crash: writing items before the crash failed: " + "; ".join(seeded["errors"][:3]))
    before = target.show(target.unit, "MainPID", "NRestarts")
    started = time.monotonic()
    target.sh(f"kill -9 {before['MainPID']}")
    # The killed parent's workers can answer for a moment until systemd stops
    # the old cgroup: wait for the *new* main process to be up (Type=notify:
    # active means READY=1, all listeners open) before probing the port.
    deadline = started + 30
    while time.monotonic() < deadline:
        now = target.show(target.unit, "MainPID", "ActiveState")
        if now["MainPID"] not in ("0", before["MainPID"]) and now["ActiveState"] == "active":
            break
        time.sleep(0.1)
    waited = target.client("wait", {"port": target.ports[0], "timeout": max(1.0, deadline - time.monotonic())})
    back = time.monotonic() - started
    after = target.show(target.unit, "MainPID", "NRestarts", "ActiveState",
                        "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic")
    checked = target.client("check", {"items": seeded["items"]}) if waited["ok"] and seeded["items"] else \
        {"missing": [], "changed": []}
    f = {"old_pid": int(before["MainPID"]), "new_pid": int(after["MainPID"]),
         "restarts": int(after.get("NRestarts", 0)) - int(before.get("NRestarts", 0)),
         "answered": waited["ok"], "back_s": round(back, 2), "startup_s": _startup_s(after),
         "waited_s": waited["seconds"],
         "last": waited.get("last"), "written": len(seeded["items"]),
         "missing": checked["missing"], "changed": checked["changed"]}
    line = (f"main crash: kill -9 of main pid {f['old_pid']}: systemd restarted it (NRestarts +{f['restarts']}, "
            f"new pid {f['new_pid']}), answering again after {f['back_s']:.1f} s "
            f"(its start-up {f['startup_s']:.1f} s); "
            f"{f['written'] - len(f['missing']) - len(f['changed'])}/{f['written']} items written before "
            "the crash read back intact")
    return ScenarioResult("main_crash", line, f, judge_main_crash(f))
