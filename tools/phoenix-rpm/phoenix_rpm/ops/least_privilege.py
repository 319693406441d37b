"""Scenario 7, least privilege: processes run as the service user, the unit's
sandbox denies writes outside its own folders, no world-writable payload,
config 0640 root:group, systemd-analyze security within the limit."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.cgroups import cgroup_pids, unit_settings
from phoenix_rpm.ops.target import ScenarioResult, Target

# Unit settings that decide what a process of the unit may write; the probe
# runs with exactly these (RuntimeDirectoryPreserve=yes always: the probe's
# transient unit must not remove the running service's /run directory).
SANDBOX_KEYS = ("User", "Group", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "StateDirectory",
                "LogsDirectory", "RuntimeDirectory", "CacheDirectory", "NoNewPrivileges", "UMask")
MUST_NOT_WRITE = ("/", "/etc", "/usr", "/usr/lib", "/usr/bin", "/var/lib", "/var/log", "/var/cache",
                  "/opt", "/srv", "/root", "/home", "/boot")


def write_probe(target: Target, unit: str) -> dict[str, Any]:
    """Try to write in many places as the unit's user inside the unit's sandbox."""
    settings = unit_settings(target, unit)
    props = [f"-p{key}={value}" for key in SANDBOX_KEYS for value in settings.get(key, [])]
    allowed = [d for d in target.state_dirs]
    allowed += [f"/run/{d}" for v in settings.get("RuntimeDirectory", []) for d in v.split()]
    allowed += [f"/var/log/{d}" for v in settings.get("LogsDirectory", []) for d in v.split()]
    allowed = sorted(set(allowed))
    paths = list(MUST_NOT_WRITE) + sorted({str(Path(p).parent) for p in target.config_files}) + allowed
    script = ("for d in " + " ".join(paths) + "; do f=$d/.ops-probe-$$; "
              "if (echo x > $f) 2>/dev/null; then echo \"$d wrote\"; rm -f $f; else echo \"$d denied\"; fi; done")
    argv = ["systemd-run", "--wait", "--pipe", "--quiet", "--collect", "-pRuntimeDirectoryPreserve=yes",
            *props, "sh", "-c", script]
    proc = target.box.exec(argv, check=False, timeout=60)
    if proc.returncode != 0:
        raise CheckFailed(f"least privilege: systemd-run probe failed (exit {proc.returncode}): "
                          f"{((proc.stderr or '') + (proc.stdout or '')).strip()[-1000:]}")
    seen = dict(line.rsplit(" ", 1) for line in (proc.stdout or "").splitlines() if " " in line)
    return {"unit": unit, "props": props, "allowed": allowed,
            "denied": [p for p in paths if p not in allowed and seen.get(p) == "denied"],
            "wrote_outside": [p for p in paths if p not in allowed and seen.get(p) != "denied"],
            "wrote_inside": [p for p in allowed if seen.get(p) == "wrote"],
            "denied_inside": [p for p in allowed if seen.get(p) != "wrote"]}


_EXPOSURE = re.compile(r"Overall exposure level for (\S+): ([0-9.]+)")


def judge_least_privilege(f: dict[str, Any]) -> list[str]:
    problems = []
    for unit, users in f["process_users"].items():
        wrong = sorted({u for u in users if u != f["user"]})
        if not users:
            problems.append(f"least privilege: {unit} has no running process")
        if wrong:
            problems.append(f"least privilege: processes of {unit} run as {', '.join(wrong)}, not {f['user']}")
    for probe in f["probes"]:
        if probe["wrote_outside"]:
            problems.append(f"least privilege: as {f['user']} in the sandbox of {probe['unit']}, writing "
                            f"succeeded outside the service's directories: {', '.join(probe['wrote_outside'])}")
        if probe["denied_inside"]:
            problems.append(f"least privilege: as {f['user']} in the sandbox of {probe['unit']}, writing "
                            f"failed in its own directories: {', '.join(probe['denied_inside'])}")
    if f["world_writable"]:
        problems.append(f"least privilege: world-writable files in the payload: {', '.join(f['world_writable'][:5])}")
    want = f"640 root {f['group']}"
    for path, mode in f["config_modes"].items():
        if mode != want:
            problems.append(f"least privilege: {path} is {mode!r}; expected {want!r} (0640 root:{f['group']})")
    for unit, score in f["exposure"].items():
        if score is None:
            problems.append(f"least privilege: no systemd-analyze security score for {unit}")
        elif score > f["max_exposure"]:
            problems.append(f"least privilege: systemd-analyze security {unit} = {score}; the limit is "
                            f"{f['max_exposure']}")
    return problems


def least_privilege(target: Target) -> ScenarioResult:
    users: dict[str, list[str]] = {}
    for unit in target.units:
        pids = cgroup_pids(target, unit)
        users[unit] = target.sh(f"ps -o user= -p {','.join(map(str, pids))}").split() if pids else []
    probes = [write_probe(target, unit) for unit in target.units]
    payload = target.sh(f"rpm -qlv {target.package}").splitlines()
    world = [line.split()[-1] for line in payload
             if line and line[0] not in "l" and len(line) > 9 and line[8] == "w"]
    modes = {p: target.sh(f"stat -c '%a %U %G' {p}").strip() for p in target.config_files}
    exposure: dict[str, float | None] = {}
    for unit in target.units:
        out = target.sh(f"systemd-analyze security --no-pager {unit}", check=False)
        m = _EXPOSURE.search(out)
        exposure[unit] = float(m.group(2)) if m else None
    f = {"user": target.user, "group": target.group, "process_users": users, "probes": probes,
         "payload_files": len(payload), "world_writable": world, "config_modes": modes,
         "exposure": exposure, "max_exposure": target.max_exposure}
    nproc = sum(len(u) for u in users.values())
    denied = sum(len(p["denied"]) for p in probes)
    inside = sorted({d for p in probes for d in p["wrote_inside"]})
    scores = ", ".join(f"{u.removesuffix('.service')} {s}" for u, s in exposure.items())
    line = (f"least privilege: {nproc} processes, all {target.user}: "
            f"{'yes' if all(set(u) == {target.user} for u in users.values()) else 'NO'}; in the unit sandbox "
            f"writes denied in {denied} places outside and allowed in {', '.join(inside)}; "
            f"{len(world)} world-writable of {len(payload)} payload files; config "
            f"{', '.join(sorted(set(modes.values())))}; systemd-analyze security: {scores}")
    return ScenarioResult("least_privilege", line, f, judge_least_privilege(f))
