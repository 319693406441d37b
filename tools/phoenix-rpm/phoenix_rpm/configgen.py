"""Config the project does not ship but declares: oslo-config-generator and oslo-policy-generator inputs.

Most OpenStack services ship no ``etc/<name>/<name>.conf``: the real file is
made by ``oslo-config-generator`` from a generator config (``[DEFAULT]
output_file`` + ``namespace`` lines, found under ``etc/`` or ``tools/``) or
from the project's ``oslo.config.opts`` entry points, which is what the
distributions' specs run in ``%build``. The spec runs the same generator from
the bundled venv, offline, once the venv is complete (docs/packaging.md
"Generated config"); the result ships as ``/etc/<conf>/<conf>.conf``
``%config(noreplace)`` 0640 root:<group>, like a shipped one.
"""
from __future__ import annotations

import configparser
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix_rpm import validate
from phoenix_rpm.errors import UserError
from phoenix_rpm.escape import Trusted
from phoenix_rpm.model import Project

SKIP_DIRS = {".git", ".tox", "doc", "docs", "releasenotes", "tests", "test", "build", "dist", "devstack",
             "api-ref", "playbooks", "rally-jobs", "zuul.d", "roles", "node_modules", ".venv", "venv"}
MAX_GENERATOR_FILE = 20000
#: the generated file's name (it becomes /etc/<conf>/<name>, a word of ExecStart and of the uWSGI ini)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Generator:
    """One generator run: ``kind`` config|policy, its input, what it makes."""

    kind: str  # "config" | "policy"
    source: str  # generator config relative to the project, or "" (namespaces given)
    namespaces: tuple[str, ...]  # when there is no generator config: the oslo.config.opts names
    output_name: str  # e.g. heat.conf (from output_file, .sample dropped) or policy.yaml
    reason: str


def find_generators(project: Project) -> list[Generator]:
    """Generator configs in the tree (config first), else the oslo.config.opts entry points."""
    found: list[Generator] = []
    for rel in _candidate_files(project.project_dir):
        path = project.project_dir / rel
        try:
            # never through a symlink out (etc/x-generator.conf -> /dev/zero read forever and
            # exhausted the memory), never a FIFO or device: the same rule as a shipped file
            validate.check_found_files(project, [rel])
            if not stat.S_ISREG(path.stat().st_mode) or path.stat().st_size > MAX_GENERATOR_FILE:
                continue
            parser = configparser.RawConfigParser(strict=False, interpolation=None)
            parser.read_string(path.read_text(errors="replace"))
        except (OSError, configparser.Error, UnicodeError):
            continue
        default = parser.defaults()
        if "namespace" not in default:
            continue
        output = os.path.basename((default.get("output_file") or "").strip())
        if output and not SAFE_NAME.match(output):
            # it names /etc/<conf>/<file>: in the spec, the units' --config-file and the uWSGI ini
            raise UserError(f"{path}: [DEFAULT] output_file names the file {output[:60]!r}, which is not a "
                            "plain file name; use letters, digits, '.', '_' and '-' (e.g. etc/demo/demo.conf.sample)")
        _check_values(path, default)
        policy = "policy" in rel.rsplit("/", 1)[-1] or "policy" in output
        if policy:
            name = "policy.yaml"
        else:
            name = re.sub(r"\.sample$", "", output) if output else ""
            if not name.endswith(".conf") or name in ("example.conf", "sample.conf"):
                name = ""
        found.append(Generator("policy" if policy else "config", rel, (), name,
                               f"{'oslo-policy-generator' if policy else 'oslo-config-generator'} "
                               f"--config-file {rel}"))
    for group in ("oslo.config.opts", "oslo.policy.policies"):
        for ns in project.plugin_entry_points.get(group, {}):
            if not SAFE_NAME.match(ns):
                # a namespace becomes an argument of the generator in %install ("--help" an option)
                raise UserError(f"{project.config_file}: entry point {ns[:60]!r} in {group} is not a plain "
                                "namespace name; use letters, digits, '.', '_' and '-', starting with a "
                                "letter or digit")
    if not any(g.kind == "config" for g in found):
        opts = sorted(project.plugin_entry_points.get("oslo.config.opts", {}))
        if opts:
            found.append(Generator("config", "", tuple(opts), "",
                                   "oslo-config-generator over the oslo.config.opts entry points "
                                   + ", ".join(opts)))
    if not any(g.kind == "policy" for g in found):
        policies = sorted(project.plugin_entry_points.get("oslo.policy.policies", {}))
        if policies:
            found.append(Generator("policy", "", tuple(policies), "policy.yaml",
                                   "oslo-policy-generator over the oslo.policy.policies entry points "
                                   + ", ".join(policies)))
    # one of each kind: the config generator whose output names a .conf first
    out: list[Generator] = []
    for kind in ("config", "policy"):
        mine = sorted((g for g in found if g.kind == kind), key=lambda g: (not g.output_name, g.source))
        out += mine[:1]
    return out


