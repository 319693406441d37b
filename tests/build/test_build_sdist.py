"""The sdist (Source0) made from a git checkout carries its package data.

In the box there is no git: pbr lists a package's files from the sdist's
egg-info/SOURCES.txt. The toolkit writes the egg-info outside the project (the
tree is left as it was), so it must put it into the sdist itself, or every
non-Python package file (.wsgi, .ini, templates, migrations) is lost from the
installed package (docs/build.md, the sdist).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from hello_project import git_commit_all

from phoenix_rpm import sources

DATA = Path(__file__).parents[1] / "data" / "wsgi-file"
EPOCH = 1767225600
TOP = "openstack-vega-1.0.0"


@pytest.fixture()
def vega(tmp_path: Path) -> Path:
    repo = tmp_path / "vega"
    shutil.copytree(DATA, repo)
    git_commit_all(repo, EPOCH)
    return repo


def _sdist(repo: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    return sources.make_sdist(repo, "openstack-vega", "1.0.0", out, EPOCH)


def test_sdist_carries_its_sources_list(vega: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sdist = _sdist(vega, tmp_path / "out", monkeypatch)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        listed = tar.extractfile(f"{TOP}/openstack_vega.egg-info/SOURCES.txt").read().decode()  # type: ignore[union-attr]
    assert f"{TOP}/openstack_vega.egg-info/PKG-INFO" in names
    lines = listed.splitlines()
    assert "vega/api/app.wsgi" in lines
    assert "openstack_vega.egg-info/SOURCES.txt" in lines
    assert not [line for line in lines if line.startswith("/")], "no path of the build host in the sdist"


def test_sdist_bytes_do_not_depend_on_the_temporary_folder(vega: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    first = _sdist(vega, tmp_path / "a", monkeypatch).read_bytes()
    second = _sdist(vega, tmp_path / "b", monkeypatch).read_bytes()
    assert first == second


def test_a_wheel_built_from_the_sdist_without_git_has_the_package_data(vega: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sdist = _sdist(vega, tmp_path / "out", monkeypatch)
    unpacked = tmp_path / "unpacked"
    with tarfile.open(sdist) as tar:
        tar.extractall(unpacked)  # our own sdist; Debian 12's python 3.11.2 has no filter=
    env = {**os.environ, "PBR_VERSION": "1.0.0", "GIT_DIR": str(tmp_path / "no-git")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheels"), str(unpacked / TOP)], check=True, env=env)
    wheel = next((tmp_path / "wheels").glob("*.whl"))
    assert "vega/api/app.wsgi" in zipfile.ZipFile(wheel).namelist()


def _unpacked(sdist: Path, where: Path) -> Path:
    with tarfile.open(sdist) as tar:
        tar.extractall(where)  # our own sdist
    return where / TOP


def _members(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tar:
        return sorted(n.partition("/")[2] for n in tar.getnames())


def test_an_unpacked_sdist_is_remade_with_every_file_it_lists(vega: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A project built from an unpacked sdist (no git: how a release from the index is packaged)
    keeps its package data and generator files: pbr reads the sdist's own SOURCES.txt."""
    first = _sdist(vega, tmp_path / "first", monkeypatch)
    again = _sdist(_unpacked(first, tmp_path / "unpacked"), tmp_path / "again", monkeypatch)
    members = _members(again)
    assert "vega/api/app.wsgi" in members and "etc/vega-config-generator.conf" in members
    # pbr.json records the git commit: there is none to record out of git
    assert set(_members(first)) - set(members) == {"openstack_vega.egg-info/pbr.json"}
    assert set(members) <= set(_members(first))


def test_an_unpacked_sdists_list_never_pulls_in_host_files(vega: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SOURCES.txt is project input: absolute paths, '..' and links out of the project are not packed."""
    tree = _unpacked(_sdist(vega, tmp_path / "first", monkeypatch), tmp_path / "unpacked")
    (tmp_path / "outside.txt").write_text("secret\n")
    (tree / "vega" / "link.txt").symlink_to(tmp_path / "outside.txt")
    listed = tree / "openstack_vega.egg-info" / "SOURCES.txt"
    listed.write_text(listed.read_text() + "/etc/passwd\n../outside.txt\nvega/link.txt\n")
    members = _members(_sdist(tree, tmp_path / "again", monkeypatch))
    assert "vega/api/app.wsgi" in members
    assert not [m for m in members if "passwd" in m or "outside" in m or "link.txt" in m], members
