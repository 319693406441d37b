"""Small Python programs run *inside* the box with its own python3 (no extra packages).

Shared by the verify stage (phoenix_rpm.verify) and the testinfra suite
(phoenix_rpm/infra), so both find a unit's ports and judge its stability the
same way (docs/verify.md, "Health"). Each is a string passed to
``python3 -c`` with JSON arguments; each prints one JSON document.
"""
from __future__ import annotations

import json
import shlex
from typing import Sequence

# The TCP ports a unit's processes listen on: its cgroup's pids -> their socket
# inodes (/proc/PID/fd) -> LISTEN rows of /proc/net/tcp{,6}. How the suite
# finds the port of any WSGI server (uWSGI, wsgiref, gunicorn...) without
# knowing its configuration. Prints {"unit": [[address, port], ...]}.
LISTEN_PY = r"""
import json, os, subprocess, sys
# A cgroup's processes from /proc/PID/cgroup, which works on the unified and
# the hybrid layout alike (a box on a cgroup-v1 host has /sys/fs/cgroup/systemd).
def procs(cg):
    out = set()
    if not cg:
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
                    parts[2] == cg or parts[2].startswith(cg + "/")):
                out.add(int(entry))
                break
    return out
def pids(unit):
    cg = subprocess.run(["systemctl", "show", "-p", "ControlGroup", "--value", unit],
                        capture_output=True, text=True).stdout.strip()
    return procs(cg)
def listening():
    rows = {}
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
rows = listening()
result = {}
for unit in json.loads(sys.argv[1]):
    found = set()
    for pid in pids(unit):
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
"""

# Watch units for ``settle`` seconds: state, main PID, NRestarts and the pids
# of their cgroups, sampled every 0.2 s. A worker crash-loop shows as child
# pids that exit while new ones appear, with the main process untouched
# (which ActiveState and NRestarts alone never see). Prints per unit:
# {"states": [...], "main_pids": [...], "nrestarts": N, "up": seconds,
#  "exited": [pids], "started": [pids], "samples": n, "window": seconds}.
SETTLE_PY = r"""
import json, os, subprocess, sys, time
units = json.loads(sys.argv[1]); settle = float(sys.argv[2])
def show(unit):
    out = subprocess.run(["systemctl", "show", "-p",
                          "ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestampMonotonic,ControlGroup", unit],
                         capture_output=True, text=True).stdout
    return dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
# A cgroup's processes from /proc/PID/cgroup, which works on the unified and
# the hybrid layout alike (a box on a cgroup-v1 host has /sys/fs/cgroup/systemd).
def procs(cg):
    out = set()
    if not cg:
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
                    parts[2] == cg or parts[2].startswith(cg + "/")):
                out.add(int(entry))
                break
    return out
data = {u: {"states": [], "main_pids": [], "first": None, "seen": set(), "last": set(), "exited": set(),
            "started": set(), "samples": 0} for u in units}
start = time.monotonic()
while True:
    for u in units:
        st = show(u); d = data[u]; d["samples"] += 1
        state = st.get("ActiveState", "?") + "/" + st.get("SubState", "?")
        if not d["states"] or d["states"][-1] != state:
            d["states"].append(state)
        main = int(st.get("MainPID") or 0)
        if main and main not in d["main_pids"]:
            d["main_pids"].append(main)
        now = procs(st.get("ControlGroup", "")) - {main}
        if d["first"] is None:
            d["first"] = set(now)
        else:
            d["started"] |= now - d["seen"]
            d["exited"] |= d["last"] - now
        d["seen"] |= now; d["last"] = now
        d["nrestarts"] = int(st.get("NRestarts") or 0)
        entered = int(st.get("ActiveEnterTimestampMonotonic") or 0) / 1e6
        d["up"] = round(time.monotonic() - entered, 2) if entered and st.get("ActiveState") == "active" else 0.0
    if time.monotonic() - start >= settle:
        break
    time.sleep(0.2)
out = {}
for u, d in data.items():
    out[u] = {"states": d["states"], "main_pids": d["main_pids"], "nrestarts": d["nrestarts"], "up": d["up"],
              "exited": sorted(d["exited"]), "started": sorted(d["started"]), "samples": d["samples"],
              "window": round(time.monotonic() - start, 2)}
print(json.dumps(out))
"""

SETTLE_UNIT = "phoenix-verify-settle.service"
SETTLE_OUT = "/var/lib/phoenix-verify/settle.json"


def settle_start_script(units: Sequence[str], settle: float) -> str:
    """Shell that starts the settle watch in the background, as a transient unit.

    Started by the stage as soon as the units are ready, so the watch runs
    while the suite runs; the suite's check waits for its result (and starts
    it itself when run by hand against a box).
    """
    program = shlex.quote(SETTLE_PY)
    args = f"{shlex.quote(json.dumps(list(units)))} {settle:g}"
    return (f"mkdir -p /var/lib/phoenix-verify && rm -f {SETTLE_OUT} && "
            f"systemd-run --quiet --collect --unit={SETTLE_UNIT} "
            f"-p StandardOutput=truncate:{SETTLE_OUT} -p StandardError=journal "
            f"/usr/bin/python3 -c {program} {args}")
