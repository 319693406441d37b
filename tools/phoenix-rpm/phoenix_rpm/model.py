"""The project model: what a pbr project *is*, parsed once at the edge.

Plain, typed data made by ``setupcfg.py`` or ``pyproject.py`` and nothing
else. No decisions live here (which entry point is a service, where a file
goes on the target: that is ``plan.py``), so the parsers stay thin and every
later stage works on the same shape whatever file the project used.

The enums below are the words of that shared vocabulary (install mode, unit
type, service kind). They live in this leaf module, which imports nothing of
the toolkit, so that plan.py and the modules plan.py uses (units.py) import
them at module top without a cycle (docs/architecture.md "The typed plan").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class InstallMode(StrEnum):
    """Where the package's Python code and requirements live (docs/packaging.md "Install modes").

    A ``StrEnum``: its members are the words users write in ``install_mode``
    and compare, print and serialise (JSON, the build key) as those words.
    """

    BUNDLED = "bundled"  # a private virtualenv (venv_dir) holding the project and every requirement
    SYSTEM = "system"  # the distribution's site-packages; requirements become Requires: python3dist(...)


class UnitType(StrEnum):
    """systemd's ``Type=`` of a service unit (docs/packaging.md "Units and hardening")."""

    NOTIFY = "notify"  # the service says READY=1 (phoenix, uWSGI): started means serving
    EXEC = "exec"  # any other program: started once exec() succeeded


class ServiceKind(StrEnum):
    """What the unit runs: a console script, a pbr wsgi script, or uWSGI serving a WSGI application."""

    CONSOLE = "console_scripts"
    WSGI_SCRIPT = "wsgi_scripts"
    UWSGI = "uwsgi"


@dataclass(frozen=True)
class DataFile:
    """One file pbr installs: ``target`` is relative to the install prefix.

    ``source`` is relative to the project directory; ``where`` names the
    setup.cfg line it came from, for error messages.
    """

    target: str  # e.g. "etc/apollo/apollo.conf" (target dir + file name)
    source: str  # e.g. "etc/apollo/apollo.conf"
    where: str = ""

    @property
    def target_dir(self) -> str:
        return self.target.rsplit("/", 1)[0] if "/" in self.target else ""


@dataclass(frozen=True)
class EntryPoint:
    """A console or WSGI script: ``name = module:func``."""

    name: str
    module: str
    func: str
    group: str  # "console_scripts" | "wsgi_scripts"
    where: str = ""

    @property
    def is_wsgi(self) -> bool:
        return self.group == "wsgi_scripts"


@dataclass(frozen=True)
class Requirement:
    """A runtime requirement as written (``line``) and parsed."""

    name: str
    specifier: str  # e.g. ">=9.0,<11" (may be empty)
    marker: str  # environment marker text, may be empty
    line: str


@dataclass
class Overrides:
    """The project's explicit packaging choices (``[phoenix:rpm]`` / ``[tool.phoenix.rpm]``).

    ``None`` means "not given: use the default"; ``source`` names the file and
    section for error messages.
    """

    source: str = ""
    services: list[str] | None = None
    tools: list[str] | None = None
    user: str | None = None
    group: str | None = None
    # As written; plan.py parses it into an InstallMode (its error names this key).
    install_mode: str | None = None
    venv_dir: str | None = None
    release: str | None = None
    logrotate: bool | None = None
    # explicit opt-ins a reviewer sees (validate.py, docs/packaging.md "Hostile input")
    allow_privileged: bool = False
    allow_system_paths: bool = False
    # absolute target path -> source path relative to the project
    extra_files: dict[str, str] = field(default_factory=dict)
    # service (entry point name) -> {systemd Key: value}
    unit_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    # WSGI application (unit name) -> "host:port" its uWSGI server listens on
    wsgi_bind: dict[str, str] = field(default_factory=dict)
    # runtime requirements added to the project's own (extra_requirements.py,
    # docs/packaging.md "Extra requirements"): names of the project's extras,
    # and requirement lines, e.g. a database driver the project leaves out
    extras: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)


@dataclass
class Project:
    """Everything the toolkit knows about a project after parsing."""

    project_dir: Path
    config_file: Path  # setup.cfg or pyproject.toml: named in error messages
    name: str
    version: str
    summary: str
    license: str
    url: str
    author: str
    author_email: str
    description: str
    packages: list[str]
    packages_root: str  # "" or e.g. "src" (pbr [files] packages_root)
    data_files: list[DataFile]
    entry_points: list[EntryPoint]
    requirements: list[Requirement]
    overrides: Overrides
    license_files: list[str] = field(default_factory=list)
    doc_files: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    # Every other entry point group (oslo.config.opts, oslo.policy.policies...):
    # group -> {name: "module:attr"}. They decide generated config (docs/packaging.md).
    plugin_entry_points: dict[str, dict[str, str]] = field(default_factory=dict)
    # Where the metadata came from, e.g. "pyproject.toml [project] + setup.cfg [files], [entry_points]"
    merged_from: str = ""

    @property
    def scripts(self) -> list[EntryPoint]:
        return [ep for ep in self.entry_points if ep.group in ("console_scripts", "wsgi_scripts")]
