"""Scenario: malformed messages on the RPC topic (issue 15).

A producer that is confused or hostile can put anything on the broker.
The in-box program amqp_bus.py publishes, with the service's own broker
credentials, bytes that are not JSON, an oslo envelope whose message is
broken, a cast of a method that does not exist and JSON that is not an
RPC message onto the topic the rpc workers consume (their journal names
it). Judged: each is logged, acknowledged (the queue is empty afterwards:
nothing piles up or comes back), no worker dies, and the next RPC round
trip (the profile's ``call()``) is answered.
"""
from __future__ import annotations

import re
import time
from typing import Any

from phoenix_rpm.ops.bus import call_stats, rpc_topic, rpc_unit, skip_reason, skipped
from phoenix_rpm.ops.target import ScenarioResult, Target

LOGGED = re.compile(r"\b(ERROR|WARNING)\b")


def judge_malformed_message(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["queue_messages"]:
        problems.append(f"malformed message: {f['queue_messages']} messages still on queue {f['topic']} "
                        f"{f['settle_s']:.0f} s after {len(f['published'])} malformed ones were published: "
                        "not acknowledged (they pile up or come back)")
    if f["logged"] < len(f["published"]):
        problems.append(f"malformed message: {f['logged']} warning/error lines in the journal of {f['unit']} for "
                        f"{len(f['published'])} malformed messages: each must be logged")
    if f["workers_gone"]:
        problems.append(f"malformed message: worker(s) {f['workers_gone']} of {f['unit']} died over it")
    if not f["calls_ok"]:
        problems.append(f"malformed message: the next RPC round trip failed "
                        f"(e.g. {'; '.join(f['call_samples']) or 'no call made'})")
    return problems


def malformed_message(target: Target, settle: float = 3.0) -> ScenarioResult:
    reason = skip_reason(target)
    if reason:
        return skipped("malformed_message", "malformed message", reason)
    unit = rpc_unit(target)
    topic = rpc_topic(target, unit)
    files = [target.config_file, *target.sh(f"ls -1 {target.config_file}.d/*.conf 2>/dev/null || true").split()]
    main = int(target.show(unit, "MainPID")["MainPID"])
    before = set(target.sh(f"pgrep -P {main} || true").split())
    since = target.sh("date +%s.%N").strip()
    published = target.program("amqp_bus", "malformed", topic, *files)
    time.sleep(settle)
    depth = target.program("amqp_bus", "depth", topic, *files)
    journal = target.sh(f"journalctl -u {unit} -o cat --no-pager --since @{since}")
    state = target.client("bus_setup", {})["state"]
    calls = target.client("bus_calls", {"state": state, "threads": 1, "duration": 0.1})["calls"]
    after = set(target.sh(f"pgrep -P {main} || true").split())
    f: dict[str, Any] = {
        "unit": unit, "topic": topic, "published": published["published"],
        "settle_s": settle, "queue_messages": depth["messages"], "consumers": depth["consumers"],
        "logged": sum(1 for line in journal.splitlines() if LOGGED.search(line)),
        "log_samples": [line[:200] for line in journal.splitlines() if LOGGED.search(line)][:6],
        "workers_gone": sorted(before - after), **call_stats(calls)}
    line = (f"malformed message: {len(f['published'])} malformed messages on the queue of topic {topic}: "
            f"{f['logged']} warning/error lines logged, {f['queue_messages']} left on the queue "
            f"({f['consumers']} consumers), {len(f['workers_gone'])} workers died; next call "
            f"{'answered' if f['calls_ok'] else 'FAILED'}")
    return ScenarioResult("malformed_message", line, f, judge_malformed_message(f))
