"""The packaging plan: every decision about where things go, as plain data.

``make_plan(project)`` turns the parsed model into a ``SpecPlan``: which
entry points are services, the service user, the install mode, where each
data file lands on the target and with which owner and mode, the numbered
Sources of the spec. Templates only lay this out; the build and verify
stages read it (``generate.load_plan``).
"""
from __future__ import annotations

import configparser
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Mapping

from phoenix_rpm import configgen, daemons, entrypoints, units, validate, wsgiapps
from phoenix_rpm.inputs import bad, key_line, last_commit_epoch
from phoenix_rpm.model import DataFile, EntryPoint, InstallMode, Overrides, Project, ServiceKind, UnitType

# Only a hint, for code the analyzer could not follow (daemons.py reads what it does).
SERVICE_SUFFIXES = ("-api", "-worker", "-periodic", "-engine", "-scheduler", "-conductor", "-agent",
                    "-server", "-daemon", "-listener", "-consumer", "-proxy", "-evaluator", "-notifier",
                    "-housekeeping", "-health-manager", "-processor", "-scrubber", "-expirer", "-manager")
DEFAULT_GRACEFUL_SHUTDOWN = 60
#: the longest graceful stop a unit may wait for (a day): a bigger number is a
#: mistake, not a drain time (docs/packaging.md, "Hostile input and the trust boundary")
MAX_GRACEFUL_SHUTDOWN = 86400
# How much longer than the framework's graceful_shutdown_timeout systemd waits
# before SIGKILL: the stop must be the framework's, not systemd's.
STOP_MARGIN = 15
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
# Paths under the prefix that other packages own (system mode: never %dir them).
SHARED_DIRS = {"bin", "sbin", "lib", "lib64", "share", "share/doc", "share/man", "share/applications",
               "share/icons", "share/locale", "share/licenses", "include", "libexec"}
SHARED_DIRS |= {f"share/man/man{n}" for n in range(1, 10)}


@dataclass(frozen=True)
class Service:
    """A long-running entry point and its unit."""

    name: str  # script name, e.g. apollo-api
    unit: str  # apollo-api.service
    entry_point: str  # apollo.cmd.api:main
    kind: ServiceKind
    wsgi: bool  # serves HTTP: the verify stage checks it over HTTP
    phoenix: bool  # uses the framework: sends READY=1, takes --config-file
    type: UnitType
    script_path: str  # installed script, e.g. /usr/lib/apollo/bin/apollo-api
    exec_start: str
    description: str
    overrides: Mapping[str, str] = field(default_factory=dict)
    reason: str = ""  # why it is a service (printed by --stage generate)
    server: str = ""  # what serves it: phoenix, oslo.service, cotyledon, uwsgi, ...
    uwsgi_ini: str | None = None  # /etc/<conf>/<unit>-uwsgi.ini for WSGI applications
    bind: str = ""  # host:port of a WSGI application
    bind_source: str = ""
    wsgi_module: str | None = None  # uWSGI imports this module's 'application'
    wsgi_file: str | None = None  # or loads this pbr wsgi script (wsgi_scripts)
    wsgi_path: str | None = None  # or this .wsgi file, relative to site-packages
    wsgi_source: str | None = None  # that file in the project

    @property
    def uwsgi(self) -> bool:
        return self.uwsgi_ini is not None

    @property
    def wsgi_script(self) -> bool:
        """A pbr wsgi_scripts entry (wsgiref server), as opposed to a console script."""
        return self.kind is ServiceKind.WSGI_SCRIPT


@dataclass(frozen=True)
class Tool:
    """A command-line entry point: installed, linked into /usr/bin, no unit."""

    name: str
    entry_point: str
    script_path: str
    bin_link: str | None  # /usr/bin/<name> symlink in bundled mode
    reason: str = ""


@dataclass(frozen=True)
class InstalledFile:
    """A file the spec installs itself (config and extra files), not pip."""

    source: str  # relative to the project (and to the unpacked sdist)
    dest: str  # absolute path on the target
    mode: str
    owner: str
    group: str
    config: bool
    paste: bool = False
    origin: str = ""  # where the file comes from, for the decisions table


@dataclass(frozen=True, order=True)
class ConfigDir:
    """A folder under /etc the package owns (``%dir %attr(...)``), made in %install."""

    path: str
    mode: str
    owner: str
    group: str

    def __iter__(self) -> Iterator[str]:
        """Unpacks like the tuple it replaced, for project templates written against that form (rpm/templates)."""
        return iter((self.path, self.mode, self.owner, self.group))


@dataclass(frozen=True)
class PipDataFile:
    """A pbr data file pip installs under the prefix (system mode lists each in %files)."""

    dest: str  # absolute, e.g. /usr/share/demo/x.json
    source: str  # relative to the project

    def __iter__(self) -> Iterator[str]:
        """Unpacks like the tuple it replaced, for project templates written against that form (rpm/templates)."""
        return iter((self.dest, self.source))


