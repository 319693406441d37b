"""The corpus: real OpenStack service sdists from PyPI, pinned, and how one is packaged end to end.

Each project is downloaded once (``pip download --no-binary :all:``) into
``/var/cache/phoenix/corpus`` keyed by name and version, unpacked into a
work folder made a git checkout tagged with its version (pbr makes the sdist
from git's file list, as for any checkout a user packages), then run through
``tools/build-rpm`` (generate, build in the box, lint) exactly as a user
would. See docs/corpus.md for the table of a real run.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PHOENIX_CORPUS_CACHE", "/var/cache/phoenix/corpus"))


@dataclass(frozen=True)
class Entry:
    dist: str  # the name on PyPI
    version: str
    shape: str  # what it covers (docs/corpus.md)
    ci: bool  # built in CI (the representative subset); the rest on demand
    daemons: tuple[str, ...] = ()  # console scripts that must become services
    apps: tuple[str, ...] = ()  # WSGI application units (uWSGI)
    tools: tuple[str, ...] = ()  # scripts that must stay tools
    # What a user writes into setup.cfg so that tools/build-rpm --verify runs the
    # services for real (docs/verify.md): [phoenix:rpm] for a driver the
    # project leaves out, [phoenix:verify] for servers, setup, checks.
    profile: str = ""
    verify_ci: bool = False  # verified in CI (the rest with PHOENIX_CORPUS=all)
    # WSGI application unit -> the port the project's code declares (oslo.config
    # default): the uWSGI address must take it, not a fallback port
    ports: tuple[tuple[str, int], ...] = ()
    config_dir: str = ""  # /etc/<folder> the project's code reads (its data_files / package)


# Verify profiles, appended to the checkout's setup.cfg (docs/corpus.md, "Verified").
PLACEMENT_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb
config =
    placement_database.connection = {database.connection}
    api.auth_strategy = noauth2
setup = placement-manage db sync
checks =
    placement-api: GET / -> 200
    placement-api: GET /resource_providers -> 401
tables = resource_providers inventories allocations
"""

HEAT_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
setup = heat-manage db_sync
checks =
    heat-api: GET / -> 300
    heat-cfn: GET / -> 300
tables = stack resource event
"""

# designate 23.0.0 passes workers=None to oslo.service, which the threading
# backend of the oslo.service release pip resolves today (4.8.0) refuses
# ("'workers' must be an int >= 1"): each daemon's workers set explicitly.
DESIGNATE_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
config =
    storage:sqlalchemy.connection = {database.connection}
    service:central.workers = 1
    service:mdns.workers = 1
    service:producer.workers = 1
    service:sink.workers = 1
    service:worker.workers = 1
setup = designate-manage database sync
checks = designate-api: GET / -> 200
"""

# vitrage's default datasources call nova, cinder, neutron... through clients
# it does not require: the static datasource only. vitrage-snmp-parsing needs
# an OID mapping file (none by default: "File doesn't exist"): an empty one.
VITRAGE_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
config =
    datasources.types = static
    snmp_parsing.oid_mapping = /var/lib/vitrage/snmp-oid-mapping.yaml
setup =
    vitrage-dbsync
    echo '[]' > snmp-oid-mapping.yaml
checks = vitrage-api: GET / -> 200
tables = alarms
"""

# watcher's decision engine asks keystone's catalog whether cinder exists
# when the storage collector is on (the default): compute only, no keystone.
WATCHER_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
config = collector.collector_plugins = compute
setup = watcher-db-manage upgrade
checks = watcher-api: GET / -> 200
tables = goals strategies audits
"""

# mistral-server runs every role, the API too, by default: the roles but the
# API, which its own uWSGI unit serves (the distributions' split).
MISTRAL_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
config = DEFAULT.server = engine,executor,event-engine,notifier
setup = mistral-db-manage upgrade head
checks = mistral-api: GET / -> 200
tables = workflow_definitions_v2
"""

MAGNUM_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL

[phoenix:verify]
needs = mariadb rabbitmq
setup = magnum-db-manage upgrade
checks = magnum-api: GET / -> 200
tables = cluster cluster_template
"""

