"""The lint stage: rpmlint on the spec, the SRPM and the RPMs; any error fails.

Filters come from two rpmlintrc files, each filter with a comment saying why:
the toolkit's (``phoenix/packaging/data/rpmlintrc``: what follows from how
build-rpm packages every project) and the project's ``rpm/rpmlintrc`` (or
``rpm/<name>.rpmlintrc``). ``rpm/rpmlintrc`` is preferred: rpmlint auto-loads
a ``<name>.rpmlintrc`` next to the spec, and a plain ``rpmlint rpm/<name>.spec``
then reports the filters meant for the built packages as unused errors.
A lint of the same files with the same filters is not repeated.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from phoenix.packaging import runner
from phoenix.packaging.errors import CheckFailed, UserError

DEFAULT_RPMLINTRC = Path(__file__).with_name("data") / "rpmlintrc"
STATE_FILE = ".phoenix-lint.json"

_SUMMARY = re.compile(
    r"(?P<packages>\d+) packages? and (?P<specs>\d+) specfiles? checked; "
    r"(?P<errors>\d+) errors?, (?P<warnings>\d+) warnings?"
)


@dataclass
class LintReport:
    """Counts from rpmlint's summary line and the error lines themselves."""

    errors: int
    warnings: int
    error_lines: list[str] = field(default_factory=list)
    checked: list[Path] = field(default_factory=list)
    output: str = ""
    cached: bool = False


def rpmlint_command() -> list[str]:
    """rpmlint of the toolkit's environment (PyPI rpmlint 2.x), else the host's."""
    venv_rpmlint = Path(sys.executable).with_name("rpmlint")
    if venv_rpmlint.exists():
        return [str(venv_rpmlint)]
    found = shutil.which("rpmlint")
    if found:
        return [found]
    raise UserError("rpmlint not found: run tools/build-rpm (it installs it into .venv) "
                    "or pip install rpmlint")


def project_rpmlintrc(project_dir: Path, name: str | None) -> Path | None:
    """The project's rpmlintrc: rpm/rpmlintrc, else rpm/<name>.rpmlintrc (see module doc)."""
    for candidate in (project_dir / "rpm" / "rpmlintrc",
                      project_dir / "rpm" / f"{name}.rpmlintrc" if name else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def rpmlintrc_files(project_dir: Path, name: str | None) -> list[Path]:
    project_rc = project_rpmlintrc(project_dir, name)
    return [DEFAULT_RPMLINTRC, *([project_rc] if project_rc else [])]


def parse_summary(output: str) -> tuple[int, int]:
    """(errors, warnings) from rpmlint's last line; no summary is itself a failure."""
    matches = list(_SUMMARY.finditer(output))
    if not matches:
        raise CheckFailed("rpmlint printed no summary line; its output was:\n"
                          + "\n".join(output.strip().splitlines()[-20:]))
    m = matches[-1]
    return int(m.group("errors")), int(m.group("warnings"))


def run_rpmlint(files: Sequence[Path], rcfiles: Sequence[Path]) -> LintReport:
    """One rpmlint run over ``files`` with the given rpmlintrc files."""
    argv = [*rpmlint_command(), "--ignore-unused-rpmlintrc"]
    for rc in rcfiles:
        argv += ["-r", str(rc)]
    argv += [str(f) for f in files]
    # rpmlint exits 64 when it found errors and 66 over the badness threshold:
    # the summary line, parsed below, is the verdict.
    proc = runner.run(argv, check=False, capture=True, env={"LC_ALL": "C.UTF-8"})
    output = (proc.stdout or "") + (proc.stderr or "")
    errors, warnings = parse_summary(output)
    error_lines = [line for line in output.splitlines() if re.search(r": E: ", line)]
    return LintReport(errors, warnings, error_lines, list(files), output)


def lint(project_dir: Path, result: Any = None, *, dist_dir: Path | None = None) -> LintReport:
    """Lint the spec, the SRPM and the RPMs of the last build; CheckFailed on any error.

    ``result`` is the build stage's BuildResult; with None (``--stage lint``)
    the packages in ``dist/`` and the spec in ``rpm/`` are linted.
    """
    project_dir = project_dir.resolve()
    with runner.stage("lint") as produced:
        if result is not None:
            name = result.name
            spec = result.spec
            packages = list(result.packages)
            dist = result.dist_dir
        else:
            dist = (dist_dir or project_dir / "dist").resolve()
            name, spec, packages = _from_dist(project_dir, dist)
        files = [spec, *packages]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            raise UserError(f"nothing to lint: {', '.join(missing)} missing; run tools/build-rpm --stage build")
        rcfiles = rpmlintrc_files(project_dir, name)
        key = _lint_key(files, rcfiles)
        state = _read_state(dist)
        if state and state.get("key") == key:
            report = LintReport(state["errors"], state["warnings"], state.get("error_lines", []),
                                files, cached=True)
            runner.log(f"    same files and filters as the last lint: {report.errors} errors, "
                       f"{report.warnings} warnings")
        else:
            report = run_rpmlint(files, rcfiles)
            if runner.VERBOSE:
                runner.log(report.output.rstrip())
            _write_state(dist, key, report)
        produced.append(f"{report.errors} errors, {report.warnings} warnings "
                        f"({len(packages)} packages and 1 spec checked)")
        if report.errors:
            shown = "\n".join("    " + line for line in report.error_lines[:50])
            more = len(report.error_lines) - 50
            raise CheckFailed(
                f"rpmlint found {report.errors} errors:\n{shown}"
                + (f"\n    ... and {more} more" if more > 0 else "")
                + "\nfix them, or add a filter with a comment saying why to "
                + str((project_rpmlintrc(project_dir, name) or project_dir / "rpm" / "rpmlintrc")
                      .relative_to(project_dir))
            )
    return report


def _from_dist(project_dir: Path, dist: Path) -> tuple[str, Path, list[Path]]:
    specs = sorted((project_dir / "rpm").glob("*.spec"))
    if not specs:
        raise UserError(f"{project_dir / 'rpm'}: no .spec to lint; run tools/build-rpm --stage generate")
    for spec in specs:
        name = spec.stem
        pkgs = sorted(p for p in dist.glob(f"{name}-*.rpm"))
        if pkgs:
            return name, spec, pkgs
    raise UserError(f"{dist}: no packages of {', '.join(s.stem for s in specs)} to lint; "
                    "run tools/build-rpm --stage build first")


def _lint_key(files: Sequence[Path], rcfiles: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for path in [*files, *rcfiles]:
        h.update(str(path.name).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    try:
        from importlib.metadata import version

        h.update(version("rpmlint").encode())
    except Exception:
        pass
    return h.hexdigest()


def _read_state(dist: Path) -> dict[str, Any] | None:
    try:
        return json.loads((dist / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _write_state(dist: Path, key: str, report: LintReport) -> None:
    if not dist.is_dir():
        return
    state = {"key": key, "errors": report.errors, "warnings": report.warnings,
             "error_lines": report.error_lines}
    (dist / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
