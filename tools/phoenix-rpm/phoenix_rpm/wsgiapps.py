"""WSGI applications and the production server that runs them (uWSGI).

A project exposes a WSGI application in one of three ways: a module such as
``<package>/wsgi/api.py`` that assigns ``application`` (the 2025 shape), a
pbr ``wsgi_scripts`` entry point (pbr generates a script whose
``application`` calls the entry point; run directly it falls back to
``wsgiref``, a single-threaded development server), or a mod_wsgi file
``<package>/**/*.wsgi`` that assigns ``application`` (installed with the
package's code). When modules exist they are the applications and the others
are their older spellings; ``wsgi_scripts`` come before ``.wsgi`` files.
Either way the unit runs uWSGI, the server OpenStack's own deployment runs
(``Type=notify``, ``KillSignal=SIGQUIT``, master + workers, graceful reload
on SIGHUP), with a per-application ini shipped under ``/etc/<conf>/``
(docs/packaging.md "WSGI applications").
"""
from __future__ import annotations

import ast
import configparser
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from phoenix_rpm import daemons
from phoenix_rpm.escape import uwsgi_value
from phoenix_rpm.model import InstallMode, Project

#: the PyPI distribution that brings uWSGI into a bundled venv (cp311 manylinux wheels)
PYUWSGI = "pyuwsgi"
DEFAULT_HOST = "0.0.0.0"
WORKERS = 2
FALLBACK_PORT_BASE = 8700


@dataclass
class WsgiApp:
    unit_name: str  # e.g. designate-api (the unit is <unit_name>.service)
    target: str  # "module:attr" (module apps) or the entry point "module:func"
    module: str | None  # module apps: the module uWSGI imports
    script: str | None  # wsgi_scripts: the pbr script name (uWSGI's wsgi-file)
    reason: str
    bind: str = ""
    bind_source: str = ""
    path: str | None = None  # a .wsgi file: its path in site-packages (uWSGI's wsgi-file)
    source: str | None = None  # and in the project (%install copies it when pip left it out)


def find_apps(project: Project, conf_name: str) -> list[WsgiApp]:
    """Module apps (``<package>/wsgi/*.py`` with ``application``), else the wsgi_scripts."""
    root = project.project_dir / project.packages_root if project.packages_root else project.project_dir
    apps: list[WsgiApp] = []
    for pkg in sorted({p.split(".")[0] for p in project.packages}):
        single = root / pkg / "wsgi.py"
        if single.is_file() and not single.is_symlink() and daemons.exposes_application(single):
            # <package>/wsgi.py itself (freezer_api/wsgi.py): the API's module
            apps.append(WsgiApp(f"{conf_name}-api", f"{pkg}.wsgi:application", f"{pkg}.wsgi", None,
                                f"WSGI module {pkg}/wsgi.py assigns 'application'"))
        folder = root / pkg / "wsgi"
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            if not IDENTIFIER.match(path.stem) or not daemons.exposes_application(path):
                continue  # "a b.py", "$(id).py": no module of that name can be imported
            # <package>/wsgi/__init__.py itself may be the application (mistral)
            module = f"{pkg}.wsgi" if path.name == "__init__.py" else f"{pkg}.wsgi.{path.stem}"
            stem = "api" if path.name == "__init__.py" else path.stem.replace("_", "-")
            unit = f"{conf_name}-{stem}" if stem not in ("wsgi", "app", "application") else f"{conf_name}-api"
            apps.append(WsgiApp(unit, f"{module}:application", module, None,
                                f"WSGI module {pkg}/wsgi/{path.name} assigns 'application'"))
    scripts = [ep for ep in project.scripts if ep.is_wsgi]
    if not apps:
        for ep in scripts:
            apps.append(WsgiApp(ep.name, f"{ep.module}:{ep.func}", None, ep.name,
                                f"pbr wsgi_scripts entry point {ep.name} (served by uWSGI, not its wsgiref fallback)"))
    if not apps:
        apps += _wsgi_files(project, root, conf_name)
    # unit names must be unique: a later duplicate gets a numbered name
    seen: set[str] = set()
    for app in apps:
        base, n = app.unit_name, 2
        while app.unit_name in seen:
            app.unit_name = f"{base}-{n}"
            n += 1
        seen.add(app.unit_name)
    return apps


