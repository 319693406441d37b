"""The generate stage: project -> plan -> rpm/<name>.spec and systemd/ files.

``write()`` renders everything in memory first, so bad input writes nothing,
then replaces each file atomically (temporary file + rename). ``check()``
renders the same way and diffs against the committed files.

The version and the changelog date come from git (pbr), not from setup.cfg,
and change with every commit; a committed spec cannot follow them. So the
drift check renders with the version and date *written in the committed
spec* and reports only real drift (new entry point, changed data_files,
template change...). For the same reason ``write(keep_version=True)``
(what the default ``tools/build-rpm`` run does before building) leaves the
files alone when only the version and date moved, so a build never dirties
the checkout; the build stage renders the spec it builds itself, with the
current version (``build.inputs_from_plan``).
"""
from __future__ import annotations

import calendar
import contextlib
import dataclasses
import difflib
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2

from phoenix_rpm import extra_requirements, inputs, outputs, pyproject, runner, setupcfg, spec, units, validate, vcs
from phoenix_rpm.errors import UserError
from phoenix_rpm.escape import EscapeError
from phoenix_rpm.model import Project
from phoenix_rpm.plan import SpecPlan, make_plan


def load_project(project_dir: Path) -> Project:
    """pyproject.toml's [project] is authoritative where present (setuptools' rule), merged
    with setup.cfg's [files], [entry_points] and [phoenix:rpm]; else setup.cfg alone.

    A stub setup.cfg (``[metadata] name`` + ``[egg_info]``, what pbr.build
    sdists carry) never hides the pyproject (docs/packaging.md "Inputs").
    """
    project_dir = Path(project_dir).resolve()
    validate.reset_caches()
    cfg = project_dir / "setup.cfg"
    toml = project_dir / "pyproject.toml"
    if toml.is_file() and pyproject.has_project_table(toml):
        return extra_requirements.apply(pyproject.load(project_dir))
    if cfg.is_file():
        return extra_requirements.apply(setupcfg.load(project_dir))
    raise UserError(f"{cfg}: no setup.cfg (and no pyproject.toml with a [project] table); "
                    "run build-rpm on a pbr project folder")


def load_plan(project_dir: Path) -> SpecPlan:
    """The packaging plan the build and verify stages read (see docs/packaging.md)."""
    return make_plan(load_project(Path(project_dir)))


def render_plan(plan: SpecPlan) -> dict[str, str]:
    """Relative path -> text of every generated file (systemd/ first, the spec last)."""
    env = spec.environment(plan.project_dir)
    try:
        out = units.render_unit_files(plan, env)
        out[f"rpm/{plan.name}.spec"] = spec.render_spec(plan, env)
    except EscapeError as exc:
        # validate.py refuses bad values with their key first; this is the
        # last line of defence (a value a project template passes on).
        raise UserError(f"{plan.config_file}: {exc}; change that value") from None
    except RecursionError:
        raise UserError(f"{plan.project_dir / spec.PROJECT_TEMPLATES}: a template recursed too deeply; "
                        "fix the project's template or remove it to use the toolkit's") from None
    except jinja2.TemplateError as exc:
        raise UserError(f"{plan.project_dir / spec.PROJECT_TEMPLATES}: a template failed to render "
                        f"({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                        "fix the project's template or remove it to use the toolkit's") from None
    return out


def render(project_dir: Path) -> dict[str, str]:
    return render_plan(load_plan(project_dir))


def write(project_dir: Path, *, keep_version: bool = False) -> list[Path]:
    """Generate and write the files; remove generated units that are no longer planned.

    ``keep_version``: when the committed files differ from a fresh rendering
    only by the version and changelog date (a new commit), write nothing.
    """
    project_dir = Path(project_dir).resolve()
    with runner.stage("generate") as produced:
        plan = load_plan(project_dir)
        files = render_plan(plan)
        committed = outputs.read(project_dir, _spec_rel(plan)) if keep_version else None
        if committed is not None:
            pinned = render_plan(_pinned(plan, committed))
            if _matches(project_dir, pinned):
                files = pinned
        changed = {rel: text for rel, text in files.items() if not _same(project_dir, rel, text)}
        written = write_all(project_dir, changed)
        for stale in _stale_generated(project_dir, files):
            stale.unlink()
            runner.log(f"    removed {stale.relative_to(project_dir)} (no longer generated)")
        produced.append(f"{len(files)} files ({len(written)} changed) for {plan.name} {plan.version}")
        if vcs.untagged(project_dir):
            runner.log(vcs.TAG_HINT)
    return [project_dir / rel for rel in files]


def spec_to_build(plan: SpecPlan) -> str | None:
    """The spec text the build stage should build, or None to build the file as it is.

    The committed spec may lag the version (it cannot follow every commit):
    when it is what we would generate but for the version and date, the build
    gets a fresh rendering with the current version. A spec edited by hand
    (or from an older template) is built as it is: the edit wins, and
    ``--check`` reports it as drift.
    """
    rel = _spec_rel(plan)
    fresh = render_plan(plan)[rel]
    committed = outputs.read(plan.project_dir, rel)
    if committed is None:
        return fresh
    if committed in (fresh, render_plan(_pinned(plan, committed))[rel]):
        return fresh
    return None


def _spec_rel(plan: SpecPlan) -> str:
    return f"rpm/{plan.name}.spec"


def _matches(project_dir: Path, files: dict[str, str]) -> bool:
    """True when every file is on disk with this text and no stale generated file is left."""
    for rel, text in files.items():
        if outputs.read(project_dir, rel) != text:
            return False
    return not _stale_generated(project_dir, files)


def check(project_dir: Path) -> int:
    """Exit status: 0 when rpm/ and systemd/ match what would be generated, else 1 and a diff on stdout."""
    project_dir = Path(project_dir).resolve()
    plan = load_plan(project_dir)
    committed_spec = outputs.read(project_dir, _spec_rel(plan))
    if committed_spec is not None:
        plan = _pinned(plan, committed_spec)
    files = render_plan(plan)
    diffs: list[str] = []
    for rel, text in files.items():
        old = outputs.read(project_dir, rel) or ""
        if old != text:
            diffs += difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                          f"a/{rel}" if old else "/dev/null", f"b/{rel}")
    for stale in _stale_generated(project_dir, files):
        rel = str(stale.relative_to(project_dir))
        diffs += difflib.unified_diff((outputs.read(project_dir, rel) or "").splitlines(True), [],
                                      f"a/{rel}", "/dev/null")
    if diffs:
        sys.stdout.writelines(d if d.endswith("\n") else d + "\n" for d in diffs)
        sys.stdout.flush()
        runner.log(f"build-rpm: rpm/ and systemd/ drift from {plan.config_file.name}; "
                   "run tools/build-rpm --stage generate and commit the result")
        return 1
    runner.log(f"build-rpm: rpm/ and systemd/ are up to date with {plan.config_file.name}")
    return 0


