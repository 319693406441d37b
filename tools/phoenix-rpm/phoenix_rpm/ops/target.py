"""The service under test as the ops scenarios see it, and a scenario's result.

A :class:`Target` reaches into the box two ways: ``box.exec`` as root inside
it (``sh``, ``py``, ``show``), and the ops client (client.py) started on the
host in the box's peer network namespace (``box.host_argv``), which sends
the requests of the project's workload profile (profile.py).
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from phoenix_rpm import inbox, runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.profile import Profile
from phoenix_rpm.ops.profile import default as default_profile

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "client.py"


@dataclasses.dataclass
class ScenarioResult:
    """One scenario's outcome: its one-line summary, figures and problems."""

    name: str
    line: str
    figures: dict[str, Any]
    problems: list[str] = dataclasses.field(default_factory=list)
    skipped: str = ""  # why the scenario does not apply to this project ("" when it ran)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclasses.dataclass
class Target:
    """The running service in the box, as the scenarios see it."""

    box: Any
    unit: str                 # the HTTP unit (apollo-api.service)
    units: list[str]          # every unit the package ships
    user: str
    group: str
    package: str
    config_file: str
    config_files: list[str]
    state_dirs: list[str]
    max_exposure: float
    ports: list[int] = dataclasses.field(default_factory=list)
    load_seconds: float = 60.0
    seeded: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    profile: Profile = dataclasses.field(default_factory=default_profile)
    memory_after_load: dict[str, Any] = dataclasses.field(default_factory=dict)
    needs: list[str] = dataclasses.field(default_factory=list)  # backing servers in the box (verify profile)

    @property
    def host(self) -> str:
        address: str = self.box.address
        return address

    # -- in the box ----------------------------------------------------------
    def sh(self, script: str, *, check: bool = True, timeout: float = 120) -> str:
        proc = self.box.exec(["sh", "-c", script], check=False, timeout=timeout)
        if check and proc.returncode != 0:
            raise CheckFailed(f"in the box: {script!r} failed (exit {proc.returncode}): "
                              f"{((proc.stderr or '') + (proc.stdout or '')).strip()[-2000:]}")
        return proc.stdout or ""

    def program(self, name: str, *args: str, timeout: float = 60) -> Any:
        """Run an in-box program (phoenix_rpm.inbox) as root; it prints one JSON value."""
        proc = inbox.run(self.box, name, *args, timeout=timeout)
        if proc.returncode != 0:
            raise CheckFailed(f"in the box: {name}.py failed (exit {proc.returncode}): "
                              f"{(proc.stderr or '').strip()[-2000:]}")
        return json.loads(proc.stdout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.sh(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def main_pid(self) -> int:
        return int(self.show(self.unit, "MainPID")["MainPID"])

    # -- from the host, in the box's peer namespace ----------------------------
    def client_argv(self, mode: str) -> list[str]:
        argv: list[str] = self.box.host_argv([sys.executable, str(CLIENT), mode, "-"])
        return argv

    def client_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """What every client mode gets: where the service is and the workload profile."""
        profile = str(self.profile.path) if self.profile.path else None
        return {"host": self.host, "ports": self.ports, "profile": profile, "health": self.profile.health, **args}

    def client(self, mode: str, args: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        argv = self.client_argv(mode)
        proc = runner.run(argv, input=json.dumps(self.client_args(args)), capture=True, check=False,
                          timeout=timeout)
        if proc.returncode != 0:
            raise CheckFailed(f"ops client {mode} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        answer: dict[str, Any] = json.loads(proc.stdout)
        return answer


def target_for(box: Any, plan: Any, load_seconds: float = 60.0, profile: Profile | None = None) -> Target:
    """A Target from the verify plan (its HTTP check names unit, config and port option).

    ``profile``: the project's workload (phoenix_rpm.ops.profile.load); None
    is the generic one, on the plan's health check path.
    """
    # Only a phoenix service names its ports in its config (a discovered
    # WSGI server has no config_file): the scenarios edit and restart them.
    http = next((h for h in plan.http if h.config_file), None)
    if http is None:
        raise CheckFailed(f"{plan.package}: no HTTP service in the verify plan; the ops "
                          "scenarios need a phoenix wsgi service")
    target = Target(box=box, unit=http.unit, units=list(plan.units), user=plan.user, group=plan.group,
                    package=plan.package, config_file=http.config_file,
                    config_files=list(plan.config_files), state_dirs=list(plan.state_dirs),
                    max_exposure=plan.max_exposure, load_seconds=load_seconds,
                    needs=list(getattr(plan, "needs", [])),
                    profile=profile or default_profile(http.healthcheck))
    target.ports = target.program("ports", http.config_file, http.section, http.port_option)
    if not target.ports:
        raise CheckFailed(f"{http.config_file}: no [{http.section}] {http.port_option} in the box")
    return target
