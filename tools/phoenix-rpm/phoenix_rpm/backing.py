"""Backing servers in the verify box: real MariaDB/PostgreSQL, RabbitMQ, memcached.

A real OpenStack service does not start on an empty machine: it needs its
database, its message bus, often a cache (docs/verify.md, "Backing
services"). The verify stage gives it what production gives it, for real:
the Debian 12 servers the profile ``needs`` (installed in the box root,
phoenix_rpm.box.root), started before the RPM is installed, a database and
a user with a random password, a RabbitMQ user and vhost, and the connection
settings as an oslo.config drop-in in ``/etc/<name>/<name>.conf.d/``, the
folder oslo.config reads after the config files (``--config-dir``, and by
default for ``project=<name>``). Nothing is mocked: no ``fake://``
transport, no SQLite stand-in. The servers listen on loopback inside the
box's own network namespace.
"""
from __future__ import annotations

import dataclasses
import json
import re
import secrets
import shlex
import time
from typing import Any, Sequence

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed, UserError
from phoenix_rpm.verify_profile import REFERENCE_RE, ConfigOption, VerifyProfile

# needs word -> the systemd unit that runs the server in the box.
UNITS = {
    "mariadb": "mariadb.service",
    "postgresql": "postgresql.service",
    "rabbitmq": "rabbitmq-server.service",
    "memcached": "memcached.service",
    "redis": "redis-server.service",
}
START_TIMEOUT = 120.0
DROPIN_NAME = "50-phoenix-verify.conf"


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What the verify run created, for the drop-in and the report (password shown only in the box)."""

    user: str
    password: str
    database: str
    vhost: str


def credentials_for(package: str) -> Credentials:
    """Database/user/vhost named after the package; a fresh random password per run."""
    ident = re.sub(r"[^a-z0-9_]", "_", package.lower())[:32] or "svc"
    if not ident[0].isalpha():
        ident = f"s_{ident}"[:32]
    return Credentials(user=ident, password=secrets.token_hex(16), database=ident, vhost=ident)


RABBIT_DEFINITIONS = "/etc/rabbitmq/phoenix-verify-definitions.json"


# needs word -> the client libraries a service may carry for it (PEP 503
# names, preferred first) and what the drop-in then names: the SQLAlchemy
# dialect+driver of [database] connection, the oslo.cache backend of [cache].
CLIENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "mariadb": (("pymysql", "mysql+pymysql"), ("mysqlclient", "mysql+mysqldb"),
                ("mysql-connector-python", "mysql+mysqlconnector")),
    "postgresql": (("psycopg2", "postgresql+psycopg2"), ("psycopg2-binary", "postgresql+psycopg2"),
                   ("psycopg", "postgresql+psycopg"), ("pg8000", "postgresql+pg8000")),
    "memcached": (("python-memcached", "oslo_cache.memcache_pool"), ("pymemcache", "dogpile.cache.pymemcache")),
}
# The option the client decides; a profile setting it itself chose its own.
CLIENT_OPTION = {"mariadb": ("database", "connection"), "postgresql": ("database", "connection"),
                 "memcached": ("cache", "backend")}
SUGGESTED = {"mariadb": "PyMySQL", "postgresql": "psycopg2-binary", "memcached": "python-memcached"}
DEFAULT_CLIENT = {need: options[0][1] for need, options in CLIENTS.items()}
_DIST = re.compile(r"^(?:bundled\()?python3dist\(([^)]+)\)")


def carried_dists(rpm_path: Any) -> set[str]:
    """Python distributions the package carries: its ``bundled(python3dist(X))`` Provides
    (a bundled venv, docs/repo.md) and its ``python3dist(X)`` Requires (system mode)."""
    qf = "[%{PROVIDES}\\n][%{REQUIRES}\\n]"
    out = runner.run(["rpm", "-qp", "--nosignature", "--qf", qf, str(rpm_path)], capture=True).stdout
    found = set()
    for line in out.splitlines():
        m = _DIST.match(line.strip())
        if m:
            found.add(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    return found


def clients_for(profile: VerifyProfile, rpm_path: Any) -> dict[str, str]:
    """need -> dialect+driver / cache backend, from the client library the package carries.

    A needed server the package carries no client for is bad input (exit 2,
    before a box boots): the services would die on ``ImportError`` in the
    box as in production. The fix is the packaging's, not the box's:
    ``[phoenix:rpm] requirements`` or ``extras`` (docs/packaging.md, "Extra
    requirements"). A profile whose ``config`` sets the option itself
    (its own URL) is taken at its word.
    """
    wanted = [n for n in profile.needs if n in CLIENTS]
    if not wanted:
        return {}
    dists = carried_dists(rpm_path)
    own = {(o.section, o.key) for o in profile.config}
    chosen: dict[str, str] = {}
    for need in wanted:
        found = next((value for dist, value in CLIENTS[need] if dist in dists), None)
        if found is None and CLIENT_OPTION[need] in own:
            continue
        if found is None:
            path, _, where = profile.source.partition(" ")
            names = ", ".join(dist for dist, _ in CLIENTS[need])
            raise UserError(
                f"{path}: {where} needs = {need}: the package carries no {need} client library ({names}): "
                f"its services would fail with ImportError; add it to the package, e.g. [phoenix:rpm] "
                f"requirements = {SUGGESTED[need]} (or extras = <the project's extra that lists it>), "
                f"as production needs it too")
        chosen[need] = found
    return chosen


def before_start(box: Any, profile: VerifyProfile, creds: Credentials) -> None:
    """What must be in place before a server boots.

    RabbitMQ: the user, vhost and permissions as a definitions file the
    broker loads while it boots (``load_definitions``), before its AMQP
    listener opens. Three ``rabbitmqctl`` calls instead cost one Erlang VM
    start each: 2-3 s apiece on a loaded machine.
    """
    if "rabbitmq" not in profile.needs:
        return
    c = creds
    definitions = {
        "users": [{"name": c.user, "password": c.password, "tags": ""}],
        "vhosts": [{"name": c.vhost}],
        "permissions": [{"user": c.user, "vhost": c.vhost, "configure": ".*", "write": ".*", "read": ".*"}],
    }
    script = (f"umask 027; cat > {RABBIT_DEFINITIONS} && chgrp rabbitmq {RABBIT_DEFINITIONS} && "
              f"printf '\\n# phoenix verify: user and vhost of this run\\nload_definitions = %s\\n' "
              f"{RABBIT_DEFINITIONS} >> /etc/rabbitmq/rabbitmq.conf")
    proc = box.exec(["sh", "-c", script], input=json.dumps(definitions), check=False, timeout=30)
    if proc.returncode != 0:
        raise CheckFailed(f"cannot write the RabbitMQ definitions in the box: {(proc.stderr or proc.stdout).strip()}")


def start_servers(box: Any, profile: VerifyProfile, *, wait: bool = True) -> None:
    """``systemctl start`` the needed servers at once; with ``wait``, until each answers.

    ``wait=False`` only queues the start jobs (``--no-block``): the stage
    installs the RPM meanwhile (RabbitMQ's Erlang VM takes seconds to boot)
    and calls ``wait_servers`` before it needs them.
    """
    units = [UNITS[n] for n in profile.needs]
    if not units:
        return
    argv = ["systemctl", "start", *([] if wait else ["--no-block"]), *units]
    proc = box.exec(argv, check=False, timeout=START_TIMEOUT)
    if proc.returncode != 0:
        raise CheckFailed(f"backing servers did not start ({' '.join(units)}): "
                          f"{(proc.stderr or proc.stdout).strip()}\n{_status(box, units)}")
    if wait:
        wait_servers(box, profile)


def wait_servers(box: Any, profile: VerifyProfile) -> None:
    """Until each needed server answers its own client (active is not answering).

    Bounded by the box's ``server_start_timeout``: a container answers in
    seconds, an emulated VM (the Vagrant path) in minutes.
    """
    units = [UNITS[n] for n in profile.needs]
    if not units:
        return
    probes = {
        "mariadb": ["mariadb", "-e", "SELECT 1"],
        "postgresql": _in_root(["runuser", "-u", "postgres", "--", "psql", "-Atc", "SELECT 1"]),
        # The AMQP listener opens after the definitions are loaded: its
        # Connection.Start frame (type 1, channel 0) means ready. Far cheaper
        # than `rabbitmqctl await_startup` (an Erlang VM of its own).
        "rabbitmq": ["python3", "-c", "import socket; s = socket.create_connection(('127.0.0.1', 5672), 2); "
                     "s.settimeout(5); s.sendall(b'AMQP\\x00\\x00\\x09\\x01'); "
                     "assert s.recv(7)[:3] == b'\\x01\\x00\\x00'"],
        "memcached": ["python3", "-c", "import socket; s = socket.create_connection(('127.0.0.1', 11211), 2); "
                      "s.sendall(b'version\\r\\n'); assert s.recv(64).startswith(b'VERSION')"],
        "redis": ["python3", "-c", "import socket; s = socket.create_connection(('127.0.0.1', 6379), 2); "
                  "s.sendall(b'PING\\r\\n'); assert s.recv(64).startswith(b'+PONG')"],
    }
    deadline = time.monotonic() + float(box.server_start_timeout)
    for need in profile.needs:
        while True:
            got = box.exec(probes[need], check=False, timeout=60)
            if got.returncode == 0:
                break
            state = box.exec(["systemctl", "show", "-p", "ActiveState", "--value", UNITS[need]],
                             check=False, timeout=20).stdout.strip()
            if state == "failed":
                raise CheckFailed(f"backing server {need} ({UNITS[need]}) failed to start\n"
                                  f"{_status(box, [UNITS[need]])}")
            if time.monotonic() > deadline:
                raise CheckFailed(f"backing server {need} ({UNITS[need]}) is active but does not answer "
                                  f"({' '.join(probes[need])}: {(got.stderr or got.stdout).strip()[-500:]})"
                                  f"\n{_status(box, [UNITS[need]])}")
            time.sleep(0.3)


def provision(box: Any, profile: VerifyProfile, creds: Credentials,
              clients: dict[str, str] | None = None) -> list[ConfigOption]:
    """Create database, users and vhost; return the connection settings for the drop-in.

    ``clients`` (``clients_for``): the driver each URL names and the cache
    backend, by what the package carries; the first of each list by default.
    """
    options: list[ConfigOption] = []
    c = creds
    client = {**DEFAULT_CLIENT, **(clients or {})}
    if "mariadb" in profile.needs:
        sql = (f"CREATE DATABASE IF NOT EXISTS `{c.database}` CHARACTER SET utf8mb4; "
               f"CREATE USER IF NOT EXISTS '{c.user}'@'localhost' IDENTIFIED BY '{c.password}'; "
               f"CREATE USER IF NOT EXISTS '{c.user}'@'127.0.0.1' IDENTIFIED BY '{c.password}'; "
               f"GRANT ALL PRIVILEGES ON `{c.database}`.* TO '{c.user}'@'localhost'; "
               f"GRANT ALL PRIVILEGES ON `{c.database}`.* TO '{c.user}'@'127.0.0.1'; FLUSH PRIVILEGES;")
        _run(box, ["mariadb", "-e", sql], "create the MariaDB database and user")
        options.append(ConfigOption("database", "connection",
                                    f"{client['mariadb']}://{c.user}:{c.password}@127.0.0.1/{c.database}?charset=utf8mb4"))
    if "postgresql" in profile.needs:
        psql = ["runuser", "-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-Atc"]
        _run(box, _in_root([*psql, f"CREATE ROLE {c.user} LOGIN PASSWORD '{c.password}'"]),
             "create the PostgreSQL role")
        _run(box, _in_root([*psql, f"CREATE DATABASE {c.database} OWNER {c.user} ENCODING 'UTF8'"]),
             "create the PostgreSQL database")
        options.append(ConfigOption("database", "connection",
                                    f"{client['postgresql']}://{c.user}:{c.password}@127.0.0.1/{c.database}"))
    if "rabbitmq" in profile.needs:
        # user, vhost and permissions were loaded at the broker's boot (before_start)
        options.append(ConfigOption("DEFAULT", "transport_url",
                                    f"rabbit://{c.user}:{c.password}@127.0.0.1:5672/{c.vhost}"))
    if "memcached" in profile.needs:
        options += [ConfigOption("cache", "enabled", "true"),
                    ConfigOption("cache", "backend", client["memcached"]),
                    ConfigOption("cache", "memcache_servers", "127.0.0.1:11211")]
    return options


def dropin_text(options: Sequence[ConfigOption], profile: VerifyProfile) -> str:
    """The drop-in: connection settings first, the profile's ``config`` over them."""
    merged: dict[tuple[str, str], str] = {}
    made = {(o.section, o.key): o.value for o in options}
    for opt in options:
        merged[(opt.section, opt.key)] = opt.value
    for opt in profile.config:
        # "{database.connection}": this run's generated value (checked when the profile was read)
        merged[(opt.section, opt.key)] = REFERENCE_RE.sub(
            lambda m: made.get((m.group(1), m.group(2)), m.group(0)), opt.value)
    sections: dict[str, list[tuple[str, str]]] = {}
    for (section, key), value in merged.items():
        sections.setdefault(section, []).append((key, value))
    out = ["# Written by tools/build-rpm --verify (docs/verify.md): backing servers of this box",
           "# and the [phoenix:verify] config of the project."]
    for section in sorted(sections, key=lambda s: (s != "DEFAULT", s)):
        out.append(f"\n[{section}]")
        # oslo.config reads values raw; a newline would start a new option.
        out += [f"{k} = {v.replace(chr(10), ' ')}" for k, v in sections[section]]
    return "\n".join(out) + "\n"


def dropin_dir(package: str) -> str:
    return f"/etc/{package}/{package}.conf.d"


def write_dropin(box: Any, package: str, group: str, text: str, folder: str = "") -> str:
    """Write ``/etc/<name>/<name>.conf.d/50-phoenix-verify.conf`` (0640 root:<group>).

    The folder may come with the package (units passing ``--config-dir``) or
    not (older packages): made here when missing, never replaced. ``folder``:
    the plan's drop-in folder when it is not named after the package
    (/etc/heat/heat.conf.d for openstack-heat, docs/packaging.md).
    """
    folder = folder or dropin_dir(package)
    path = f"{folder}/{DROPIN_NAME}"
    script = (f"set -e; d={shlex.quote(folder)}; f={shlex.quote(path)}; g={shlex.quote(group)}; "
              "if [ ! -d \"$d\" ]; then install -d -m 0750 -o root -g \"$g\" \"$d\"; fi; "
              "umask 077; cat > \"$f.tmp\"; chown root:\"$g\" \"$f.tmp\"; chmod 0640 \"$f.tmp\"; mv \"$f.tmp\" \"$f\"")
    proc = box.exec(["sh", "-c", script], input=text, check=False, timeout=30)
    if proc.returncode != 0:
        raise CheckFailed(f"cannot write {path} in the box: {(proc.stderr or proc.stdout).strip()}")
    return path


def run_setup(box: Any, profile: VerifyProfile, user: str, workdir: str) -> list[tuple[str, float]]:
    """The profile's setup commands, in order, as the service user; stop at the first failure.

    ``runuser -u <user> -- sh -c <command>``: the service user's nologin
    shell plays no part, the command runs in the service's working folder
    with a plain PATH (bundled tools are linked into /usr/bin).
    """
    done: list[tuple[str, float]] = []
    for command in profile.setup:
        started = time.monotonic()
        with runner.stage(f"setup as {user}: {command}"):
            script = f"cd {shlex.quote(workdir)} 2>/dev/null || cd /; exec {command}"
            proc = box.exec(["runuser", "-u", user, "--", "env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin",
                             "HOME=" + workdir, "LANG=C.UTF-8", "/bin/sh", "-c", script], check=False, timeout=600)
            if proc.returncode != 0:   # inside the stage: it is reported FAILED
                out = ((proc.stdout or "") + (proc.stderr or "")).strip()
                raise CheckFailed(f"setup command failed as {user} (exit {proc.returncode}): {command}\n"
                                  + "\n".join(out.splitlines()[-30:]))
        done.append((command, time.monotonic() - started))
    return done


def _in_root(argv: list[str]) -> list[str]:
    """argv run from ``/``: the working folder nsenter leaves may be unreachable
    (getcwd fails), which psql refuses ("could not identify current directory")."""
    return ["sh", "-c", "cd / && exec " + " ".join(shlex.quote(a) for a in argv)]


def _run(box: Any, argv: list[str], what: str) -> None:
    proc = box.exec(argv, check=False, timeout=120)
    if proc.returncode != 0:
        raise CheckFailed(f"could not {what} in the box: {(proc.stderr or proc.stdout).strip()[-1000:]}")


def _status(box: Any, units: Sequence[str]) -> str:
    proc = box.exec(["systemctl", "status", "--no-pager", "--lines=20", *units], check=False, timeout=20)
    text: str = (proc.stdout or proc.stderr).strip()
    return text