def _pinned(plan: SpecPlan, committed: str) -> SpecPlan:
    """Take the version, release and changelog date from the committed spec (see module doc)."""
    version = re.search(r"^Version:\s*(\S+)", committed, re.M)
    date = re.search(r"^\* (\w{3} \w{3} \d{2} \d{4}) ", committed, re.M)
    changes: dict[str, Any] = {}
    # the committed spec is the project's text: a Version that is no rpm version
    # (``1.0%{lua:...}``, ``1.0$(id)``) is not taken over; the drift shows instead
    if version and inputs.RPM_VERSION.match(version.group(1)):
        changes["version"] = version.group(1)
    if date:
        try:
            changes["changelog_epoch"] = calendar.timegm(time.strptime(date.group(1) + " 12", "%a %b %d %Y %H"))
        except ValueError:
            pass
    if not changes:
        return plan
    # The sources follow: SpecPlan.sources names the tarballs for the pinned version.
    return dataclasses.replace(plan, **changes)


def _stale_generated(project_dir: Path, files: dict[str, str]) -> list[Path]:
    """Files that carry our mark but are no longer generated.

    A removed service leaves its unit in systemd/; a renamed project leaves
    its old spec in rpm/. Files without the mark (rpm/rpmlintrc, a
    hand-written unit) are never touched, nor is a symlink (never followed,
    never removed: outputs.py).
    """
    out = []
    for name, pattern in (("systemd", "*"), ("rpm", "*.spec")):
        folder = outputs.folder(project_dir, name)
        if folder is None:
            continue
        for path in sorted(folder.glob(pattern)):
            rel = f"{name}/{path.name}"
            if rel in files or path.is_symlink() or not path.is_file():
                continue
            try:
                head = (outputs.read(project_dir, rel) or "")[:300]
            except (OSError, UserError):
                continue
            if units.GENERATED_MARK in head:
                out.append(path)
    return out


def _same(project_dir: Path, rel: str, text: str) -> bool:
    try:
        return outputs.read(project_dir, rel) == text
    except OSError:
        return False


def write_all(project_dir: Path, files: dict[str, str]) -> list[Path]:
    """All or nothing: every file staged next to its place first, then all renamed into place.

    A folder in the way (``rpm`` is a file), a read-only folder or a full
    disk fails while staging, before any file of the tree has changed: the
    staged copies and the folders made for them are removed and the error
    is one line (docs/packaging.md, "Hostile input"). Renames within a folder
    do not fail for those reasons, so the tree ends either all old or all new.
    """
    made_dirs: list[Path] = []
    staged: list[tuple[str, Path]] = []
    try:
        for rel, text in files.items():
            path = outputs.checked(project_dir, rel)
            folder = path.parent
            if folder.exists() and not folder.is_dir():
                raise UserError(f"{folder}: is not a folder, but generate writes {rel} into it; "
                                "move the file away (or remove it) and run again")
            if not folder.exists():
                missing = [folder, *[p for p in folder.parents if not p.exists()]]
                for d in reversed(missing):
                    d.mkdir()
                    made_dirs.append(d)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".phoenix-new", dir=folder)
            tmp = Path(tmp_name)
            staged.append((rel, tmp))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)
    except BaseException as exc:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        for d in reversed(made_dirs):
            with contextlib.suppress(OSError):
                d.rmdir()
        if isinstance(exc, OSError):
            where = exc.filename or project_dir
            raise UserError(f"{where}: cannot write the generated files ({exc.strerror}); "
                            "make the project's rpm/ and systemd/ folders writable and run again") from None
        raise
    written = []
    for rel, tmp in staged:
        os.replace(tmp, project_dir / rel)
        written.append(project_dir / rel)
    return written
