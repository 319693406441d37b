"""The ops scenarios (issue 7), in the order they run: load, faults,
restart/reload, bad input, least privilege and resources, against the RPM
installed and started in a booted box. One module per scenario.

Each scenario *measures* (through the box: ``box.exec`` as root inside it,
``box.host_argv`` for clients in its peer network namespace) and then hands
its figures to a pure ``judge_*`` function that returns the problems. The
split is what makes the negative tests cheap: feed a judge the figures of a
broken service (no respawn, a 500, a dropped request) and it must name the
defect, without booting anything. What the requests are comes from the
project's workload profile (profile.py); the scenarios are generic.
"""
from __future__ import annotations

import time
from typing import Callable

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.bad_input import bad_input, judge_bad_input
from phoenix_rpm.ops.broker_restart import RECOVER_LIMIT, broker_restart, judge_broker_restart
from phoenix_rpm.ops.cgroups import CGROUP_ROOTS, cgroup_dir, cgroup_pids, unit_settings
from phoenix_rpm.ops.least_privilege import judge_least_privilege, least_privilege, write_probe
from phoenix_rpm.ops.load import judge_load, load
from phoenix_rpm.ops.main_crash import RESTART_LIMIT, judge_main_crash, main_crash
from phoenix_rpm.ops.malformed_message import judge_malformed_message, malformed_message
from phoenix_rpm.ops.reload import RELOAD_LIMIT, judge_reload, reload
from phoenix_rpm.ops.resources import judge_resources, memory, resources
from phoenix_rpm.ops.restart import judge_restart, restart
from phoenix_rpm.ops.rpc_worker_kill import judge_rpc_worker_kill, rpc_worker_kill
from phoenix_rpm.ops.target import CLIENT, ScenarioResult, Target, target_for
from phoenix_rpm.ops.worker_death import RESPAWN_LIMIT, judge_worker_death, worker_death
from phoenix_rpm.ops.wrk import CONNECTIONS, SEED_ITEMS, collect_wrk, merge_wrk, run_wrk, script_for

__all__ = [
    "CGROUP_ROOTS", "CLIENT", "CONNECTIONS", "RECOVER_LIMIT", "RELOAD_LIMIT", "RESPAWN_LIMIT", "RESTART_LIMIT",
    "SCENARIOS", "SEED_ITEMS", "ScenarioResult", "Target", "bad_input", "broker_restart", "cgroup_dir",
    "cgroup_pids", "collect_wrk", "judge_bad_input", "judge_broker_restart", "judge_least_privilege", "judge_load",
    "judge_main_crash", "judge_malformed_message", "judge_reload", "judge_resources", "judge_restart",
    "judge_rpc_worker_kill", "judge_worker_death", "least_privilege", "load", "main_crash", "malformed_message",
    "memory", "merge_wrk", "reload", "resources", "restart", "rpc_worker_kill", "run_all", "run_wrk", "script_for",
    "target_for", "unit_settings", "worker_death", "write_probe",
]

SCENARIOS: list[Callable[[Target], ScenarioResult]] = [
    load, worker_death, main_crash, restart, reload, broker_restart, rpc_worker_kill, malformed_message,
    bad_input, least_privilege, resources]


def run_all(target: Target, only: list[str] | None = None) -> list[ScenarioResult]:
    """Every scenario in order (load first, then faults...); a scenario that
    cannot even measure becomes a failed result and the rest still run."""
    results = []
    for scenario in SCENARIOS:
        if only and scenario.__name__ not in only:
            continue
        started = time.monotonic()
        try:
            result = scenario(target)
        except CheckFailed as exc:
            result = ScenarioResult(scenario.__name__, f"{scenario.__name__}: could not run", {}, [str(exc)])
        result.figures["scenario_s"] = round(time.monotonic() - started, 1)
        runner.log(f"ops: {result.line}" + ("" if result.ok else "  FAILED"))  # a skip says so in its line
        for problem in result.problems:
            runner.log(f"    FAILED {problem}")
        results.append(result)
    return results