# trove-guestagent runs inside the database guests trove creates, and
# trove-fake-mode is a test server: the controller's services only (as the
# distributions split them).
TROVE_PROFILE = """
[phoenix:rpm]
requirements = PyMySQL
services = trove-taskmanager trove-mgmt-taskmanager trove-conductor trove-wsgi

[phoenix:verify]
needs = mariadb rabbitmq
setup = trove-manage db_sync
checks = trove-wsgi: GET / -> 200
tables = instances datastores
"""

# zaqar keeps messages in redis (or mongodb, swift) and pools/flavors in SQL;
# its drivers are extras of its own. osprofiler's default notifier needs
# oslo.messaging, which zaqar does not require: redis takes that too.
ZAQAR_PROFILE = """
[phoenix:rpm]
extras = mysql redis

[phoenix:verify]
needs = mariadb redis
config =
    drivers.message_store = redis
    drivers.management_store = sqlalchemy
    drivers:management_store:sqlalchemy.uri = {database.connection}
    profiler.connection_string = redis://127.0.0.1:6379
setup = zaqar-sql-db-manage upgrade head
"""

CORPUS: list[Entry] = [
    Entry("designate", "23.0.0", "pyproject.toml + stub setup.cfg; WSGI module; oslo.service daemons "
          "reached through the project's own service.serve; generated config and policy", True,
          ("designate-central", "designate-mdns", "designate-sink", "designate-worker", "designate-producer"),
          ("designate-api",), ("designate-api", "designate-manage", "designate-status", "designate-rootwrap"),
          profile=DESIGNATE_PROFILE, verify_ci=True, ports=(("designate-api", 9001),), config_dir="/etc/designate"),
    Entry("openstack-heat", "27.0.1", "setup.cfg only; WSGI modules and wsgi_scripts; oslo.service daemon; "
          "generated config; /etc/heat for the distribution openstack-heat", True,
          ("heat-engine",), ("heat-api", "heat-cfn"), ("heat-manage", "heat-status"),
          profile=HEAT_PROFILE, config_dir="/etc/heat"),
    Entry("vitrage", "15.0.1", "setup.cfg only; cotyledon daemons; the API as a mod_wsgi file "
          "(vitrage/api/app.wsgi) under uWSGI, its werkzeug development server script a tool; "
          "generated config, paste file found under etc/", True,
          ("vitrage-graph", "vitrage-notifier", "vitrage-persistor", "vitrage-ml", "vitrage-snmp-parsing"),
          ("vitrage-api",), ("vitrage-api", "vitrage-dbsync", "vitrage-purge-data", "vitrage-status"),
          profile=VITRAGE_PROFILE, ports=(("vitrage-api", 8999),), config_dir="/etc/vitrage"),
    Entry("python-watcher", "17.0.0", "pyproject.toml + stub setup.cfg; WSGI module and wsgi_scripts; "
          "console -api replaced by the WSGI app; code in watcher/", False,
          ("watcher-decision-engine", "watcher-applier"), ("watcher-api",), ("watcher-api", "watcher-db-manage"),
          profile=WATCHER_PROFILE, ports=(("watcher-api", 9322),), config_dir="/etc/watcher"),
    Entry("mistral", "23.0.0", "pyproject.toml + stub setup.cfg; launcher behind a dispatch table; WSGI app in "
          "mistral/wsgi/__init__.py; "
          "generator config under tools/config", False,
          ("mistral-server",), ("mistral-api",), ("mistral-db-manage",), profile=MISTRAL_PROFILE,
          ports=(("mistral-api", 8989),), config_dir="/etc/mistral"),
    Entry("trove", "26.0.0", "setup.cfg only; wsgi_scripts only (pbr script under uWSGI); many daemons", False,
          ("trove-taskmanager", "trove-conductor", "trove-guestagent", "trove-docker-plugin"), ("trove-wsgi",),
          ("trove-api", "trove-manage"),
          profile=TROVE_PROFILE, ports=(("trove-wsgi", 8779),), config_dir="/etc/trove"),
    Entry("zaqar", "23.0.1", "setup.cfg only; daemon found by the name hint only; generator under etc/", False,
          ("zaqar-server",), (), ("zaqar-gc", "zaqar-status"), profile=ZAQAR_PROFILE, config_dir="/etc/zaqar"),
    Entry("openstack-placement", "16.0.0", "pyproject.toml + stub setup.cfg; WSGI module only, no daemon", False,
          (), ("placement-api",), ("placement-manage", "placement-status"),
          profile=PLACEMENT_PROFILE, verify_ci=True, config_dir="/etc/placement"),
    Entry("magnum", "23.0.0", "pyproject.toml console_scripts as an entry-point group; werkzeug -api "
          "script replaced by the WSGI module", False,
          ("magnum-conductor",), ("magnum-api",), ("magnum-api", "magnum-db-manage"), profile=MAGNUM_PROFILE,
          ports=(("magnum-api", 9511),), config_dir="/etc/magnum"),
]


