"""The verify profile: what a project's services need to run for real in the box.

``[phoenix:verify]`` in setup.cfg or ``[tool.phoenix.verify]`` in
pyproject.toml (docs/verify.md, "The verify profile"). Small and declarative:
the backing servers the services need (``needs``), extra config options,
setup commands run as the service user before the units start (a ``db
sync``), HTTP checks per WSGI application, and how long every unit must stay
up. Parsed once, here, into a frozen ``VerifyProfile``; every wrong key is a
one-line ``UserError`` naming the file, the key and what to write instead.

A project without a profile gets ``VerifyProfile()``: no servers, no setup,
the default checks; apollo (SQLite under its state dir) is verified exactly
as before.
"""
from __future__ import annotations

import configparser
import dataclasses
import re
import shlex
from pathlib import Path
from typing import Any, Iterable

from phoenix_rpm.inputs import bad, line_of

SECTION = "phoenix:verify"
TOML_TABLE = "[tool.phoenix.verify]"
KEYS = ("needs", "config", "setup", "checks", "settle", "tables")

# needs word -> the Debian 12 packages that provide the server in the box.
SERVERS: dict[str, tuple[str, ...]] = {
    "mariadb": ("mariadb-server",),
    "postgresql": ("postgresql",),
    "rabbitmq": ("rabbitmq-server",),
    "memcached": ("memcached",),
    "redis": ("redis-server",),
}
SQL_SERVERS = ("mariadb", "postgresql")
# The settings the stage writes for each need (backing.provision). A
# ``config`` value may name one as ``{section.key}``: a project reading its
# database URL from another option (placement's [placement_database]
# connection) gets this run's URL, password included (docs/verify.md).
GENERATED: dict[str, tuple[tuple[str, str], ...]] = {
    "mariadb": (("database", "connection"),),
    "postgresql": (("database", "connection"),),
    "rabbitmq": (("DEFAULT", "transport_url"),),
    "memcached": (("cache", "enabled"), ("cache", "backend"), ("cache", "memcache_servers")),
    # no oslo option names a redis server: the profile says where (redis://127.0.0.1:6379)
    "redis": (),
}
REFERENCE_RE = re.compile(r"\{([A-Za-z0-9_][\w:-]*)\.([A-Za-z0-9_][\w.-]*)\}")

DEFAULT_SETTLE = 3.0
MAX_SETTLE = 120.0
METHODS = ("GET", "HEAD", "OPTIONS")

CHECK_RE = re.compile(
    r"^(?:(?P<unit>[A-Za-z0-9][\w.@-]*)\s*:\s*)?(?P<method>[A-Za-z]+)\s+(?P<path>\S+)"
    r"\s*->\s*(?P<status><\s*\d{3}|\d{3})$"
)
TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")
OPTION_RE = re.compile(r"^(?P<section>[A-Za-z0-9_][\w:-]*)\.(?P<key>[A-Za-z0-9_][\w.-]*)\s*=\s*(?P<value>.*)$")


@dataclasses.dataclass(frozen=True)
class ConfigOption:
    """One oslo.config option for the verify drop-in: ``[section] key = value``."""

    section: str
    key: str
    value: str


@dataclasses.dataclass(frozen=True)
class HttpProbe:
    """``[unit:] METHOD /path -> status``: one request and the answer it must get.

    ``status`` is an exact code; ``below`` (from ``-> <500``) accepts any
    code under it. ``unit`` None: every WSGI application of the package.
    """

    method: str
    path: str
    status: int | None = None
    below: int | None = None
    unit: str | None = None

    def accepts(self, code: int) -> bool:
        return code == self.status if self.status is not None else code < (self.below or 500)

    @property
    def expectation(self) -> str:
        return str(self.status) if self.status is not None else f"<{self.below}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# What a WSGI application must answer when the profile names no check for it:
# its root answers, with anything but a server error (docs/verify.md).
DEFAULT_PROBE = HttpProbe(method="GET", path="/", below=500)


@dataclasses.dataclass(frozen=True)
class VerifyProfile:
    """The parsed profile; ``source`` names the file and section for messages."""

    source: str = ""
    needs: tuple[str, ...] = ()
    config: tuple[ConfigOption, ...] = ()
    setup: tuple[str, ...] = ()
    checks: tuple[HttpProbe, ...] = ()
    settle: float = DEFAULT_SETTLE
    # tables the database must hold once setup ran and the units started
    # (docs/verify.md, "Database schema"); with a SQL server in needs and
    # none named, the database must hold at least one table
    tables: tuple[str, ...] = ()

    @property
    def sql_server(self) -> str | None:
        """The SQL server of ``needs`` (at most one), or None."""
        return next((n for n in self.needs if n in SQL_SERVERS), None)

    @property
    def packages(self) -> tuple[str, ...]:
        """Debian packages the box root must hold for ``needs``."""
        return tuple(sorted({p for need in self.needs for p in SERVERS[need]}))

    def checks_for(self, unit: str) -> tuple[HttpProbe, ...]:
        """The probes of one WSGI unit (its own and the unit-less ones)."""
        return tuple(c for c in self.checks if c.unit in (None, unit, unit.removesuffix(".service")))


