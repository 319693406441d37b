"""The lint stage: rpmlint on the spec, the SRPM and the RPMs; any error fails.

Filters come from two rpmlintrc files, each filter with a comment saying why:
the toolkit's (``tools/phoenix-rpm/phoenix_rpm/data/rpmlintrc``: what follows from how
build-rpm packages every project) and the project's ``rpm/rpmlintrc`` (or
``rpm/<name>.rpmlintrc``). ``rpm/rpmlintrc`` is preferred: rpmlint auto-loads
a ``<name>.rpmlintrc`` next to the spec, and a plain ``rpmlint rpm/<name>.spec``
then reports the filters meant for the built packages as unused errors.
A lint of the same files with the same filters is not repeated.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Sequence

from phoenix_rpm import reproducible, runner
from phoenix_rpm.build import BuildResult
from phoenix_rpm.errors import CheckFailed, UserError

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


# rpmlint with rpm2archive hidden from it: see rpmlint_main.py.
RPMLINT_MAIN = Path(__file__).with_name("rpmlint_main.py")


def rpmlint_command() -> list[str]:
    """rpmlint of the toolkit's environment (PyPI rpmlint 2.x), else the host's."""
    if importlib.util.find_spec("rpmlint") is not None:
        return [sys.executable, str(RPMLINT_MAIN)]
    venv_rpmlint = Path(sys.executable).with_name("rpmlint")
    if venv_rpmlint.exists():
        return [str(venv_rpmlint)]
    found = shutil.which("rpmlint")
    if found:
        return [found]
    raise UserError("rpmlint not found: run tools/build-rpm (it installs it into .venv) "
                    "or pip install rpmlint")


def project_rpmlintrc(project_dir: Path, name: str | None) -> Path | None:
    """The project's rpmlintrc: rpm/rpmlintrc, else rpm/<name>.rpmlintrc (see module doc).

    Never through a symlink (``rpm/rpmlintrc -> /etc/shadow`` would be read,
    and its lines quoted, by rpmlint): outputs.py.
    """
    from phoenix_rpm import outputs

    for rel in ("rpm/rpmlintrc", f"rpm/{name}.rpmlintrc" if name else None):
        if rel is not None:
            candidate = outputs.checked(project_dir, rel)
            if candidate.is_file():
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


def rpmlint_argv(files: Sequence[Path], rcfiles: Sequence[Path]) -> list[str]:
    argv = [*rpmlint_command(), "--ignore-unused-rpmlintrc"]
    for rc in rcfiles:
        argv += ["-r", str(rc)]
    return argv + [str(f) for f in files]


def rpmlint_env() -> dict[str, str]:
    """rpmlint unpacks packages under TMPDIR: a tmpfs when there is one (5000 files: 1.4 s -> 0.3 s)."""
    env = {"LC_ALL": "C.UTF-8"}
    # rpm parses the spec in a box unless the build ran on the host (specbox.py)
    env["PHOENIX_SPEC_PARSE"] = os.environ.get("PHOENIX_SPEC_PARSE", "box")
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
        if os.access(shm, os.W_OK) and st.f_bavail * st.f_frsize > (1 << 30) and _is_tmpfs(shm):
            env["TMPDIR"] = str(shm)
    except OSError:
        pass
    return env


def _is_tmpfs(path: Path) -> bool:
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[1] == str(path):
                return fields[2] == "tmpfs"
    except OSError:
        pass
    return False


def report_of(output: str, files: Sequence[Path]) -> LintReport:
    errors, warnings = parse_summary(output)
    error_lines = [line for line in output.splitlines() if re.search(r": E: ", line)]
    return LintReport(errors, warnings, error_lines, list(files), output)


def run_rpmlint(files: Sequence[Path], rcfiles: Sequence[Path], signed_with: str | None = None) -> LintReport:
    """One rpmlint run over ``files`` with the given rpmlintrc files.

    ``signed_with``: the packages' signing key, made known to the rpm that
    rpmlint's signature check runs (sign.rpm_knows_key), else it reports them.
    """
    if signed_with:
        from phoenix_rpm import sign

        with sign.rpm_knows_key(signed_with) as env:
            return _run_rpmlint(files, rcfiles, env)
    return _run_rpmlint(files, rcfiles, {})


def _run_rpmlint(files: Sequence[Path], rcfiles: Sequence[Path], extra_env: dict[str, str]) -> LintReport:
    # rpmlint exits 64 when it found errors and 66 over the badness threshold:
    # the summary line, parsed below, is the verdict.
    proc = runner.run(rpmlint_argv(files, rcfiles), check=False, capture=True,
                      env={**rpmlint_env(), **extra_env})
    return report_of((proc.stdout or "") + (proc.stderr or ""), files)


def combined(first: LintReport, second: LintReport) -> LintReport:
    """Two rpmlint runs as one: counts added (one run over both gives the same sums)."""
    return LintReport(first.errors + second.errors, first.warnings + second.warnings,
                      first.error_lines + second.error_lines, first.checked + second.checked,
                      first.output.rstrip() + "\n" + second.output)


class Prelint:
    """rpmlint of the spec and the SRPM, run while the box builds the RPM (2 cores).

    The build stage calls ``start`` once the SRPM exists; the lint stage
    then only lints the RPMs (``lint_rpms``) and adds the two reports
    (``take``). The SRPM is copied first: the build's own copy goes away
    before it ends. A signed build is not prelinted: its SRPM changes after
    the build. ``start`` also starts the rpmlint that will check the RPMs, on
    standby: it imports rpmlint and its checks (half a second) while the
    RPM is built, then waits for its arguments (rpmlint_main.py).
    """

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self._spec: Path | None = None
        self._digest = ""
        self._proc: subprocess.Popen[str] | None = None
        self._standby: subprocess.Popen[str] | None = None
        self._running = contextlib.ExitStack()   # both rpmlints, stopped by close()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Prelint:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self, name: str, spec: Path, srpm: Path) -> None:
        self.close()
        try:
            rpmlint_command()
        except UserError:
            return  # the lint stage reports it
        self._tmp = tempfile.TemporaryDirectory(prefix="phoenix-prelint-")
        copy = Path(self._tmp.name) / srpm.name
        shutil.copyfile(srpm, copy)
        self._spec, self._digest = spec, reproducible.file_sha256(copy)
        argv = rpmlint_argv([spec, copy], rpmlintrc_files(self.project_dir, name))
        env = rpmlint_env()
        self._proc = self._running.enter_context(
            runner.spawn(argv, stderr=subprocess.STDOUT, env=env, note="(while the RPM builds)"))
        command = rpmlint_command()
        if command[-1:] == [str(RPMLINT_MAIN)]:
            self._standby = self._running.enter_context(
                runner.spawn([*command, "--standby"], stdin=subprocess.PIPE, stderr=subprocess.STDOUT, env=env))

    def take(self, spec: Path, srpm: Path) -> LintReport | None:
        """The report on exactly these files, or None (not started, other files, failed)."""
        if self._proc is None or spec != self._spec or reproducible.file_sha256(srpm) != self._digest:
            return None
        output, _ = runner.finish(self._proc, check=False)
        self._proc = None
        try:
            return report_of(output, [spec, srpm])
        except CheckFailed:
            return None

    def lint_rpms(self, rpms: Sequence[Path], rcfiles: Sequence[Path]) -> LintReport:
        """rpmlint of the RPMs, by the standby rpmlint when there is one."""
        standby, self._standby = self._standby, None
        if standby is None:
            return run_rpmlint(rpms, rcfiles)
        argv = rpmlint_argv(rpms, rcfiles)
        runner.echo(argv, note="(rpmlint on standby)")
        output, _ = runner.finish(standby, input=json.dumps(argv[len(rpmlint_command()):]) + "\n", check=False)
        return report_of(output, rpms)

    def close(self) -> None:
        self._running.close()   # kills and reaps what still runs
        self._proc = self._standby = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def lint(project_dir: Path, result: BuildResult | None = None, *, dist_dir: Path | None = None,
         prelint: Prelint | None = None) -> LintReport:
    """Lint the spec, the SRPM and the RPMs of the last build; CheckFailed on any error.

    ``result`` is the build stage's BuildResult; with None (``--stage lint``)
    the packages in ``dist/`` and the spec in ``rpm/`` are linted.
    ``prelint``: the spec and the SRPM were linted during the build already.
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
        early = None
        if state and state.get("key") == key:
            report = LintReport(state["errors"], state["warnings"], state.get("error_lines", []),
                                files, output=state.get("output", ""), cached=True)
            runner.log(f"    same files and filters as the last lint: {report.errors} errors, "
                       f"{report.warnings} warnings")
            if runner.VERBOSE:
                # -v shows the findings whether rpmlint ran now or last time
                runner.log(report.output.rstrip())
        else:
            early = None
            if prelint is not None and result is not None and not result.signed_with:
                early = prelint.take(spec, result.srpm)
            if early is not None and prelint is not None and result is not None:
                report = combined(early, prelint.lint_rpms(result.rpms, rcfiles))
            else:
                report = run_rpmlint(files, rcfiles, result.signed_with if result is not None else None)
            if runner.VERBOSE:
                runner.log(report.output.rstrip())
            _write_state(dist, key, report)
        when = "; spec and SRPM linted while the RPM was built" if early is not None else ""
        produced.append(f"{report.errors} errors, {report.warnings} warnings "
                        f"({len(packages)} packages and 1 spec checked{when})")
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
    h.update(b"lint-state-2\0")  # the state now keeps rpmlint's output
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
        state: dict[str, Any] = json.loads((dist / STATE_FILE).read_text())
        return state
    except (OSError, ValueError):
        return None


def _write_state(dist: Path, key: str, report: LintReport) -> None:
    if not dist.is_dir():
        return
    state = {"key": key, "errors": report.errors, "warnings": report.warnings,
             "error_lines": report.error_lines, "output": report.output}
    (dist / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
