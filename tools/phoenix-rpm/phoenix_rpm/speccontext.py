"""Every value the spec templates lay out, computed from the plan (docs/packaging.md "The spec templates").

``templates/spec.j2`` and its includes under ``templates/spec/`` hold layout
only: they loop over these lists and write them in the spec's order. What
goes into them is decided here, in Python, where a test can read it: the
payload compression, the hermetic pip environment, the paths no packaged file
may contain, the special SourceN lines, the interpreter that runs a config
generator, the owner and mode of every %files entry. Text the toolkit writes
itself (rpm macros) is ``escape.Trusted``; project text stays plain ``str``
and the template environment escapes it (escape.finalize).
"""
from __future__ import annotations

from dataclasses import dataclass

from phoenix_rpm import configgen, escape, rpmtext
from phoenix_rpm.bundled import MARKER as BUNDLED_PROVIDES_MARK
from phoenix_rpm.plan import SpecPlan
from phoenix_rpm.units import GENERATED_MARK

T = escape.Trusted


@dataclass(frozen=True)
class Global:
    """``%global name value``, after the comment lines that say why."""

    name: str
    value: str
    comment: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tag:
    """One preamble line (``Requires:       python3``), after the comment lines that say why.

    ``name`` empty: ``value`` is a whole line of its own (``%{?systemd_requires}``).
    """

    name: str
    value: str
    comment: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``Name:`` padded to the preamble's value column, at least one space after it."""
        if not self.name:
            return ""
        return f"{self.name}:".ljust(_TAG_WIDTH - 1) + " "


@dataclass(frozen=True)
class GeneratorRun:
    """One config generator run in %install: ``(cd / && COMMAND ARGS --output-file DEST)``."""

    command: str  # interpreter and program, Trusted
    args: str  # configgen.generator_argv: shell words already
    dest: str  # absolute path on the target


@dataclass(frozen=True)
class FileEntry:
    """A ``%files`` line with ``%attr`` (and ``%config(noreplace)`` for config)."""

    path: str
    mode: str
    owner: str
    group: str
    config: bool


#: Reproducible builds (docs/build.md): rpm stamps nothing of the build host or time.
REPRODUCIBLE: tuple[Global, ...] = (
    Global("_buildhost", "reproducible",
           ("Reproducible builds: the build stage sets SOURCE_DATE_EPOCH to the last commit.",)),
    Global("clamp_mtime_to_source_date_epoch", "1"),
    Global("use_source_date_epoch_as_buildtime", "1"),
)

#: The payload compression: zstd for the sources and the binary payload.
PAYLOAD: tuple[Global, ...] = (
    Global("_source_payload", "w3.zstdio", (
        "The SRPM's sources are gzip files already: gzip -9 over them again took",
        "0.2 s to save 0.1 per cent; zstd passes them in 0.02 s, and every rpm that",
        "reads the zstd binary payload below reads it (rpm >= 4.14).",
    )),
    Global("_binary_payload", "w3T2.zstdio", (
        "zstd level 3 with a fixed 2 worker threads: the payload is compressed while",
        "rpm reads the next files. zstd's multithreaded output depends on the level",
        "and on the worker count being >= 1, not on the machine's CPUs (T2, never T0,",
        "which would follow the CPU count): byte-reproducible. It is one standard",
        "zstd frame, which rpm >= 4.14 (EL8) decompresses like any other.",
    )),
)


def venv_globals(plan: SpecPlan) -> tuple[Global, ...]:
    """Bundled mode's macros: the venv's path, and the distribution's post-processing turned off."""
    if not plan.bundled or plan.venv_dir is None:
        return ()
    return (
        Global("venv_dir", usr(plan.venv_dir),
               ("Bundled mode: a virtualenv holding the project and all its requirements.",)),
        Global("debug_package", T("%{nil}"), (
            "Wheels carry compiled extensions but no debug sources to split off, and no",
            "/usr/lib/.build-id links: two packages bundling the same wheel would conflict.",
        )),
        Global("_build_id_links", "none"),
        Global("__brp_python_bytecompile", T("%{nil}"), (
            "The venv is compiled below with its final paths; the distribution's",
            "byte-compiler and shebang mangler must leave it alone.",
        )),
        Global("__brp_mangle_shebangs", T("%{nil}")),
    )


