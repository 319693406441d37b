"""Scenario 1, load: wrk on every port for the load time, reads and writes mixed
(the project's profile says which), then the memory of every unit right after."""
from __future__ import annotations

from typing import Any

from phoenix_rpm.ops.resources import memory
from phoenix_rpm.ops.target import ScenarioResult, Target
from phoenix_rpm.ops.wrk import CONNECTIONS, collect_wrk, merge_wrk, run_wrk


def judge_load(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["requests"] == 0:
        problems.append("load: no request completed")
    if f["errors"]:
        problems.append(f"load: {f['errors']} failed requests (socket errors or timeouts); expected 0")
    if f["non_2xx"]:
        problems.append(f"load: {f['non_2xx']} non-2xx answers to valid requests; expected 0")
    return problems


def load(target: Target) -> ScenarioResult:
    with run_wrk(target, target.load_seconds) as procs:
        f = merge_wrk(collect_wrk(procs, timeout=target.load_seconds + 60))
    f["connections"] = CONNECTIONS
    f["ports"] = target.ports
    target.memory_after_load = memory(target)
    line = (f"load {f['seconds']:.0f}s {CONNECTIONS}c ports {','.join(map(str, target.ports))}: "
            f"{f['rps']:.0f} req/s p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms, "
            f"{f['errors']} errors, {f['non_2xx']} non-2xx ({f['requests']} requests, "
            f"{target.profile.mix})")
    return ScenarioResult("load", line, f, judge_load(f))
