"""Scenario 5, reload: change an option (the profile's RELOAD), systemctl reload,
see it in the API with the same MainPID, restore it."""
from __future__ import annotations

import re
import shlex
import time
import uuid
from typing import Any, Callable

from phoenix_rpm.ops.target import ScenarioResult, Target

RELOAD_LIMIT = 10.0       # seconds for a reload to show in the API

def judge_reload(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["new_pid"] != f["old_pid"]:
        problems.append(f"reload: MainPID changed {f['old_pid']} -> {f['new_pid']}: "
                        "systemctl reload restarted the service instead of reloading it")
    if f["applied_s"] is None:
        problems.append(f"reload: the changed option ({f['option']}) did not show in the API "
                        f"within {RELOAD_LIMIT:.0f} s (last answer: {f.get('last', '')[:200]})")
    if f.get("restored_s") is None:
        problems.append("reload: restoring the original configuration did not show in the API")
    return problems


def _reload_until(target: Target, path: str, predicate: Callable[[str], bool]) -> tuple[float | None, str]:
    target.sh(f"systemctl reload {target.unit}", timeout=60)
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < RELOAD_LIMIT:
        answer = target.client("get", {"port": target.ports[0], "path": path})
        last = answer["body"]
        if answer["status"] == 200 and predicate(last):
            return time.monotonic() - started, last
        time.sleep(0.1)
    return None, last


def reload(target: Target) -> ScenarioResult:
    """Change the profile's RELOAD option (apollo: [DEFAULT] public_endpoint,
    shown in GET / links), reload, check, restore. A profile without RELOAD:
    reload unchanged and check the health path still answers, same MainPID."""
    spec = target.profile.reload
    old_pid = target.main_pid()
    if spec is None:
        applied, last = _reload_until(target, target.profile.health, lambda body: True)
        mid_pid = target.main_pid()
        restored, option, name = applied, "(none: the ops profile declares no RELOAD)", "the unchanged configuration"
    else:
        value = spec.value.format(token=uuid.uuid4().hex[:8], port=target.ports[0])
        shows = spec.shows.format(value=value)
        option, name = f"{spec.option} = {value}", spec.option
        conf = shlex.quote(target.config_file)
        section = re.escape(spec.section)
        edit = shlex.quote(f"s|^\\[{section}\\]$|[{spec.section}]\\n{option}|")
        target.sh(f"cp -p {conf} {conf}.ops-orig && sed -i {edit} {conf} && "
                  f"grep -qxF {shlex.quote(option)} {conf}")
        try:
            applied, last = _reload_until(target, spec.path, lambda body: shows in body)
            mid_pid = target.main_pid()
        finally:
            target.sh(f"mv -f {conf}.ops-orig {conf}")
        restored, _ = _reload_until(target, spec.path, lambda body: value not in body)
    f = {"option": option, "old_pid": old_pid, "new_pid": mid_pid,
         "applied_s": None if applied is None else round(applied, 2),
         "restored_s": None if restored is None else round(restored, 2), "last": last}
    shown = "never" if applied is None else f"after {f['applied_s']:.2f} s"
    line = (f"reload: systemctl reload applied {name} {shown}, MainPID {old_pid} -> {mid_pid} "
            f"({'unchanged' if old_pid == mid_pid else 'CHANGED'})")
    return ScenarioResult("reload", line, f, judge_reload(f))
