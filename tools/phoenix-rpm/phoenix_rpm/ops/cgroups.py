"""What the ops scenarios read of a unit in the box: its [Service] settings and
the processes of its cgroup (least privilege and resources share these)."""
from __future__ import annotations

from phoenix_rpm.ops.target import Target


def unit_settings(target: Target, unit: str) -> dict[str, list[str]]:
    """The [Service] settings of the installed unit file (``systemctl cat``)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in target.sh(f"systemctl cat {unit}").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings




# The unit's cgroup, wherever this host mounts it: pure cgroup v2, or the
# hybrid layout (v2 under unified/, systemd's v1 tree under systemd/) that a
# container gets on a cgroup-v1 host.
CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")


def cgroup_dir(target: Target, unit: str) -> str | None:
    cg = target.show(unit, "ControlGroup")["ControlGroup"]
    if not cg:
        return None
    found = target.sh(" ; ".join(f"test -f {root}{cg}/cgroup.procs && echo {root}{cg}"
                                 for root in CGROUP_ROOTS) + " ; true").split()
    return found[0] if found else None


def cgroup_pids(target: Target, unit: str) -> list[int]:
    where = cgroup_dir(target, unit)
    if where is None:
        return []
    # cgroup.procs shows 0 for a member outside the reader's PID namespace: a
    # process entered from the host, or (seen on this hybrid-cgroup host, whose
    # boxes share the host's unified hierarchy) the same unit of another box
    # running the same package. Not this service's process; ps refuses 0.
    return [pid for pid in map(int, target.sh(f"cat {where}/cgroup.procs", check=False).split()) if pid > 0]