@dataclass(frozen=True)
class GeneratedConfig:
    """Config the project does not ship, made in %install by its own generator (configgen.py)."""

    generator: configgen.Generator
    dest: str  # absolute path on the target


@dataclass(frozen=True, order=True)
class Source:
    """One ``SourceN:`` of the spec.

    ``path`` is the file in the project (``systemd/...``) the build copies
    into SOURCES, or None for what the build makes itself (the sdist, the
    wheels tarball). Ordered and listed as (number, filename, path): the build
    key hashes exactly that triple (build.py), so caches keyed before this
    type existed stay valid.
    """

    number: int
    filename: str
    path: str | None = None

    def as_list(self) -> list[int | str | None]:
        return [self.number, self.filename, self.path]

    def __iter__(self) -> Iterator[int | str | None]:
        """Unpacks like the tuple it replaced, for project templates written against that form (rpm/templates)."""
        return iter((self.number, self.filename, self.path))


@dataclass(frozen=True)
class SpecPlan:
    """What the spec and the units are made from; build and verify read it too.

    Frozen: every stage reads the same decisions; a variant (generate's
    pinned version) is a ``dataclasses.replace`` copy.
    """

    project_dir: Path
    config_file: Path
    name: str
    version: str
    release: str
    summary: str
    license: str
    url: str
    packager: str
    description: str
    install_mode: InstallMode
    venv_dir: str | None  # bundled only
    user: str | None
    group: str | None
    services: tuple[Service, ...]
    tools: tuple[Tool, ...]
    files: tuple[InstalledFile, ...]  # config + extra files, installed by the spec
    config_dirs: tuple[ConfigDir, ...]  # folders under /etc the package owns
    data_files: tuple[PipDataFile, ...]  # installed by pip (system mode lists them)
    data_dirs: tuple[str, ...]  # folders the package owns for those (system mode)
    state_dir: str
    log_dir: str
    runtime_dir: str
    graceful_shutdown_timeout: int
    timeout_stop_sec: int
    logrotate: bool
    requirements: tuple[str, ...]  # runtime requirement lines (requirements.txt)
    rpm_requires: tuple[str, ...]  # Requires: lines for system mode
    packages: tuple[str, ...]
    license_files: tuple[str, ...]
    doc_files: tuple[str, ...]
    changelog_epoch: int
    spec_path: Path
    conf_name: str = ""  # /etc/<conf_name>/<conf_name>.conf (heat for openstack-heat)
    conf_reason: str = ""  # why that folder (data_files, the import package...)
    main_config: str | None = None  # that file when shipped or generated
    conf_d: str | None = None  # /etc/<conf>/<conf>.conf.d, drop-ins (owned, empty)
    generated_config: tuple[GeneratedConfig, ...] = ()
    merged_from: str = ""
    left_out: tuple[str, ...] = ()  # data_files not packaged, each with why (_without_own_init_files)

    @property
    def bundled(self) -> bool:
        return self.install_mode is InstallMode.BUNDLED

    @property
    def uwsgi_apps(self) -> list[Service]:
        return [s for s in self.services if s.uwsgi]

    @property
    def config_files(self) -> list[str]:
        return [f.dest for f in self.files if f.config] + [g.dest for g in self.generated_config] + \
            [s.uwsgi_ini for s in self.services if s.uwsgi_ini]

    @property
    def paste_files(self) -> list[str]:
        return [f.dest for f in self.files if f.paste]

    @property
    def owned_dirs(self) -> list[str]:
        return [self.state_dir, self.log_dir] if self.services else []

    @property
    def state_dirs(self) -> list[str]:
        return self.owned_dirs

    @property
    def tmpfiles(self) -> bool:
        return bool(self.owned_dirs)

    @property
    def sysusers(self) -> bool:
        return self.user is not None

    @property
    def prefix(self) -> str:
        return self.venv_dir if self.bundled and self.venv_dir else "/usr"

    @property
    def generated_files(self) -> list[str]:
        """Paths, relative to the project, that generate writes (the spec last)."""
        out = [f"systemd/{s.unit}" for s in self.services]
        out += [f"systemd/{s.name}-uwsgi.ini" for s in self.services if s.uwsgi]
        if self.sysusers:
            out.append(f"systemd/{self.name}.sysusers")
        if self.tmpfiles:
            out.append(f"systemd/{self.name}.tmpfiles")
        if self.logrotate:
            out.append(f"systemd/{self.name}.logrotate")
        return out + [f"rpm/{self.name}.spec"]

    @property
    def sources(self) -> list[Source]:
        """The spec's numbered sources: the sdist, the wheels (bundled), then the generated systemd/ files.

        Computed, not stored: a copy with another version (generate's pinned
        plan) names its tarballs for that version.
        """
        out = [Source(0, f"{self.name}-{self.version}.tar.gz")]
        if self.bundled:
            out.append(Source(1, f"{self.name}-{self.version}-wheels.tar.gz"))
        for number, rel in enumerate((p for p in self.generated_files if p.startswith("systemd/")), 10):
            out.append(Source(number, rel.split("/", 1)[1], rel))
        return out


