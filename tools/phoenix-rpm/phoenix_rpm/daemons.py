"""Is an entry point a long-running daemon? Read what its code does, with ``ast``.

A name list cannot be the rule (``-evaluator``, ``-housekeeping``,
``-scrubber`` and the next project's names are all daemons): the toolkit
reads the entry point's function, without importing it, and follows the
calls it makes within its module and into the project's own modules a few
levels deep, looking for the service launchers of this stack
(docs/packaging.md "Services and tools"):

- ``oslo_service.service.launch`` / ``ServiceLauncher`` / ``ProcessLauncher``
- ``cotyledon.ServiceManager`` (or a subclass) and its ``run()``
- phoenix's launcher (``phoenix.server.eventlet.run`` / ``serve``)
- a server's ``serve_forever()`` / ``run_forever()``, a blocking
  ``eventlet.wsgi.server``, an ``oslo_messaging`` server, ``wait()`` on a
  ``*Server``/``*Daemon``/... object, ``signal.pause()``, an endless
  ``while True:``

Development servers (``wsgiref.simple_server``, werkzeug's ``run_simple``)
are recognised as such: when the project has a WSGI application, that
application runs under uWSGI and the development-server script is a tool.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LAUNCHERS = {
    "oslo_service.service.launch": "oslo_service.service.launch",
    "oslo_service.service.ServiceLauncher": "oslo_service.service.ServiceLauncher",
    "oslo_service.service.ProcessLauncher": "oslo_service.service.ProcessLauncher",
    "oslo_service.service.Launcher": "oslo_service.service.Launcher",
    "phoenix.server.eventlet.run": "phoenix's launcher (phoenix.server.eventlet.run)",
    "phoenix.server.eventlet.serve": "phoenix's launcher (phoenix.server.eventlet.serve)",
    "phoenix.server.launcher.Launcher": "phoenix's launcher (phoenix.server.launcher.Launcher)",
    "eventlet.wsgi.server": "eventlet.wsgi.server (blocks serving)",
    "uvicorn.run": "uvicorn.run",
    "oslo_messaging.get_rpc_server": "an oslo_messaging RPC server",
    "oslo_messaging.get_notification_listener": "an oslo_messaging notification listener",
    "oslo_messaging.get_batch_notification_listener": "an oslo_messaging notification listener",
}
COTYLEDON = "cotyledon.ServiceManager"
DEV_SERVERS = {
    "wsgiref.simple_server.make_server": "wsgiref's development server",
    "werkzeug.serving.run_simple": "werkzeug's development server",
}
# the class of an object whose wait() blocks while it serves
SERVER_CLASS = re.compile(r"(Server|Service|Daemon|Launcher|Manager)$|^(Server|Service|Daemon)", re.I)
LOOP_METHODS = {"serve_forever": "a server's serve_forever()", "run_forever": "an event loop's run_forever()"}
MAX_DEPTH = 3
MAX_FUNCTIONS = 60


@dataclass
class Evidence:
    """What was found and where: ``reason`` is printed in the decisions table."""

    kind: str  # "launcher" | "dev-server" | ""
    reason: str
    where: str = ""  # path:line of the call
    http: bool | None = None  # phoenix's launcher: does it run 'wsgi' workers (None: not known)


@dataclass
class _Module:
    name: str
    path: Path
    tree: ast.Module
    imports: dict[str, str]  # local name -> qualified name
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    classes: dict[str, ast.ClassDef]


@dataclass
class Analyzer:
    """Reads the project's modules once; ``evidence(module, func)`` per entry point."""

    roots: list[Path]  # folders holding the project's top-level packages
    packages: set[str]  # top-level package names of the project
    _cache: dict[str, _Module | None] = field(default_factory=dict)

    # --- modules -----------------------------------------------------------

    def module(self, name: str) -> _Module | None:
        if name in self._cache:
            return self._cache[name]
        mod = None
        if name.split(".")[0] in self.packages:
            for root in self.roots:
                base = root.joinpath(*name.split("."))
                for path in (base.with_suffix(".py"), base / "__init__.py"):
                    if path.is_file():
                        mod = self._parse(name, path, is_package=path.name == "__init__.py")
                        break
                if mod:
                    break
        self._cache[name] = mod
        return mod

    def _parse(self, name: str, path: Path, is_package: bool) -> _Module | None:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))
        except (SyntaxError, ValueError):
            return None
        imports: dict[str, str] = {}
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imports[alias.asname] = alias.name
                    else:
                        imports[alias.name.split(".")[0]] = alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                    base = ".".join(p for p in (*parts, base) if p)
                for alias in node.names:
                    imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name
        functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        return _Module(name, path, tree, imports, functions, classes)

    # --- names -------------------------------------------------------------

    def qualify(self, node: ast.AST, mod: _Module) -> str | None:
        """``service.launch`` -> ``oslo_service.service.launch`` through the module's imports."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = node.id
        if head in mod.imports:
            base = mod.imports[head]
        elif head in mod.functions or head in mod.classes:
            base = f"{mod.name}.{head}"
        else:
            return None
        return ".".join([base, *reversed(parts)])

    def _split(self, qualified: str, hops: int = 0) -> tuple[_Module, str] | None:
        """``pkg.mod.func`` (or ``pkg.mod.Class.method``) -> (module, "func" / "Class.method")."""
        if hops > 5:  # re-exports that go round in a circle
            return None
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            mod = self.module(".".join(parts[:cut]))
            if mod is not None:
                rest = parts[cut:]
                if len(rest) == 1 and rest[0] in mod.imports:  # re-exported name
                    target = mod.imports[rest[0]]
                    return self._split(target, hops + 1) if target != qualified else None
                return mod, ".".join(rest)
        return None

    def _table_functions(self, mod: _Module, name: str) -> list[str]:
        """Functions of this module named as values of a module-level dict or list ``name``."""
        for node in mod.tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values = node.value.values if isinstance(node.value, ast.Dict) else \
                    node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else []
                return [v.id for v in values if isinstance(v, ast.Name) and v.id in mod.functions]
        return []

    def _is_cotyledon(self, qualified: str | None, seen: int = 0) -> bool:
        if qualified is None or seen > 4:
            return False
        if qualified == COTYLEDON:
            return True
        found = self._split(qualified)
        if not found:
            return False
        mod, rest = found
        cls = mod.classes.get(rest)
        return cls is not None and any(self._is_cotyledon(self.qualify(b, mod), seen + 1) for b in cls.bases)

    # --- the walk ----------------------------------------------------------

    def evidence(self, module: str, func: str) -> Evidence:
        mod = self.module(module)
        if mod is None and module.split(".")[0] not in self.packages:
            return Evidence("", f"runs {module}:{func} of a dependency, not this project's code")
        if mod is None:
            return Evidence("", f"module {module} not found")
        budget = [MAX_FUNCTIONS]
        seen: set[tuple[str, str]] = set()
        found = self._walk(mod, func, 0, budget, seen, [])
        return found or Evidence("", f"no service launcher reached from {module}:{func}")

    def _function(self, mod: _Module, name: str) -> tuple[ast.AST, str | None] | None:
        """A top-level function, or ``Class.method``; returns (node, class name)."""
        if "." in name:
            cls_name, _, meth = name.partition(".")
            cls = mod.classes.get(cls_name)
            if cls is None:
                return None
            for node in cls.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == meth:
                    return node, cls_name
            return None
        fn = mod.functions.get(name)
        return (fn, None) if fn is not None else None

    def _walk(self, mod: _Module, func: str, depth: int, budget: list[int],
              seen: set[tuple[str, str]], via: list[str]) -> Evidence | None:
        key = (mod.name, func)
        if key in seen or budget[0] <= 0:
            return None
        seen.add(key)
        budget[0] -= 1
        found = self._function(mod, func)
        if found is None:
            return None
        node, cls_name = found
        types: dict[str, str] = {}  # local variable -> qualified constructor
        deeper: list[tuple[_Module, str, str]] = []
        dev: Evidence | None = None
        for sub in ast.walk(node):
            if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.Call):
                callee = self.qualify(sub.value.func, mod)
                for target in sub.targets:
                    if isinstance(target, ast.Name) and callee:
                        types[target.id] = callee
            if not isinstance(sub, ast.Call):
                continue
            where = f"{mod.path.name}:{sub.lineno}"
            chain = " via " + " -> ".join(via) if via else ""
            callee = self.qualify(sub.func, mod)
            if callee in LAUNCHERS:
                return Evidence("launcher", f"calls {LAUNCHERS[callee]}{chain}", where, _phoenix_http(callee, sub))
            if callee == "signal.pause":
                return Evidence("launcher", f"waits for signals forever (signal.pause){chain}", where)
            if callee in DEV_SERVERS:
                dev = dev or Evidence("dev-server", f"runs {DEV_SERVERS[callee]}{chain}", where)
                continue
            if isinstance(sub.func, ast.Attribute):
                attr = sub.func.attr
                owner = sub.func.value
                owner_type = None
                if isinstance(owner, ast.Name):
                    owner_type = types.get(owner.id)
                elif isinstance(owner, ast.Call):
                    owner_type = self.qualify(owner.func, mod)
                if attr in LOOP_METHODS and dev is None:
                    return Evidence("launcher", f"calls {LOOP_METHODS[attr]}{chain}", where)
                if attr == "run" and self._is_cotyledon(owner_type):
                    return Evidence("launcher", f"runs a cotyledon.ServiceManager{chain}", where)
                if attr == "wait" and owner_type and SERVER_CLASS.search(owner_type.rsplit(".", 1)[-1]):
                    # server.start(app); server.wait(): blocks until the server stops
                    return Evidence("launcher", f"waits on a {owner_type.rsplit('.', 1)[-1]} server "
                                    f"({owner_type}().wait()){chain}", where)
                if owner_type and owner_type.split(".")[0] in self.packages:
                    deeper.append((mod, f"{owner_type}.{attr}", f"{owner_type.rsplit('.', 1)[-1]}.{attr}"))
                if isinstance(owner, ast.Name) and owner.id == "self" and cls_name:
                    deeper.append((mod, f"{mod.name}.{cls_name}.{attr}", f"{cls_name}.{attr}"))
            if callee and self._is_cotyledon(callee):
                # a ServiceManager built here; its run() may be called by the caller
                types.setdefault("<cotyledon>", callee)
            if callee and callee.split(".")[0] in self.packages:
                deeper.append((mod, callee, callee.rsplit(".", 1)[-1]))
            if isinstance(sub.func, ast.Subscript) and isinstance(sub.func.value, ast.Name):
                # a dispatch table: OPTIONS[name]() calls each function the dict names
                for fname in self._table_functions(mod, sub.func.value.id):
                    deeper.append((mod, f"{mod.name}.{fname}", fname))
        loop = _endless_loop(node)
        if loop is not None and dev is None:
            return Evidence("launcher", "loops forever (while True with no break or return)"
                            + (" via " + " -> ".join(via) if via else ""), f"{mod.path.name}:{loop}")
        if "<cotyledon>" in types and any(isinstance(s, ast.Attribute) and s.attr == "run" for s in ast.walk(node)):
            return Evidence("launcher", "runs a cotyledon.ServiceManager",
                            f"{mod.path.name}:{getattr(node, 'lineno', 0)}")
        if dev is not None:
            return dev
        if depth >= MAX_DEPTH:
            return None
        for _mod, qualified, _label in deeper:
            split = self._split(qualified)
            if split is None:
                continue
            tmod, rest = split
            if tmod.classes.get(rest) is not None:  # a class: its __init__ and run()
                candidates = [f"{rest}.__init__", f"{rest}.run"]
            else:
                candidates = [rest]
            for name in candidates:
                result = self._walk(tmod, name, depth + 1, budget, seen, [*via, f"{tmod.name}.{name}"])
                if result is not None:
                    return result
        return None


def _phoenix_http(callee: str, call: ast.Call) -> bool | None:
    """phoenix.server.eventlet.run(kinds=...): HTTP when its worker kinds include 'wsgi' (the default)."""
    if callee != "phoenix.server.eventlet.run":
        return None
    kinds = next((k.value for k in call.keywords if k.arg == "kinds"), None)
    if kinds is None:
        return True
    if isinstance(kinds, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Constant) for e in kinds.elts):
        return "wsgi" in [getattr(e, "value", None) for e in kinds.elts]
    return None


def _endless_loop(func: ast.AST) -> int | None:
    """Line of a ``while True:`` in this function (not in a nested one) that no break or return leaves."""
    for node in _own_nodes(func):
        if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value in (True, 1):
            exits = [n for n in _own_nodes(node) if isinstance(n, (ast.Break, ast.Return))]
            # a break inside a nested loop leaves that loop only
            inner = {id(b) for loop in _own_nodes(node) if isinstance(loop, (ast.For, ast.While)) and loop is not node
                     for b in _own_nodes(loop) if isinstance(b, ast.Break)}
            if not [e for e in exits if isinstance(e, ast.Return) or id(e) not in inner]:
                return node.lineno
    return None


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk that does not enter nested functions, lambdas or classes."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        yield child
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(child))


def project_analyzer(project_dir: Path, packages_root: str, packages: list[str]) -> Analyzer:
    root = project_dir / packages_root if packages_root else project_dir
    return Analyzer([root], {p.split(".")[0] for p in packages} | _top_packages(root))


def _top_packages(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("*/__init__.py") if p.parent.name.isidentifier()}


def exposes_application(path: Path) -> bool:
    """A module that assigns ``application`` at its top level (what a WSGI server loads)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "application" for t in targets):
            return True
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == "application":
            return True
    return False
