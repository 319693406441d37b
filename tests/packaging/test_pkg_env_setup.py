"""The first run's environment set-up is one progress line; details go to a log (lib-env.sh).

A real set-up through the toolkit's lib-env.sh, on a small stand-in for a
checkout (a pbr project and a copy of the toolkit without its runtime
requirements, so the test takes seconds): pip, setuptools and pbr's output
(about 150 lines on a real first run) must land in the log file under the
venv, shown only on failure or with PHOENIX_VERBOSE=1.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# Real venvs made by pip: seconds each, not the unit tier's milliseconds.
pytestmark = pytest.mark.process

REPO = Path(__file__).resolve().parents[2]
LIB_ENV = REPO / "tools" / "phoenix-rpm" / "phoenix_rpm" / "lib-env.sh"


def fake_checkout(root: Path, requirements: str) -> Path:
    (root / "fakeproj").mkdir(parents=True)
    (root / "fakeproj" / "__init__.py").write_text("")
    (root / "setup.cfg").write_text("[metadata]\nname = fakeproj\nsummary = x\n\n[files]\npackages =\n    fakeproj\n")
    (root / "setup.py").write_text("import setuptools\nsetuptools.setup(setup_requires=['pbr'], pbr=True)\n")
    (root / "requirements.txt").write_text(requirements)
    (root / "test-requirements.txt").write_text("")
    shutil.copy(REPO / "upper-constraints.txt", root / "upper-constraints.txt")
    toolkit = root / "tools" / "phoenix-rpm"
    shutil.copytree(REPO / "tools" / "phoenix-rpm", toolkit,
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    (toolkit / "requirements.txt").write_text("")
    return root


def set_up(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PHOENIX_ROOT": str(root), "PHOENIX_VENV": str(root / ".venv"), **env}
    if "PHOENIX_VERBOSE" not in env:
        full.pop("PHOENIX_VERBOSE", None)
    return subprocess.run(["bash", "-c", f'set -euo pipefail; . "{LIB_ENV}"; phoenix_venv'],
                          env=full, capture_output=True, text=True, timeout=600)


def test_set_up_shows_one_progress_line_and_logs_the_rest(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path / "checkout", "pbr>=6.0\n")
    proc = set_up(root)
    assert proc.returncode == 0, proc.stderr
    log = root / ".venv" / ".phoenix-setup.log"
    assert proc.stderr.count("\n") == 1, f"one line, got:\n{proc.stderr}"
    assert re.fullmatch(rf"\[phoenix\] creating the Python environment in {re.escape(str(root / '.venv'))} "
                        rf"\(log: {re.escape(str(log))}\) \.\.\. ready in \d+ s\n", proc.stderr), proc.stderr
    assert "Successfully installed" in log.read_text()
    assert (root / ".venv" / "bin" / "build-rpm").exists()
    again = set_up(root)
    assert again.returncode == 0 and again.stderr == "", "a ready environment says nothing"


def test_failed_set_up_shows_the_log_tail_and_its_path(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path / "checkout", "this is not a requirement ==\n")
    proc = set_up(root)
    assert proc.returncode == 1
    log = root / ".venv" / ".phoenix-setup.log"
    assert "... FAILED\n[phoenix] error: environment set-up failed:" in proc.stderr, proc.stderr
    assert "Invalid requirement" in proc.stderr or "invalid requirement" in proc.stderr.lower(), proc.stderr
    assert f"[phoenix] full log: {log}" in proc.stderr


def test_verbose_set_up_streams_pip(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path / "checkout", "this is not a requirement ==\n")
    proc = set_up(root, PHOENIX_VERBOSE="1")
    assert proc.returncode == 1
    assert "[phoenix] creating the Python environment in" in proc.stderr
    assert "invalid requirement" in proc.stderr.lower() and "full log" not in proc.stderr


@pytest.mark.parametrize(("args", "streams"), [
    (["--stage", "build", "-v"], True), (["--verbose"], True), (["-qv"], True),
    (["--stage", "build"], False), (["--", "-v"], False), (["--version"], False)])
def test_the_verbose_option_of_build_rpm_streams_the_set_up_too(tmp_path: Path, args: list[str],
                                                                 streams: bool) -> None:
    """tools/build-rpm reads -v/--verbose before the set-up (phoenix_verbose_from_args)."""
    root = fake_checkout(tmp_path / "checkout", "this is not a requirement ==\n")
    env = {**os.environ, "PHOENIX_ROOT": str(root), "PHOENIX_VENV": str(root / ".venv")}
    env.pop("PHOENIX_VERBOSE", None)
    quoted = " ".join(f"'{a}'" for a in args)
    proc = subprocess.run(["bash", "-c", f'set -euo pipefail; . "{LIB_ENV}"; phoenix_verbose_from_args {quoted}; '
                           "phoenix_venv"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1
    assert ("full log" not in proc.stderr) is streams, proc.stderr