def make_plan(project: Project) -> SpecPlan:
    ov = project.overrides
    cfg = project.config_file
    validate.check_project(project)
    written = (ov.install_mode or InstallMode.BUNDLED).strip()
    if written not in set(InstallMode):
        raise bad(cfg, f"{_ov(ov)} install_mode = {written!r}", "use 'bundled' (default) or 'system'")
    mode = InstallMode(written)
    venv_dir = None
    if mode is InstallMode.BUNDLED:
        venv_dir = (ov.venv_dir or f"/usr/lib/{project.name}").rstrip("/")
        if not venv_dir.startswith("/") or " " in venv_dir or venv_dir.count("/") < 2 or "%" in venv_dir:
            raise bad(cfg, f"{_ov(ov)} venv_dir = {venv_dir!r} is not an absolute folder of its own",
                      f"use e.g. /usr/lib/{project.name} or /opt/{project.name}")
        validate.check_venv_dir(project, venv_dir)
    elif ov.venv_dir:
        raise bad(cfg, f"{_ov(ov)} venv_dir is set but install_mode is 'system'", "remove venv_dir or use bundled")
    project, left_out = _without_own_init_files(project)
    validate.check_targets(project, mode, venv_dir)
    conf_name, conf_file, conf_why = _conf_location(project)
    # WSGI applications (uWSGI units); an explicit services/tools list names them
    # by their wsgi_scripts name, or by unit name for module applications.
    found_apps = wsgiapps.find_apps(project, conf_name)
    apps = [a for a in found_apps
            if (a.script or a.unit_name) not in (ov.tools or [])
            and (ov.services is None or (a.script or a.unit_name) in ov.services)]
    services_eps, tools_eps, reasons = _split_services(project, apps)
    user = group = None
    if services_eps or apps:
        user = (ov.user or _default_user(conf_name)).strip()
        group = (ov.group or user).strip()
        for label, value in (("user", user), ("group", group)):
            if not USER_NAME.match(value):
                raise bad(cfg, f"{_ov(ov)} {label} = {value!r} is not a valid system account name",
                          "use lower-case letters, digits, '_' and '-', at most 31 characters")
            if value == "root":
                raise bad(cfg, f"{_ov(ov)} {label} = root: services must not run as root",
                          "remove the key: a system user named after the project is created")
            named = bool(getattr(ov, label))
            validate.check_account(cfg, f"{_ov(ov)} {label}" if named else f"the {label} named after the project",
                                   value, ov.allow_privileged,
                                   "" if named else f"set {_ov(ov)} {label} = <an unprivileged name>")
    elif ov.user or ov.group:
        raise bad(cfg, f"{_ov(ov)} user/group set but the project has no service", "remove them or list services")
    prefix = venv_dir if venv_dir is not None else "/usr"
    bindir = f"{prefix}/bin"
    files, config_dirs, data_files, data_dirs = _place_files(project, group, prefix, conf_name)
    # /etc/<conf>/<conf>.conf when shipped, else the generator's file in that folder,
    # generated unless the package ships it there (glance-api.conf)
    main_conf = f"/etc/{conf_name}/{conf_name}.conf"
    main_conf_source = next((f.source for f in files if f.dest == main_conf), None)
    if main_conf_source is None:
        main_conf = f"/etc/{conf_name}/{conf_file}"
        main_conf_source = next((f.source for f in files if f.dest == main_conf), None)
    generated, files = _generated_config(project, conf_name, main_conf, group, files,
                                         main_conf_source is not None)
    validate.check_found_files(project, [g.generator.source for g in generated if g.generator.source]
                               + [f.source for f in files if f.origin.endswith("(found under etc/)")])
    has_main = main_conf_source is not None or any(g.dest == main_conf for g in generated)
    # <conf>.conf.d whatever the main file's name: oslo.config reads /etc/<project>/<project>.conf.d
    # by default, so applications that parse no arguments (uWSGI's) read the drop-ins too
    conf_d = f"/etc/{conf_name}/{conf_name}.conf.d" if (services_eps or apps) and has_main else None
    if conf_d:
        config_dirs = sorted(set(config_dirs) | {ConfigDir(conf_d, "0750", "root", group or "root")})
    graceful = _graceful_timeout(project, main_conf_source)
    logs_to_files = _logs_to_files(project, main_conf_source)
    cache: entrypoints.Cache = {}
    config_args = f"--config-file {main_conf}" + (f" --config-dir {conf_d}" if conf_d else "") if has_main else ""
    shipped_confs = {f.dest for f in files if f.config}
    services: list[Service] = []
    for ep in services_eps:
        info = entrypoints.inspect(project, ep, cache)
        script = f"{bindir}/{ep.name}"
        exec_start = script
        takes_config = info.uses_framework or _uses_oslo_config(project)
        if takes_config and has_main and not ep.is_wsgi:
            # a daemon whose own file ships beside the main one (/etc/glance/glance-scrubber.conf)
            # reads that: oslo.config's default for its prog, which --config-file would replace
            own = f"/etc/{conf_name}/{ep.name}.conf"
            exec_start += (f" {config_args}" if own == main_conf or own not in shipped_confs
                           else f" --config-file {own}" + (f" --config-dir {conf_d}" if conf_d else ""))
        reason, server, http = reasons[ep.name]
        services.append(Service(
            name=ep.name, unit=f"{ep.name}.service", entry_point=f"{ep.module}:{ep.func}",
            kind=ServiceKind.WSGI_SCRIPT if ep.is_wsgi else ServiceKind.CONSOLE,
            wsgi=ep.is_wsgi or (http if http is not None else ep.name.endswith("-api")), phoenix=info.uses_framework,
            type=UnitType.NOTIFY if info.uses_framework and not ep.is_wsgi else UnitType.EXEC,
            script_path=script, exec_start=exec_start,
            description=f"{project.summary} ({ep.name})",
            overrides=dict(ov.unit_overrides.get(ep.name, {})),
            reason=reason, server="phoenix" if info.uses_framework else server,
        ))
    taken = {s.name for s in services}
    wsgiapps.assign_binds(project, apps, configgen.paste_files(project), conf_name)
    uwsgi = f"{bindir}/uwsgi" if mode is InstallMode.BUNDLED else "/usr/sbin/uwsgi"
    for app in apps:
        name = app.unit_name if app.unit_name not in taken else f"{app.unit_name}-uwsgi"
        ini = f"/etc/{conf_name}/{name}-uwsgi.ini"
        services.append(Service(
            name=name, unit=f"{name}.service", entry_point=app.target, kind=ServiceKind.UWSGI, wsgi=True,
            phoenix=False, type=UnitType.NOTIFY, script_path=uwsgi, exec_start=f"{uwsgi} --ini {ini}",
            description=f"{project.summary} ({name}, uWSGI)",
            overrides=dict(ov.unit_overrides.get(name, {})),
            reason=app.reason, server="uwsgi", uwsgi_ini=ini, bind=app.bind, bind_source=app.bind_source,
            wsgi_module=app.module, wsgi_file=app.script, wsgi_path=app.path, wsgi_source=app.source,
        ))
        taken.add(name)
    stale: set[str] = set()
    for ep in tools_eps:
        if entrypoints.tool_is_stale(project, ep, cache):
            stale.add(ep.name)
    tools = [Tool(ep.name, f"{ep.module}:{ep.func}", f"{bindir}/{ep.name}",
                  f"/usr/bin/{ep.name}" if mode is InstallMode.BUNDLED else None,
                  f"{ep.module}:{ep.func} is not in the project: pip installs the script, which fails when run "
                  "(a stale entry point: fix or remove it)" if ep.name in stale else reasons[ep.name][0])
             for ep in tools_eps]
    for script in project.extra.get("scripts", []):
        base = Path(script).name
        tools.append(Tool(base, script, f"{bindir}/{base}", f"/usr/bin/{base}" if mode is InstallMode.BUNDLED else None,
                          "[files] scripts: a plain script"))
    validate.check_services(project, services, [a.unit_name for a in found_apps])
    _check_unit_overrides(project, services)
    release = (ov.release or "1").strip()
    if not re.match(r"^[A-Za-z0-9._+~]+$", release):
        raise bad(cfg, f"{_ov(ov)} release = {release!r} is not a valid rpm Release", "use e.g. 1 or 2")
    return SpecPlan(
        project_dir=project.project_dir, config_file=cfg, name=project.name, version=project.version,
        release=release, summary=project.summary, license=project.license or "LicenseRef-Unknown",
        url=project.url, packager=_packager(project), description=project.description or project.summary,
        install_mode=mode, venv_dir=venv_dir, user=user, group=group, services=tuple(services), tools=tuple(tools),
        files=tuple(files), config_dirs=tuple(config_dirs), data_files=tuple(data_files), data_dirs=tuple(data_dirs),
        left_out=tuple(left_out),
        state_dir=f"/var/lib/{project.name}", log_dir=f"/var/log/{project.name}",
        runtime_dir=f"/run/{project.name}", graceful_shutdown_timeout=graceful,
        timeout_stop_sec=graceful + STOP_MARGIN,
        logrotate=bool(services) and (ov.logrotate if ov.logrotate is not None else logs_to_files),
        requirements=tuple([r.line for r in project.requirements]
        + ([wsgiapps.PYUWSGI] if apps and mode is InstallMode.BUNDLED
           and not _requires(project, "pyuwsgi", "uwsgi") else [])),
        rpm_requires=tuple(_rpm_requires(project) + (["uwsgi", "uwsgi-plugin-python3"] if apps else []))
        if mode is InstallMode.SYSTEM else (),
        packages=tuple(project.packages), license_files=tuple(project.license_files),
        doc_files=tuple(project.doc_files),
        changelog_epoch=last_commit_epoch(project.project_dir) or int(cfg.stat().st_mtime),
        spec_path=project.project_dir / "rpm" / f"{project.name}.spec",
        conf_name=conf_name, conf_reason=conf_why, main_config=main_conf if has_main else None, conf_d=conf_d,
        generated_config=tuple(generated), merged_from=project.merged_from,
    )





