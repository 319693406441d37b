"""Every toolkit module imports on its own, in a fresh interpreter.

Imports sit at module top (docs/architecture.md), so an import cycle fails
here, at import, instead of hiding behind function-local imports until some
code path runs. One interpreter per module: in a shared one, the modules a
previous import loaded would mask a cycle.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import phoenix_rpm

PACKAGE = Path(phoenix_rpm.__file__).resolve().parent
# Not modules of the toolkit's process: scripts that run elsewhere
# (the box's python3, a network namespace, rpmbuild's %build) and the
# testinfra suite, which imports its own conftest.
SCRIPTS = {"templates/venv_layer.py"}


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.as_posix() in SCRIPTS or rel.parts[0] == "infra":
            continue
        parts = ["phoenix_rpm", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def test_the_module_list_covers_the_package():
    names = _modules()
    assert {"phoenix_rpm.box.lease", "phoenix_rpm.box.nspawn", "phoenix_rpm.box.root", "phoenix_rpm.cachedirs",
            "phoenix_rpm.ops.scenarios", "phoenix_rpm.inbox.kill_worker"} <= set(names), names


def test_every_module_imports_alone_in_a_fresh_interpreter():
    failed = []
    # One interpreter per module, several at a time (a few seconds in all).
    procs = {name: subprocess.Popen([sys.executable, "-c", f"import {name}"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for name in _modules()}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failed.append(f"{name}: {err.strip().splitlines()[-1] if err.strip() else proc.returncode}")
    assert failed == [], "modules that do not import on their own:\n" + "\n".join(failed)


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path, module: str) -> tuple[set[str], list[int]]:
    """(toolkit modules this one needs at import, lines of function-local toolkit imports).

    ``from pkg import mod`` needs pkg.mod when that is a module, else pkg
    (a name defined there); a module's own ancestor packages are left out:
    Python always imports them first. ``if TYPE_CHECKING:`` imports never run.
    """
    tree = ast.parse(path.read_text())
    ancestors = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    top_level = [n for n in tree.body if not _is_type_checking(n)]
    top_nodes = {id(n) for stmt in top_level for n in ast.walk(stmt)
                 if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    in_type_checking = {id(n) for stmt in tree.body if _is_type_checking(stmt) for n in ast.walk(stmt)}
    needs: set[str] = set()
    local: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [f"{node.module}.{a.name}" if (PACKAGE.parent / node.module.replace(".", "/") / a.name).is_dir()
                     or (PACKAGE.parent / f"{node.module.replace('.', '/')}/{a.name}.py").is_file()
                     else node.module for a in node.names]
        else:
            continue
        names = [n for n in names if n.startswith("phoenix_rpm") and n not in ancestors]
        if not names or id(node) in in_type_checking:
            continue
        if id(node) in top_nodes:
            needs.update(names)
        else:
            local.append(node.lineno)
    return needs, local


def _graph() -> dict[str, set[str]]:
    modules = set(_modules())
    graph = {}
    for name in modules:
        rel = Path(*name.split(".")[1:])
        path = PACKAGE / rel / "__init__.py" if (PACKAGE / rel).is_dir() else PACKAGE / rel.with_suffix(".py")
        needs, _ = _imports(path, name)
        graph[name] = {m for m in needs if m in modules and m != name}
    return graph


def test_no_import_cycle_among_module_level_imports():
    graph = _graph()
    cycles: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_box_modules_import_the_toolkit_at_module_top_only():
    """So a new cycle in box/ fails at import (the old lease -> nspawn -> root -> lease
    cycle hid behind imports inside functions)."""
    local = []
    for path in sorted((PACKAGE / "box").glob("*.py")):
        _, lines = _imports(path, f"phoenix_rpm.box.{path.stem}")
        local += [f"box/{path.name}:{n}" for n in lines]
    assert local == [], "move these imports to the top of the module: " + ", ".join(local)


def test_cachedirs_is_a_leaf():
    leaf = subprocess.run([sys.executable, "-c", "import phoenix_rpm.cachedirs, sys; "
                           "print(sorted(m for m in sys.modules if m.startswith('phoenix_rpm')))"],
                          capture_output=True, text=True, timeout=60)
    assert leaf.stdout.strip() == "['phoenix_rpm', 'phoenix_rpm.cachedirs']", leaf.stdout + leaf.stderr
