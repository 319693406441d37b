"""What several in-box programs read from /proc: a cgroup's processes, a process's children.

Not a program of its own: :func:`phoenix_rpm.inbox.source` puts this text in
place of a program's ``from phoenix_rpm.inbox.procs import ...`` line, so
the program stays one file for the box's python3 (stdlib only, no toolkit
there). No ``from __future__`` import here: it would not be the first
statement once inlined.
"""
import os
import subprocess
import time


def cgroup_procs(cgroup: str) -> set[int]:
    """A cgroup's processes from /proc/PID/cgroup, which works on the unified
    and the hybrid layout alike (a box on a cgroup-v1 host has
    /sys/fs/cgroup/systemd)."""
    out: set[int] = set()
    if not cgroup:
        return out
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                text = f.read()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[1] in ("", "name=systemd") and (
                    parts[2] == cgroup or parts[2].startswith(cgroup + "/")):
                out.add(int(entry))
                break
    return out


def unit_cgroup(unit: str) -> str:
    """The unit's control group ('' when it has none: not running)."""
    return subprocess.run(["systemctl", "show", "-p", "ControlGroup", "--value", unit],
                          capture_output=True, text=True).stdout.strip()


def kids(main: int) -> set[int]:
    """Every live (non-zombie) process whose parent is ``main``.

    Read from every /proc/<pid>/stat, not /proc/<main>/task/<main>/children:
    that lists only the children forked by the main *thread*.
    """
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == main and fields[0] != "Z":
                found.add(int(entry))
    return found


def kill_and_wait_respawn(main: int, victim: int, before: set[int],
                          wait: float) -> tuple[set[int], float | None]:
    """kill -9 ``victim``, then poll for new children of ``main`` (not in
    ``before``) for up to ``wait`` seconds: (the new pids, seconds until
    they appeared, or None). Polled every 2 ms: a respawn takes milliseconds."""
    started = time.monotonic()
    os.kill(victim, 9)
    while time.monotonic() - started < wait:
        new = kids(main) - before
        if new:
            return new, time.monotonic() - started
        time.sleep(0.002)
    return set(), None
