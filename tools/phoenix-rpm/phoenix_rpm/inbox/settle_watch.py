"""In the box: watch units for the settle time (docs/verify.md, "Health").

Usage: python3 settle_watch.py '["unit.service", ...]' SECONDS. Samples
state, main PID, NRestarts and the pids of each unit's cgroup every 0.2 s: a
worker crash-loop shows as child pids that exit while new ones appear, with
the main process untouched (which ActiveState and NRestarts alone never
see). Prints per unit {"states", "main_pids", "nrestarts", "up", "exited",
"started", "samples", "window"}. Stdlib only.
"""
import json, os, subprocess, sys, time


def main() -> None:
    units = json.loads(sys.argv[1])
    settle = float(sys.argv[2])
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
            st = show(u)
            d = data[u]
            d["samples"] += 1
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
            d["seen"] |= now
            d["last"] = now
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


if __name__ == "__main__":
    main()