#: a module file uWSGI can import (ASCII: its name also becomes a unit name)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: a .wsgi path written as is into the ini and the spec's %install (no quoting needed)
PLAIN_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
GENERIC_STEMS = ("wsgi", "app", "application", "api", "main", "server")


def _wsgi_files(project: Project, root: Path, conf_name: str) -> list[WsgiApp]:
    """``<package>/**/*.wsgi`` files that assign ``application`` (mod_wsgi's shape), tests left out.

    The unit is ``<conf>-<stem>`` (``heat-cfn.wsgi``: ``<conf>-cfn``), ``<conf>-api``
    for a generic stem (``app.wsgi``, ``<package>.wsgi``).
    """
    out: list[WsgiApp] = []
    for pkg in sorted({p.split(".")[0] for p in project.packages}):
        base = root / pkg
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.wsgi")):
            rel = path.relative_to(root).as_posix()
            if set(rel.split("/")[:-1]) & {"tests", "test", "functional", "unit"} or not path.is_file() \
                    or not PLAIN_PATH.match(rel):
                continue
            if not daemons.exposes_application(path):
                continue
            stem = path.stem.lower().replace("_", "-")
            for prefix in (f"{conf_name}-", f"{pkg.replace('_', '-')}-"):
                stem = stem[len(prefix):] if stem.startswith(prefix) else stem
            if stem in GENERIC_STEMS or stem in (conf_name, pkg.replace("_", "-")) or not stem:
                stem = "api"
            out.append(WsgiApp(f"{conf_name}-{stem}", rel, None, None,
                               f"WSGI file {rel} assigns 'application' (served by uWSGI's wsgi-file)", path=rel,
                               source=path.relative_to(project.project_dir).as_posix()))
    return out


def assign_binds(project: Project, apps: list[WsgiApp], paste: list[str], conf_name: str) -> None:
    """host:port per app: the override table, else the project's defaults, else a stable fallback."""
    overrides = project.overrides.wsgi_bind
    defaults = _port_defaults(project)
    # named *paste.ini first, then any other ini the project ships with a [server:*] port
    # (monasca-api's etc/api-config.ini is its paste file)
    others = [df.source for df in project.data_files if df.source.endswith(".ini") and df.source not in paste]
    paste_port = _paste_port(project, [*paste, *others])
    used: set[int] = set()
    for app in apps:
        if app.unit_name in overrides:
            app.bind, app.bind_source = overrides[app.unit_name], f"{_ov_name(project)} wsgi_bind"
            continue
        port, source = None, ""
        if paste_port and len(apps) == 1:
            port, source = paste_port
        else:
            port, source = _best_default(app, defaults, used, conf_name, only=len(apps) == 1)
        if port is None or source.endswith(WEAK):
            # the project's own deployment files declare it (docs/packaging.md "WSGI applications")
            declared = _deployment_port(project, app, conf_name, only=len(apps) == 1)
            if declared is not None and declared[0] not in used:
                port, source = declared
        if port is None or port in used:
            port = FALLBACK_PORT_BASE + zlib.crc32(app.unit_name.encode()) % 200
            while port in used:
                port += 1
            source = "fallback: no port default found in the project (set [phoenix:rpm] wsgi_bind)"
        used.add(port)
        app.bind, app.bind_source = f"{DEFAULT_HOST}:{port}", source


def _ov_name(project: Project) -> str:
    src = project.overrides.source
    return src.split(" ", 1)[1] if " " in src else "[phoenix:rpm]"


def _paste_port(project: Project, paste: list[str]) -> tuple[int, str] | None:
    for rel in paste:
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read(project.project_dir / rel)
        except configparser.Error:
            continue
        for section in parser.sections():
            port = parser[section].get("port", "").strip()
            if section.startswith("server:") and re.fullmatch(r"[0-9]{1,5}", port):
                return int(port), f"{rel} [{section}] port"
    return None