# --- reading -----------------------------------------------------------------


def load(project_dir: Path) -> VerifyProfile:
    """The project's profile: pyproject.toml's table, else setup.cfg's section, else none."""
    project_dir = Path(project_dir)
    toml_path = project_dir / "pyproject.toml"
    if toml_path.is_file():
        from phoenix_rpm.pyproject import read_toml

        tool = read_toml(toml_path).get("tool", {})
        phoenix = tool.get("phoenix", {}) if isinstance(tool, dict) else {}
        table = phoenix.get("verify") if isinstance(phoenix, dict) else None
        if table is not None:
            if not isinstance(table, dict):
                raise bad(toml_path, f"{TOML_TABLE} is not a table", "write [tool.phoenix.verify] with keys below it")
            return from_toml(table, toml_path)
    cfg = project_dir / "setup.cfg"
    if cfg.is_file():
        from phoenix_rpm.setupcfg import read_config

        parser, raw = read_config(cfg)
        if parser.has_section(SECTION):
            return from_setup_cfg(parser, cfg, raw)
    return VerifyProfile()


def from_setup_cfg(parser: configparser.RawConfigParser, cfg: Path, raw: str) -> VerifyProfile:
    section = parser[SECTION]
    start = line_of(raw, f"[{SECTION}]") or 1
    where = f"[{SECTION}]"
    values: dict[str, tuple[list[str], int | None]] = {}
    for key, value in section.items():
        lineno = line_of(raw, key, start)
        if key not in KEYS:
            raise bad(cfg, f"{where} unknown key {key!r}", "use one of: " + ", ".join(KEYS), lineno)
        if key in ("needs", "tables"):
            items = value.replace(",", " ").split()
        elif key == "settle":
            items = [value.strip()]
        else:
            items = [ln.strip() for ln in value.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        values[key] = (items, lineno)
    return _build(values, cfg, where, raw, start)


def from_toml(table: dict[str, Any], path: Path) -> VerifyProfile:
    values: dict[str, tuple[list[str], int | None]] = {}
    for key, value in table.items():
        if key not in KEYS:
            raise bad(path, f"{TOML_TABLE} unknown key {key!r}", "use one of: " + ", ".join(KEYS))
        if key == "settle":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad(path, f"{TOML_TABLE} settle = {value!r} is not a number of seconds", "write e.g. settle = 5")
            values[key] = ([str(value)], None)
        elif key in ("needs", "tables") and isinstance(value, str):
            values[key] = (value.replace(",", " ").split(), None)
        elif key == "config" and isinstance(value, dict):
            lines = []
            for section, options in value.items():
                if not isinstance(options, dict):
                    raise bad(path, f"{TOML_TABLE} config.{section} is not a table",
                              f"write [tool.phoenix.verify.config.{section}] key = \"value\"")
                lines += [f"{section}.{k} = {_toml_scalar(v, path, f'config.{section}.{k}')}"
                          for k, v in options.items()]
            values[key] = (lines, None)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            values[key] = ([v.strip() for v in value if v.strip()], None)
        else:
            raise bad(path, f"{TOML_TABLE} {key} is not a list of strings",
                      f"write {key} = [\"...\", ...]" + (" or a table" if key == "config" else ""))
    raw = path.read_text(encoding="utf-8", errors="replace")
    return _build(values, path, TOML_TABLE, raw, line_of(raw, TOML_TABLE) or 1)


def _toml_scalar(value: Any, path: Path, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return ",".join(map(str, value))  # oslo.config's ListOpt syntax
    raise bad(path, f"{TOML_TABLE} {key} = {value!r} is not a string, number, boolean or list",
              "write the option's value as oslo.config reads it")


def _build(values: dict[str, tuple[list[str], int | None]], path: Path, where: str, raw: str,
           start: int) -> VerifyProfile:
    def line(key: str, text: str | None = None) -> int | None:
        found = line_of(raw, text, start) if text else None
        return found or values[key][1] or line_of(raw, key, start)

    needs: list[str] = []
    for word in values.get("needs", ([], None))[0]:
        word = word.strip().lower()
        if word not in SERVERS:
            raise bad(path, f"{where} needs: unknown backing service {word!r}",
                      "use any of: " + ", ".join(SERVERS), line("needs"))
        if word not in needs:
            needs.append(word)
    sql = [n for n in needs if n in SQL_SERVERS]
    if len(sql) > 1:
        raise bad(path, f"{where} needs: both {' and '.join(sql)}",
                  "name one SQL server ([database] connection takes one URL)", line("needs"))
    config = []
    for text in values.get("config", ([], None))[0]:
        m = OPTION_RE.match(text)
        if not m:
            raise bad(path, f"{where} config: {text!r} is not 'section.key = value'",
                      "e.g. DEFAULT.debug = true or oslo_policy.enforce_scope = false", line("config", text))
        value = m.group("value").strip()
        made = {opt for need in needs for opt in GENERATED[need]}
        for ref in REFERENCE_RE.finditer(value):
            if (ref.group(1), ref.group(2)) not in made:
                offer = ", ".join(f"{{{s}.{k}}}" for s, k in sorted(made)) or "none: needs is empty"
                raise bad(path, f"{where} config: {text!r}: {ref.group(0)} is not a setting this profile's "
                          "needs create", f"reference one of: {offer}", line("config", text))
        config.append(ConfigOption(m.group("section"), m.group("key"), value))
    setup = []
    for text in values.get("setup", ([], None))[0]:
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise bad(path, f"{where} setup: {text!r} is not a valid command line ({exc})",
                      "fix the quoting", line("setup", text)) from None
        if not words:
            continue
        setup.append(text)
    checks = []
    for text in values.get("checks", ([], None))[0]:
        m = CHECK_RE.match(text)
        if not m:
            raise bad(path, f"{where} checks: {text!r} is not '[unit:] GET /path -> status'",
                      "e.g. myservice-api: GET /v1 -> 200 (or -> <500: any answer below 500)", line("checks", text))
        method = m.group("method").upper()
        if method not in METHODS:
            raise bad(path, f"{where} checks: {text!r}: method {m.group('method')} is not one of {', '.join(METHODS)}",
                      "checks must not change the service's data; use GET", line("checks", text))
        target = m.group("path")
        if not target.startswith("/"):
            raise bad(path, f"{where} checks: {text!r}: path {target!r} does not start with '/'",
                      "write the path from the application's root, e.g. /v1", line("checks", text))
        status = m.group("status").replace(" ", "")
        code = int(status.lstrip("<"))
        if not 100 <= code <= 599:
            raise bad(path, f"{where} checks: {text!r}: {code} is not an HTTP status",
                      "use 100-599", line("checks", text))
        checks.append(HttpProbe(method=method, path=target, unit=m.group("unit"),
                                status=None if status.startswith("<") else code,
                                below=code if status.startswith("<") else None))
    settle = DEFAULT_SETTLE
    if "settle" in values:
        text = values["settle"][0][0] if values["settle"][0] else ""
        try:
            settle = float(text.removesuffix("s").strip())
        except ValueError:
            raise bad(path, f"{where} settle = {text!r} is not a number of seconds",
                      "write e.g. settle = 5", line("settle")) from None
        if not 0 <= settle <= MAX_SETTLE:
            raise bad(path, f"{where} settle = {text}: out of range",
                      f"use 0 to {MAX_SETTLE:g} seconds", line("settle"))
    tables: list[str] = []
    for word in values.get("tables", ([], None))[0]:
        if not TABLE_RE.match(word):
            raise bad(path, f"{where} tables: {word!r} is not a table name",
                      "list table names separated by spaces, e.g. tables = alembic_version resources",
                      line("tables"))
        if word not in tables:
            tables.append(word)
    if tables and not any(n in SQL_SERVERS for n in needs):
        raise bad(path, f"{where} tables: the profile needs no SQL server to hold them",
                  "add mariadb or postgresql to needs, or remove tables", line("tables"))
    return VerifyProfile(source=f"{path} {where}", needs=tuple(needs), config=tuple(config), setup=tuple(setup),
                         checks=tuple(checks), settle=settle, tables=tuple(tables))


def check_units(profile: VerifyProfile, wsgi_units: Iterable[str], all_units: Iterable[str]) -> None:
    """A check naming a unit must name one of the package's WSGI applications.

    Called once the packaging plan is known (the profile alone cannot tell).
    """
    wsgi = {u.removesuffix(".service") for u in wsgi_units}
    every = {u.removesuffix(".service") for u in all_units}
    path, _, where = profile.source.partition(" ")
    if profile.checks and not wsgi:
        raise bad(path, f"{where} checks: the package has no WSGI application to check",
                  "remove checks, or make the HTTP service a wsgi_scripts entry point or an -api service")
    for probe in profile.checks:
        if probe.unit is None:
            continue
        name = probe.unit.removesuffix(".service")
        if name not in wsgi:
            why = "is not a WSGI application (it serves no HTTP)" if name in every else "is not a service of the package"
            raise bad(path, f"{where} checks: {probe.unit!r} {why}",
                      "name one of: " + (", ".join(sorted(wsgi)) or "(none: the package has no WSGI application)"))
