"""The generated spec through the real build stage: two checkouts of one commit, identical RPMs.

This is the contract with tools/phoenix-rpm/phoenix_rpm/build.py (docs/packaging.md):
``generate.load_plan`` gives the version and the numbered Sources, the build
stage makes the sdist and the wheels tarball, rpmbuild runs on the host. Two
checkouts made at different times must give byte-identical packages: that
checks the spec's reproducibility settings (mtimes, hash-based pycs,
build host, payload compression, changelog date).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pkgtools import FIXTURES, run

from phoenix_rpm import build, generate

# Builds twice through the build stage: the box tier (conftest.py).
pytestmark = pytest.mark.box

COMMIT_EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


def checkout(where: Path) -> Path:
    """A git repository of the cfg-globs fixture, committed at COMMIT_EPOCH and tagged 2.0.0."""
    repo = where / "helios"
    shutil.copytree(FIXTURES / "cfg-globs", repo)
    env = {"GIT_AUTHOR_DATE": f"@{COMMIT_EPOCH} +0000", "GIT_COMMITTER_DATE": f"@{COMMIT_EPOCH} +0000",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"}
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "import"],
                 ["tag", "-a", "2.0.0", "-m", "2.0.0"]):
        subprocess.run(["git", *argv], cwd=repo, check=True, env=env)
    generate.write(repo)  # what tools/build-rpm does before building
    return repo


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_checkouts_build_identical_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PBR_VERSION", raising=False)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first_repo = checkout(tmp_path / "one")
    time.sleep(1.1)  # the second checkout's files get other mtimes
    second_repo = checkout(tmp_path / "two")
    assert generate.load_plan(first_repo).version == "2.0.0"  # pbr: the tag
    first = build.build(first_repo, box="host", dist_dir=tmp_path / "dist1", reuse=False)
    second = build.build(second_repo, box="host", dist_dir=tmp_path / "dist2", reuse=False)
    assert [p.name for p in first.packages] == ["helios-2.0.0-1.src.rpm", "helios-2.0.0-1.x86_64.rpm"]
    assert [p.name for p in first.packages] == [p.name for p in second.packages]
    assert sha256(first.rpms[0]) == sha256(second.rpms[0])
    assert sha256(first.srpm) == sha256(second.srpm)
    head = run("rpm", "-qp", "--qf", "%{BUILDTIME} %{BUILDHOST}\n", first.rpms[0]).stdout.split()
    assert head == [str(COMMIT_EPOCH), "reproducible"]
    changelog = run("rpm", "-qp", "--changelog", first.rpms[0]).stdout
    assert changelog.startswith("* Thu Jan 01 2026 Helios developers <helios@example.org> - 2.0.0-1")