def _ov(ov: Overrides) -> str:
    """The override section's name as the user wrote it, for messages."""
    return ov.source.split(" ", 1)[1] if " " in ov.source else "[phoenix:rpm]"


def _default_user(name: str) -> str:
    user = re.sub(r"[^a-z0-9_-]", "-", name.lower())
    return user if re.match(r"^[a-z_]", user) else f"_{user}"


def is_service_name(name: str) -> bool:
    return name.endswith(SERVICE_SUFFIXES)


def _suffix(name: str) -> str:
    return next((s[1:] for s in SERVICE_SUFFIXES if name.endswith(s)), name.rsplit("-", 1)[-1])


def _split_services(
    project: Project, apps: list[wsgiapps.WsgiApp],
) -> tuple[list[EntryPoint], list[EntryPoint], dict[str, tuple[str, str, bool | None]]]:
    """Console scripts -> services and tools, each with its reason (docs/packaging.md).

    Explicit lists win; then what the code does (daemons.py: a service
    launcher reached from the entry point); a development server is a tool
    when the project has a WSGI application (that runs under uWSGI); a
    console ``-api`` script is a tool then too (its API is the WSGI app);
    the name suffixes are the last hint, and only for code the analyzer
    could not follow: a script read to its end is a one-shot job whatever
    its name (its unit would exit and fail). wsgi_scripts are WSGI applications
    (wsgiapps.py), never services of their own.
    """
    ov = project.overrides
    scripts = {ep.name: ep for ep in project.scripts}
    for label, names in (("services", ov.services), ("tools", ov.tools)):
        for n in names or []:
            if n not in scripts and not any(a.unit_name == n for a in apps):
                raise bad(project.config_file, f"{_ov(ov)} {label}: {n!r} is not a console_scripts or "
                          "wsgi_scripts entry point", "use one of: " + (", ".join(scripts) or "(none)"))
    both = set(ov.services or []) & set(ov.tools or [])
    if both:
        raise bad(project.config_file, f"{_ov(ov)} {sorted(both)[0]!r} is listed in both services and tools",
                  "keep it in one list")
    analyzer = daemons.project_analyzer(project.project_dir, project.packages_root, project.packages)
    app_units = {a.unit_name for a in apps}
    services: list[EntryPoint] = []
    tools: list[EntryPoint] = []
    reasons: dict[str, tuple[str, str, bool | None]] = {}
    for ep in project.scripts:
        if ep.is_wsgi:
            continue  # a WSGI application: see wsgiapps.find_apps
        server = ""
        ev = analyzer.evidence(ep.module, ep.func)
        http = ev.http
        if ov.services is not None:
            is_service = ep.name in ov.services
            reason = f"{_ov(ov)} services {'lists' if is_service else 'does not list'} it"
        elif ov.tools is not None and ep.name in ov.tools:
            is_service, reason = False, f"{_ov(ov)} tools lists it"
        else:
            where = f" ({ev.where})" if ev.where else ""
            if apps and (ep.name in app_units or ep.name.endswith("-api")):
                is_service = False
                reason = (f"its API runs as the WSGI application under uWSGI "
                          f"({', '.join(sorted(app_units))}); this script: {ev.reason}{where}")
            elif ev.kind == "launcher":
                is_service, reason = True, ev.reason + where
                server = _server_of(ev.reason)
            elif ev.kind == "dev-server":
                is_service = not apps
                reason = ev.reason + where + ("" if is_service else
                                              "; the project's WSGI application runs under uWSGI instead")
                server = "development server"
            elif is_service_name(ep.name) and ev.kind == "unknown":
                # the hint decides only what the code could not tell (docs/packaging.md)
                is_service = True
                reason = f"name suffix hint ({_suffix(ep.name)}), as the code could not be followed: {ev.reason}"
            elif is_service_name(ep.name):
                is_service = False
                reason = (f"{ev.reason}; a one-shot job, so the name suffix hint ({_suffix(ep.name)}) does not "
                          "make it a service")
            else:
                is_service, reason = False, ev.reason
        reasons[ep.name] = (reason, server, http)
        (services if is_service else tools).append(ep)
    return services, tools, reasons


