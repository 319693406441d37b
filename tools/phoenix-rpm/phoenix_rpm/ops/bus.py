"""What the message-bus scenarios share: when they apply, and call statistics.

The scenarios (broker_restart.py, rpc_worker_kill.py) fault the broker and
the rpc workers of a service that uses one. They need two things the
project declares: a broker in the verify box (``[phoenix:verify] needs =
rabbitmq``, docs/verify.md) and, in its ops profile, which requests cast
and call and how to tell that a cast was performed (``cast``,
``performed``, ``call``: profile.py). Without either they are skipped, and
the ``ops:`` line says why: a project with no bus is not failed for it,
and a skip is never shown as a pass (docs/reliability.md).
"""
from __future__ import annotations

import re
from typing import Any

from phoenix_rpm.backing import UNITS
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.target import ScenarioResult, Target

BROKER = "rabbitmq"
KIND = "rpc"
# The phoenix launcher's and worker's own journal lines (docs/framework.md, "Messaging").
TOPIC_LINE = re.compile(r"rpc worker \(pid \d+\) consuming: rpc server of \S+ on topic (\S+)")


def skip_reason(target: Target) -> str:
    """Why the bus scenarios cannot run against this target ('' when they can)."""
    if BROKER not in target.needs:
        return (f"no message broker in the box: the verify profile's needs ({', '.join(target.needs) or 'none'}) "
                f"has no {BROKER} ([phoenix:verify] needs = {BROKER} starts one, docs/verify.md)")
    if not target.profile.bus:
        return (f"the ops profile ({target.profile.describe()}) defines no cast(), performed() and call(): "
                "it does not say which requests go over the bus (docs/reliability.md, \"The workload profile\")")
    return ""


def broker_unit() -> str:
    return UNITS[BROKER]


def skipped(name: str, title: str, reason: str) -> ScenarioResult:
    return ScenarioResult(name, f"{title}: skipped: {reason}", {"skipped": reason}, [], skipped=reason)


def call_stats(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by outcome (ok, answered: a non-2xx answer, hang, error) and the longest call."""
    counts = {k: sum(1 for c in calls if c["outcome"] == k) for k in ("ok", "answered", "hang", "error")}
    longest = max((c["t1"] - c["t0"] for c in calls), default=0.0)
    samples = [c["what"] for c in calls if c["outcome"] != "ok"][:3]
    return {"calls": len(calls), **{f"calls_{k}": v for k, v in counts.items()},
            "longest_call_s": round(longest, 2), "call_samples": samples}


def rpc_unit(target: Target) -> str:
    """The unit whose parent runs rpc workers (the launcher's 'Started rpc worker' lines)."""
    for unit in [target.unit, *[u for u in target.units if u != target.unit]]:
        out = target.sh(f"journalctl -u {unit} -o cat --no-pager | grep -c 'Started {KIND} worker' || true")
        if out.strip() not in ("", "0"):
            return unit
    raise CheckFailed(f"no unit of {', '.join(target.units)} started an {KIND} worker "
                      f"(no 'Started {KIND} worker' in their journals): is transport_url set and rpc_workers > 0?")


def rpc_topic(target: Target, unit: str) -> str:
    """The topic the unit's rpc workers consume, from their 'consuming: ... on topic T' line."""
    found = TOPIC_LINE.findall(target.sh(f"journalctl -u {unit} -o cat --no-pager"))
    if not found:
        raise CheckFailed(f"{unit}: no rpc worker says which topic it consumes ('rpc worker (pid N) consuming: "
                          "rpc server of ... on topic T' in its journal)")
    return str(found[-1])
