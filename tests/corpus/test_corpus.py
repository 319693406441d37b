"""Real OpenStack services in, every daemon and WSGI application out (issue 12's done-when).

For each pinned project of ``corpus.CORPUS``: generate must find the daemons
and WSGI applications the code has (and leave the tools alone), and the
full ``tools/build-rpm`` (box build + rpmlint, no project rpmlintrc) must
succeed with a unit per daemon and per application, a config file under
/etc/<conf>/ and a system user. Generate runs for every project (seconds,
sdists cached); the box builds run for the CI subset, every project with
``PHOENIX_CORPUS=all`` (docs/corpus.md gives the times).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from corpus import CORPUS, Entry, build_rpm, checkout, package

BUILT = [e for e in CORPUS if e.ci or os.environ.get("PHOENIX_CORPUS") == "all"]


def _ids(entries: list[Entry]) -> list[str]:
    return [f"{e.dist}-{e.version}" for e in entries]


@pytest.mark.parametrize("entry", CORPUS, ids=_ids(CORPUS))
def test_generate_finds_every_daemon_and_wsgi_app(entry: Entry, tmp_path: Path) -> None:
    project = checkout(entry, tmp_path)
    proc = build_rpm(project, "--stage", "generate", "--format", "json", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    by_name = {e["entry_point"]: e for e in data["entry_points"] if e["server"] != "uwsgi"}
    for daemon in entry.daemons:
        assert by_name[daemon]["decision"] == "service", (daemon, by_name[daemon]["reason"])
        assert by_name[daemon]["reason"], daemon
    apps = {e["unit"].removesuffix(".service"): e for e in data["entry_points"] if e["server"] == "uwsgi"}
    assert set(entry.apps) <= set(apps), sorted(apps)
    for app in apps.values():
        assert app["bind"] and app["uwsgi_ini"].startswith("/etc/"), app
    for tool in entry.tools:
        assert by_name[tool]["decision"] == "tool", (tool, by_name[tool]["reason"])
    for unit, port in entry.ports:  # the port the project's code declares, not a fallback
        assert apps[unit]["bind"] == f"0.0.0.0:{port}", apps[unit]
    if entry.config_dir:  # the folder the project's code reads; the user named after it
        assert data["config_dir"] == entry.config_dir and data["user"] == entry.config_dir[len("/etc/"):], data
    assert data["main_config"] and data["main_config"].startswith(data["config_dir"] + "/"), data
    # oslo.config's own default drop-in folder for the project, whatever the main file's name
    folder = data["config_dir"]
    assert data["config_drop_in_dir"] == f"{folder}/{folder.rsplit('/', 1)[-1]}.conf.d"
    assert data["user"] and data["python"] == "python(abi) = 3.11"


@pytest.mark.parametrize("entry", BUILT, ids=_ids(BUILT))
def test_box_build_and_lint_with_no_project_filter(entry: Entry, tmp_path: Path) -> None:
    result = package(entry, tmp_path)
    project: Path = result["project"]
    assert not (project / "rpm" / "rpmlintrc").exists() and not list((project / "rpm").glob("*.rpmlintrc"))
    assert result["returncode"] == 0, result["stderr"][-6000:]
    assert "0 errors" in result["stderr"], result["stderr"][-3000:]
    rpm = result["rpm"]
    files = set(subprocess.run(["rpm", "-qlp", rpm], capture_output=True, text=True, check=True).stdout.split())
    configs = set(subprocess.run(["rpm", "-qcp", rpm], capture_output=True, text=True, check=True).stdout.split())
    data = result["decisions"]
    services = [e for e in data["entry_points"] if e["decision"] == "service"]
    assert services
    for e in services:  # a unit per daemon and per WSGI application
        assert f"/usr/lib/systemd/system/{e['unit']}" in files, e["unit"]
        if e["uwsgi_ini"]:
            assert e["uwsgi_ini"] in configs
    assert data["main_config"] in configs  # shipped or generated, %config(noreplace)
    assert data["config_drop_in_dir"] in files
    assert any(f.startswith("/usr/lib/sysusers.d/") for f in files)
    scripts = subprocess.run(["rpm", "-qp", "--scripts", rpm], capture_output=True, text=True, check=True).stdout
    assert f"useradd -r -g {data['group']}" in scripts and data["user"] in scripts