def _server_of(reason: str) -> str:
    for key in ("oslo_service", "cotyledon", "phoenix", "oslo_messaging", "eventlet", "uvicorn"):
        if key in reason:
            return key.replace("_", ".")
    return "own loop"


#: where a project's data_files put its own init scripts and unit files (under
#: etc/: the spec installs those, pip's copies are removed)
INIT_DIRS = {"etc/init.d": "SysV init script", "etc/rc.d/init.d": "SysV init script",
             "etc/init": "upstart job", "etc/systemd/system": "systemd unit"}


def _without_own_init_files(project: Project) -> tuple[Project, list[str]]:
    """The project's own init scripts and units among its data_files, left out of the package.

    Released sdists carry them (``etc/init.d = etc/init.d/<name>-server``,
    ``etc/systemd/system = etc/systemd/system/<name>.service``): the units
    the toolkit generates replace them, and /etc/init.d or /etc/systemd/system
    are no folders a package may own files in (validate.py). Only files
    named for the project or one of its scripts, and only a unit file
    (``.service``) in the systemd folder, an init script or ``.conf`` job
    in the others: any other file there is still refused (docs/packaging.md
    "Data files").
    """
    names = {project.name, *(ep.name for ep in project.scripts)}
    kept: list[DataFile] = []
    left: list[str] = []
    for df in project.data_files:
        folder, _, fname = df.target.rpartition("/")
        what = INIT_DIRS.get(folder)
        stem = fname.removesuffix(".service") if folder == "etc/systemd/system" else fname.removesuffix(".conf")
        ours = stem in names or stem.startswith(f"{project.name}-")
        shaped = fname.endswith(".service") if folder == "etc/systemd/system" else \
            fname.endswith(".conf") if folder == "etc/init" else "." not in fname
        if what and ours and shaped:
            left.append(f"{df.target} ({df.where or 'data_files'}): the project's {what}; the package's systemd "
                        "units replace it")
        else:
            kept.append(df)
    return (dataclasses.replace(project, data_files=kept) if left else project), left


