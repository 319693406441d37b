"""Find and read an entry point's module statically, with ``ast``.

The toolkit never imports the project it packages: importing would run its
code (eventlet monkey-patching, config registration, missing dependencies)
inside the packaging tool. Reading the source with ``ast`` is enough to tell
whether the module and function exist and whether the script is a phoenix
service (it imports ``phoenix``: such services send ``READY=1`` to systemd,
so their unit is ``Type=notify``).
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path

from phoenix_rpm.inputs import bad
from phoenix_rpm.model import EntryPoint, Project

FRAMEWORK = "phoenix"


@dataclass(frozen=True)
class ModuleInfo:
    path: Path
    uses_framework: bool


def module_path(project: Project, module: str) -> Path | None:
    root = project.project_dir / project.packages_root if project.packages_root else project.project_dir
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


Cache = dict[str, tuple[ModuleInfo, set[str]]]


def inspect(project: Project, ep: EntryPoint, cache: Cache | None = None) -> ModuleInfo:
    """Check that ``ep``'s module and function exist; tell whether it uses the framework."""
    info = _inspect(project, ep, cache, tool=False)
    assert info is not None  # only a tool's may be missing
    return info


def tool_is_stale(project: Project, ep: EntryPoint, cache: Cache | None = None) -> bool:
    """A tool whose module or function the project does not have (see _inspect)."""
    return _inspect(project, ep, cache, tool=True) is None


def _inspect(project: Project, ep: EntryPoint, cache: Cache | None, *, tool: bool) -> ModuleInfo | None:
    """The checks of inspect().

    A tool (no unit runs it) whose module or function is not in the project
    is None, not an error: released sdists carry stale console scripts
    (a module removed, the entry point left), pip installs them anyway and
    the package must still be built; plan.py says so in the tool's reason
    (docs/packaging.md "Services and tools"). A service's must exist: its
    unit would fail at every start.
    """
    cfg = project.config_file
    where = f"[entry_points] {ep.group}" if cfg.name == "setup.cfg" else ep.where.split(" ", 1)[-1]
    line = _line(ep)
    path = module_path(project, ep.module)
    if path is None and not _in_project(project, ep.module):
        # another distribution's module (designate-rootwrap = oslo_rootwrap.cmd:main):
        # pip installs the script, the dependency brings the code
        return ModuleInfo(project.project_dir, False)
    if path is None and tool:
        return None
    if path is None:
        raise bad(cfg, f"{where}: {ep.name} = {ep.module}:{ep.func}: module {ep.module!r} not found "
                  f"under {project.project_dir}", "fix the module path or add the module", line)
    rel = path.relative_to(project.project_dir)
    from phoenix_rpm import validate

    # a module that is a symlink out of the project is not the project's code
    validate.inside(Path(os.path.realpath(project.project_dir)), str(rel), cfg,
                    f"{where}: {ep.name} = {ep.module}:{ep.func}: module", line=line)
    cache = {} if cache is None else cache
    if str(path) not in cache:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
        except SyntaxError as exc:
            raise bad(cfg, f"{where}: {ep.name}: {rel} line {exc.lineno} has a syntax error ({exc.msg})",
                      "fix the module", line) from None
        except ValueError as exc:  # a NUL byte: Python before 3.12 raises ValueError, not SyntaxError
            raise bad(cfg, f"{where}: {ep.name}: {rel} cannot be parsed as Python ({exc})",
                      "fix the module (remove the NUL byte)", line) from None
        cache[str(path)] = (ModuleInfo(path, _imports_framework(tree)), _top_level_names(tree))
    info, names = cache[str(path)]
    wanted = ep.func.split(".")[0]
    if wanted not in names and tool:
        return None
    if wanted not in names:
        raise bad(cfg, f"{where}: {ep.name} = {ep.module}:{ep.func}: {rel} defines no {wanted!r}",
                  "fix the function name or define it", line)
    return info


def _in_project(project: Project, module: str) -> bool:
    root = project.project_dir / project.packages_root if project.packages_root else project.project_dir
    top = module.split(".")[0]
    return top in {p.split(".")[0] for p in project.packages} or (root / top).exists() \
        or (root / f"{top}.py").exists()


def _line(ep: EntryPoint) -> int | None:
    tail = ep.where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _imports_framework(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == FRAMEWORK for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == FRAMEWORK:
            return True
    return False