#: option names that declare a listening port: ``port``, ``bind_port``,
#: ``api_port``, ``<project>_api_listen_port``..., and ``listen``/``bind``
#: (``host:port``); not ``mongodb_port`` or ``pydev_debug_port`` (a client's port)
PORT_NAMES = re.compile(r"(^|_)(bind|api|listen|wsgi)_port$|^port$|^listen$|^bind$")
#: an option name that says it is where this project listens
LISTEN_WORDS = {"listen", "bind"}
#: a plain ``port`` option taken for want of a better one (a deployment file's port wins over it)
WEAK = "(the project's only port option; nothing names it for the application)"
#: words of a file, option list or option about a client of another server:
#: its port is not where this project listens (docs/packaging.md "WSGI applications")
CLIENT_WORDS = {"database", "db", "sql", "influx", "influxdb", "redis", "mongo", "mongodb", "mysql",
                "postgresql", "rabbit", "amqp", "memcache", "memcached", "coordination", "profiler",
                "debug", "pydev", "smtp", "ldap", "syslog", "statsd", "prometheus", "guest", "backend",
                "backends", "storage", "driver", "drivers", "plugin", "plugins", "client", "clients",
                "cassandra", "elasticsearch", "kafka", "zookeeper", "etcd", "postgres"}


def _port_defaults(project: Project) -> list[tuple[int, str, set[str]]]:
    """(port, where, context words) of oslo.config options that default to a listening port.

    Context words come from the file's path and the name the option list is
    assigned to (``api_cfn_opts = [cfg.PortOpt('bind_port', default=8000)]``),
    so each application can find its own port.
    """
    root = project.project_dir / project.packages_root if project.packages_root else project.project_dir
    out: list[tuple[int, str, set[str]]] = []
    for pkg in sorted({p.split(".")[0] for p in project.packages}):
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(project.project_dir).as_posix()
            if "/tests/" in f"/{rel}" or "/test_" in rel:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if "Opt(" not in text:
                continue
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            # the import package's own name says nothing (monasca_api/conf/cassandra.py is not
            # about the API): its words are left out of the context
            inside = path.relative_to(root / pkg).as_posix()
            for stmt in tree.body:
                names = [t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)]
                context = set(_words(inside + " " + " ".join(names)))
                for node in ast.walk(stmt):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))):
                        continue
                    fname = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                    if not fname.endswith("Opt") or not node.args or not isinstance(node.args[0], ast.Constant):
                        continue
                    opt = str(node.args[0].value).replace("-", "_")  # cfg.PortOpt('bind-port', dest=...)
                    if not PORT_NAMES.search(opt):
                        continue
                    default = next((k.value for k in node.keywords if k.arg == "default"), None)
                    port = _port_of(default)
                    if port:
                        out.append((port, f"{rel}:{node.lineno} {opt} default", context | set(_words(opt))))
    return out


def _words(text: str) -> list[str]:
    """Words of a path or name; ``osapi`` also counts as ``api`` (``osapi_volume_listen_port``)."""
    words = [w for w in re.split(r"[-_.:/ ]+", text.lower()) if w]
    return words + ["api" for w in words if w.endswith("api") and w != "api"]


def _port_of(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int) and 1 <= value < 65536 and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            m = re.search(r":([0-9]{2,5})$", value.strip())  # ASCII: \d also takes other scripts' digits
            return int(m.group(1)) if m and 1 <= int(m.group(1)) < 65536 else None
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        return _port_of(node.elts[0])
    return None


