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
import os
import subprocess
import sys


def cgroup_procs(cgroup: str) -> set[int]:
    out: set[int] = set()
    if not cgroup:
        return out
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = open(f"/proc/{entry}/cgroup").read()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[1] in ("", "name=systemd") and (
                    parts[2] == cgroup or parts[2].startswith(cgroup + "/")):
                out.add(int(entry))
                break
    return out


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
        cgroup = subprocess.run(["systemctl", "show", "-p", "ControlGroup", "--value", unit],
                                capture_output=True, text=True).stdout.strip()
        pids = cgroup_procs(cgroup)
        result[unit] = {"rss_kib": sum(rss_kib(p) for p in pids), "processes": len(pids)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