#: pip in %install runs offline and ignores the build host's configuration.
PIP_UNSET: tuple[str, ...] = ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_REQUIRE_VIRTUALENV")
PIP_EXPORT: tuple[tuple[str, str], ...] = (
    ("PIP_CONFIG_FILE", "/dev/null"), ("PIP_NO_INDEX", "1"), ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    ("PIP_NO_CACHE_DIR", "1"),
)

#: No packaged file may name these: the build fails if one does (the paths are
#: the build's, not the target's).
FORBIDDEN_IN_PAYLOAD: tuple[str, ...] = (T("%{buildroot}"), T("%{_builddir}"))

#: The service's state and log folders: its own, unreadable by others.
OWNED_DIR_MODE = "0750"
#: The generated systemd/ files (units, sysusers, tmpfiles, logrotate, uWSGI ini) as installed.
SOURCE_FILE_MODE = "0644"
#: Config the package writes itself (generated, uWSGI ini): readable by the service's group only.
GENERATED_CONFIG_MODE = "0640"

# The preamble's tags line their values up in this column.
_TAG_WIDTH = 16


@dataclass(frozen=True)
class SpecContext:
    """What the spec templates read besides the plan (``spec`` in the template)."""

    plan: SpecPlan
    mark: str
    config_name: str
    description: str  # escaped for %description already (Trusted)
    units: str  # the service units, space-separated, for the systemd scriptlets
    reproducible: tuple[Global, ...]
    payload: tuple[Global, ...]
    venv: tuple[Global, ...]
    sources: tuple[Tag, ...]
    requires: tuple[Tag, ...]
    distro_requires: tuple[Tag, ...]  # inside %if 0%{?fedora} || 0%{?rhel}: what Debian's rpm lacks
    installed_sources: tuple[tuple[int, str, str], ...]  # (N, mode, %{buildroot} destination) of Source10+
    # system mode: uWSGI inis naming a .wsgi file by the site-packages placeholder (wsgiapps.py),
    # given %{python3_sitelib} in %install
    sitelib_inis: tuple[str, ...]
    # .wsgi applications: (file in the sdist, %{buildroot} path in site-packages); pip installs
    # package data only when the sdist lists it (SOURCES.txt), so %install copies a missing one
    wsgi_files: tuple[tuple[str, str], ...]
    pip_unset: tuple[str, ...]
    pip_export: tuple[tuple[str, str], ...]
    generator_runs: tuple[GeneratorRun, ...]
    forbidden_in_payload: tuple[str, ...]
    sysusers_source: int | None
    top_packages: tuple[str, ...]  # system mode: the import packages in site-packages
    dist_name: str  # system mode: the .dist-info folder's name
    attr_files: tuple[FileEntry, ...]
    owned_dir_mode: str
    changelog_date: str

    @property
    def bundled(self) -> bool:
        return self.plan.bundled

    @property
    def systemd(self) -> bool:
        """The package has services: systemd macros, scriptlets and BuildRequires."""
        return bool(self.plan.services)

    @property
    def install_template(self) -> str:
        """The include laying out %install for the plan's mode (templates/spec/)."""
        return f"spec/install-{self.plan.install_mode}.j2"

    @property
    def files_template(self) -> str:
        """The include laying out the mode's part of %files (templates/spec/)."""
        return f"spec/files-{self.plan.install_mode}.j2"


def source_lines(plan: SpecPlan) -> tuple[Tag, ...]:
    """Source0 (the sdist) and Source1 (the wheels) by macro, the generated files by name."""
    out = []
    for source in plan.sources:
        name = f"Source{source.number}"
        if source.number == 0:
            out.append(Tag(name, T("%{name}-%{version}.tar.gz")))
        elif source.number == 1:
            out.append(Tag(name, T("%{name}-%{version}-wheels.tar.gz"), (
                "The wheels of every runtime requirement (and pbr, setuptools, wheel), for an offline build.",)))
        else:
            out.append(Tag(name, source.filename))
    return tuple(out)


