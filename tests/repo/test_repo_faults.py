"""Bad input and faults of ``--repo``: one line, exit 2, the repository as it was (issue 14).

The CLI checks the repository before it builds anything, so these run the
real ``tools/build-rpm`` on the hello fixture project and take a second each.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from repotools import BUILD_RPM, make_rpm, sign_rpms

from phoenix_rpm import repo
from phoenix_rpm.errors import UserError

HELLO = Path(__file__).resolve().parents[1] / "build" / "data" / "hello"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != repo.LOCK_FILE}


@pytest.fixture
def signed_repo(tmp_path: Path, gpg_key) -> Path:
    pkg = make_rpm(tmp_path / "pkgs", "tiny", "1.0")
    sign_rpms([pkg], gpg_key[1])
    target = tmp_path / "repo"
    repo.publish(target, [pkg], sign=gpg_key[1])
    return target


@pytest.fixture
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "hello"
    shutil.copytree(HELLO, dest)
    return dest


def build_rpm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD_RPM), *args], capture_output=True, text=True, timeout=300)


def assert_one_line_usage_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("build-rpm: error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in errors[0], errors[0]


def test_missing_key(signed_repo: Path, project: Path) -> None:
    before = snapshot(signed_repo)
    proc = build_rpm("--sign", "nobody@nowhere.invalid", "--repo", str(signed_repo), str(project))
    assert_one_line_usage_error(proc, "nobody@nowhere.invalid", "no such secret key")
    assert snapshot(signed_repo) == before
    assert not (project / "dist").exists(), "the build ran although the key is missing"


def test_unsigned_publish_into_a_signed_repository(signed_repo: Path, project: Path) -> None:
    before = snapshot(signed_repo)
    proc = build_rpm("--repo", str(signed_repo), str(project))
    assert_one_line_usage_error(proc, str(signed_repo), "gpgcheck=1", "--sign")
    assert snapshot(signed_repo) == before


def test_unsigned_package_with_a_key(signed_repo: Path, tmp_path: Path, gpg_key) -> None:
    before = snapshot(signed_repo)
    unsigned = make_rpm(tmp_path / "other", "tiny", "1.1")
    with pytest.raises(UserError, match=r"tiny-1.1-1.noarch.rpm: not signed with"):
        repo.publish(signed_repo, [unsigned], sign=gpg_key[1])
    assert snapshot(signed_repo) == before


def test_same_name_other_content(signed_repo: Path, tmp_path: Path, gpg_key) -> None:
    before = snapshot(signed_repo)
    again = make_rpm(tmp_path / "again", "tiny", "1.0", epoch=1767225601)  # same NVR, other bytes
    sign_rpms([again], gpg_key[1])
    with pytest.raises(UserError, match="already published with other content"):
        repo.publish(signed_repo, [again], sign=gpg_key[1])
    assert snapshot(signed_repo) == before


def test_read_only_repository_folder(signed_repo: Path, project: Path, gpg_key) -> None:
    before = snapshot(signed_repo)
    subprocess.run(["mount", "--bind", str(signed_repo), str(signed_repo)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(signed_repo)], check=True)
        proc = build_rpm("--sign", gpg_key[1], "--repo", str(signed_repo), str(project))
    finally:
        subprocess.run(["umount", str(signed_repo)], check=True)
    assert_one_line_usage_error(proc, str(signed_repo), "not writable")
    assert snapshot(signed_repo) == before
    assert not (project / "dist").exists()


def test_repo_options_need_repo(project: Path) -> None:
    proc = build_rpm("--repo-keep", "2", str(project))
    assert_one_line_usage_error(proc, "--repo")
    proc = build_rpm("--repo", "/nonexistent-dir-of-tests/x", "--repo-keep", "0", str(project))
    assert_one_line_usage_error(proc, "--repo-keep 0")


def test_repo_url_must_be_one_url(project: Path, tmp_path: Path) -> None:
    proc = build_rpm("--repo", str(tmp_path / "r"), "--repo-url", "http://x/\ngpgcheck=0", str(project))
    assert_one_line_usage_error(proc, "--repo-url")
    assert not (tmp_path / "r").exists()
