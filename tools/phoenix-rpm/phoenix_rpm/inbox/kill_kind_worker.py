"""In the box: kill -9 a worker of one kind (rpc, notification...), time its replacement.

Usage: python3 kill_kind_worker.py MAIN_PID UNIT KIND  ->  one JSON object
(main, victim, kind_workers: the live workers of that kind before,
killed_at: wall-clock time of the kill, respawn_s: seconds until a new
child of MAIN_PID appeared, new_pid, ready_s: seconds until the journal
says the new worker is consuming, main_alive; an ``error`` key when no
worker of that kind runs).

Which child is which kind comes from the phoenix launcher's own journal
lines (``Started rpc worker 0 (pid 123)``, ``rpc worker (pid 123)
consuming: ...``, docs/framework.md): the processes of one unit look alike
from outside. The ops scenario "rpc worker kill" runs it while calls are in
flight.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import Any

from phoenix_rpm.inbox.procs import kids, kill_and_wait_respawn  # inlined in the box (inbox.source)

RESPAWN_WAIT = 5.0    # seconds to wait for the replacement worker
READY_WAIT = 60.0     # seconds to wait for it to consume (a broker connection)
STARTED = re.compile(r"Started (\w+) worker \d+ \(pid (\d+)\)")


def journal(unit: str) -> str:
    return subprocess.run(["journalctl", "-u", unit, "-o", "cat", "--no-pager"],
                          capture_output=True, text=True).stdout


def kinds(text: str) -> dict[int, str]:
    """pid -> worker kind, from the launcher's 'Started KIND worker N (pid P)' lines."""
    return {int(pid): kind for kind, pid in STARTED.findall(text)}


def kill_kind(main: int, unit: str, kind: str) -> dict[str, Any]:
    before = kids(main)
    known = kinds(journal(unit))
    victims = sorted(pid for pid in before if known.get(pid) == kind)
    out: dict[str, Any] = {"main": main, "kind": kind, "kind_workers": victims, "workers_before": sorted(before)}
    if not victims:
        out["error"] = (f"no live {kind} worker among the children {sorted(before)} of {main} "
                        f"(journal of {unit}: {sorted(known.items())})")
        return out
    victim = victims[-1]
    started = time.monotonic()
    out["killed_at"] = time.time()
    new, respawn = kill_and_wait_respawn(main, victim, before, RESPAWN_WAIT)
    ready = None
    new_pid = None
    if new:
        while time.monotonic() - started < READY_WAIT:
            text = journal(unit)
            known = kinds(text)
            mine = [pid for pid in new if known.get(pid) == kind]
            if mine:
                new_pid = mine[0]
                if f"{kind} worker (pid {new_pid}) consuming" in text:
                    ready = time.monotonic() - started
                    break
            time.sleep(0.1)
    out.update({"victim": victim, "respawn_s": respawn, "new_workers": sorted(new), "new_pid": new_pid,
                "ready_s": ready, "main_alive": os.path.exists(f"/proc/{main}")})
    return out


if __name__ == "__main__":
    print(json.dumps(kill_kind(int(sys.argv[1]), sys.argv[2], sys.argv[3])))