def _best_default(app: WsgiApp, defaults: list[tuple[int, str, set[str]]], used: set[int],
                  conf_name: str, *, only: bool = False) -> tuple[int | None, str]:
    """The port option whose context names this application's own words (api, cfn...).

    The project's name says nothing (every option file carries it); an
    option in a file or list about the API or WSGI counts for an app called
    ``api``. Earlier options win among equals. When the project has one
    application (``only``), a port option whose context names no application
    is still its port (``bind_port`` in ``<pkg>/common/cfg.py``), unless the
    context is about a client of another server (a database's ``port``); a
    plain ``port`` is taken so only when it is the project's one port option.
    """
    own = set(_words(app.unit_name)) - set(_words(conf_name)) - {"wsgi"}
    own = own or {"api"}
    best: tuple[int, int, str] | None = None
    unnamed: list[tuple[int, int, str]] = []  # (rank, port, where) of score-0 candidates
    for port, where, context in defaults:
        if port in used:
            continue
        if (context - own) & CLIENT_WORDS:
            # a driver's or plugin's port (cinder/volume/drivers/..._api_port) is another server's
            continue
        opt_words = set(_words(where.rsplit(" ", 2)[-2]))
        score = 10 * len(own & context) + (1 if context & {"api", "wsgi"} else 0)
        score += 2 if score and opt_words & LISTEN_WORDS else 0
        if score and (best is None or score > best[0]):
            best = (score, port, where)
        elif not score and only and not context & CLIENT_WORDS:
            opt = where.rsplit(" ", 2)[-2]
            unnamed.append((0 if opt not in ("port", "listen", "bind") else 1, port, where))
    if best is not None:
        return best[1], best[2]
    strong = [c for c in unnamed if c[0] == 0]
    if strong:
        return strong[0][1], f"{strong[0][2]} (the project's only WSGI application; no option is named for it)"
    if len(unnamed) == 1:
        return unnamed[0][1], f"{unnamed[0][2]} {WEAK}"
    return None, ""


#: a uWSGI ini's listening keys, and a devstack plugin's port variable
UWSGI_LISTEN = ("http-socket", "http", "https", "socket", "uwsgi-socket")
UWSGI_APP = ("module", "wsgi", "wsgi-file", "mount")
DEVSTACK_PORT = re.compile(r"^\s*(?:export\s+)?([A-Z][A-Z0-9_]*?)(_API|_SERVICE)*_PORT="
                           r"(?:\$\{\w+:-(\d{2,5})\}|[\"']?(\d{2,5})[\"']?)\s*$")
LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def _deployment_port(project: Project, app: WsgiApp, conf_name: str,
                     *, only: bool) -> tuple[int, str] | None:
    """The port the project's own deployment files give this application.

    A uWSGI ini the project ships (``etc/<name>/vassals/*.ini``,
    ``etc/<name>/uwsgi.conf``: a ``[uwsgi]`` section) that names this
    application's module or is the project's only one, listening on a public
    address (a loopback socket sits behind a web server: not the API's port);
    else, for the project's only application, its devstack plugin's
    ``<NAME>_SERVICE_PORT`` / ``<NAME>_API_PORT`` default. The toolkit's own
    generated inis (``systemd/``) are not the project's.
    """
    root = project.project_dir
    real_root = root.resolve()
    found: list[tuple[int, str, bool]] = []  # (port, where, names this app)
    # the project's own files only: no folder or file reached through a symlink
    candidates = [p for top, patterns in (("etc", ("**/*.ini", "**/*.conf")), ("httpd", ("**/*.ini",)),
                                          ("tools", ("**/*.ini",)))
                  if (root / top).is_dir() and not (root / top).is_symlink()
                  for pattern in patterns for p in sorted((root / top).glob(pattern))]
    for path in candidates:
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file() or "/tests/" in f"/{rel}" or path.stat().st_size > 100_000 \
                or not path.resolve().is_relative_to(real_root):
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "[uwsgi]" not in text or "Generated by tools/build-rpm" in text:
            continue
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string(text)
        except configparser.Error:
            continue
        if not parser.has_section("uwsgi"):
            continue
        sec = parser["uwsgi"]
        names = " ".join(sec.get(k, "") for k in UWSGI_APP)
        mine = bool(app.module and app.module in names) or bool(app.script and app.script in names)
        for key in UWSGI_LISTEN:
            value = sec.get(key, "").strip()
            m = re.fullmatch(r"(\[?[0-9a-zA-Z.:\]-]*?\]?):(\d{2,5})", value)
            if m and not m.group(1).startswith(LOOPBACK) and 0 < int(m.group(2)) < 65536:
                found.append((int(m.group(2)), f"{rel} [uwsgi] {key}", mine))
                break
    for port, where, mine in found:
        if mine:
            return port, f"{where} (the project's uWSGI config of {app.unit_name})"
    if only and len({p for p, _w, _m in found}) == 1:
        return found[0][0], f"{found[0][1]} (the project's uWSGI config)"
    if not only:
        return None
    prefixes = {re.sub(r"[^A-Z0-9]+", "_", n.upper()) for n in (conf_name, project.name)}
    devstack = root / "devstack"
    for path in sorted(devstack.glob("*")) if devstack.is_dir() and not devstack.is_symlink() else []:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 200_000:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            m = DEVSTACK_PORT.match(line)
            if m and m.group(1) in prefixes:
                port = int(m.group(3) or m.group(4))
                if 0 < port < 65536:
                    return port, f"{path.relative_to(root).as_posix()}:{n} {line.split('=', 1)[0].strip()} " \
                                 "(the project's devstack plugin)"
    return None