def sdist(entry: Entry) -> Path:
    """The sdist from the cache, downloaded once."""
    folder = CACHE / f"{entry.dist}-{entry.version}"
    done = folder / ".complete"
    if not done.exists():
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "--disable-pip-version-check", f"{entry.dist}=={entry.version}", "-d", str(partial)],
                       check=True, timeout=600)
        (partial / ".complete").write_text("ok\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
    found = sorted(folder.glob("*.tar.gz"))
    assert len(found) == 1, found
    return found[0]


def checkout(entry: Entry, work: Path, profile: str = "") -> Path:
    """The sdist unpacked into ``work`` as a git checkout tagged with its version.

    ``profile``: setup.cfg text appended before the commit, as a user would
    write it into the project.
    """
    with tarfile.open(sdist(entry)) as tar:
        members = tar.getmembers()
        for m in members:  # an sdist holds one top folder of plain files and folders
            assert not m.name.startswith("/") and ".." not in m.name.split("/") and (m.isfile() or m.isdir()), m.name
            # ours, not the uploader's uid: git refuses a checkout another user owns
            m.uid, m.gid, m.uname, m.gname = os.getuid(), os.getgid(), "", ""
        tar.extractall(work, members=members)
    top = next(p for p in work.iterdir() if p.is_dir())
    if profile:
        with (top / "setup.cfg").open("a") as f:
            f.write("\n" + profile.strip() + "\n")
    git = ["git", "-c", "user.name=corpus", "-c", "user.email=corpus@localhost", "-c", "commit.gpgsign=false"]
    env = {**os.environ, "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z"}
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", f"{entry.dist} {entry.version}"],
                 ["tag", "-a", entry.version, "-m", entry.version]):
        subprocess.run([*git, *argv], cwd=top, check=True, env=env, capture_output=True)
    return top


