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


CORPUS: list[Entry] = [
    Entry("designate", "23.0.0", "pyproject.toml + stub setup.cfg; WSGI module; oslo.service daemons "
          "reached through the project's own service.serve; generated config and policy", True,
          ("designate-central", "designate-mdns", "designate-sink", "designate-worker", "designate-producer"),
          ("designate-api",), ("designate-api", "designate-manage", "designate-status", "designate-rootwrap")),
    Entry("openstack-heat", "27.0.1", "setup.cfg only; WSGI modules and wsgi_scripts; oslo.service daemon; "
          "generated config; /etc/heat for the distribution openstack-heat", True,
          ("heat-engine",), ("heat-api", "heat-cfn"), ("heat-manage", "heat-status")),
    Entry("vitrage", "15.0.1", "setup.cfg only; cotyledon daemons; werkzeug development server as the API; "
          "generated config, paste file found under etc/", True,
          ("vitrage-graph", "vitrage-notifier", "vitrage-persistor", "vitrage-ml", "vitrage-snmp-parsing",
           "vitrage-api"), (), ("vitrage-dbsync", "vitrage-purge-data", "vitrage-status")),
    Entry("python-watcher", "17.0.0", "pyproject.toml + stub setup.cfg; WSGI module and wsgi_scripts; "
          "console -api replaced by the WSGI app; code in watcher/", False,
          ("watcher-decision-engine", "watcher-applier"), ("watcher-api",), ("watcher-api", "watcher-db-manage")),
    Entry("mistral", "23.0.0", "pyproject.toml + stub setup.cfg; launcher behind a dispatch table; WSGI app in "
          "mistral/wsgi/__init__.py; "
          "generator config under tools/config", False,
          ("mistral-server",), ("mistral-api",), ("mistral-db-manage",)),
    Entry("trove", "26.0.0", "setup.cfg only; wsgi_scripts only (pbr script under uWSGI); many daemons", False,
          ("trove-taskmanager", "trove-conductor", "trove-guestagent"), ("trove-wsgi",), ("trove-api", "trove-manage")),
    Entry("zaqar", "23.0.1", "setup.cfg only; daemon found by the name hint only; generator under etc/", False,
          ("zaqar-server",), (), ("zaqar-gc", "zaqar-status")),
    Entry("openstack-placement", "16.0.0", "pyproject.toml + stub setup.cfg; WSGI module only, no daemon", False,
          (), ("placement-api",), ("placement-manage", "placement-status")),
    Entry("magnum", "23.0.0", "pyproject.toml console_scripts as an entry-point group; werkzeug -api "
          "script replaced by the WSGI module", False,
          ("magnum-conductor",), ("magnum-api",), ("magnum-api", "magnum-db-manage")),
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


def checkout(entry: Entry, work: Path) -> Path:
    """The sdist unpacked into ``work`` as a git checkout tagged with its version."""
    with tarfile.open(sdist(entry)) as tar:
        members = tar.getmembers()
        for m in members:  # an sdist holds one top folder of plain files and folders
            assert not m.name.startswith("/") and ".." not in m.name.split("/") and (m.isfile() or m.isdir()), m.name
            # ours, not the uploader's uid: git refuses a checkout another user owns
            m.uid, m.gid, m.uname, m.gname = os.getuid(), os.getgid(), "", ""
        tar.extractall(work, members=members)
    top = next(p for p in work.iterdir() if p.is_dir())
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
    for entry in CORPUS:
        if wanted and entry.dist not in wanted:
            continue
        with tempfile.TemporaryDirectory(prefix=f"corpus-{entry.dist}-") as tmp:
            result = package(entry, Path(tmp))
            print(row(result), flush=True)
            if result["returncode"] != 0:
                print(result["stderr"][-4000:], file=sys.stderr, flush=True)
