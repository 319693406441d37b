"""In the box: kill -9 the busiest worker of a main process, time its respawn.

Usage: python3 kill_worker.py MAIN_PID PORT[,PORT...]  ->  one JSON object
(main, victim, workers_before, held_by, connections_held, new_workers,
respawn_s: seconds until a new child of MAIN_PID appeared or null after 5 s,
main_alive; with no respawn also the process tree and each process's kernel
wait state, so the report says where the parent hangs). The ops scenario
"worker death" runs it while wrk loads the ports.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from phoenix_rpm.inbox.procs import kids, kill_and_wait_respawn  # inlined in the box (inbox.source)

RESPAWN_WAIT = 5.0   # seconds to wait for the replacement worker


def held_connections(pids: set[int], ports: list[str]) -> dict[int, int]:
    """Established connections on ``ports`` held by each pid (``ss -p``)."""
    flt = " or ".join(f"sport = :{p}" for p in ports)
    ss = subprocess.run(["ss", "-Htnp", "state", "established", f"( {flt} )"],
                        capture_output=True, text=True).stdout
    return {pid: sum(1 for line in ss.splitlines() if f"pid={pid}," in line) for pid in pids}


def proc_state(pid: int) -> dict[str, str]:
    out = {}
    for name in ("wchan", "syscall"):
        try:
            with open(f"/proc/{pid}/{name}") as f:
                out[name] = f.read().strip()[:80]
        except OSError as exc:
            out[name] = str(exc)
    return out


def kill_busiest(main: int, ports: list[str]) -> dict[str, Any]:
    before = kids(main)
    held_by = held_connections(before, ports)
    # The busiest worker: killing one that holds no connection would prove little.
    victim = max(sorted(before), key=lambda pid: held_by[pid])
    new, delay = kill_and_wait_respawn(main, victim, before, RESPAWN_WAIT)
    stuck = {pid: proc_state(pid) for pid in sorted(kids(main) | {main})} if delay is None else {}
    tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etimes,args", "--ppid", str(main), "-p", str(main)],
                          capture_output=True, text=True).stdout
    return {"main": main, "victim": victim, "workers_before": sorted(before), "held_by": held_by, "tree": tree,
            "stuck": stuck, "connections_held": held_by[victim], "new_workers": sorted(new), "respawn_s": delay,
            "main_alive": os.path.exists(f"/proc/{main}")}


if __name__ == "__main__":
    print(json.dumps(kill_busiest(int(sys.argv[1]), sys.argv[2].split(","))))
