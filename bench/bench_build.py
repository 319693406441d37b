#!/usr/bin/env python3
"""Benchmark of the build: tools/build-rpm against rpmvenv, on apollo (issue 4).

Run from the repository root, as root (the box needs it):

    .venv/bin/python bench/bench_build.py

What it measures, in one run, on a fresh clone of HEAD (so the version and
the inputs stay fixed while the benchmark runs):

1. warm-up: ``tools/build-rpm CLONE`` once, untimed, so the box root, the
   wheel cache and the venv layer cache exist ("warm caches"), and one
   untimed rpmvenv run, so its pip cache is warm too;
2. ``tools/build-rpm CLONE`` with dist/ removed: generate, sdist, wheels,
   SRPM, ``rpmbuild --rebuild`` in a fresh box, offline, and rpmlint;
3. the same command again with nothing changed (reuses dist/);
4. the same as 2 with an empty venv layer cache (``PHOENIX_VENV_CACHE``): the
   first build after the requirements change;
5. rpmvenv packaging the same project with the same requirements (a
   virtualenv under /usr/lib/apollo with requirements.txt, constrained by
   upper-constraints.txt, plus the project), on the host's rpmbuild.

It prints one line per run with the load average before it, the ratio
build-rpm / rpmvenv (target <= 0.35; also with the cold layer cache) and the
no-change time (target <= 2 s).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
RPMVENV_REQUIREMENTS = Path(__file__).with_name("requirements-rpmvenv.txt")
RPMVENV_VENV = Path(os.environ.get("PHOENIX_BENCH_RPMVENV", "/var/cache/phoenix/bench/rpmvenv"))


def rpmvenv_env() -> Path:
    """rpmvenv in a virtualenv of its own (see requirements-rpmvenv.txt); made once."""
    stamp = RPMVENV_VENV / ".requirements"
    want = RPMVENV_REQUIREMENTS.read_text()
    if stamp.is_file() and stamp.read_text() == want:
        return RPMVENV_VENV / "bin"
    shutil.rmtree(RPMVENV_VENV, ignore_errors=True)
    subprocess.run(["/usr/bin/python3", "-m", "venv", str(RPMVENV_VENV)], check=True)
    subprocess.run([str(RPMVENV_VENV / "bin/pip"), "install", "-q", "--disable-pip-version-check",
                    "-r", str(RPMVENV_REQUIREMENTS)], check=True)
    stamp.write_text(want)
    return RPMVENV_VENV / "bin"


def load() -> str:
    return "load " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def timed(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> float:
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}")
    return took


def clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(dest)], check=True)
    return dest


def rpmvenv_config(project: Path, version: str, where: Path, plan=None) -> Path:  # noqa: ANN001
    """The rpmvenv equivalent of the bundled package: same venv, same requirements.

    ``plan``: a corpus project's packaging plan (name, summary, license);
    apollo's values otherwise.
    """
    name = plan.name if plan else "apollo"
    summary = plan.summary if plan else "Apollo reference service built on the Phoenix framework"
    constraints = project / "upper-constraints.txt"
    cfg = {
        "extensions": {"enabled": ["python_venv", "blocks"]},
        "core": {
            "group": "Applications/System",
            "license": plan.license if plan else "Apache-2.0",
            "name": name,
            "summary": summary,
            "version": version,
            "release": "1",
            "url": (plan.url if plan else "") or "https://example.org/phoenix",
        },
        "python_venv": {
            "name": name,
            "path": "/usr/lib",
            "python": "python3",
            "requirements": ["requirements.txt"],
            "pip_flags": ["--disable-pip-version-check", "-q"]
            + (["-c", str(constraints)] if constraints.is_file() else []),
        },
        "blocks": {"desc": [summary + "."]},
    }
    path = where / "rpmvenv.json"
    path.write_text(json.dumps(cfg, indent=2))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each (the best is kept)")
    parser.add_argument("--corpus", metavar="DIST",
                        help="benchmark a corpus project (tests/corpus/corpus.py, e.g. openstack-heat) "
                        "instead of apollo; its no-change and empty-layer runs are skipped")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "tools" / "phoenix-rpm"))  # the toolkit
    from phoenix_rpm import generate

    work = Path(tempfile.mkdtemp(prefix="phoenix-bench-build-"))
    try:
        plan = None
        if args.corpus:
            sys.path.insert(0, str(REPO / "tests" / "corpus"))
            from corpus import CORPUS, checkout

            entry = next(e for e in CORPUS if e.dist == args.corpus)
            (work / "ours").mkdir()
            (work / "theirs").mkdir()
            os.environ.pop("PBR_VERSION", None)
            ours = checkout(entry, work / "ours")
            theirs = checkout(entry, work / "theirs")
            plan = generate.load_plan(ours)
        else:
            ours = clone(work / "apollo")
            theirs = clone(work / "apollo-rpmvenv")
        version = generate.load_plan(ours).version
        build_rpm = [str(REPO / "tools" / "build-rpm"), str(ours)]
        env = dict(os.environ)
        rv_bin = rpmvenv_env()
        # rpmvenv's spec runs virtualenv and venvctrl-relocate from PATH.
        rv_env = dict(env, PATH=f"{rv_bin}:/usr/sbin:/usr/bin:/sbin:/bin", PBR_VERSION=version)
        out = work / "rpmvenv-out"
        out.mkdir()
        cfg = rpmvenv_config(theirs, version, work, plan)
        rpmvenv = [str(rv_bin / "rpmvenv"), str(cfg), "--source", str(theirs), "--destination", str(out)]

        print(f"{plan.name if plan else 'apollo'} {version} at {subprocess.run(['git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}, "
              f"{os.cpu_count()} CPUs", flush=True)
        warm = timed(build_rpm, env=env)
        print(f"warm-up   tools/build-rpm (box root + wheel cache)  {warm:7.1f} s", flush=True)
        warm_rv = timed(rpmvenv, env=rv_env)
        print(f"warm-up   rpmvenv (pip cache)                        {warm_rv:7.1f} s", flush=True)

        full, nochange, cold, baseline = [], [], [], []
        for _ in range(args.runs):
            shutil.rmtree(ours / "dist")
            before = load()
            full.append(timed(build_rpm, env=env))
            print(f"timed     tools/build-rpm, dist/ removed              {full[-1]:7.1f} s  ({before})", flush=True)
            if not args.corpus:
                before = load()
                nochange.append(timed(build_rpm, env=env))
                print(f"timed     tools/build-rpm, no change                  {nochange[-1]:7.1f} s  ({before})",
                      flush=True)
                shutil.rmtree(ours / "dist")
                empty = Path(tempfile.mkdtemp(prefix="layers-", dir=work))
                before = load()
                cold.append(timed(build_rpm, env=dict(env, PHOENIX_VENV_CACHE=str(empty))))
                print(f"timed     tools/build-rpm, dist/ removed, empty venv layer cache "
                      f"{cold[-1]:7.1f} s  ({before})", flush=True)
            for rpm in out.glob("*.rpm"):
                rpm.unlink()
            before = load()
            baseline.append(timed(rpmvenv, env=rv_env))
            print(f"timed     rpmvenv                                     {baseline[-1]:7.1f} s  ({before})",
                  flush=True)
        ratio = min(full) / min(baseline)
        print(f"ratio     build-rpm / rpmvenv = {min(full):.1f} / {min(baseline):.1f} = {ratio:.2f} "
              f"(target <= 0.35: {'met' if ratio <= 0.35 else 'NOT met'})")
        if cold:
            print(f"ratio     with an empty venv layer cache = {min(cold):.1f} / {min(baseline):.1f} = "
                  f"{min(cold) / min(baseline):.2f}")
            print(f"no-change rebuild {min(nochange):.2f} s "
                  f"(target <= 2 s: {'met' if min(nochange) <= 2 else 'NOT met'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
