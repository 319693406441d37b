"""Runtime requirements the project does not list itself: its extras, a driver.

OpenStack projects list their database driver as an extra (zaqar's
``mysql = PyMySQL``) or not at all (placement): oslo.db names the dialect
in a URL and leaves the driver to the deployment. A bundled venv holds only
what the requirements name, so a service pointed at MariaDB fails with
``ImportError: No module named 'pymysql'``, in production as in the verify
box. The packaging keys ``[phoenix:rpm] extras`` (the project's own extras,
by name) and ``[phoenix:rpm] requirements`` (any requirement lines) add to
the runtime requirements the package carries: wheels and venv in bundled
mode, ``Requires:`` in system mode (docs/packaging.md, "Extra
requirements"). Resolved once, right after parsing, so every later stage
sees one requirement list.
"""
from __future__ import annotations

import re
from pathlib import Path

from phoenix_rpm import inputs
from phoenix_rpm.inputs import bad
from phoenix_rpm.model import Project, Requirement

# Where a pbr project declares extras: setup.cfg [extras] (pbr),
# [options.extras_require] (setuptools), pyproject [project.optional-dependencies].
CFG_SECTIONS = ("extras", "options.extras_require")
TOML_TABLE = "[project.optional-dependencies]"


def canonical(name: str) -> str:
    """PEP 685 extra name / PEP 503 project name: case and runs of -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_extras(project_dir: Path) -> dict[str, tuple[Path, str, list[tuple[int | None, str]]]]:
    """Extra (canonical name) -> (file, where, its requirement lines with line numbers).

    pyproject.toml's table wins over setup.cfg's sections for the same
    extra, as setuptools reads [project] first.
    """
    found: dict[str, tuple[Path, str, list[tuple[int | None, str]]]] = {}
    cfg = project_dir / "setup.cfg"
    if cfg.is_file():
        from phoenix_rpm.setupcfg import read_config

        parser, raw = read_config(cfg)
        for section in CFG_SECTIONS:
            if not parser.has_section(section):
                continue
            start = inputs.line_of(raw, f"[{section}]") or 1
            for extra, value in parser[section].items():
                first = inputs.key_line(raw, extra, start)
                lines: list[tuple[int | None, str]] = []
                for offset, text in enumerate(value.splitlines()):
                    if text.strip():
                        lines.append((first + offset if first else None, text.strip()))
                found[canonical(extra)] = (cfg, f"[{section}] {extra}", lines)
    toml = project_dir / "pyproject.toml"
    if toml.is_file():
        from phoenix_rpm.pyproject import read_toml

        project = read_toml(toml).get("project")
        table = project.get("optional-dependencies") if isinstance(project, dict) else None
        if isinstance(table, dict):
            for extra, deps in table.items():
                if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
                    raise bad(toml, f"{TOML_TABLE} {extra} is not a list of strings",
                              f"write {extra} = [\"name>=version\", ...]")
                found[canonical(str(extra))] = (toml, f"{TOML_TABLE} {extra}", [(None, d) for d in deps])
    return found


def resolve(project: Project) -> list[Requirement]:
    """The requirements ``extras`` and ``requirements`` add; one-line errors for wrong ones."""
    ov = project.overrides
    if not ov.extras and not ov.requirements:
        return []
    path_text, _, where = ov.source.partition(" ")
    path = Path(path_text) if path_text else project.config_file
    where = where or "[phoenix:rpm]"
    raw = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    start = inputs.line_of(raw, where) or 1
    added: list[Requirement] = []
    if ov.extras:
        declared = declared_extras(project.project_dir)
        for extra in ov.extras:
            entry = declared.get(canonical(extra))
            if entry is None:
                names = sorted({item[1].rsplit(" ", 1)[-1] for item in declared.values()})
                fix = ("use one of the project's extras: " + ", ".join(names) if names else
                       "the project declares no extras ([extras] in setup.cfg, [project.optional-dependencies] "
                       "in pyproject.toml); list the requirement itself under requirements")
                raise bad(path, f"{where} extras: {extra!r} is not an extra of {project.name}", fix,
                          inputs.key_line(raw, "extras", start))
            src, label, lines = entry
            added += inputs.parse_requirement_lines(lines, src, f"{label}: ")
    if ov.requirements:
        lines = [(inputs.line_of(raw, text, start), text) for text in ov.requirements]
        own = {canonical(project.name)}
        for number, text in lines:
            head = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text.strip())
            if head and canonical(head.group(0)) in own:
                raise bad(path, f"{where} requirements: {text!r} names the project itself",
                          "list its extras under extras instead", number)
        added += inputs.parse_requirement_lines(lines, path, f"{where} requirements: ")
    return added


def apply(project: Project) -> Project:
    """The project with the added requirements after its own (a line already there is not repeated)."""
    added = resolve(project)
    have = {r.line for r in project.requirements}
    project.requirements = [*project.requirements, *(r for r in added if r.line not in have)]
    return project