#: system mode: the ini names a .wsgi file in site-packages by this placeholder,
#: which %install replaces with %{python3_sitelib} (the target's python decides it)
SITELIB_PLACEHOLDER = "@PHOENIX_PYTHON3_SITELIB@"


def sitelib(install_mode: InstallMode, prefix: str) -> str:
    """site-packages of the installed code: the bundled venv's (its python is the box's), or system's."""
    if install_mode is InstallMode.BUNDLED:
        from phoenix_rpm.sources import BOX_PYTHON

        return f"{prefix}/lib/python{BOX_PYTHON}/site-packages"
    return SITELIB_PLACEHOLDER


def ini_text(app: WsgiApp, *, mark: str, install_mode: InstallMode, bindir: str, graceful: int,
             config_args: str) -> str:
    """The per-application uWSGI ini (%config(noreplace) under /etc/<conf>/).

    SIGQUIT (systemd's KillSignal) is mapped to a graceful stop of every
    worker (hook-master-start), SIGHUP is uWSGI's graceful reload; workers get
    ``graceful`` seconds to finish their requests. lazy-apps loads the
    application in each worker after the fork, as OpenStack's apps expect
    (eventlet, database pools).
    """
    lines = [
        f"# {mark}: the uWSGI server of {uwsgi_value(app.unit_name)}.",
        "# An operator's edits are kept on upgrade (%config(noreplace)).",
        "[uwsgi]",
    ]
    if install_mode is InstallMode.SYSTEM:
        lines.append("plugins = python3")
    else:
        # SIGHUP's graceful reload re-executes the master: by default /proc/self/exe, the
        # system python the venv's links to, which has no pyuwsgi (the master died on
        # reload); the venv's python keeps the venv (tests/verify/test_uwsgi_app.py)
        lines.append(f"binary-path = {bindir}/python")
    if app.module:
        lines.append(f"module = {app.module}:application")
    elif app.path:
        lines.append(f"wsgi-file = {sitelib(install_mode, bindir.rsplit('/', 1)[0])}/{app.path}")
    else:
        lines.append(f"wsgi-file = {bindir}/{app.script}")
    lines += [
        f"http-socket = {app.bind}",
        "master = true",
        f"processes = {WORKERS}",
        "threads = 1",
        "enable-threads = true",
        "lazy-apps = true",
        "need-app = true",
        "thunder-lock = true",
        "buffer-size = 65535",
        "die-on-term = true",
        "hook-master-start = unix_signal:3 gracefully_kill_them_all",
        f"worker-reload-mercy = {graceful}",
        "add-header = Connection: close",
        "memory-report = false",
    ]
    if config_args:
        lines.append(f"pyargv = {config_args}")
    # every value through the ini's escaping: uWSGI expands $(...), @(...) and %(...)
    # in values, and some come from the project (docs/packaging.md "Hostile input")
    for line in lines:
        if " = " in line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            uwsgi_value(value, key)
    return "\n".join(lines) + "\n"
