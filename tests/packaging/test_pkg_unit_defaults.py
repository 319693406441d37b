"""Unit defaults come from what the unit runs; overrides replace keys in place (docs/packaging.md).

phoenix services keep the framework's lifecycle (READY=1, SIGHUP reload,
stop timeout above graceful_shutdown_timeout, fd store); a plain daemon
(tests/data/myservice: http.server and a loop) gets none of it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phoenix_rpm import generate, units

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def myservice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    dst = tmp_path / "myservice"
    shutil.copytree(DATA / "myservice", dst)
    return dst


def service_keys(project: Path, service: str) -> list[tuple[str, str]]:
    plan = generate.load_plan(project)
    svc = next(s for s in plan.services if s.name == service)
    return dict(units.unit_for(svc, plan))["Service"]


def keys(items: list[tuple[str, str]]) -> list[str]:
    return [k for k, _ in items]


@pytest.mark.parametrize("service", ["myservice-api", "myservice-worker"])
def test_plain_daemon_gets_no_framework_lifecycle(myservice: Path, service: str) -> None:
    items = service_keys(myservice, service)
    found = dict(items)
    assert found["Type"] == "exec", "readiness: the program is started once exec'd"
    assert "TimeoutStopSec" not in found, f"no stop timeout from phoenix's graceful_shutdown_timeout: {found}"
    assert "ExecReload" not in found, "SIGHUP would kill a plain program"
    assert "NotifyAccess" not in found and "FileDescriptorStoreMax" not in found
    assert found["Restart"] == "on-failure"


def test_phoenix_service_keeps_its_lifecycle() -> None:
    found = dict(service_keys(REPO, "apollo-api"))
    plan = generate.load_plan(REPO)
    assert found["Type"] == "notify" and found["NotifyAccess"] == "main"
    assert found["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert found["TimeoutStopSec"] == str(plan.graceful_shutdown_timeout + 15)
    assert found["FileDescriptorStoreMax"] == str(units.FD_STORE_MAX)


def add_overrides(project: Path, lines: str) -> None:
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text() + "\n[phoenix:rpm]\nunit_overrides =\n" + lines)


def test_override_adding_exec_reload_goes_beside_exec_start(myservice: Path) -> None:
    add_overrides(myservice, "    myservice-api.ExecReload = /bin/kill -USR1 $MAINPID\n"
                             "    myservice-api.TimeoutStopSec = 20\n")
    names = keys(service_keys(myservice, "myservice-api"))
    assert names[names.index("ExecStart") + 1] == "ExecReload", names
    assert names[names.index("RestartSec") + 1] == "TimeoutStopSec", names
    assert names.count("ExecReload") == 1


def test_override_of_an_existing_key_replaces_it_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = tmp_path / "apollo"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "build", "*.egg-info"))
    before = keys(service_keys(project, "apollo-api"))
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("unit_overrides =\n", "unit_overrides =\n"
                                           "    apollo-api.ExecReload = /bin/kill -USR2 $MAINPID\n", 1))
    after = service_keys(project, "apollo-api")
    assert keys(after) == before
    assert dict(after)["ExecReload"] == "/bin/kill -USR2 $MAINPID"
