"""Scenario 4, graceful restart: systemctl restart under a steady load of new
connections; no accepted request may fail (refused connects are retried)."""
from __future__ import annotations

import json
import sys
import time
from typing import Any

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.target import CLIENT, ScenarioResult, Target


def judge_restart(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["failed"]:
        problems.append(f"restart: {f['failed']} accepted requests failed during systemctl restart "
                        f"(expected 0; e.g. {'; '.join(f['samples'][:3])})")
    if not f["ok"]:
        problems.append("restart: no request succeeded during the restart run")
    if f["active"] != "active":
        problems.append(f"restart: the unit is {f['active']} after systemctl restart")
    if f.get("fd_store_max", 0) > 0 and f.get("refused_retries", 0) > 0:
        problems.append(f"restart: {f['refused_retries']} connections refused although the unit keeps its "
                        f"listening sockets in systemd's fd store (FileDescriptorStoreMax="
                        f"{f['fd_store_max']}): the service did not hand its sockets over (FDSTORE=1)")
    return problems


def restart(target: Target, seconds: float = 10.0, restart_after: float = 3.0) -> ScenarioResult:
    args = target.client_args({"threads": 16, "duration": seconds})
    argv = target.box.host_argv([sys.executable, str(CLIENT), "steady", json.dumps(args)])
    with runner.spawn(argv) as proc:
        time.sleep(restart_after)
        old_pid = target.main_pid()
        started = time.monotonic()
        target.sh(f"systemctl restart {target.unit}", timeout=120)
        took = time.monotonic() - started
        out, err = runner.finish(proc, timeout=seconds + 90, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"restart: the ops client failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    f = json.loads(out)
    shown = target.show(target.unit, "ActiveState", "FileDescriptorStoreMax")
    f.update({"old_pid": old_pid, "new_pid": target.main_pid(), "restart_s": round(took, 2),
              "active": shown["ActiveState"],
              "fd_store_max": int(shown.get("FileDescriptorStoreMax") or 0)})
    line = (f"restart: systemctl restart under load took {f['restart_s']:.1f} s (pid {f['old_pid']} -> "
            f"{f['new_pid']}): {f['failed']} failed of {f['ok'] + f['failed']} requests, "
            f"{f['refused_retries']} connection refusals retried, slowest answer {f['max_ms'] / 1000:.1f} s")
    return ScenarioResult("restart", line, f, judge_restart(f))
