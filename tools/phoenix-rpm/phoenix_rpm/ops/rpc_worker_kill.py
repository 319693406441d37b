"""Scenario: an rpc worker killed with kill -9 while calls are in flight (issue 15).

Clients send the project's RPC round trip (the ops profile's ``call()``)
back to back from several threads; the in-box program kills one rpc worker
of the unit that runs them (found by the launcher's journal lines) and
times its replacement. Judged: the parent respawns it within a second and
it consumes again; every caller gets an answer (the result, or an error
such as a timeout) and none hangs; only the calls in flight at the kill
may fail.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.bus import KIND, call_stats, rpc_unit, skip_reason, skipped
from phoenix_rpm.ops.target import CLIENT, ScenarioResult, Target
from phoenix_rpm.ops.worker_death import RESPAWN_LIMIT

READY_LIMIT = 30.0    # seconds from the kill until the new worker consumes again


def judge_rpc_worker_kill(f: dict[str, Any]) -> list[str]:
    problems = []
    if f.get("error"):
        return [f"rpc worker kill: {f['error']}"]
    if f["respawn_s"] is None:
        problems.append(f"rpc worker kill: no new worker within 5 s after kill -9 of rpc worker {f['victim']} "
                        f"(main process {f['main']}): the parent does not respawn it")
    elif f["respawn_s"] > RESPAWN_LIMIT:
        problems.append(f"rpc worker kill: the new worker came after {f['respawn_s']:.2f} s; "
                        f"the limit is {RESPAWN_LIMIT:.0f} s")
    if f["respawn_s"] is not None and (f["ready_s"] is None or f["ready_s"] > READY_LIMIT):
        problems.append(f"rpc worker kill: the new rpc worker was not consuming within {READY_LIMIT:.0f} s "
                        "of the kill")
    if not f["main_alive"]:
        problems.append("rpc worker kill: the main process died with its rpc worker")
    if f["calls_hang"]:
        problems.append(f"rpc worker kill: {f['calls_hang']} callers got no answer within "
                        f"{f['request_limit_s']:.0f} s (a hang; expected the result or a timeout)")
    if f["failed_not_in_flight"]:
        problems.append(f"rpc worker kill: {f['failed_not_in_flight']} calls started after the kill failed "
                        f"(only the {f['in_flight']} in flight at the kill may; e.g. {'; '.join(f['call_samples'])})")
    if not f["in_flight"]:
        problems.append("rpc worker kill: no call was in flight at the kill; the scenario proved nothing")
    if not f["ok_after_ready"]:
        problems.append("rpc worker kill: no call succeeded after the new worker was consuming")
    return problems


def rpc_worker_kill(target: Target, kill_after: float = 3.0, after: float = 8.0) -> ScenarioResult:
    reason = skip_reason(target)
    if reason:
        return skipped("rpc_worker_kill", "rpc worker kill", reason)
    unit = rpc_unit(target)
    state = target.client("bus_setup", {})["state"]
    limit = 120.0
    args = target.client_args({"state": state, "threads": 6, "duration": kill_after + after,
                               "request_limit": limit})
    argv = target.box.host_argv([sys.executable, str(CLIENT), "bus_calls", json.dumps(args)])
    with runner.spawn(argv) as proc:
        time.sleep(kill_after)
        main = int(target.show(unit, "MainPID")["MainPID"])
        kill = target.program("kill_kind_worker", str(main), unit, KIND, timeout=120)
        out, err = runner.finish(proc, timeout=after + limit + 60, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"rpc worker kill: the ops client failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    f = figures(kill, json.loads(out)["calls"])
    f.update({"unit": unit, "request_limit_s": limit})
    if f.get("error"):
        return ScenarioResult("rpc_worker_kill", f"rpc worker kill: could not run: {f['error']}", f,
                              judge_rpc_worker_kill(f))
    respawn = "never" if f["respawn_s"] is None else f"in {f['respawn_s'] * 1000:.0f} ms"
    ready = "never" if f["ready_s"] is None else f"{f['ready_s']:.1f} s"
    line = (f"rpc worker kill: kill -9 of rpc worker {f['victim']} of {unit} with {f['in_flight']} calls in "
            f"flight: respawned {respawn}, consuming again after {ready}; in-flight callers got "
            f"{f['in_flight_ok']} results and {f['in_flight_answered']} errors "
            f"(longest {f['in_flight_longest_s']:.1f} s), "
            f"{f['calls_hang']} hung; {f['calls']} calls in all, {f['failed_not_in_flight']} others failed")
    return ScenarioResult("rpc_worker_kill", line, f, judge_rpc_worker_kill(f))


def figures(kill: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The kill's figures plus what the callers saw, split at the moment of the kill."""
    f = dict(kill)
    f.update(call_stats(calls))
    killed = kill.get("killed_at")
    if killed is None:
        f.update({"in_flight": 0, "in_flight_ok": 0, "in_flight_answered": 0, "in_flight_longest_s": 0.0,
                  "failed_not_in_flight": 0, "ok_after_ready": 0})
        return f
    flight = [c for c in calls if c["t0"] <= killed <= c["t1"]]
    later = [c for c in calls if c["t0"] > killed]
    ready_at = killed + (kill.get("ready_s") or float("inf"))
    f.update({
        "in_flight": len(flight),
        "in_flight_ok": sum(1 for c in flight if c["outcome"] == "ok"),
        "in_flight_answered": sum(1 for c in flight if c["outcome"] == "answered"),
        "in_flight_longest_s": round(max((c["t1"] - c["t0"] for c in flight), default=0.0), 2),
        "failed_not_in_flight": sum(1 for c in later if c["outcome"] != "ok"),
        "ok_after_ready": sum(1 for c in later if c["outcome"] == "ok" and c["t0"] >= ready_at),
    })
    return f