def build_rpm(project: Path, *args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PBR_VERSION"}
    return subprocess.run([str(REPO / "tools" / "build-rpm"), *args, str(project)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def package(entry: Entry, work: Path) -> dict:
    """generate (JSON decisions) + build + lint; the figures docs/corpus.md shows."""
    project = checkout(entry, work)
    gen = build_rpm(project, "--stage", "generate", "--format", "json")
    assert gen.returncode == 0, gen.stderr[-3000:]
    decisions = json.loads(gen.stdout)
    start = time.monotonic()
    full = build_rpm(project)
    seconds = time.monotonic() - start
    rpms = sorted((project / "dist").glob("*.x86_64.rpm")) + sorted((project / "dist").glob("*.noarch.rpm"))
    lint = next((line for line in full.stderr.splitlines() if "errors" in line and "rpmlint" in line.lower()), "")
    return {
        "dist": entry.dist, "version": entry.version, "project": project, "decisions": decisions,
        "returncode": full.returncode, "stderr": full.stderr, "seconds": round(seconds, 1),
        "rpm": rpms[0] if rpms else None, "rpm_bytes": rpms[0].stat().st_size if rpms else 0, "lint": lint,
    }


VERIFY_DIR = Path(os.environ.get("PHOENIX_VERIFY_TEST_DIR", "/var/tmp/phoenix-verify-tests")) / "corpus"


def profile_lines(profile: str) -> int:
    """Lines the user wrote: non-blank, not a section header."""
    return sum(1 for line in profile.splitlines() if line.strip() and not line.strip().startswith("["))


def verify_checkout(entry: Entry, profile: str, variant: str = "") -> Path:
    """A checkout with ``profile`` at a stable path, kept while the profile is the same.

    Stable: the toolkit's no-change check then skips the rebuild from one
    run to the next (only the verify runs again).
    """
    import hashlib

    key = hashlib.sha256(f"{entry.dist} {entry.version}\n{profile}".encode()).hexdigest()[:12]
    work = VERIFY_DIR / f"{entry.dist}-{entry.version}{'-' + variant if variant else ''}"
    stamp = work / ".corpus-key"
    if stamp.is_file() and stamp.read_text() == key:
        return next(p for p in work.iterdir() if p.is_dir())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    top = checkout(entry, work, profile)
    stamp.write_text(key)
    return top


def verify(entry: Entry, profile: str | None = None, variant: str = "", args: tuple[str, ...] = ()) -> dict:
    """``tools/build-rpm --verify`` on the checkout with the entry's (or the given) profile."""
    project = verify_checkout(entry, entry.profile if profile is None else profile, variant)
    start = time.monotonic()
    proc = build_rpm(project, "--verify", *args, timeout=2400)
    return {"dist": entry.dist, "version": entry.version, "project": project, "returncode": proc.returncode,
            "stderr": proc.stderr, "seconds": round(time.monotonic() - start, 1)}


def verify_row(entry: Entry, result: dict) -> str:
    """One docs/corpus.md "Verified" table row: profile lines, phases, RSS."""
    import re

    err = result["stderr"]
    phases = re.search(r"phases: (.*)", err)
    memory = re.search(r"memory \(RSS after the suite\): (.*)", err)
    checks = re.search(r"checks: (\d+) passed, (\d+) failed", err)
    status = "PASSED" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    return (f"| {entry.dist} | {profile_lines(entry.profile)} | {status}, "
            f"{checks.group(1) + ' checks' if checks else '-'} | {phases.group(1) if phases else '-'} "
            f"| {memory.group(1) if memory else '-'} | {result['seconds']:.0f} s |")


def row(result: dict) -> str:
    """One docs/corpus.md table row."""
    d = result["decisions"]
    daemons = [e["entry_point"] for e in d["entry_points"] if e["decision"] == "service" and e["server"] != "uwsgi"]
    apps = [e["unit"].removesuffix(".service") for e in d["entry_points"] if e["server"] == "uwsgi"]
    conf = next((c["source"] for c in d["config_files"] if c["path"] == d["main_config"]), "none")
    conf = "generated" if conf.startswith("generated") else "shipped" if conf != "none" else "none"
    mib = result["rpm_bytes"] / 2**20
    lint = "0 errors" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    return (f"| {result['dist']} | {result['version']} | {', '.join(daemons) or '-'} | {', '.join(apps) or '-'} "
            f"| {conf} ({d['main_config']}) | {result['seconds']:.0f} s | {mib:.1f} MiB | {lint} |")


if __name__ == "__main__":
    import tempfile

    wanted = sys.argv[1:]
    if wanted[:1] == ["--verify"]:
        for entry in CORPUS:
            if entry.profile and (not wanted[1:] or entry.dist in wanted[1:]):
                result = verify(entry)
                print(verify_row(entry, result), flush=True)
                if result["returncode"] != 0:
                    print(result["stderr"][-4000:], file=sys.stderr, flush=True)
        sys.exit(0)
    for entry in CORPUS:
        if wanted and entry.dist not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix=f"corpus-{entry.dist}-") as tmp:
            result = package(entry, Path(tmp))
            print(row(result), flush=True)
            if result["returncode"] != 0:
                print(result["stderr"][-4000:], file=sys.stderr, flush=True)
