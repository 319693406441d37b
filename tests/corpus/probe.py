"""The unseen-service probe: the generate stage on real sdists the tests do not hold.

Not a test and not in CI (docs/corpus.md, "Unseen-service probe"): a
generality check run by hand. Each named distribution's newest sdist is
downloaded once into ``/var/cache/phoenix/probe-sdists/<dist>/`` (or
``$PHOENIX_PROBE_CACHE``), unpacked as a git checkout exactly as the corpus
does (``corpus.checkout``), and ``tools/build-rpm --stage generate --format
json`` is run on it; one table row per project is printed: daemons, WSGI
applications with their port, the main config and the service user.
``--build`` also runs the whole ``tools/build-rpm`` (box build + lint) and
adds its wall time and result.

    .venv/bin/python tests/corpus/probe.py barbican freezer-api nova
    .venv/bin/python tests/corpus/probe.py --build freezer-api
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

CACHE = Path(os.environ.get("PHOENIX_PROBE_CACHE", "/var/cache/phoenix/probe-sdists"))


def newest_sdist(dist: str) -> Path:
    """The newest sdist of ``dist`` on the index, downloaded once."""
    folder = CACHE / dist
    found = sorted(folder.glob("*.tar.gz"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        "--disable-pip-version-check", dist, "-d", str(folder)], check=True, timeout=600)
        found = sorted(folder.glob("*.tar.gz"))
    if len(found) != 1:
        raise SystemExit(f"{folder}: expected one sdist, found {[p.name for p in found]}")
    return found[0]


def probe(dist: str, work: Path, build: bool) -> str:
    tarball = newest_sdist(dist)
    version = re.sub(r"\.tar\.gz$", "", tarball.name).rsplit("-", 1)[1]
    corpus.sdist = lambda _entry: tarball  # the corpus's unpacking, this tarball
    project = corpus.checkout(corpus.Entry(dist, version, "probe", False), work)
    gen = corpus.build_rpm(project, "--stage", "generate", "--format", "json")
    if gen.returncode != 0:
        return f"| {dist} | {version} | generate FAILED: {gen.stderr.strip().splitlines()[-1]} |"
    data = json.loads(gen.stdout)
    daemons = [e["entry_point"] for e in data["entry_points"]
               if e["decision"] == "service" and e["server"] != "uwsgi"]
    apps = [f"{e['unit'].removesuffix('.service')} ({e['bind'].rsplit(':', 1)[1]})"
            for e in data["entry_points"] if e["server"] == "uwsgi"]
    source = next((c["source"] for c in data["config_files"] if c["path"] == data["main_config"]), "")
    conf = ("generated" if source.startswith("generated") else "shipped") + f" ({data['main_config']})" \
        if source else "none"
    row = (f"| {dist} | {version} | {', '.join(daemons) or '-'} | {', '.join(apps) or '-'} | {conf} "
           f"| {data['user'] or '-'} |")
    if build:
        start = time.monotonic()
        full = corpus.build_rpm(project, timeout=2400)
        lint = "0 errors" if full.returncode == 0 else f"FAILED ({full.returncode})"
        row += f" {time.monotonic() - start:.0f} s | {lint} |"
        if full.returncode != 0:
            print(full.stderr[-3000:], file=sys.stderr)
    return row


def main(argv: list[str]) -> int:
    build = "--build" in argv
    names = [a for a in argv if a != "--build"]
    if not names:
        print(__doc__, file=sys.stderr)
        return 2
    for dist in names:
        with tempfile.TemporaryDirectory(prefix=f"probe-{dist}-") as tmp:
            print(probe(dist, Path(tmp), build), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
