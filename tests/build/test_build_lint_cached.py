"""``--stage lint -v`` shows rpmlint's findings even when the result is cached (docs/build.md)."""
from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_rpm import build, cli, runner


def test_cached_lint_shows_its_warnings_with_verbose(hello_host_build: build.BuildResult, hello_repo: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert cli.main(["--stage", "lint", "-v", str(hello_repo)]) == 0
        first = capsys.readouterr().err
        assert cli.main(["--stage", "lint", "-v", str(hello_repo)]) == 0
        second = capsys.readouterr().err
    finally:
        runner.set_verbose(False)
    assert "same files and filters as the last lint" in second, second
    warnings = sorted(line.strip() for line in first.splitlines() if ": W: " in line)
    assert warnings, f"the hello packages have rpmlint warnings to show: {first}"
    assert sorted(line.strip() for line in second.splitlines() if ": W: " in line) == warnings