def _inside(project_dir: Path, base: Path) -> bool:
    """A folder to walk: inside the project once resolved (``tools -> /usr`` walked all of /usr)."""
    top = os.path.realpath(project_dir)
    real = os.path.realpath(base)
    return real == top or real.startswith(top + os.sep)


#: oslo.config's boolean spellings (the generator's minimal/summarize are BoolOpts)
BOOLS = {"true", "false", "yes", "no", "1", "0", "on", "off", "t", "f", "y", "n"}


def _check_values(path: Path, default: Any) -> None:
    """The generator options the build's run reads: a bad one failed the %install, minutes later, in the box.

    ``wrap_width`` is an IntOpt and ``minimal``/``summarize`` BoolOpts of
    oslo-config-generator (config_generator.py passes them on): checked here,
    one line at generate time (docs/packaging.md "Config generation").
    """
    width = (default.get("wrap_width") or "").strip()
    if width and (not re.fullmatch(r"[0-9]{1,4}", width) or int(width) < 1):
        raise UserError(f"{path}: [DEFAULT] wrap_width = {width[:30]!r} is not a line width; "
                        "write a whole number of columns, e.g. wrap_width = 79")
    for key in ("minimal", "summarize"):
        value = (default.get(key) or "").strip()
        if value and value.lower() not in BOOLS:
            raise UserError(f"{path}: [DEFAULT] {key} = {value[:30]!r} is not a boolean; write true or false")


def _candidate_files(project_dir: Path) -> list[str]:
    out: list[str] = []
    for top in ("etc", "tools", "config-generator"):
        base = project_dir / top
        if not base.is_dir() or not _inside(project_dir, base):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith(".conf") and ("generator" in name or "generator" in dirpath
                                               or top == "config-generator"):
                    out.append(os.path.relpath(os.path.join(dirpath, name), project_dir).replace(os.sep, "/"))
    return out


def generator_argv(gen: Generator) -> str:
    """The generator's arguments, for the spec (shell words; the input under "$phoenix_top", the sdist)."""
    from phoenix_rpm import rpmtext

    # Trusted: the words are escaped here, so the template must not escape them again
    if gen.source:
        return Trusted(f'--config-file "$phoenix_top"/{rpmtext.sh(gen.source)}')

    return Trusted(" ".join(f"--namespace {rpmtext.sh(ns)}" for ns in gen.namespaces))


def paste_files(project: Project) -> list[str]:
    """``*paste.ini`` files under etc/ (relative paths): the WSGI pipeline the API loads."""
    base = project.project_dir / "etc"
    if not base.is_dir() or not _inside(project.project_dir, base):
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith("paste.ini"):
                out.append(os.path.relpath(os.path.join(dirpath, name), project.project_dir).replace(os.sep, "/"))
    return out
