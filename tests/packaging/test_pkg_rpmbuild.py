"""A real ``rpmbuild -ba`` of a generated spec on this host, with no network.

The cfg-globs fixture (helios) has no runtime requirements, so its wheels
tarball holds only what pip needs to build a pbr project offline (pbr,
setuptools, wheel, packaging), downloaded once into a cache with pip. The
sdist is the project folder as a tarball (what pbr's sdist holds for a
project whose files are all tracked). The build runs under ``unshare
--net``: any attempt to reach an index fails it.
"""
from __future__ import annotations

import marshal
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from pkgtools import EPOCH, REPO, copy_fixture, run

from phoenix_rpm import generate

# Builds RPMs with rpmbuild (a minute or more): the box tier (conftest.py).
pytestmark = pytest.mark.box

VERSION = "1.2.3"
BUILD_TOOLS = ("pbr", "setuptools", "wheel", "packaging")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "upper-constraints.txt").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def build_tool_wheels() -> list[Path]:
    """pbr/setuptools/wheel/packaging wheels at the project's pinned versions, cached."""
    cache = Path(os.environ.get("PHOENIX_TEST_WHEELS", Path.home() / ".cache" / "phoenix" / "test-wheels"))
    cache.mkdir(parents=True, exist_ok=True)
    pins = _pins()
    wanted = [f"{name}=={pins[name]}" for name in BUILD_TOOLS]
    found = []
    missing = []
    for name in BUILD_TOOLS:
        hits = sorted(cache.glob(f"{name}-{pins[name]}-*.whl"))
        (found.append(hits[0]) if hits else missing.append(name))
    if missing:
        run(REPO / ".venv" / "bin" / "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", cache,
            *wanted)
        found = [sorted(cache.glob(f"{name}-{pins[name]}-*.whl"))[0] for name in BUILD_TOOLS]
    return found


