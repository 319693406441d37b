"""Scenario 8, resources: memory of every unit (after the load and now) and the
limits its unit sets (LimitNOFILE=, TasksMax= or MemoryMax=)."""
from __future__ import annotations

import re
from typing import Any

from phoenix_rpm.ops.cgroups import cgroup_dir, cgroup_pids, unit_settings
from phoenix_rpm.ops.target import ScenarioResult, Target


def memory(target: Target) -> dict[str, Any]:
    """RSS summed over every process of each unit's cgroup, and memory.current."""
    out: dict[str, Any] = {}
    for unit in target.units:
        pids = cgroup_pids(target, unit)
        rss_kb = 0
        for pid in pids:
            status = target.sh(f"cat /proc/{pid}/status", check=False)
            m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            rss_kb += int(m.group(1)) if m else 0
        where = cgroup_dir(target, unit)
        current = target.sh(f"cat {where}/memory.current 2>/dev/null", check=False).strip() if where else ""
        out[unit] = {"processes": len(pids), "rss_mib": round(rss_kb / 1024, 1),
                     "memory_current_mib": round(int(current) / 1048576, 1) if current.isdigit() else None}
    return out



def judge_resources(f: dict[str, Any]) -> list[str]:
    problems = []
    for unit, limits in f["limits"].items():
        if not limits.get("LimitNOFILE"):
            problems.append(f"resources: {unit} sets no LimitNOFILE=")
        if not (limits.get("TasksMax") or limits.get("MemoryMax")):
            problems.append(f"resources: {unit} sets neither TasksMax= nor MemoryMax=")
    for unit, mem in f["after_load"].items():
        if not mem["processes"]:
            problems.append(f"resources: {unit} had no process to measure")
    return problems


def resources(target: Target) -> ScenarioResult:
    limits = {}
    for unit in target.units:
        settings = unit_settings(target, unit)
        limits[unit] = {k: (settings.get(k) or [""])[-1] for k in ("LimitNOFILE", "TasksMax", "MemoryMax")}
    after_load = target.memory_after_load or memory(target)
    f = {"after_load": after_load, "now": memory(target), "limits": limits}
    parts = []
    for unit, mem in after_load.items():
        lim = limits[unit]
        set_ = " ".join(f"{k}={v}" for k, v in lim.items() if v) or "no limits"
        current = ("" if mem["memory_current_mib"] is None
                   else f" (cgroup memory.current {mem['memory_current_mib']} MiB)")
        parts.append(f"{unit.removesuffix('.service')} {mem['processes']} processes RSS {mem['rss_mib']:.1f} MiB"
                     f"{current}, {set_}")
    line = "resources after the load: " + "; ".join(parts)
    return ScenarioResult("resources", line, f, judge_resources(f))
