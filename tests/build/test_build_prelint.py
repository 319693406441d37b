"""Linting the spec and SRPM during the build gives the report one rpmlint run gives.

tools/build-rpm lints the spec and the SRPM while the box builds the RPM and
the RPMs afterwards with an rpmlint started on standby (lint.Prelint); the
counts and the lines must be those of one rpmlint over all the files.
"""
from __future__ import annotations

import re
from pathlib import Path

from phoenix_rpm import build, lint


def _findings(report: lint.LintReport) -> list[str]:
    return sorted(line for line in report.output.splitlines() if re.search(r": [EW]: ", line))


def test_prelint_report_equals_one_run(hello_repo: Path, hello_host_build: build.BuildResult) -> None:
    result = hello_host_build
    state = result.dist_dir / lint.STATE_FILE
    state.unlink(missing_ok=True)
    whole = lint.lint(hello_repo, result)
    state.unlink()
    with lint.Prelint(hello_repo) as prelint:
        prelint.start(result.name, result.spec, result.srpm)
        split = lint.lint(hello_repo, result, prelint=prelint)
    assert not whole.cached and not split.cached
    assert (split.errors, split.warnings) == (whole.errors, whole.warnings)
    assert _findings(split) == _findings(whole)
    assert split.output.count("rpmlint session starts") == 2


def test_prelint_of_other_files_is_not_used(hello_repo: Path, hello_host_build: build.BuildResult,
                                            tmp_path: Path) -> None:
    """A prelint of another SRPM (a rebuild changed it) is dropped and everything is linted."""
    result = hello_host_build
    other = tmp_path / result.srpm.name
    other.write_bytes(result.srpm.read_bytes() + b"\0")
    (result.dist_dir / lint.STATE_FILE).unlink(missing_ok=True)
    with lint.Prelint(hello_repo) as prelint:
        prelint.start(result.name, result.spec, other)
        report = lint.lint(hello_repo, result, prelint=prelint)
    assert report.output.count("rpmlint session starts") == 1
    assert report.checked == [result.spec, *result.packages]