def _tar(src: Path, arcname: str, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(src, arcname=arcname)


def build_fixture(fixture: str, tmp: Path) -> dict[str, Path]:
    """Generate the fixture's files, make its Sources as the plan lists them, rpmbuild -ba offline."""
    env = {"PBR_VERSION": VERSION, "SOURCE_DATE_EPOCH": EPOCH}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        project = copy_fixture(fixture, tmp)
        generate.write(project)
        plan = generate.load_plan(project)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    top = tmp / "top"
    sources = top / "SOURCES"
    sources.mkdir(parents=True)
    # Sources exactly as the plan lists them (the build stage's contract).
    for number, filename, path in ((s.number, s.filename, s.path) for s in plan.sources):
        if number == 0:
            _tar(project, f"{plan.name}-{VERSION}", sources / filename)
        elif number == 1:
            wheels = tmp / "wheels"
            wheels.mkdir()
            for wheel in build_tool_wheels():
                shutil.copy(wheel, wheels)
            _tar(wheels, "wheels", sources / filename)
        else:
            shutil.copy(project / path, sources / filename)
    build_env = {"SOURCE_DATE_EPOCH": EPOCH, "HOME": str(tmp)}
    proc = run("unshare", "--net", "rpmbuild", "-ba", "--define", f"_topdir {top}", plan.spec_path,
               env=build_env, check=False)
    (tmp / "build.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    rpm = top / "RPMS" / "x86_64" / f"{plan.name}-{VERSION}-1.x86_64.rpm"
    srpm = top / "SRPMS" / f"{plan.name}-{VERSION}-1.src.rpm"
    assert rpm.is_file() and srpm.is_file()
    payload = tmp / "payload"
    payload.mkdir()
    subprocess.run(f"rpm2cpio {rpm} | cpio -idm --quiet", shell=True, cwd=payload, check=True)
    return {"rpm": rpm, "srpm": srpm, "payload": payload, "top": top}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_fixture("cfg-globs", tmp_path_factory.mktemp("rpmbuild"))


def test_scriptlets_call_systemctl_and_hold_no_macro(built: dict[str, Path]) -> None:
    scripts = run("rpm", "-qp", "--scripts", built["rpm"]).stdout
    assert "systemctl --no-reload preset helios-api.service helios-worker.service" in scripts
    assert "systemctl try-restart" in scripts and "disable --now" in scripts
    assert "useradd -r" in scripts
    assert "%" not in scripts


def test_config_files_and_units(built: dict[str, Path]) -> None:
    configs = run("rpm", "-qcp", built["rpm"]).stdout.split()
    assert {"/etc/helios/helios.conf", "/etc/helios/api-paste.ini", "/etc/helios/policy.d/00-default.json",
            "/etc/helios/policy.d/extra/10-reader.json", "/etc/logrotate.d/helios"} <= set(configs)
    assert not any(c.startswith("/usr/etc") for c in configs)
    files = run("rpm", "-qlp", built["rpm"]).stdout.split("\n")
    for unit in ("helios-api.service", "helios-worker.service"):
        assert f"/usr/lib/systemd/system/{unit}" in files
    assert "/usr/lib/sysusers.d/helios.conf" in files and "/usr/lib/tmpfiles.d/helios.conf" in files
    assert "/usr/lib/helios/share/helios/100%.txt" in files
    assert not any(f.startswith("/usr/lib/.build-id") for f in files)
    assert "/usr/lib/helios/share/helios/file with space.txt" in files
    modes = run("rpm", "-qp", "--qf", "[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\n]",
                built["rpm"]).stdout.splitlines()
    assert "-rw-r----- root helios /etc/helios/helios.conf" in modes
    assert "drwxr-x--- root helios /etc/helios" in modes
    assert "drwxr-x--- helios helios /var/lib/helios" in modes


def test_header(built: dict[str, Path]) -> None:
    head = run("rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{ARCH} %{BUILDHOST} %{BUILDTIME}\n", built["rpm"]).stdout
    assert head.split() == ["helios", VERSION, "x86_64", "reproducible", EPOCH]
    requires = run("rpm", "-qp", "--requires", built["rpm"]).stdout.splitlines()
    assert "python3" in requires
    assert not any(r.startswith(("python3dist", "libpython", "lib")) for r in requires)  # AutoReqProv: no
    # the venv is bound to the interpreter it was made with
    abi = run("/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])").stdout.strip()
    assert f"python(abi) = {abi}" in requires
    mtimes = set(run("rpm", "-qp", "--qf", "[%{FILEMTIMES}\n]", built["rpm"]).stdout.split())
    assert mtimes == {EPOCH}
    srpm_files = run("rpm", "-qlp", built["srpm"]).stdout.split()
    assert {"helios.spec", f"helios-{VERSION}.tar.gz", f"helios-{VERSION}-wheels.tar.gz", "helios-api.service",
            "helios.sysusers", "helios.tmpfiles", "helios.logrotate"} <= set(srpm_files)


def test_payload_never_names_the_build_root(built: dict[str, Path]) -> None:
    payload = built["payload"]
    top = str(built["top"]).encode()
    leaks = [p for p in payload.rglob("*") if p.is_file() and not p.is_symlink() and top in p.read_bytes()]
    assert leaks == []
    venv = payload / "usr" / "lib" / "helios"
    # --without-pip: the spec seeds pip from the distribution's wheel itself (templates/venv_layer.py).
    assert re.search(r"^command = /usr/bin/python3 -m venv (--without-pip )?/usr/lib/helios$",
                     (venv / "pyvenv.cfg").read_text(), re.M)
    assert (venv / "bin" / "helios-api").read_text().splitlines()[0] == "#!/usr/lib/helios/bin/python"
    assert os.readlink(payload / "usr" / "bin" / "helios-manage") == "/usr/lib/helios/bin/helios-manage"


def test_bytecode_names_the_installed_path(built: dict[str, Path]) -> None:
    venv = built["payload"] / "usr" / "lib" / "helios"
    pycs = list(venv.glob("lib/python3*/site-packages/helios/cmd/__pycache__/api.*.pyc"))
    assert pycs
    data = pycs[0].read_bytes()
    flags = int.from_bytes(data[4:8], "little")
    assert flags & 0b1, "expected a hash-based (reproducible) pyc"
    code = marshal.loads(data[16:])
    assert re.match(r"^/usr/lib/helios/lib/python3\.\d+/site-packages/helios/cmd/api\.py$", code.co_filename)


def test_the_bundled_venv_runs(built: dict[str, Path]) -> None:
    """The unpacked venv works: its python imports the project and runs a console script."""
    venv = built["payload"] / "usr" / "lib" / "helios"
    out = run(venv / "bin" / "python", venv / "bin" / "helios-manage", "status").stdout
    assert out.strip() == "helios-manage ['status']"


def test_wsgi_fixture_builds_and_its_script_serves(tmp_path: Path) -> None:
    """The wsgi_scripts shape: /opt venv, pbr-generated WSGI script that answers HTTP on loopback."""
    import socket
    import time
    import urllib.request

    out = build_fixture("wsgi", tmp_path)
    files = run("rpm", "-qlp", out["rpm"]).stdout.split("\n")
    assert "/opt/eos/bin/eos-wsgi" in files and "/usr/lib/systemd/system/eos-wsgi.service" in files
    assert "/etc/eos/policy.yaml" in run("rpm", "-qcp", out["rpm"]).stdout.split()
    venv = out["payload"] / "opt" / "eos"
    assert (venv / "bin" / "eos-wsgi").read_text().splitlines()[0] == "#!/opt/eos/bin/python"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([venv / "bin" / "python", venv / "bin" / "eos-wsgi", "--port", str(port),
                               "--host", "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    assert response.read() == b"eos\n"
                    break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "eos-wsgi did not answer"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
