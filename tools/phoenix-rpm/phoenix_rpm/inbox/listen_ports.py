"""In the box: the TCP ports each unit's processes listen on.

Usage: python3 listen_ports.py '["unit.service", ...]'; prints
{"unit.service": [[address, port], ...]}. A unit's cgroup's pids -> their
socket inodes (/proc/PID/fd) -> LISTEN rows of /proc/net/tcp{,6}: how verify
finds the port of any WSGI server (uWSGI, wsgiref, gunicorn...) without
knowing its configuration (docs/verify.md, "Health"). Stdlib only: it runs
with the box's python3, passed as text to ``python3 -c``.
"""
from __future__ import annotations

import json
import os
import sys

from phoenix_rpm.inbox.procs import cgroup_procs, unit_cgroup  # inlined in the box (inbox.source)


def unit_pids(unit: str) -> set[int]:
    return cgroup_procs(unit_cgroup(unit))


def listening() -> dict[str, tuple[str, int]]:
    """Socket inode -> (address, port) of every TCP socket in LISTEN state."""
    rows: dict[str, tuple[str, int]] = {}
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A":
                addr, port = f[1].rsplit(":", 1)
                if v6:
                    host = "::" if set(addr) == {"0"} else ("::1" if addr == "0" * 24 + "01000000" else addr)
                else:
                    host = ".".join(str(int(addr[i:i + 2], 16)) for i in (6, 4, 2, 0))
                rows[f[9]] = (host, int(port, 16))
    return rows


def main() -> None:
    rows = listening()
    result: dict[str, list[tuple[str, int]]] = {}
    for unit in json.loads(sys.argv[1]):
        found: set[tuple[str, int]] = set()
        for pid in unit_pids(unit):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in rows:
                    found.add(rows[link[8:-1]])
        result[unit] = sorted(found, key=lambda a: (a[1], a[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
