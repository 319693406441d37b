"""A requirement pip cannot find is the project's error: its file and line, exit 2 (docs/build.md).

pip's own message names the temporary requirements file the build hands it;
the user needs the line of their requirements.txt. pip runs with no index
(only a local folder of the build tools' wheels), so the test makes no
network lookup of the misspelled name.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from hello_project import DATA, HELLO_COMMIT_EPOCH, git_commit_all, hello_inputs

from phoenix_rpm import build, cli, sources
from phoenix_rpm.errors import UserError


@pytest.fixture
def offline_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    links = tmp_path / "links"
    links.mkdir()
    for whl in sources.fetch_wheels(["pbr>=6.0"], None).glob("*.whl"):
        shutil.copy(whl, links)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PHOENIX_WHEEL_CACHE", str(tmp_path / "wheel-cache"))
    return links


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "hello"
    shutil.copytree(DATA / "hello", repo)
    (repo / "requirements.txt").write_text("# runtime\npbr>=6.0\nsixx>=1.16  # misspelled\n")
    git_commit_all(repo, HELLO_COMMIT_EPOCH)
    return repo


def test_misspelled_requirement_names_the_file_and_line(repo: Path, offline_pip: Path) -> None:
    inputs = dataclasses.replace(hello_inputs(repo), requirements=("pbr>=6.0", "sixx>=1.16"))
    with pytest.raises(UserError) as caught:
        build.build(repo, box="host", inputs=inputs, reuse=False)
    message = str(caught.value)
    assert message.startswith(f"{repo / 'requirements.txt'}:3: requirement 'sixx>=1.16': "
                              "pip finds no distribution of sixx>=1.16 for Python 3.11"), message
    assert "phoenix-req-" not in message, "not pip's temporary file"
    assert caught.value.exit_status == 2
    assert not any((offline_pip.parent / "wheel-cache").glob("*/.complete")), "nothing half-written"


def test_through_the_cli_exit_2_one_line(tmp_path: Path, offline_pip: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "myservice"
    shutil.copytree(Path(__file__).resolve().parents[1] / "data" / "myservice", project)
    (project / "requirements.txt").write_text("pbr>=6.0\nrequets>=2.31\n")
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    assert cli.main(["--stage", "build", "--box", "host", str(project)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("build-rpm: error:")]
    assert errors == [f"build-rpm: error: {project / 'requirements.txt'}:2: requirement 'requets>=2.31': "
                      "pip finds no distribution of requets>=2.31 for Python 3.11; fix the name or the version"]


def test_pip_failures_that_are_not_the_projects_stay_command_failures() -> None:
    offline = "WARNING: Retrying ... NewConnectionError(...)\nERROR: No matching distribution found for six"
    assert sources.requirement_error(offline, None, None) is None
    assert sources.requirement_error("ERROR: something else", None, None) is None
