"""Small packaging plans for the verify stage's unit tests, as real ``SpecPlan`` objects.

The verify stage reads the typed plan (docs/architecture.md "The typed
plan"); a test that wants "a package demo with a WSGI phoenix service and a
worker" builds exactly that here instead of parsing a project.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from phoenix_rpm.model import InstallMode, ServiceKind, UnitType
from phoenix_rpm.plan import InstalledFile, Service, SpecPlan


def service(name: str, *, wsgi: bool, phoenix: bool) -> Service:
    """A console-script service ``name`` (unit ``name.service``)."""
    return Service(
        name=name, unit=f"{name}.service", entry_point=f"demo.cmd:{name.replace('-', '_')}",
        kind=ServiceKind.CONSOLE, wsgi=wsgi, phoenix=phoenix,
        type=UnitType.NOTIFY if phoenix else UnitType.EXEC,
        script_path=f"/usr/lib/demo/bin/{name}", exec_start=f"/usr/lib/demo/bin/{name}", description=name,
    )


def spec_plan(name: str, services: Sequence[Service] = (), config_files: Sequence[str] = (),
              user: str | None = None, group: str | None = None) -> SpecPlan:
    """A bundled-mode plan of package ``name`` with these services and config files."""
    files = tuple(InstalledFile(source=f"etc/{Path(c).name}", dest=c, mode="0640", owner="root",
                                group=group or "root", config=True) for c in config_files)
    return SpecPlan(
        project_dir=Path("/nonexistent") / name, config_file=Path("/nonexistent") / name / "setup.cfg",
        name=name, version="1", release="1", summary=name, license="MIT", url="", packager="t <t@localhost>",
        description=name, install_mode=InstallMode.BUNDLED, venv_dir=f"/usr/lib/{name}", user=user, group=group,
        services=tuple(services), tools=(), files=files, config_dirs=(), data_files=(), data_dirs=(),
        state_dir=f"/var/lib/{name}", log_dir=f"/var/log/{name}", runtime_dir=f"/run/{name}",
        graceful_shutdown_timeout=60, timeout_stop_sec=75, logrotate=False, requirements=(), rpm_requires=(),
        packages=(name,), license_files=(), doc_files=(), changelog_epoch=0,
        spec_path=Path("/nonexistent") / name / "rpm" / f"{name}.spec",
    )
