"""Scenario: the message broker restarted under a load of casts (issue 15).

``systemctl restart rabbitmq-server`` in the box while clients send the
requests the project's ops profile says cast work to the rpc workers
(``cast()``), and probers send its RPC round trip (``call()``). Afterwards
every accepted cast is followed (``performed()``) until it is done. The
guarantee judged: a cast the API accepted is performed or was reported
failed to its client, never silently dropped (lost = 0); a cast refused to
its client is never performed; the bus works again soon after the broker
is back (time to recover: the first successful round trip after it).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.bus import broker_unit, call_stats, skip_reason, skipped
from phoenix_rpm.ops.target import CLIENT, ScenarioResult, Target

RECOVER_LIMIT = 30.0   # seconds from the broker back to the first successful RPC round trip
SETTLE_S = 150.0       # how long accepted casts may take to be performed after the load


def judge_broker_restart(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["lost"]:
        problems.append(f"broker restart: {f['lost']} accepted casts never performed nor reported failed "
                        f"within {f['settle_s']:.0f} s of the load (job states: {f['status']}; "
                        f"e.g. {f.get('unreadable_samples') or 'still pending'})")
    if f["refused_performed"]:
        problems.append(f"broker restart: {f['refused_performed']} casts reported failed to their client "
                        "were performed anyway")
    if f["unclear"]:
        problems.append(f"broker restart: {f['unclear']} cast requests were neither accepted nor reported "
                        f"failed (e.g. {'; '.join(f['unclear_samples'][:3])})")
    if not f["accepted"]:
        problems.append("broker restart: no cast was accepted during the run")
    elif not f["accepted_after"]:
        problems.append("broker restart: no cast accepted after the broker came back: the service did not "
                        "reconnect to it")
    if f["recover_s"] is None:
        problems.append(f"broker restart: no RPC round trip succeeded after the broker came back "
                        f"(calls: {f['calls_ok']} ok, {f['calls_answered']} errors answered, "
                        f"{f['calls_hang']} hung; e.g. {'; '.join(f['call_samples'])})")
    elif f["recover_s"] > RECOVER_LIMIT:
        problems.append(f"broker restart: the first RPC round trip succeeded {f['recover_s']:.1f} s after the "
                        f"broker was back; the limit is {RECOVER_LIMIT:.0f} s")
    if f["calls_hang"]:
        problems.append(f"broker restart: {f['calls_hang']} RPC calls got no answer within "
                        f"{f['request_limit_s']:.0f} s (a hang)")
    if f.get("tally"):
        problems.append(f"broker restart: {f['tally']}")
    if f["broker_active"] != "active":
        problems.append(f"broker restart: {f['broker']} is {f['broker_active']} after systemctl restart")
    return problems


def broker_restart(target: Target, restart_after: float = 4.0, tail: float = 8.0) -> ScenarioResult:
    reason = skip_reason(target)
    if reason:
        return skipped("broker_restart", "broker restart", reason)
    broker = broker_unit()
    state = target.client("bus_setup", {})["state"]
    limit = 120.0
    recover_wait = RECOVER_LIMIT + 15
    args = target.client_args({"state": state, "threads": 4, "call_threads": 256, "call_interval": 0.25,
                               "tail": tail, "recover_wait": recover_wait,
                               "duration": restart_after + 300, "request_limit": limit})
    argv = target.box.host_argv([sys.executable, str(CLIENT), "bus_load", json.dumps(args)])
    with runner.spawn(argv, stdin=subprocess.PIPE) as proc:
        time.sleep(restart_after)
        began = time.time()
        target.sh(f"systemctl restart {broker}", timeout=300)
        back = time.time()
        out, err = runner.finish(proc, input=json.dumps({"restarted_at": back}) + "\n",
                                 timeout=tail + recover_wait + limit + 60, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"broker restart: the ops client failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    load = json.loads(out)
    accepted, refused = load["accepted"], load["refused"]
    settle = target.client("bus_settle", {"state": state, "settle_s": SETTLE_S,
                                          "accepted": [a["record"] for a in accepted],
                                          "refused": [r["record"] for r in refused]},
                           timeout=SETTLE_S + 600)
    f = figures(load, settle, began, back)
    f.update({"broker": broker, "request_limit_s": limit,
              "broker_active": target.show(broker, "ActiveState")["ActiveState"]})
    recover = "never" if f["recover_s"] is None else f"{f['recover_s']:.1f} s"
    line = (f"broker restart: systemctl restart {broker} under load took {f['restart_s']:.1f} s: "
            f"{f['requests']} cast requests, {f['accepted']} accepted ({f['accepted_after']} after the restart), "
            f"{f['refused']} reported failed (503), lost {f['lost']}, refused but performed "
            f"{f['refused_performed']}; first RPC round trip {recover} after the broker was back; "
            f"{f['calls']} calls ({f['calls_ok']} ok, {f['calls_answered']} errors answered, {f['calls_hang']} hung); "
            f"all performed {f['settle_s']:.1f} s after the load")
    return ScenarioResult("broker_restart", line, f, judge_broker_restart(f))


def figures(load: dict[str, Any], settle: dict[str, Any], began: float, back: float) -> dict[str, Any]:
    """The scenario's figures from the client's records (wall-clock times)."""
    accepted, refused, calls = load["accepted"], load["refused"], load["calls"]
    status = settle["status"]
    recovered = [c["t1"] for c in calls if c["outcome"] == "ok" and c["t0"] >= began and c["t1"] >= back]
    return {
        "requests": len(accepted) + len(refused) + len(load["unclear"]),
        "accepted": len(accepted), "refused": len(refused),
        "accepted_during": sum(1 for a in accepted if a["t1"] >= began and a["t0"] <= back),
        "accepted_after": sum(1 for a in accepted if a["t0"] >= back),
        "unclear": len(load["unclear"]), "unclear_samples": load["unclear"][:5],
        "status": status, "lost": len(accepted) - status.get("done", 0),
        "unreadable_samples": settle.get("unreadable_samples", []),
        "refused_performed": settle["refused_performed"], "tally": settle.get("tally"),
        "settle_s": round(settle["settle_s"], 1), "restart_s": round(back - began, 2),
        "recover_s": round(min(recovered) - back, 2) if recovered else None,
        **call_stats(calls),
    }
