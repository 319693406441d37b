"""In the box: the resident memory of each unit's processes.

Usage: python3 unit_memory.py '["unit.service", ...]'; prints
{"unit.service": {"rss_kib": N, "processes": n}}. The sum of VmRSS over the
processes of the unit's cgroup (found from /proc/PID/cgroup, as
listen_ports.py does: it works on the unified and the hybrid layout), what
the verify report shows per service (docs/verify.md, "The report"). Shared
pages count once per process: an upper bound for forked workers. Stdlib
only: it runs with the box's python3.
"""
from __future__ import annotations

import json
import sys

from phoenix_rpm.inbox.procs import cgroup_procs, unit_cgroup  # inlined in the box (inbox.source)


def rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main() -> None:
    result: dict[str, dict[str, int]] = {}
    for unit in json.loads(sys.argv[1]):
        pids = cgroup_procs(unit_cgroup(unit))
        result[unit] = {"rss_kib": sum(rss_kib(p) for p in pids), "processes": len(pids)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