def requires(plan: SpecPlan) -> tuple[Tag, ...]:
    """Bundled: the venv provides and requires nothing but the interpreter it was built with.

    System: noarch, and the requirements as python3dist() (plan.rpm_requires).
    """
    if plan.bundled:
        return (
            Tag("AutoReqProv", "no",
                ("The venv's Python packages are private: provide and require nothing from them.",)),
            Tag("Requires", "python3"),
            Tag("Requires", T("python(abi) = %{python3_version}"),
                ("The venv's lib/python3.X and its compiled wheels hold to the interpreter it was built with.",)),
            # bundled.fill replaces the marker with the wheels' bundled() Provides at build time (docs/repo.md)
            Tag("", T(BUNDLED_PROVIDES_MARK), (
                "Fedora's bundling guideline: one bundled(python3dist(NAME)) = VERSION per",
                "wheel the venv carries; the build writes them from Source1's wheels.")),
        )
    return (Tag("BuildArch", "noarch"), Tag("Requires", "python3"),
            *(Tag("Requires", req) for req in plan.rpm_requires))


def distro_requires(plan: SpecPlan) -> tuple[Tag, ...]:
    """What Fedora/EL builds need (Debian's rpm has no such packages): the python and systemd macros."""
    out = [Tag("BuildRequires", "python3-devel")]
    if not plan.bundled:  # pip builds the wheel with the distribution's build tools, offline
        out += [Tag("BuildRequires", f"python3dist({name})") for name in ("pip", "pbr", "setuptools", "wheel")]
    if plan.services:
        out += [Tag("BuildRequires", "systemd-rpm-macros"), Tag("Requires(pre)", "shadow-utils"),
                Tag("", T("%{?systemd_requires}"))]
    return tuple(out)


def source_destinations(plan: SpecPlan) -> dict[str, str]:
    """Where each generated systemd/ file is installed (as %{buildroot} paths)."""
    sh = escape.shell_word
    out: dict[str, str] = {s.unit: T(f"%{{buildroot}}%{{_unitdir}}/{sh(s.unit)}") for s in plan.services}
    out[f"{plan.name}.sysusers"] = T(f"%{{buildroot}}%{{_sysusersdir}}/{sh(plan.name + '.conf')}")
    out[f"{plan.name}.tmpfiles"] = T(f"%{{buildroot}}%{{_tmpfilesdir}}/{sh(plan.name + '.conf')}")
    out[f"{plan.name}.logrotate"] = T(f"%{{buildroot}}%{{_sysconfdir}}/logrotate.d/{sh(plan.name)}")
    for s in plan.uwsgi_apps:
        out[f"{s.name}-uwsgi.ini"] = buildroot(str(s.uwsgi_ini))
    return out


def generator_runs(plan: SpecPlan) -> tuple[GeneratorRun, ...]:
    """The generators of config the project does not ship, run by the installed code (configgen.py).

    Bundled: the venv's python; system: the system python3 with the build
    root's site-packages on its path. oslo.config's generator runs as the
    toolkit's helper program, oslo.policy's as its own module.
    """
    python = ("%{buildroot}%{venv_dir}/bin/python" if plan.bundled
              else "PYTHONPATH=%{buildroot}%{python3_sitelib} %{python3}")
    out = []
    for g in plan.generated_config:
        program = ("%{_builddir}/%{name}-config-generator.py" if g.generator.kind == "config" else
                   "-c \\\n    'import sys; from oslo_policy.generator import generate_sample as main; "
                   "sys.exit(main())'")
        out.append(GeneratorRun(T(f"{python} {program}"), configgen.generator_argv(g.generator), g.dest))
    return tuple(out)


