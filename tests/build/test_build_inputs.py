"""Bad build inputs are reported as one line naming the file and what to do (exit 2)."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hello_project import DATA, git_commit_all, hello_inputs

from phoenix_rpm import build
from phoenix_rpm.errors import UserError


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "hello"
    shutil.copytree(DATA / "hello", repo)
    git_commit_all(repo, 1767225600)
    return repo


@pytest.mark.unit  # stops before any build: the quick tier
def test_missing_spec_says_to_generate(repo: Path) -> None:
    inputs = dataclasses.replace(hello_inputs(repo), spec=repo / "rpm" / "nope.spec")
    with pytest.raises(UserError, match=r"nope\.spec: no spec; run tools/build-rpm --stage generate"):
        build.build(repo, box="host", inputs=inputs, dist_dir=repo / "d")


@pytest.mark.box  # makes the sdist first (45 s under load)
def test_missing_source_file_names_the_tag_and_the_path(repo: Path) -> None:
    (repo / "systemd" / "hello-api.service").unlink()
    with pytest.raises(UserError, match=r"Source10 hello-api\.service comes from systemd/hello-api\.service"):
        build.build(repo, box="host", inputs=hello_inputs(repo), dist_dir=repo / "d")


@pytest.mark.unit  # stops before any build: the quick tier
def test_unknown_box_is_a_usage_error(repo: Path) -> None:
    with pytest.raises(UserError, match="--box docker"):
        build.build(repo, box="docker", inputs=hello_inputs(repo))


@pytest.mark.unit  # stops before any build: the quick tier
def test_inputs_hash_follows_the_inputs(repo: Path) -> None:
    inputs = hello_inputs(repo)
    key = lambda: build.inputs_hash(repo, inputs, 1767225600, "host", None, repo / "upper-constraints.txt")  # noqa: E731
    first = key()
    assert key() == first
    (repo / "hello" / "cmd.py").write_text("def main():\n    return 1\n")
    changed_code = key()
    assert changed_code != first
    assert build.inputs_hash(repo, inputs, 1767225600, "host", "KEY", repo / "upper-constraints.txt") != changed_code
    (repo / "dist").mkdir()
    (repo / "dist" / "x.rpm").write_text("outputs are not inputs")
    assert key() == changed_code
