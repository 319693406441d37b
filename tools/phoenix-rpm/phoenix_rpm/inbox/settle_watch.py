"""In the box: watch units for the settle time (docs/verify.md, "Health").

Usage: python3 settle_watch.py '["unit.service", ...]' SECONDS. Samples
state, main PID, NRestarts and the pids of each unit's cgroup every 0.2 s: a
worker crash-loop shows as child pids that exit while new ones appear, with
the main process untouched (which ActiveState and NRestarts alone never
see). Prints per unit {"states", "main_pids", "nrestarts", "up", "exited",
"started", "samples", "window"}. Stdlib only: it runs with the box's
python3, passed as text to ``python3 -c`` (its cgroup reader is procs.py's,
inlined by inbox.source).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from phoenix_rpm.inbox.procs import cgroup_procs  # inlined in the box (inbox.source)

KEYS = "ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestampMonotonic,ControlGroup"


def show(unit: str) -> dict[str, str]:
    out = subprocess.run(["systemctl", "show", "-p", KEYS, unit], capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@dataclass
class Watch:
    """What one unit did during the window."""

    states: list[str] = field(default_factory=list)
    main_pids: list[int] = field(default_factory=list)
    first: set[int] | None = None
    seen: set[int] = field(default_factory=set)
    last: set[int] = field(default_factory=set)
    exited: set[int] = field(default_factory=set)
    started: set[int] = field(default_factory=set)
    samples: int = 0
    nrestarts: int = 0
    up: float = 0.0

    def sample(self, st: dict[str, str]) -> None:
        self.samples += 1
        state = st.get("ActiveState", "?") + "/" + st.get("SubState", "?")
        if not self.states or self.states[-1] != state:
            self.states.append(state)
        main = int(st.get("MainPID") or 0)
        if main and main not in self.main_pids:
            self.main_pids.append(main)
        now = cgroup_procs(st.get("ControlGroup", "")) - {main}
        if self.first is None:
            self.first = set(now)
        else:
            self.started |= now - self.seen
            self.exited |= self.last - now
        self.seen |= now
        self.last = now
        self.nrestarts = int(st.get("NRestarts") or 0)
        entered = int(st.get("ActiveEnterTimestampMonotonic") or 0) / 1e6
        self.up = round(time.monotonic() - entered, 2) if entered and st.get("ActiveState") == "active" else 0.0

    def to_json(self, window: float) -> dict[str, Any]:
        return {"states": self.states, "main_pids": self.main_pids, "nrestarts": self.nrestarts, "up": self.up,
                "exited": sorted(self.exited), "started": sorted(self.started), "samples": self.samples,
                "window": window}


def main() -> None:
    units: list[str] = json.loads(sys.argv[1])
    settle = float(sys.argv[2])
    data = {unit: Watch() for unit in units}
    start = time.monotonic()
    while True:
        for unit in units:
            data[unit].sample(show(unit))
        if time.monotonic() - start >= settle:
            break
        time.sleep(0.2)
    window = round(time.monotonic() - start, 2)
    print(json.dumps({unit: watch.to_json(window) for unit, watch in data.items()}))


if __name__ == "__main__":
    main()
