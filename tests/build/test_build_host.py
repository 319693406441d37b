"""The build stage through the real host rpmbuild (``--box host``), on the hello fixture.

What a user checks after ``tools/build-rpm``: the packages are where they
should be, with config files, scriptlets and units as intended, no buildroot
path in the payload, and rpmlint has no error to report.
"""
from __future__ import annotations

import time
from pathlib import Path

from hello_project import hello_inputs
from pkgcheck import grep_payload, rpm_q, unpack

from phoenix_rpm import build, lint


def test_dist_holds_the_srpm_and_the_rpm(hello_host_build: build.BuildResult, hello_repo: Path) -> None:
    dist = hello_repo / "dist"
    names = sorted(p.name for p in dist.glob("*.rpm"))
    assert names == ["hello-1.0.0-1.src.rpm", "hello-1.0.0-1.x86_64.rpm"]
    assert hello_host_build.srpm == dist / "hello-1.0.0-1.src.rpm"
    assert hello_host_build.rpms == [dist / "hello-1.0.0-1.x86_64.rpm"]


def test_srpm_carries_spec_sdist_wheels_and_unit(hello_host_build: build.BuildResult) -> None:
    files = rpm_q(hello_host_build.srpm, "-l").split()
    assert sorted(files) == ["hello-1.0.0-wheels.tar.gz", "hello-1.0.0.tar.gz",
                             "hello-api.service", "hello.spec"]


def test_config_files_scripts_and_units(hello_host_build: build.BuildResult) -> None:
    rpm = hello_host_build.rpms[0]
    assert rpm_q(rpm, "-c").split() == ["/etc/hello/hello.conf"]
    scripts = rpm_q(rpm, "--scripts")
    assert "systemctl" in scripts
    assert "%" not in scripts, scripts
    assert "/usr/lib/systemd/system/hello-api.service" in rpm_q(rpm, "-l").split()


def test_payload_has_no_buildroot_path(hello_host_build: build.BuildResult, tmp_path: Path) -> None:
    payload = unpack(hello_host_build.rpms[0], tmp_path / "payload")
    assert (payload / "opt/hello/bin/hello-api").is_file()
    assert grep_payload(payload, "BUILDROOT") == []
    assert grep_payload(payload, "/phoenix-rebuild-") == []


def test_build_time_and_host_are_the_commit_stamp(hello_host_build: build.BuildResult) -> None:
    from hello_project import HELLO_COMMIT_EPOCH

    for pkg in hello_host_build.packages:
        assert rpm_q(pkg, "--qf", "%{BUILDTIME} %{BUILDHOST}") == f"{HELLO_COMMIT_EPOCH} reproducible"
    mtimes = {int(t) for t in rpm_q(hello_host_build.rpms[0], "--qf", "[%{FILEMTIMES}\n]").split()}
    assert max(mtimes) <= HELLO_COMMIT_EPOCH


def test_rpmlint_reports_no_error(hello_host_build: build.BuildResult, hello_repo: Path) -> None:
    report = lint.lint(hello_repo, hello_host_build)
    assert report.errors == 0, report.error_lines


def test_unchanged_inputs_skip_the_build(hello_host_build: build.BuildResult, hello_repo: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in hello_host_build.packages}
    started = time.monotonic()
    again = build.build(hello_repo, box="host", inputs=hello_inputs(hello_repo))
    took = time.monotonic() - started
    assert again.skipped
    assert again.packages == hello_host_build.packages
    assert {p: p.stat().st_mtime_ns for p in again.packages} == before
    assert took < 2.0


def test_srpm_sources_are_the_sdist_and_the_offline_wheels(hello_host_build: build.BuildResult,
                                                           tmp_path: Path) -> None:
    import tarfile

    sources = unpack(hello_host_build.srpm, tmp_path / "srpm")
    with tarfile.open(sources / "hello-1.0.0.tar.gz") as sdist:
        names = sdist.getnames()
        pkg_info = sdist.extractfile("hello-1.0.0/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert {"hello-1.0.0/setup.cfg", "hello-1.0.0/hello/cmd.py", "hello-1.0.0/etc/hello/hello.conf"} <= set(names)
    assert "\nVersion: 1.0.0\n" in pkg_info
    with tarfile.open(sources / "hello-1.0.0-wheels.tar.gz") as wheels:
        members = wheels.getnames()
    assert members[0] == "wheels"
    projects = {m.split("/")[1].split("-")[0].lower() for m in members[1:]}
    assert {"six", "pbr", "setuptools", "wheel"} <= projects
    assert all(m.endswith(".whl") for m in members[1:])
