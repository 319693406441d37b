"""The build in a throw-away copy of the cached box (systemd-nspawn), offline.

``rpmbuild --rebuild`` of the SRPM runs inside the box with no network, so a
package that builds there needs nothing but its SRPM; its BuildRequires
(python3) are resolved by the box's rpm database, without ``--nodeps``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hello_project import DATA, git_commit_all, hello_inputs, make_hello_repo
from pkgcheck import rpm_q, unpack

from phoenix_rpm import build
from phoenix_rpm.model import InstallMode
from phoenix_rpm.plan import Source


@pytest.fixture(scope="module")
def hello_box_build(tmp_path_factory: pytest.TempPathFactory) -> build.BuildResult:
    repo = make_hello_repo(tmp_path_factory.mktemp("hello-box"))
    return build.build(repo, box="nspawn", inputs=hello_inputs(repo), reuse=False)


def test_srpm_rebuilds_offline_in_a_fresh_box(hello_box_build: build.BuildResult, tmp_path: Path) -> None:
    assert [p.name for p in hello_box_build.rpms] == ["hello-1.0.0-1.x86_64.rpm"]
    rpm = hello_box_build.rpms[0]
    assert rpm_q(rpm, "--qf", "%{SOURCERPM}") == hello_box_build.srpm.name
    assert "python3" in rpm_q(rpm, "-R").split()
    payload = unpack(rpm, tmp_path / "payload")
    # The virtualenv points at the box's system interpreter.
    assert (payload / "opt/hello/bin/python3").readlink() == Path("/usr/bin/python3")


def test_box_build_has_no_network(tmp_path: Path) -> None:
    repo = tmp_path / "netcheck"
    shutil.copytree(DATA / "netcheck", repo)
    git_commit_all(repo, 1767225600)
    inputs = build.BuildInputs(name="netcheck", version="1.0", spec=repo / "netcheck.spec",
                               install_mode=InstallMode.SYSTEM, sources=(Source(0, "netcheck.txt", "netcheck.txt"),))
    result = build.build(repo, box="nspawn", inputs=inputs, reuse=False)
    payload = unpack(result.rpms[0], tmp_path / "payload")
    assert (payload / "usr/share/netcheck/interfaces.txt").read_text().split() == ["lo"]
