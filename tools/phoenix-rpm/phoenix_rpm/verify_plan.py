"""What the verify stage expects of an installed package, as plain data.

The testinfra suite (phoenix_rpm/infra) runs against a box and knows nothing about
the project: this module turns the packaging plan (what the toolkit decided)
and the built RPM's header (what was actually built) into one small JSON file,
``dist/verify-plan.json``, that the suite reads. Keeping it a file, not Python
objects, is what lets the suite run as a separate pytest process over ssh and
lets a user rerun it by hand against a box of their own.

Expectations come from the plan; the RPM only contributes its exact
name-version-release and the unit files it really ships, so a package that
lost a config flag or a mode is *caught* by the suite rather than silently
described as correct.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from phoenix_rpm import runner
from phoenix_rpm.errors import UserError
from phoenix_rpm.plan import SpecPlan
from phoenix_rpm.verify_profile import DEFAULT_PROBE, HttpProbe, VerifyProfile

UNIT_DIRS = ("/usr/lib/systemd/system/", "/lib/systemd/system/")

# systemd-analyze security's scale: 0 = fully locked down, 10 = nothing.
# The bar for a generated unit.
MAX_EXPOSURE = 2.0


@dataclasses.dataclass(frozen=True)
class RpmInfo:
    """One built RPM file, read from its header (no rpm database involved)."""

    path: Path
    name: str
    version: str
    release: str
    arch: str
    files: tuple[str, ...]
    config_files: tuple[str, ...]

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"

    @property
    def units(self) -> tuple[str, ...]:
        """The service units the package ships (what ``enable --now`` starts)."""
        return tuple(sorted({
            f.rsplit("/", 1)[1] for f in self.files
            if f.startswith(UNIT_DIRS) and f.endswith(".service") and "@" not in f.rsplit("/", 1)[1]
        }))


def read_rpm(path: Path) -> RpmInfo:
    """Query a .rpm file's header with the host's rpm."""
    qf = "%{NAME}\\n%{VERSION}\\n%{RELEASE}\\n%{ARCH}\\n"
    head = runner.run(["rpm", "-qp", "--nosignature", "--qf", qf, path], capture=True).stdout.split("\n")
    files = runner.run(["rpm", "-qlp", "--nosignature", path], capture=True).stdout.split()
    configs = runner.run(["rpm", "-qcp", "--nosignature", path], capture=True).stdout.split()
    return RpmInfo(
        path=Path(path), name=head[0], version=head[1], release=head[2], arch=head[3],
        files=tuple(f for f in files if f != "(contains" ),
        config_files=tuple(c for c in configs if c.startswith("/")),
    )


@dataclasses.dataclass(frozen=True)
class HttpCheck:
    """A WSGI application: where its ports are, and what each port must answer.

    ``config_file`` set: the ports are ``[section] port_option`` of that
    installed file (a phoenix service, DESIGN section 8 of the project's
    docs/verify.md). Empty: any server (uWSGI, pbr's wsgiref script...), whose
    ports are the TCP sockets its unit's processes listen on, found in the box.
    ``probes``: ``{"method", "path", "status", "below"}`` (verify_profile.HttpProbe).
    """

    unit: str
    config_file: str = ""
    section: str = "DEFAULT"
    port_option: str = "port"
    host_option: str = "bind_host"
    healthcheck: str = "/healthcheck"
    probes: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def discovered(self) -> bool:
        """Ports found from the unit's listening sockets, not from a config file."""
        return not self.config_file


@dataclasses.dataclass(frozen=True)
class VerifyPlan:
    """Everything phoenix_rpm/infra checks, for one package (serialised to JSON)."""

    package: str
    version: str
    release: str
    user: str
    group: str
    config_files: list[str]
    units: list[str]
    state_dirs: list[str]
    http: list[HttpCheck]
    max_exposure: float = MAX_EXPOSURE
    rpm: str = ""
    # Units the plan promises but the RPM does not ship (reported, and the
    # suite then fails on them by name).
    missing_units: list[str] = dataclasses.field(default_factory=list)
    # Seconds every unit must stay up, unrestarted, with stable workers
    # (the profile's settle; docs/verify.md).
    settle: float = 3.0
    # Backing servers started in the box (the profile's needs) and the
    # oslo.config drop-in written for them, for the report and the suite.
    needs: list[str] = dataclasses.field(default_factory=list)
    dropin: str = ""
    # The SQL server's database made for the package and the tables the
    # suite must find in it once the units run (the profile's tables).
    database: str = ""
    tables: list[str] = dataclasses.field(default_factory=list)
    # Config files the plan installs other than 0640 root:<group>: path ->
    # [mode, group] (a file for another program's folder, /etc/apache2/...,
    # stays 0644 root:root so that program can read it; docs/packaging.md).
    config_modes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # Why a check does not apply, by what it would be parametrized on
    # ("http", "unit", "config_file") or per unit ("http:<unit>"): the suite
    # skips with these words and the report prints them (docs/verify.md).
    not_checked: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def version_release(self) -> str:
        return f"{self.version}-{self.release}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def wsgi_units(self) -> list[str]:
        return [h.unit for h in self.http]

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> VerifyPlan:
        data = json.loads(Path(path).read_text())
        data["http"] = [HttpCheck(**h) for h in data.get("http", [])]
        return cls(**data)


def http_checks(plan: SpecPlan, units: list[str], config_files: list[str],
                profile: VerifyProfile | None = None) -> list[HttpCheck]:
    """Which services answer HTTP, where their ports are, what they must answer."""
    return http_coverage(plan, units, config_files, profile)[0]


def http_coverage(plan: SpecPlan, units: list[str], config_files: list[str],
                  profile: VerifyProfile | None = None) -> tuple[list[HttpCheck], dict[str, str]]:
    """(HTTP checks, unit -> why it has none): every service is accounted for.

    The plan marks WSGI services. A phoenix service's ports live in the
    project's main config (``/etc/<name>/<name>.conf``, [DEFAULT] port and
    bind_host: docs/verify.md), read in the box at test time, and its default
    check is ``GET /healthcheck -> 200``. Any other WSGI application (uWSGI,
    pbr's wsgi script) is found by the sockets its unit listens on, and by
    default its root must answer below 500. The profile's checks replace the
    default. A service without an HTTP check gets a reason the report prints,
    so a check that does not apply is never silent.
    """
    profile = profile or VerifyProfile()
    name = plan.name
    main_conf = next((c for c in config_files if c.endswith(f"/{name}.conf")),
                     next((c for c in config_files if c.endswith(".conf")), None))
    checks: list[HttpCheck] = []
    reasons: dict[str, str] = {}
    for service in plan.services:
        unit = service.unit
        # Only a phoenix service reads its ports from [DEFAULT] port of the
        # main config; a plain wsgi_scripts service has no such convention.
        if not service.wsgi:
            reasons[unit] = (f"{service.name} is not an HTTP service (not a wsgi_scripts entry point, name not "
                             "*-api): no HTTP check (to get one, make it an -api service or a wsgi_scripts "
                             "entry point, then [phoenix:verify] checks); any TCP port it listens on still "
                             "gets GET /, a 5xx fails")
            continue
        probes = [p.to_json() for p in profile.checks_for(unit)]
        if service.phoenix and main_conf:
            default = HttpProbe(method="GET", path="/healthcheck", status=200)
            checks.append(HttpCheck(unit=unit, config_file=main_conf, probes=probes or [default.to_json()]))
        else:
            checks.append(HttpCheck(unit=unit, probes=probes or [DEFAULT_PROBE.to_json()]))
    return [c for c in checks if c.unit in units], {u: r for u, r in reasons.items() if u in units}


def _not_checked(name: str, units: list[str], config_files: list[str], http: list[HttpCheck],
                 http_reasons: dict[str, str]) -> dict[str, str]:
    out = {f"http:{unit}": reason for unit, reason in sorted(http_reasons.items())}
    if not http:
        out["http"] = (f"package {name} has no HTTP service (no wsgi_scripts entry point, no *-api "
                       "service): nothing to check over HTTP; " + "; ".join(http_reasons.values())
                       if http_reasons else f"package {name} has no service: nothing to check over HTTP")
    if not units:
        out["unit"] = (f"package {name} ships no service unit (no long-running entry point): "
                       "unit checks do not apply; list one under [phoenix:rpm] services to check it")
    if not config_files:
        out["config_file"] = (f"package {name} ships no config file under /etc/{name}: config checks "
                              f"do not apply; add one to [files] data_files (etc/{name} = ...) to check it")
    return out


def _database_name(package: str) -> str:
    from phoenix_rpm.backing import credentials_for

    return credentials_for(package).database


def build_verify_plan(plan: SpecPlan, rpm: RpmInfo, profile: VerifyProfile | None = None) -> VerifyPlan:
    """Combine the packaging plan (expectations) with the built RPM (identity, units)
    and the project's verify profile (servers, checks, settle time)."""
    profile = profile or VerifyProfile()
    if plan.name != rpm.name:
        raise UserError(f"{rpm.path}: the RPM is package {rpm.name!r} but the project plans {plan.name!r}; "
                        "pass the project the RPM was built from")
    planned_units = [s.unit for s in plan.services]
    shipped = list(rpm.units)
    units = sorted(set(planned_units) | set(shipped))
    config_files = plan.config_files
    user = plan.user or rpm.name
    group = plan.group or user
    state_dirs = [plan.state_dir, *plan.state_dirs]
    http, http_reasons = http_coverage(plan, units, config_files, profile)
    return VerifyPlan(
        package=rpm.name, version=rpm.version, release=rpm.release, user=user, group=group,
        config_files=config_files, units=units, state_dirs=sorted(set(state_dirs)),
        http=http,
        rpm=str(rpm.path),
        missing_units=sorted(set(planned_units) - set(shipped)),
        settle=profile.settle,
        needs=list(profile.needs),
        dropin=f"{plan.conf_d or f'/etc/{rpm.name}/{rpm.name}.conf.d'}/50-phoenix-verify.conf"
        if profile.needs or profile.config else "",
        database=_database_name(rpm.name) if profile.sql_server else "",
        config_modes={f.dest: [f.mode, f.group] for f in plan.files
                      if f.config and (f.mode, f.group) != ("0640", group)},
        tables=list(profile.tables),
        not_checked=_not_checked(rpm.name, units, config_files, http, http_reasons),
    )