# Folders under /etc that belong to other programs: a data_files target there
# (etc/apache2/<name>) does not name the service's own config folder.
FOREIGN_ETC = {"apache2", "httpd", "nginx", "uwsgi", "logrotate.d", "sudoers.d", "systemd", "init.d", "init",
               "default", "sysconfig", "cron.d", "rsyslog.d", "bash_completion.d", "security", "profile.d",
               "modprobe.d", "sysctl.d", "udev", "pki", "ssl", "xdg", "dbus-1", "polkit-1", "tmpfiles.d",
               "sysusers.d", "haproxy", "keepalived", "neutron", "nova", "rootwrap.d", "openstack"}


# A folder name that can name the service's /etc folder and user as it is.
SAFE_FOLDER = re.compile(r"^[a-z0-9][a-z0-9._-]{0,30}$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def _conf_location(project: Project) -> tuple[str, str, str]:
    """(folder, file, why): ``/etc/<folder>/<file>`` is the service's main config.

    The folder is the project's (docs/packaging.md "Generated config"): the
    ``etc/<folder>`` its data_files install into (what the package ships and
    the code reads: /etc/heat for openstack-heat), else its import package
    named like it (placement for openstack-placement: the oslo.config
    ``project`` its code passes), else its name. The
    config generator's output only names the file inside it: a generator
    writing ``glance-api.conf`` names neither the folder nor the user.
    """
    names = {_canonical(project.name)}
    names |= {re.sub(r"^(openstack|python|os)-", "", n) for n in names}
    pkgs = sorted({p.split(".")[0] for p in project.packages})
    targets: list[str] = []
    for df in project.data_files:
        parts = df.target.strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "etc" and SAFE_FOLDER.match(parts[1]) and parts[1] not in targets:
            targets.append(parts[1])
    known = names | {_canonical(p) for p in pkgs}
    folder, why = "", ""
    matching = [t for t in targets if _canonical(t) in known]
    others = [t for t in targets if t not in FOREIGN_ETC]
    if matching or len(others) == 1:
        folder = (matching or others)[0]
        why = f"data_files install into etc/{folder}"
    if not folder:
        # only a package named like the distribution (placement for openstack-placement):
        # any other is a library's name, not the project's
        own = [p for p in pkgs if _canonical(p) in names]
        if own:
            # ironic_inspector for the distribution ironic-inspector: the distribution's spelling
            folder = project.name if _canonical(own[0]) == _canonical(project.name) else own[0]
            why = f"the import package {own[0]}"
        else:
            folder, why = project.name, "the project's name"
    folder = folder if USER_NAME.match(_default_user(folder)) else project.name
    file = f"{folder}.conf"
    for gen in configgen.find_generators(project):
        if gen.kind == "config" and gen.output_name:
            file = gen.output_name
            if file != f"{folder}.conf":
                why += f"; the file is named by the config generator's output ({file})"
            break
    return folder, file, why


def _uses_oslo_config(project: Project) -> bool:
    return _requires(project, "oslo.config", "oslo-config")


def _requires(project: Project, *names: str) -> bool:
    wanted = {n.lower().replace("_", "-").replace(".", "-") for n in names}
    return any(r.name.lower().replace("_", "-").replace(".", "-") in wanted for r in project.requirements)


def _generated_config(
    project: Project, conf_name: str, main_conf: str, group: str | None, files: list[InstalledFile],
    shipped: bool,
) -> tuple[list[GeneratedConfig], list[InstalledFile]]:
    """Generator runs for config the project does not ship, plus paste files found under etc/."""
    out: list[GeneratedConfig] = []
    dests = {f.dest for f in files}
    for gen in configgen.find_generators(project):
        dest = main_conf if gen.kind == "config" else f"/etc/{conf_name}/policy.yaml"
        if gen.kind == "config" and shipped or dest in dests:
            continue
        out.append(GeneratedConfig(gen, dest))
    for rel in configgen.paste_files(project):
        dest = f"/etc/{conf_name}/{Path(rel).name}"
        if dest in dests or any(f.source == rel for f in files):
            continue
        files.append(InstalledFile(rel, dest, "0640" if group else "0644", "root", group or "root",
                                   config=True, paste=True, origin=f"{rel} (found under etc/)"))
        dests.add(dest)
    return out, files


def _place_files(
    project: Project, group: str | None, prefix: str, conf_name: str | None = None,
) -> tuple[list[InstalledFile], list[ConfigDir], list[PipDataFile], list[str]]:
    """Data files under etc/ go to /etc (never <prefix>/etc) as %config(noreplace)."""
    files: list[InstalledFile] = []
    dirs: dict[str, ConfigDir] = {}
    data_files: list[PipDataFile] = []
    data_dirs: set[str] = set()
    own = f"etc/{conf_name or project.name}"
    for df in project.data_files:
        if df.target == "etc" or df.target.startswith("etc/"):
            dest = "/" + df.target
            in_own = df.target.startswith(own + "/")
            owner_group = group if in_own and group is not None else None
            files.append(InstalledFile(df.source, dest, "0640" if owner_group else "0644", "root",
                                       owner_group or "root", config=True,
                                       paste=_is_paste(project.project_dir / df.source),
                                       origin=f"shipped ({df.where or 'data_files'})"))
            # /etc/<name> and its sub-folders are the package's; /etc/logrotate.d & co. are not.
            parent = Path(df.target).parent
            while in_own and (str(parent) == own or str(parent).startswith(own + "/")):
                dirs[f"/{parent}"] = ConfigDir(f"/{parent}", "0750" if group else "0755", "root", group or "root")
                parent = parent.parent
        else:
            data_files.append(PipDataFile(f"{prefix}/{df.target}", df.source))
            # climb with strings and stop at a folder already added: linear
            # in the number of files (docs/benchmarks.md)
            folder = df.target.rsplit("/", 1)[0] if "/" in df.target else ""
            while folder and folder not in SHARED_DIRS and f"{prefix}/{folder}" not in data_dirs:
                data_dirs.add(f"{prefix}/{folder}")
                folder = folder.rsplit("/", 1)[0] if "/" in folder else ""
    if group is not None:  # the service's config folder, even before it holds a file
        dirs.setdefault(f"/{own}", ConfigDir(f"/{own}", "0750", "root", group))
    seen = {f.dest for f in files}
    for dest, src in project.overrides.extra_files.items():
        cfg = project.config_file
        if not dest.startswith("/") or ".." in dest.split("/"):
            raise bad(cfg, f"{_ov(project.overrides)} extra_files: target {dest!r} is not an absolute path",
                      "write '/target/path = source/in/project'")
        if not (project.project_dir / src).is_file():
            raise bad(cfg, f"{_ov(project.overrides)} extra_files: {src!r} does not exist in {project.project_dir}",
                      "fix the source path or add the file")
        if dest in seen:
            raise bad(cfg, f"{_ov(project.overrides)} extra_files: {dest!r} is already installed from data_files",
                      "remove one of them")
        seen.add(dest)
        is_conf = dest.startswith("/etc/")
        in_own = dest.startswith(f"/{own}/")
        owner_group = group if in_own and group is not None else None
        files.append(InstalledFile(src, dest, "0640" if owner_group else "0644", "root", owner_group or "root",
                                   config=is_conf, paste=_is_paste(project.project_dir / src),
                                   origin="shipped (extra_files)"))
        parent = Path(dest).parent
        while in_own and (str(parent) == f"/{own}" or str(parent).startswith(f"/{own}/")):
            dirs[str(parent)] = ConfigDir(str(parent), "0750" if group else "0755", "root", group or "root")
            parent = parent.parent
    return files, sorted(dirs.values()), data_files, sorted(data_dirs)


def _is_paste(path: Path) -> bool:
    if path.name.endswith("paste.ini"):
        return True
    try:
        head = path.read_text(errors="replace")[:20000]
    except OSError:
        return False
    return bool(re.search(r"^\[(pipeline|app|composite|filter):", head, re.M))


def _read_default(project: Project, source: str | None) -> configparser.SectionProxy | None:
    if not source:
        return None
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read(project.project_dir / source, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise bad(project.project_dir / source, f"the shipped config is not UTF-8 (byte {exc.start}, "
                  f"0x{exc.object[exc.start]:02x})", "save the file as UTF-8") from None
    except OSError as exc:
        raise bad(project.project_dir / source, f"cannot read the shipped config ({exc.strerror})",
                  "make it a readable file") from None
    except configparser.Error as exc:
        raise bad(project.project_dir / source, f"cannot parse the shipped config ({exc.__class__.__name__})",
                  "fix its ini syntax") from None
    return parser["DEFAULT"]


def _graceful_timeout(project: Project, source: str | None) -> int:
    default = _read_default(project, source)
    value = default.get("graceful_shutdown_timeout") if default is not None else None
    if value is None or not value.strip():
        return DEFAULT_GRACEFUL_SHUTDOWN
    path = project.project_dir / str(source)
    line = key_line(path.read_text(encoding="utf-8", errors="replace"), "graceful_shutdown_timeout")
    if not re.fullmatch(r"[0-9]+", value.strip()):  # not str.isdigit(): '²' is a digit int() refuses
        raise bad(path, f"[DEFAULT] graceful_shutdown_timeout = {value!r} "
                  "is not a whole number of seconds", "write e.g. graceful_shutdown_timeout = 30", line)
    digits = value.strip().lstrip("0") or "0"
    seconds = int(digits) if len(digits) <= 9 else MAX_GRACEFUL_SHUTDOWN + 1  # int() of 10**5000 digits raises
    if seconds > MAX_GRACEFUL_SHUTDOWN:
        raise bad(path, f"[DEFAULT] graceful_shutdown_timeout = {value.strip()[:30]} is more than "
                  f"{MAX_GRACEFUL_SHUTDOWN} seconds (a day); systemd would wait that long on every stop",
                  f"write a number of seconds up to {MAX_GRACEFUL_SHUTDOWN}, e.g. 30", line)
    return seconds


def _logs_to_files(project: Project, source: str | None) -> bool:
    default = _read_default(project, source)
    if default is None:
        return False
    return any((default.get(k) or "").strip() for k in ("log_file", "log_dir", "log-file", "log-dir"))


def _check_unit_overrides(project: Project, services: list[Service]) -> None:
    names = {s.name for s in services}
    ov = project.overrides
    for service, keys in ov.unit_overrides.items():
        if service not in names:
            raise bad(project.config_file, f"{_ov(ov)} unit_overrides: {service!r} is not a service",
                      "use one of: " + (", ".join(sorted(names)) or "(no services)"))
        for key in keys:
            if units.section_of(key) is None:
                raise bad(project.config_file, f"{_ov(ov)} unit_overrides: {service}.{key}: unknown systemd key",
                          "check the spelling (systemd.service(5), systemd.exec(5))")


def _packager(project: Project) -> str:
    # stripped: rpm trims the changelog name, so "  " would read back as ""
    author = (project.author or "").strip() or f"{project.name} developers"
    email = (project.author_email or "").strip() or f"{project.name}@localhost"
    return f"{author} <{email}>"


def _rpm_requires(project: Project) -> list[str]:
    """requirements.txt -> ``python3dist(name) >= x`` (Fedora's generator naming)."""
    from packaging.markers import Marker
    from packaging.requirements import Requirement as PepRequirement
    from packaging.utils import canonicalize_name

    out: list[str] = []
    for req in project.requirements:
        if req.marker and not Marker(req.marker).evaluate({"python_version": "3.11", "sys_platform": "linux",
                                                           "platform_system": "Linux", "os_name": "posix"}):
            continue
        name = f"python3dist({canonicalize_name(req.name)})"
        parts: list[str] = []
        for spec in PepRequirement(req.line).specifier:
            op, ver = spec.operator, spec.version
            if op in (">=", ">", "<", "<="):
                parts.append(f"{name} {op} {ver}")
            elif op in ("==", "==="):
                if "*" in ver:
                    base = ver.rstrip(".*")
                    parts += [f"{name} >= {base}", f"{name} < {_bump(base)}"]
                else:
                    parts.append(f"{name} = {ver}")
            elif op == "~=":
                parts += [f"{name} >= {ver}", f"{name} < {_bump(ver.rsplit('.', 1)[0])}"]
        if not parts:
            out.append(name)
        elif len(parts) == 1:
            out.append(parts[0])
        else:
            out.append("(" + " with ".join(parts) + ")")
    return out


def _bump(version: str) -> str:
    head, _, last = version.rpartition(".")
    nxt = str(int(last) + 1) if last.isdigit() else last
    return f"{head}.{nxt}" if head else nxt

