"""Scenario 2, worker death: kill -9 of the busiest worker under load; the
parent must replace it within a second and only its in-flight requests may fail."""
from __future__ import annotations

import time
from typing import Any

from phoenix_rpm.ops.target import ScenarioResult, Target
from phoenix_rpm.ops.wrk import collect_wrk, merge_wrk, run_wrk

RESPAWN_LIMIT = 1.0       # seconds for the parent to replace a killed worker

def judge_worker_death(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["respawn_s"] is None:
        problems.append(f"worker death: no new worker within 5 s after kill -9 of worker {f['victim']} "
                        f"(main process {f['main']}): the parent does not respawn workers; processes: "
                        + " | ".join(line.strip() for line in f.get("tree", "").splitlines())
                        + f"; kernel state (wchan, syscall): {f.get('stuck')}")
    elif f["respawn_s"] > RESPAWN_LIMIT:
        problems.append(f"worker death: the new worker came after {f['respawn_s']:.2f} s; "
                        f"the limit is {RESPAWN_LIMIT:.0f} s")
    if not f["main_alive"]:
        problems.append("worker death: the main process died with its worker")
    if f["failed"] > f["connections_held"]:
        problems.append(f"worker death: {f['failed']} requests failed but only {f['connections_held']} "
                        "were in flight on the killed worker")
    return problems


def worker_death(target: Target, seconds: float = 12.0, kill_after: float = 4.0) -> ScenarioResult:
    with run_wrk(target, seconds) as procs:
        time.sleep(kill_after)
        f = target.program("kill_worker", str(target.main_pid()), ",".join(map(str, target.ports)))
        load_f = merge_wrk(collect_wrk(procs, timeout=seconds + 60))
    f["failed"] = load_f["errors"] + load_f["non_2xx"]
    f["requests"] = load_f["requests"]
    respawn = "never" if f["respawn_s"] is None else f"in {f['respawn_s'] * 1000:.0f} ms"
    line = (f"worker death: kill -9 of worker {f['victim']} under load ({f['connections_held']} connections "
            f"on it): respawned {respawn}; {f['failed']} failed requests of {f['requests']} "
            f"(bound: {f['connections_held']} in flight)")
    return ScenarioResult("worker_death", line, f, judge_worker_death(f))
