"""WSGI applications under uWSGI, in a booted box: they answer HTTP and reload gracefully.

The fixture ``tests/data/uwsgi-app`` (iris) has the 2025 OpenStack shape:
``iris/wsgi/api.py`` assigns ``application`` (no wsgi_scripts), a daemon
whose name says nothing (``iris-relay``, found by its ``serve_forever()``)
and no shipped config (oslo-config-generator input only). ``tools/build-rpm
--verify`` builds it in the box (pyuwsgi bundled, config generated in
%install), lints it and installs it in a freshly booted box, where the
infra suite GETs /healthcheck on the address of the installed uWSGI ini.

The fixture ``tests/data/wsgi-file`` (vega, distribution ``openstack-vega``)
exposes its API only as a mod_wsgi file (``vega/api/app.wsgi``), declares
its port as ``vega_api_listen_port`` in another module, and its config
generator writes ``vega-api.conf`` while the code reads ``/etc/vega/``: the
verify stage's drop-in must reach the application through
``/etc/vega/vega.conf.d`` (``GET /configured`` answers 200 only then), and
``systemctl reload`` (SIGHUP, uWSGI's graceful reload) must keep answering
every request while the workers are replaced.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_DIR = Path(os.environ.get("PHOENIX_VERIFY_TEST_DIR", "/var/tmp/phoenix-verify-tests"))
WORK = TEST_DIR / "iris"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost", "-c", "commit.gpgsign=false"]


def _verified(fixture: str, name: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The fixture at a stable path, a git checkout tagged 1.0.0, through ``tools/build-rpm --verify``.

    A rerun reuses its build (the toolkit's build cache, keyed by the inputs).
    """
    project = TEST_DIR / name / name
    if project.exists():
        shutil.rmtree(project / ".git", ignore_errors=True)
        for child in project.iterdir():
            if child.name != "dist":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    project.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "tests" / "data" / fixture, project, dirs_exist_ok=True)
    env = {**os.environ, "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}
    env.pop("PBR_VERSION", None)
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", name], ["tag", "-a", "1.0.0", "-m", "1"]):
        subprocess.run([*GIT, *argv], cwd=project, check=True, env=env, capture_output=True)
    proc = subprocess.run([str(ROOT / "tools" / "build-rpm"), "--verify", str(project)], capture_output=True,
                          text=True, timeout=1800, env=env)
    return project, proc


@pytest.fixture(scope="module")
def iris() -> tuple[Path, subprocess.CompletedProcess[str]]:
    return _verified("uwsgi-app", "iris")


@pytest.fixture(scope="module")
def vega() -> tuple[Path, subprocess.CompletedProcess[str]]:
    return _verified("wsgi-file", "vega")


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


def _rpm(project: Path, glob: str) -> Path:
    return next((project / "dist").glob(glob))


def test_wsgi_file_app_answers_and_reads_the_drop_in(vega: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = vega
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    cases = {c.get("name", ""): c for c in ET.parse(project / "dist" / "verify-junit.xml").iter("testcase")}
    # /healthcheck and /configured (200 only when the verify drop-in in /etc/vega/vega.conf.d
    # reached the application, which parses no arguments) on the port its code declares
    http = [n for n in cases if n.startswith("test_wsgi_answers_checks[vega-api")]
    assert len(http) == 1 and cases[http[0]].find("failure") is None and cases[http[0]].find("skipped") is None, \
        sorted(cases)
    ports = [n for n in cases if n.startswith("test_wsgi_ports_listening[vega-api")]
    assert ports and all(cases[n].find("failure") is None for n in ports), sorted(cases)
    assert "/etc/vega/vega.conf.d/50-phoenix-verify.conf" in proc.stderr + proc.stdout


def test_wsgi_file_rpm_layout(vega: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = vega
    assert proc.returncode == 0, proc.stderr[-4000:]
    rpm = _rpm(project, "openstack-vega-1.0.0-*.x86_64.rpm")
    configs = set(subprocess.run(["rpm", "-qcp", rpm], capture_output=True, text=True, check=True).stdout.split())
    assert {"/etc/vega/vega-api.conf", "/etc/vega/vega-api-uwsgi.ini", "/etc/vega/api-paste.ini"} <= configs
    files = subprocess.run(["rpm", "-qlp", "-v", rpm], capture_output=True, text=True, check=True).stdout
    assert "/etc/vega-api" not in files  # the generator's output names the file, not the folder
    conf_line = next(line for line in files.splitlines() if line.endswith(" /etc/vega/vega-api.conf"))
    assert conf_line.startswith("-rw-r-----") and " vega " in conf_line, conf_line
    assert any(line.endswith(" /etc/vega/vega.conf.d") and line.startswith("d") for line in files.splitlines())
    ini = subprocess.run(f"rpm2cpio {rpm} | cpio -i --to-stdout ./etc/vega/vega-api-uwsgi.ini", shell=True,
                         capture_output=True, check=True).stdout.decode()
    wsgi_file = next(line.split(" = ", 1)[1] for line in ini.splitlines() if line.startswith("wsgi-file = "))
    assert wsgi_file.endswith("/site-packages/vega/api/app.wsgi") and f" {wsgi_file}" in files, wsgi_file
    assert "http-socket = 0.0.0.0:8795\n" in ini  # vega_api_listen_port, declared in vega/conf/service.py


def _sh(box: Any, script: str) -> str:
    from phoenix_rpm import verify

    return verify.box_shell(box, script, timeout=180).strip()


RELOAD_PROBE = """
set -u
url=http://127.0.0.1:8795
pids() { for i in 1 2 3 4 5 6 7 8; do curl -s --max-time 5 $url/pid; done | sort -u | tr '\\n' ' '; }
echo "master_before=$(systemctl show -p MainPID --value vega-api.service)"
echo "workers_before=$(pids)"
( for i in $(seq 1 120); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 20 $url/healthcheck; sleep 0.05; done
) > /tmp/reload-codes &
loop=$!
sleep 1
systemctl reload vega-api.service
wait $loop
echo "codes=$(sort /tmp/reload-codes | uniq -c | tr -s ' \\n' ' ')"
echo "requests=$(wc -l < /tmp/reload-codes)"
echo "ok=$(grep -c '^200$' /tmp/reload-codes)"
echo "workers_after=$(pids)"
echo "master_after=$(systemctl show -p MainPID --value vega-api.service)"
echo "state=$(systemctl show -p ActiveState --value vega-api.service)"
echo "restarts=$(systemctl show -p NRestarts --value vega-api.service)"
echo "reloaded=$(journalctl -u vega-api.service --no-pager -o cat | grep -ci 'graceful reload' || true)"
"""


def test_uwsgi_reload_keeps_answering(vega: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """SIGHUP (``systemctl reload``): every request during the reload answers 200, workers replaced, no restart."""
    from phoenix_rpm import verify
    from phoenix_rpm.box import booted, ensure_root

    project, proc = vega
    assert proc.returncode == 0, proc.stderr[-4000:]
    rpm = _rpm(project, "openstack-vega-1.0.0-*.x86_64.rpm")
    with booted(ensure_root()) as box:
        verify.install_rpm(box, rpm)
        assert verify.enable_now(box, ["vega-api.service"]) is None
        deadline = time.monotonic() + 60
        while _sh(box, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8795/healthcheck || true") != "200":
            assert time.monotonic() < deadline, _sh(box, "journalctl -u vega-api --no-pager | tail -30")
            time.sleep(0.5)
        out = dict(line.split("=", 1) for line in _sh(box, RELOAD_PROBE).splitlines() if "=" in line)
        journal = _sh(box, "journalctl -u vega-api --no-pager -o cat | tail -40")
    assert out["requests"] == "120" and out["ok"] == "120", (out, journal)
    assert out["master_after"] == out["master_before"] != "0", (out, journal)  # reloaded, not restarted
    assert out["state"] == "active" and out["restarts"] == "0", (out, journal)
    before, after = set(out["workers_before"].split()), set(out["workers_after"].split())
    assert before and after and not before & after, (out, journal)  # every worker replaced
