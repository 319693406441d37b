"""A WSGI module application under uWSGI, in a booted box: it answers HTTP.

The fixture ``tests/data/uwsgi-app`` (iris) has the 2025 OpenStack shape:
``iris/wsgi/api.py`` assigns ``application`` (no wsgi_scripts), a daemon
whose name says nothing (``iris-relay``, found by its ``serve_forever()``)
and no shipped config (oslo-config-generator input only). ``tools/build-rpm
--verify`` builds it in the box (pyuwsgi bundled, config generated in
%install), lints it and installs it in a freshly booted box, where the
infra suite GETs /healthcheck on the address of the installed uWSGI ini.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(os.environ.get("PHOENIX_VERIFY_TEST_DIR", "/var/tmp/phoenix-verify-tests")) / "iris"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"]


@pytest.fixture(scope="module")
def iris() -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The fixture at a stable path, a git checkout tagged 1.0.0 (a rerun reuses its build)."""
    project = WORK / "iris"
    if project.exists():
        shutil.rmtree(project / ".git", ignore_errors=True)
        for child in project.iterdir():
            if child.name != "dist":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    project.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "tests" / "data" / "uwsgi-app", project, dirs_exist_ok=True)
    env = {**os.environ, "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}
    env.pop("PBR_VERSION", None)
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "iris"], ["tag", "-a", "1.0.0", "-m", "1"]):
        subprocess.run([*GIT, *argv], cwd=project, check=True, env=env, capture_output=True)
    proc = subprocess.run([str(ROOT / "tools" / "build-rpm"), "--verify", str(project)], capture_output=True,
                          text=True, timeout=1800, env=env)
    return project, proc


def test_uwsgi_unit_answers_http_in_a_booted_box(iris: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = iris
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    junit = ET.parse(project / "dist" / "verify-junit.xml")
    cases = {c.get("name", ""): c for c in junit.iter("testcase")}
    # the suite found the uWSGI unit's listening port and GET /healthcheck and / answered 200
    # (the fixture's [phoenix:verify] checks)...
    http = [n for n in cases if n.startswith(("test_wsgi_ports_listening[iris-api", "test_wsgi_answers_checks[iris-api"))]
    assert len(http) == 2, sorted(cases)
    for name in http:  # ...and it passed
        assert cases[name].find("failure") is None and cases[name].find("skipped") is None, name
    running = [n for n in cases if "running" in n and "iris-relay" in n]
    assert running and all(cases[n].find("failure") is None for n in running), sorted(cases)


def test_uwsgi_unit_and_generated_config_are_in_the_rpm(iris: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = iris
    assert proc.returncode == 0, proc.stderr[-4000:]
    rpm = next((project / "dist").glob("iris-1.0.0-*.x86_64.rpm"))
    configs = subprocess.run(["rpm", "-qcp", rpm], capture_output=True, text=True, check=True).stdout.split()
    assert {"/etc/iris/iris.conf", "/etc/iris/iris-api-uwsgi.ini", "/etc/iris/api-paste.ini"} <= set(configs)
    files = subprocess.run(["rpm", "-qlp", "-v", rpm], capture_output=True, text=True, check=True).stdout
    conf_line = next(line for line in files.splitlines() if line.endswith(" /etc/iris/iris.conf"))
    assert conf_line.startswith("-rw-r-----") and " root " in conf_line and " iris " in conf_line, conf_line
    assert any(line.endswith(" /etc/iris/iris.conf.d") and line.startswith("d") for line in files.splitlines())
    assert " /usr/lib/iris/bin/uwsgi" in files  # pyuwsgi, bundled by the toolkit
    text = subprocess.run(f"rpm2cpio {rpm} | cpio -i --to-stdout ./etc/iris/iris.conf", shell=True,
                          capture_output=True, check=True).stdout.decode()
    assert "#relay_port = 8791" in text and "#bind_port = 8790" in text  # the generator's output
    ini = subprocess.run(f"rpm2cpio {rpm} | cpio -i --to-stdout ./etc/iris/iris-api-uwsgi.ini", shell=True,
                         capture_output=True, check=True).stdout.decode()
    assert "module = iris.wsgi.api:application\n" in ini and "http-socket = 0.0.0.0:8790\n" in ini