def attr_files(plan: SpecPlan) -> tuple[FileEntry, ...]:
    """The %files entries with an owner and a mode: config and extra files, generated config, uWSGI inis."""
    group = plan.group or "root"
    out = [FileEntry(f.dest, f.mode, f.owner, f.group, f.config) for f in plan.files]
    out += [FileEntry(g.dest, GENERATED_CONFIG_MODE, "root", group, True) for g in plan.generated_config]
    out += [FileEntry(str(s.uwsgi_ini), GENERATED_CONFIG_MODE, "root", group, True) for s in plan.uwsgi_apps]
    return tuple(out)


def spec_context(plan: SpecPlan) -> SpecContext:
    installed = source_destinations(plan)
    return SpecContext(
        plan=plan,
        mark=GENERATED_MARK,
        config_name=plan.config_file.name,
        description=escape.spec_body(rpmtext.wrap(plan.description)),
        units=" ".join(s.unit for s in plan.services),
        reproducible=REPRODUCIBLE,
        payload=PAYLOAD,
        venv=venv_globals(plan),
        sources=source_lines(plan),
        requires=requires(plan),
        distro_requires=distro_requires(plan),
        installed_sources=tuple((s.number, SOURCE_FILE_MODE, installed[s.filename])
                                for s in plan.sources if s.number >= 10),
        sitelib_inis=tuple(installed[f"{s.name}-uwsgi.ini"] for s in plan.uwsgi_apps
                           if s.wsgi_path and not plan.bundled),
        wsgi_files=tuple((str(s.wsgi_source), wsgi_file_dest(plan, str(s.wsgi_path)))
                         for s in plan.uwsgi_apps if s.wsgi_path and s.wsgi_source),
        pip_unset=PIP_UNSET,
        pip_export=PIP_EXPORT,
        generator_runs=generator_runs(plan),
        forbidden_in_payload=FORBIDDEN_IN_PAYLOAD,
        sysusers_source=next((s.number for s in plan.sources if s.filename.endswith(".sysusers")), None),
        top_packages=tuple(sorted({p.split(".")[0] for p in plan.packages})),
        dist_name=plan.name.replace("-", "_"),
        attr_files=attr_files(plan),
        owned_dir_mode=OWNED_DIR_MODE,
        changelog_date=rpmtext.changelog_date(plan.changelog_epoch),
    )


def wsgi_file_dest(plan: SpecPlan, path: str) -> str:
    """Where a .wsgi file lies in the build root: the path its uWSGI ini names (wsgiapps.sitelib)."""
    from phoenix_rpm import wsgiapps

    if plan.bundled:  # the venv's site-packages, through %{venv_dir} (no literal /usr/lib for rpmlint)
        site = wsgiapps.sitelib(plan.install_mode, plan.prefix)[len(plan.prefix):]
        return T(f"%{{buildroot}}%{{venv_dir}}{site}/{path}")  # a plain path (wsgiapps.PLAIN_PATH)
    return T("%{buildroot}%{python3_sitelib}/" + path)


def buildroot(path: str) -> str:
    """A target path under %{buildroot}, /etc written as %{_sysconfdir} (the ``buildroot`` filter)."""
    out = rpmtext.buildroot_path(path)
    if out.startswith("%{buildroot}/etc/"):
        return T("%{buildroot}%{_sysconfdir}/" + out[len("%{buildroot}/etc/"):])
    return out


def usr(path: str) -> str:
    """/usr/... as %{_exec_prefix}/... (the ``usr`` filter).

    rpmlint's hardcoded-library-path is about %{_libdir} (lib vs lib64) and
    flags any literal /usr/lib or %{_prefix}/lib; /usr/lib/<name> is the
    arch-independent place for a package's private tree (FHS), the same on
    every distribution, so it is written through %{_exec_prefix} (= /usr).
    """
    if path.startswith("/usr/"):
        return T("%{_exec_prefix}/" + escape.spec_value(path[len("/usr/"):]))
    return escape.spec_value(path)
