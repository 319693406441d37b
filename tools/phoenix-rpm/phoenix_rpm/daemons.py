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
  ``*Server``/``*Daemon``/... object, ``signal.pause()``/``sigwait()``, an
  endless ``while True:``, gunicorn's ``BaseApplication.run()`` inherited
  by a project class

- processes or threads (``multiprocessing.Process``, ``threading.Thread``
  or a project subclass, alone or in a list) that the function starts and
  joins, when what they run is itself long-running (a launcher, an endless
  loop, a loop until a stop event is set); or a termination signal handler
  (``signal.signal(SIGTERM/SIGINT/SIGHUP/SIGQUIT, ...)``) followed by a
  blocking wait: joining the processes/threads it started, or an untimed
  ``wait()`` on a ``threading``/``multiprocessing`` ``Event``

Development servers (``wsgiref.simple_server``, werkzeug's ``run_simple``)
are recognised as such: when the project has a WSGI application, that
application runs under uWSGI and the development-server script is a tool.

Without such evidence the answer is one of two, and the difference decides
whether a name hint may still make the script a service (plan.py):
``ends`` (the function and everything of the project it reaches were read,
and nothing there runs until stopped: a one-shot job) or ``unknown`` (the
code could not be read or followed to its end: a dependency's function, a
module or function that is not there, a call on an object whose class the
analyzer cannot tell and that a method of that name in the project could
turn into a service, another program run or exec'd, the walk's limits).
"""
from __future__ import annotations

import ast
import os
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
    # os-ken (OpenStack's SDN framework): runs the named apps and joins their threads
    "os_ken.base.app_manager.AppManager.run_apps": "os-ken's AppManager.run_apps (blocks while its apps run)",
    "oslo_messaging.get_rpc_server": "an oslo_messaging RPC server",
    "oslo_messaging.get_notification_listener": "an oslo_messaging notification listener",
    "oslo_messaging.get_batch_notification_listener": "an oslo_messaging notification listener",
}
# A dependency's method a project class inherits and calls, that serves until stopped.
INHERITED_LAUNCHERS = {
    "gunicorn.app.base.BaseApplication.run": "runs a gunicorn server",
    "gunicorn.app.base.Application.run": "runs a gunicorn server",
    "gunicorn.app.wsgiapp.WSGIApplication.run": "runs a gunicorn server",
    "cotyledon.ServiceManager.run": "runs a cotyledon.ServiceManager",
    "oslo_service.service.ServiceLauncher.wait": "waits on oslo_service.service.ServiceLauncher",
    "oslo_service.service.ProcessLauncher.wait": "waits on oslo_service.service.ProcessLauncher",
    # websockify's proxy (the console proxies: novnc, serial, spice, websocket)
    "websockify.WebSocketProxy.start_server": "runs a websockify proxy server",
    "websockify.websocketproxy.WebSocketProxy.start_server": "runs a websockify proxy server",
    "websockify.WebSockifyServer.start_server": "runs a websockify server",
    "websockify.websockifyserver.WebSockifyServer.start_server": "runs a websockify server",
}
# A dependency's entry point a project names as its own console script, whose
# lifetime this stack documents: not a systemd service.
DEPENDENCY_ENTRY_POINTS = {
    "oslo_rootwrap.cmd:daemon": "oslo.rootwrap's daemon: the service's rootwrap client starts it on demand "
                                "and talks to it over its stdin, it is no systemd service",
    "oslo_rootwrap.cmd:main": "oslo.rootwrap's command: one privileged command per run",
}
COTYLEDON = "cotyledon.ServiceManager"
DEV_SERVERS = {
    "wsgiref.simple_server.make_server": "wsgiref's development server",
    "werkzeug.serving.run_simple": "werkzeug's development server",
    "paste.httpserver.serve": "Paste's development server (paste.httpserver)",
}
# the class of an object whose wait() blocks while it serves
SERVER_CLASS = re.compile(r"(Server|Service|Daemon|Launcher|Manager)$|^(Server|Service|Daemon)", re.I)
LOOP_METHODS = {"serve_forever": "a server's serve_forever()", "run_forever": "an event loop's run_forever()"}
MAX_DEPTH = 3
MAX_FUNCTIONS = 60
# Proving that a script ends reads further than the search for a launcher
# does: a launcher found only there makes the answer unknown, not a service.
PROOF_DEPTH = 10
PROOF_FUNCTIONS = 400
# Methods of the project tried for calls on objects whose class is not known.
MAX_GUESSES = 150
MAX_NESTED_GUESSES = 4
MAX_INDEXED_MODULES = 4000
MAX_MODULE_BYTES = 2_000_000
# What starts a process or a thread, and what a service waits on.
WORKERS = {"threading.Thread": "thread", "multiprocessing.Process": "process",
           "multiprocessing.context.Process": "process"}
EVENTS = ("threading.Event", "multiprocessing.Event", "multiprocessing.synchronize.Event")
TERM_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
SIGNAL_WAITS = {"signal.pause": "waits for signals forever (signal.pause)",
                "signal.sigwait": "waits for a signal (signal.sigwait)",
                "signal.sigwaitinfo": "waits for a signal (signal.sigwaitinfo)"}
# Whose lifetime is another program's: the code cannot say whether it ends.
OTHER_PROGRAM = re.compile(r"^(os\.(exec\w+|spawn\w+|system|posix_spawnp?)|"
                           r"subprocess\.(run|call|check_call|check_output|Popen))$")


@dataclass
class Evidence:
    """What was found and where: ``reason`` is printed in the decisions table.

    ``kind``: ``launcher`` and ``dev-server`` (long-running), ``ends`` (read
    to its end: a one-shot job), ``unknown`` (not readable or not followed
    to its end: only then may a name hint decide, plan.py).
    """

    kind: str  # "launcher" | "dev-server" | "ends" | "unknown"
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
class _Walk:
    """One walk's limits and what it could not follow.

    ``gaps``/``untyped`` are None for a search that only looks for a
    launcher; the proof that a script ends collects them.
    """

    budget: int
    max_depth: int
    seen: set[tuple[str, str]] = field(default_factory=set)
    gaps: list[tuple[str, str]] | None = None  # (why, where)
    untyped: list[tuple[str, str, str]] | None = None  # (method name, call as written, where)


@dataclass
class _Workers:
    """Processes/threads one function creates, starts and joins (by the node of their constructor call)."""

    kinds: dict[int, str] = field(default_factory=dict)  # id(call) -> "process" | "thread"
    calls: dict[int, ast.Call] = field(default_factory=dict)
    classes: dict[int, str] = field(default_factory=dict)  # id(call) -> qualified project subclass
    started: set[int] = field(default_factory=set)
    joined: set[int] = field(default_factory=set)
    join_line: int = 0


@dataclass
class Analyzer:
    """Reads the project's modules once; ``evidence(module, func)`` per entry point."""

    roots: list[Path]  # folders holding the project's top-level packages
    packages: set[str]  # top-level package names of the project
    _cache: dict[str, _Module | None] = field(default_factory=dict)
    _guessed: dict[tuple[str, str], Evidence | None] = field(default_factory=dict)
    _names: dict[str, list[tuple[str, str]]] | None = None
    _nested: int = 0

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
        except (SyntaxError, ValueError, RecursionError, MemoryError):
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

    def _index(self) -> dict[str, list[tuple[str, str]]]:
        """Every function and method of the project (tests aside) by name: the candidates for an untyped call."""
        if self._names is not None:
            return self._names
        names: dict[str, list[tuple[str, str]]] = {}
        count = 0
        for root in self.roots:
            for pkg in sorted(self.packages):
                top = root / pkg
                if not top.is_dir() or top.is_symlink():
                    continue
                for dirpath, dirnames, filenames in os.walk(top):  # symlinked folders are not entered
                    dirnames[:] = sorted(d for d in dirnames if d.isidentifier() and d != "tests")
                    rel = Path(dirpath).relative_to(root).parts
                    for fname in sorted(filenames):
                        path = Path(dirpath, fname)
                        if not fname.endswith(".py") or not fname[:-3].isidentifier() or path.is_symlink() \
                                or not path.is_file() or path.stat().st_size > MAX_MODULE_BYTES:
                            continue
                        count += 1
                        if count > MAX_INDEXED_MODULES:
                            break
                        name = ".".join(rel if fname == "__init__.py" else (*rel, fname[:-3]))
                        mod = self.module(name)
                        if mod is None:
                            continue
                        for fn in mod.functions:
                            names.setdefault(fn, []).append((mod.name, fn))
                        for cls_name, cls in mod.classes.items():
                            for node in cls.body:
                                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                                    names.setdefault(node.name, []).append((mod.name, f"{cls_name}.{node.name}"))
        self._names = names
        return names

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

    def _is_cotyledon(self, qualified: str | None) -> bool:
        return self._subclass_of(qualified, (COTYLEDON,)) is not None

    def _subclass_of(self, qualified: str | None, bases: tuple[str, ...], seen: int = 0) -> str | None:
        """Which of ``bases`` the class ``qualified`` is or derives from (through the project's classes)."""
        if qualified is None or seen > 4:
            return None
        if qualified in bases:
            return qualified
        found = self._split(qualified)
        if not found:
            return None
        mod, rest = found
        cls = mod.classes.get(rest)
        if cls is None:
            return None
        for b in cls.bases:
            hit = self._subclass_of(self.qualify(b, mod), bases, seen + 1)
            if hit:
                return hit
        return None

    # --- the walk ----------------------------------------------------------

    def evidence(self, module: str, func: str) -> Evidence:
        mod = self.module(module)
        known = DEPENDENCY_ENTRY_POINTS.get(f"{module}:{func}")
        if mod is None and known:
            return Evidence("ends", f"runs {module}:{func}: {known}")
        if mod is None and module.split(".")[0] not in self.packages:
            return Evidence("unknown", f"runs {module}:{func} of a dependency, not this project's code")
        if mod is None:
            return Evidence("unknown", f"module {module} not found or not readable")
        if self._function(mod, func) is None:
            alias = self._alias(mod, func)
            if alias is not None:  # start = service.start (kuryr), from .x import main
                mod, func = alias
            else:
                return Evidence("unknown", f"{module} defines no function {func} the analyzer can read "
                                "(made at run time or imported)")
        found = self._walk(mod, func, 0, _Walk(MAX_FUNCTIONS, MAX_DEPTH), [])
        if found is not None:
            return found
        return self._proof(mod, mod.name, func)

    def _instantiates(self, callee: str, slot: int | str) -> bool:
        """Does the project function ``callee`` call the parameter that ``slot`` fills (``klass(conf)``)?"""
        split = self._split(callee)
        found = self._function(*split) if split else None
        if found is None:
            return False
        fn, cls_name = found
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
        if cls_name and params and params[0] in ("self", "cls"):
            params = params[1:]
        name = slot if isinstance(slot, str) else params[slot] if slot < len(params) else ""
        return bool(name) and any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name
                                  for n in _own_nodes(fn))

    def _alias(self, mod: _Module, name: str, hops: int = 0) -> tuple[_Module, str] | None:
        """A module-level name that is another project function: imported, or ``name = other.func``."""
        target: str | None = None
        if name in mod.imports:
            target = mod.imports[name]
        else:
            for node in mod.tree.body:
                if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)) and \
                        any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                    target = self.qualify(node.value, mod)
        if not target or target.split(".")[0] not in self.packages or hops > 5:
            return None
        split = self._split(target)
        if split is None:
            return None
        if self._function(*split) is not None:
            return split
        return self._alias(split[0], split[1], hops + 1) if "." not in split[1] else None

    def _proof(self, mod: _Module, module: str, func: str) -> Evidence:
        """No launcher near the entry point: does the code end, or could it not be followed? (docs/packaging.md)"""
        state = _Walk(PROOF_FUNCTIONS, PROOF_DEPTH, gaps=[], untyped=[])
        deep = self._walk(mod, func, 0, state, [])
        gaps = state.gaps if state.gaps is not None else []
        if deep is not None:
            gaps.insert(0, (f"{deep.reason}, found beyond the {MAX_DEPTH} call levels or {MAX_FUNCTIONS} "
                            "functions a decision is made on", deep.where))
        guesses = 0
        tried: set[str] = set()
        for method, text, where in state.untyped or []:
            if gaps:
                break
            if method in tried:
                continue
            tried.add(method)
            for cand_mod, cand in self._index().get(method, []):
                if (cand_mod, cand) in state.seen:
                    continue
                guesses += 1
                if guesses > MAX_GUESSES:
                    gaps.append((f"more calls on objects of unknown class than the {MAX_GUESSES} methods "
                                 "the analyzer tries", where))
                    break
                ev = self._guess(cand_mod, cand)
                if ev is not None:
                    gaps.append((f"{text}() is called on an object whose class the analyzer cannot tell, and "
                                 f"{cand_mod}.{cand} {ev.reason}", where))
                    break
        read = len(state.seen)
        if gaps:
            why, where = gaps[0]
            more = f" (and {len(gaps) - 1} more)" if len(gaps) > 1 else ""
            return Evidence("unknown", f"not followed to its end from {module}:{func}: {why}{more}", where)
        return Evidence("ends", f"ends: no service launcher reached from {module}:{func} "
                        f"({read} function{'s' if read != 1 else ''} of the project read to the end)")

    def _guess(self, module: str, func: str) -> Evidence | None:
        """A launcher search from one project function, remembered (untyped calls, thread targets)."""
        key = (module, func)
        if key in self._guessed:
            return self._guessed[key]
        if self._nested >= MAX_NESTED_GUESSES:  # thread targets that start threads...: a bounded stack
            return None
        self._guessed[key] = None  # a target that starts itself ends the recursion here
        mod = self.module(module)
        found = None
        if mod is not None:
            self._nested += 1
            try:
                found = self._walk(mod, func, 0, _Walk(MAX_FUNCTIONS, MAX_DEPTH), [])
            finally:
                self._nested -= 1
            if found is None:
                hit = self._function(mod, func)
                line = _stop_loop(hit[0]) if hit else None
                if line is not None:
                    found = Evidence("launcher", "loops until a stop event is set", f"{mod.path.name}:{line}")
        self._guessed[key] = found
        return found

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

    def _walk(self, mod: _Module, func: str, depth: int, state: _Walk, via: list[str]) -> Evidence | None:
        key = (mod.name, func)
        if key in state.seen:
            return None
        if state.budget <= 0:
            if state.gaps is not None:
                state.gaps.append((f"more than {PROOF_FUNCTIONS} functions to read", f"{mod.path.name}"))
            return None
        state.seen.add(key)
        state.budget -= 1
        found = self._function(mod, func)
        if found is None:
            return None
        node, cls_name = found
        types: dict[str, str] = {}  # local variable -> qualified constructor
        deeper: list[tuple[str, str, str]] = []  # (qualified, label, where)
        handed: set[str] = set()  # project classes handed to a project function
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
            if callee in SIGNAL_WAITS:
                return Evidence("launcher", f"{SIGNAL_WAITS[callee]}{chain}", where)
            if callee in DEV_SERVERS:
                dev = dev or Evidence("dev-server", f"runs {DEV_SERVERS[callee]}{chain}", where)
                continue
            if callee and state.gaps is not None and OTHER_PROGRAM.match(callee):
                state.gaps.append((f"runs another program ({callee}), which decides how long it runs", where))
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
                if owner_type and f"{owner_type}.{attr}" in INHERITED_LAUNCHERS:
                    # a dependency's server object used as it is: websockify.WebSocketProxy(...).start_server()
                    return Evidence("launcher", f"{INHERITED_LAUNCHERS[owner_type + '.' + attr]} "
                                    f"({owner_type}().{attr}()){chain}", where)
                if attr == "wait" and owner_type and SERVER_CLASS.search(owner_type.rsplit(".", 1)[-1]):
                    # server.start(app); server.wait(): blocks until the server stops
                    return Evidence("launcher", f"waits on a {owner_type.rsplit('.', 1)[-1]} server "
                                    f"({owner_type}().wait()){chain}", where)
                if owner_type and owner_type.split(".")[0] in self.packages:
                    deeper.append((f"{owner_type}.{attr}", f"{owner_type.rsplit('.', 1)[-1]}.{attr}", where))
                if isinstance(owner, ast.Name) and owner.id == "self" and cls_name:
                    deeper.append((f"{mod.name}.{cls_name}.{attr}", f"{cls_name}.{attr}", where))
                elif state.untyped is not None and callee is None and owner_type is None \
                        and _names_an_object(owner):
                    # obj.method() on an object of no known class: tried against the
                    # project's methods of that name once the walk is done (_proof)
                    state.untyped.append((attr, f"{_text(owner)}.{attr}", where))
            if callee and self._is_cotyledon(callee):
                # a ServiceManager built here; its run() may be called by the caller
                types.setdefault("<cotyledon>", callee)
            if callee and callee.split(".")[0] in self.packages:
                deeper.append((callee, callee.rsplit(".", 1)[-1], where))
            handed_args = [(i, a) for i, a in enumerate(sub.args)] + [(k.arg or "", k.value) for k in sub.keywords]
            for slot, arg in handed_args if callee and callee.split(".")[0] in self.packages else []:
                # a project function or class handed to another function of the
                # project is called or instantiated and run by it:
                # boot_server(rpc.rpc_server), run_daemon(ObjectAuditor, conf)
                # (not a dependency's spawn(func): a thread not joined is no service)
                if isinstance(arg, (ast.Name, ast.Attribute)):
                    passed = self.qualify(arg, mod)
                    if not passed or passed == callee or passed.split(".")[0] not in self.packages:
                        continue
                    split = self._split(passed)
                    if split is not None and split[0].classes.get(split[1]) is not None:
                        if not self._instantiates(callee or "", slot):
                            continue  # describe(Auditor) reads the class, runs nothing
                        handed.add(passed)
                        deeper.append((passed, passed.rsplit(".", 1)[-1], where))
                    elif split is not None and self._function(*split) is not None:
                        deeper.append((passed, passed.rsplit(".", 1)[-1], where))
            if isinstance(sub.func, ast.Subscript) and isinstance(sub.func.value, ast.Name):
                # a dispatch table: OPTIONS[name]() calls each function the dict names
                for fname in self._table_functions(mod, sub.func.value.id):
                    deeper.append((f"{mod.name}.{fname}", fname, where))
        loop = _endless_loop(node)
        if loop is not None and dev is None:
            return Evidence("launcher", "loops forever (while True with no break or return)"
                            + (" via " + " -> ".join(via) if via else ""), f"{mod.path.name}:{loop}")
        if "<cotyledon>" in types and any(isinstance(s, ast.Attribute) and s.attr == "run" for s in ast.walk(node)):
            return Evidence("launcher", "runs a cotyledon.ServiceManager",
                            f"{mod.path.name}:{getattr(node, 'lineno', 0)}")
        if dev is not None:
            return dev
        workers = self._worker_shape(node, mod, cls_name, types, state, via, deeper)
        if workers is not None:
            return workers
        if depth >= state.max_depth:
            if deeper and state.gaps is not None:
                state.gaps.append((f"calls deeper than {PROOF_DEPTH} levels ({deeper[0][1]})", deeper[0][2]))
            return None
        for qualified, _label, where in deeper:
            split = self._split(qualified)
            if split is None:
                self._unresolved(state, qualified, where)
                continue
            tmod, rest = split
            if tmod.classes.get(rest) is not None and qualified in handed:
                # a class the callee instantiates and runs: its run(), inherited too
                # (swift's run_daemon(ObjectAuditor): Daemon.run -> run_forever)
                run = self._function(tmod, f"{rest}.run")
                base = self._inherited(tmod, f"{rest}.run") if run is None else None
                found_run = (tmod, f"{rest}.run") if run is not None else base if isinstance(base, tuple) else None
                if found_run is not None:
                    result = self._walk(found_run[0], found_run[1], depth + 1, state,
                                        [*via, f"{found_run[0].name}.{found_run[1]}"])
                    if result is not None:
                        return result
                continue
            if tmod.classes.get(rest) is not None:  # a class: its __init__ and run()
                candidates = [f"{rest}.__init__", f"{rest}.run"]
            elif self._function(tmod, rest) is None:
                base = self._inherited(tmod, rest)
                if isinstance(base, str):  # the dependency's method: only a known server counts
                    inherited = f"{base}.{rest.rpartition('.')[2]}"
                    if inherited in INHERITED_LAUNCHERS:
                        return Evidence("launcher", f"{INHERITED_LAUNCHERS[inherited]} ({rest} inherited from "
                                        f"{base}){' via ' + ' -> '.join(via) if via else ''}", where)
                    continue
                if base is None or state.gaps is None:
                    self._unresolved(state, qualified, where)
                    continue
                tmod, rest = base  # a project base class's method (the proof follows inheritance)
                candidates = [rest]
            else:
                candidates = [rest]
            for name in candidates:
                result = self._walk(tmod, name, depth + 1, state, [*via, f"{tmod.name}.{name}"])
                if result is not None:
                    return result
        return None

    def _inherited(self, mod: _Module, name: str, hops: int = 0) -> tuple[_Module, str] | str | None:
        """``Class.method`` not defined in ``Class``: (module, "Base.method") of a project base class,
        the qualified name of the dependency's base it may come from, or None."""
        cls_name, _, meth = name.partition(".")
        cls = mod.classes.get(cls_name)
        if cls is None or not meth or hops > 4:
            return None
        outside: str | None = None
        for b in cls.bases:
            qualified = self.qualify(b, mod)
            if qualified is None or qualified == "object":
                continue
            split = self._split(qualified) if qualified.split(".")[0] in self.packages else None
            if split is None:
                outside = outside or qualified
                continue
            bmod, bname = split
            if self._function(bmod, f"{bname}.{meth}") is not None:
                return bmod, f"{bname}.{meth}"
            found = self._inherited(bmod, f"{bname}.{meth}", hops + 1)
            if found is not None and not isinstance(found, str):
                return found
            outside = outside or found
        return outside

    def _unresolved(self, state: _Walk, qualified: str, where: str) -> None:
        """A project name that is no function or class here (an inherited method, a value made at run time)."""
        if state.untyped is not None:
            state.untyped.append((qualified.rsplit(".", 1)[-1], qualified, where))

    # --- processes and threads (docs/packaging.md "Decisions") -------------

    def _worker_kind(self, call: ast.AST, mod: _Module, types: dict[str, str]) -> tuple[str, str] | None:
        """``multiprocessing.Process(...)``/``threading.Thread(...)``/a project subclass -> (kind, class)."""
        if not isinstance(call, ast.Call):
            return None
        callee = self.qualify(call.func, mod)
        if callee in WORKERS:
            return WORKERS[callee], ""
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("Process", "Thread"):
            owner = call.func.value  # ctx = multiprocessing.get_context(...); ctx.Process(...)
            root = (types.get(owner.id) or _module_type(mod, owner.id, self)) if isinstance(owner, ast.Name) \
                else self.qualify(owner.func, mod) if isinstance(owner, ast.Call) else None
            if root and root.split(".")[0] in ("multiprocessing", "threading"):
                return ("process" if call.func.attr == "Process" else "thread"), ""
        base = self._subclass_of(callee, tuple(WORKERS)) if callee and callee.split(".")[0] in self.packages \
            else None
        return (WORKERS[base], callee or "") if base else None

    def _worker_shape(self, node: ast.AST, mod: _Module, cls_name: str | None, types: dict[str, str],
                      state: _Walk, via: list[str], deeper: list[tuple[str, str, str]]) -> Evidence | None:
        """Processes/threads started and joined, or a termination handler then a blocking wait, in this function.

        The proof that a script ends (``state.gaps``) also reads what every
        process/thread it starts runs: ``deeper`` gets their targets.
        """
        own = list(_own_nodes(node))
        w = _Workers()
        names: dict[str, list[int]] = {}  # variable (or list of them) -> the workers it holds

        def held(expr: ast.AST) -> list[int]:
            if isinstance(expr, ast.Name):
                return names.get(expr.id, [])
            kind = self._worker_kind(expr, mod, types)
            if kind is not None and isinstance(expr, ast.Call):
                w.kinds[id(expr)], w.calls[id(expr)] = kind[0], expr
                if kind[1]:
                    w.classes[id(expr)] = kind[1]
                return [id(expr)]
            if isinstance(expr, (ast.List, ast.Tuple)):
                return [i for e in expr.elts for i in held(e)]
            if isinstance(expr, (ast.ListComp, ast.GeneratorExp)):
                return held(expr.elt)
            return []

        # in source order: a list is filled before the loop that starts what it holds
        for sub in sorted((n for n in own if hasattr(n, "lineno")),
                          key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
            if isinstance(sub, ast.Assign) and len(sub.targets) == 1 and isinstance(sub.targets[0], ast.Name):
                found = held(sub.value)
                if found:
                    names[sub.targets[0].id] = found
            elif isinstance(sub, (ast.For, ast.AsyncFor)) and isinstance(sub.target, ast.Name):
                if held(sub.iter):
                    names[sub.target.id] = held(sub.iter)
            elif isinstance(sub, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
                for gen in sub.generators:  # [t.start() for t in threads]
                    if isinstance(gen.target, ast.Name) and held(gen.iter):
                        names[gen.target.id] = held(gen.iter)
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                owner, attr = sub.func.value, sub.func.attr
                if attr in ("append", "extend", "insert") and isinstance(owner, ast.Name) and sub.args:
                    names.setdefault(owner.id, []).extend(i for a in sub.args for i in held(a))
                elif attr == "start":
                    w.started.update(held(owner))
                elif attr == "join" and not isinstance(owner, (ast.Constant, ast.JoinedStr)):
                    hit = set(held(owner)) & w.started
                    if hit:
                        w.joined |= hit
                        w.join_line = w.join_line or sub.lineno
        chain = " via " + " -> ".join(via) if via else ""
        joined = sorted(w.joined, key=lambda i: w.calls[i].lineno)
        looped = {id(c) for loop in own if isinstance(loop, (ast.For, ast.AsyncFor, ast.While, ast.ListComp,
                                                               ast.SetComp, ast.GeneratorExp))
                  for c in _own_nodes(loop) if isinstance(c, ast.Call)}
        what = _count(joined, w.kinds, looped)
        handler = self._term_handler(own, mod)
        if handler and joined:
            return Evidence("launcher", f"installs a {handler} handler, starts {what} and joins them{chain}",
                            f"{mod.path.name}:{w.join_line}")
        if handler:
            line = self._event_wait(own, mod, types)
            if line:
                return Evidence("launcher", f"installs a {handler} handler and waits on an Event until it is "
                                f"set{chain}", f"{mod.path.name}:{line}")
        unread = 0
        for i in joined:
            target = self._worker_target(w, i, mod, cls_name)
            if target is None:
                unread += 1
                continue
            ev = self._guess(*target)
            if ev is not None and ev.kind == "launcher":
                return Evidence("launcher", f"starts {what} and joins them; {target[0]}.{target[1]} {ev.reason}"
                                f"{chain}", f"{mod.path.name}:{w.join_line}")
        if unread and state.gaps is not None:
            state.gaps.append((f"starts and joins {what} running code the analyzer cannot read",
                               f"{mod.path.name}:{w.join_line}"))
        if state.gaps is not None:
            for i in sorted(w.started - w.joined, key=lambda i: w.calls[i].lineno) + joined:
                target = self._worker_target(w, i, mod, cls_name)
                if target is not None:
                    deeper.append((f"{target[0]}.{target[1]}", target[1], f"{mod.path.name}:{w.calls[i].lineno}"))
        return None

    def _worker_target(self, w: _Workers, i: int, mod: _Module, cls_name: str | None) -> tuple[str, str] | None:
        """What a process/thread runs: its ``target=`` function, or its class's ``run``."""
        if i in w.classes:
            split = self._split(w.classes[i])
            return (split[0].name, f"{split[1]}.run") if split else None
        call = w.calls[i]
        target = next((k.value for k in call.keywords if k.arg == "target"), call.args[1] if len(call.args) > 1
                      else None)
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self" \
                and cls_name:
            return mod.name, f"{cls_name}.{target.attr}"
        qualified = self.qualify(target, mod) if target is not None else None
        split = self._split(qualified) if qualified and qualified.split(".")[0] in self.packages else None
        if split is None or self._function(*split) is None:
            return None
        return split[0].name, split[1]

    def _term_handler(self, own: list[ast.AST], mod: _Module, depth: int = 0) -> str:
        """The termination signal this function (or one it calls directly) installs a handler for, or ''."""
        found: set[str] = set()
        for sub in own:
            if not isinstance(sub, ast.Call):
                continue
            callee = self.qualify(sub.func, mod)
            if callee == "signal.signal" and len(sub.args) == 2:
                sig = self.qualify(sub.args[0], mod) or ""
                handler = self.qualify(sub.args[1], mod)
                if sig.startswith("signal.") and handler not in ("signal.SIG_DFL", "signal.SIG_IGN"):
                    found.add(sig.rsplit(".", 1)[-1])
            elif depth == 0 and callee and callee.split(".")[0] in self.packages:
                split = self._split(callee)
                fn = self._function(*split) if split else None
                if split and fn:
                    found.add(self._term_handler(list(_own_nodes(fn[0])), split[0], depth + 1))
        return next((s for s in TERM_SIGNALS if s in found), "")

    def _event_wait(self, own: list[ast.AST], mod: _Module, types: dict[str, str]) -> int:
        """Line of an untimed ``wait()`` on a threading/multiprocessing Event in this function, or 0."""
        for sub in own:
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "wait" \
                    and not sub.args and not any(k.arg == "timeout" for k in sub.keywords):
                owner = sub.func.value
                kind = (types.get(owner.id) or _module_type(mod, owner.id, self)) if isinstance(owner, ast.Name) \
                    else self.qualify(owner.func, mod) if isinstance(owner, ast.Call) else None
                if kind in EVENTS or (kind or "").rsplit(".", 1)[-1] == "Event" and \
                        (kind or "").split(".")[0] in ("threading", "multiprocessing"):
                    return sub.lineno
        return 0


def _count(ids: list[int], kinds: dict[int, str], looped: set[int]) -> str:
    """'2 processes', '1 thread', '1 process and 2 threads'; no number for those made in a loop."""
    parts = []
    for kind, plural in (("process", "processes"), ("thread", "threads")):
        mine = [i for i in ids if kinds[i] == kind]
        if mine and any(i in looped for i in mine):
            parts.append(plural)
        elif mine:
            parts.append(f"{len(mine)} {kind if len(mine) == 1 else plural}")
    return " and ".join(parts)


def _module_type(mod: _Module, name: str, analyzer: Analyzer) -> str | None:
    """The constructor of a module-level ``name = Class(...)``."""
    for node in mod.tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return analyzer.qualify(node.value.func, mod)
    return None


def _names_an_object(node: ast.AST) -> bool:
    """``x`` or ``self.x.y``: an object the code holds (not a literal, not a call's result)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _text(node: ast.AST) -> str:
    try:
        return ast.unparse(node)[:60]
    except (ValueError, RecursionError):
        return "?"


def _stop_loop(func: ast.AST) -> int | None:
    """Line of a ``while not <event>.is_set():`` / ``while not <event>.wait(...):`` loop in this function."""
    for node in _own_nodes(func):
        if isinstance(node, ast.While) and isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not) \
                and isinstance(node.test.operand, ast.Call) and isinstance(node.test.operand.func, ast.Attribute) \
                and node.test.operand.func.attr in ("is_set", "wait"):
            return node.lineno
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


#: what a daemon's ``try: while True: ... except X:`` catches to stop (a signal, not the loop's end)
STOP_EXCEPTIONS = {"KeyboardInterrupt", "SystemExit", "Exception", "BaseException", "GreenletExit"}


def _endless_loop(func: ast.AST) -> int | None:
    """Line of a ``while True:`` in this function (not in a nested one) that no break or return leaves.

    A loop inside a ``try`` that catches a specific exception is left by it
    (swift reads xattr keys with ``while True:`` until ``IOError``): not
    endless. One that catches only ``KeyboardInterrupt``/``SystemExit``/
    ``Exception`` is a daemon's main loop with its way out on a signal.
    """
    caught: set[int] = set()
    for node in _own_nodes(func):
        if isinstance(node, ast.Try) and any(_specific_handler(h) for h in node.handlers):
            caught |= {id(n) for stmt in node.body for n in (stmt, *_own_nodes(stmt))}
    for node in _own_nodes(func):
        if id(node) in caught:
            continue
        if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value in (True, 1):
            exits = [n for n in _own_nodes(node) if isinstance(n, (ast.Break, ast.Return))]
            # a break inside a nested loop leaves that loop only
            inner = {id(b) for loop in _own_nodes(node) if isinstance(loop, (ast.For, ast.While)) and loop is not node
                     for b in _own_nodes(loop) if isinstance(b, ast.Break)}
            if not [e for e in exits if isinstance(e, ast.Return) or id(e) not in inner]:
                return node.lineno
    return None


def _specific_handler(handler: ast.ExceptHandler) -> bool:
    """``except IOError:``/``except (queue.Empty, OSError):``: not only a stop signal or everything."""
    if handler.type is None:
        return False
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {t.attr if isinstance(t, ast.Attribute) else t.id if isinstance(t, ast.Name) else "" for t in types}
    return bool(names - STOP_EXCEPTIONS - {""})


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
