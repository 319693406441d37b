"""Which project build-rpm packages: the one named, or the one you stand in, said first.

A folder without setup.cfg/pyproject.toml given on the command line names
the nearest parent that has one (exit 2); every run's first line names the
project folder used.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phoenix_rpm import cli

HELLO = Path(__file__).resolve().parents[1] / "build" / "data" / "hello"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    dst = tmp_path / "myservice"
    shutil.copytree(HELLO, dst)
    (dst / "hello" / "sub").mkdir()
    return dst


def test_subfolder_given_names_the_parent_project(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--stage", "generate", str(project / "hello" / "sub")])
    err = capsys.readouterr().err
    assert status == 2
    assert f"the nearest parent folder with one is {project}: run build-rpm {project}" in err, err
    assert err.count("\n") == 1, "one line"


def test_first_line_names_the_project_given(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--stage", "generate", str(project)]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"==> project {project} (setup.cfg)"


def test_first_line_names_the_project_found_from_a_subfolder(project: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project / "hello" / "sub")
    assert cli.main(["--stage", "generate"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"==> project {project} (setup.cfg)"
    assert (project / "rpm" / "hello.spec").read_text().startswith("# Generated")


def test_folder_with_no_project_anywhere_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["--stage", "generate", str(empty)]) == 2
    assert "no setup.cfg" in capsys.readouterr().err
