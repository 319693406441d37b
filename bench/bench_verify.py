#!/usr/bin/env python3
"""Time each phase of the verify stage (boot, install, service ready, testinfra).

Usage (from the repository root, box root already cached = "warm"):

    .venv/bin/python bench/bench_verify.py [--rounds 5] [PROJECT_DIR]

PROJECT_DIR defaults to the repository root; its newest RPMs in dist/ are
verified (run ``tools/build-rpm`` first, or pass ``--build`` to build them).
Each round is a full ``verify_rpm``: a fresh box booted, ``rpm -ivh``,
``systemctl enable --now``, the testinfra suite over ssh, teardown. Prints a
markdown table for docs/benchmarks.md ("## Verify (issue 5)").
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "phoenix-rpm"))  # the toolkit

from phoenix_rpm import verify  # noqa: E402
from phoenix_rpm.verify_plan import build_verify_plan  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project_dir", nargs="?", default=str(ROOT))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", action="store_true", help="build the project first (tools/build-rpm's build stage)")
    parser.add_argument("--keep-going", action="store_true",
                        help="time a failing verification too (a project verified without the backing "
                             "servers its services need: docs/benchmarks.md)")
    args = parser.parse_args(argv)
    project = Path(args.project_dir).resolve()

    if args.build:
        from phoenix_rpm.build import build

        rpms = build(project, box="nspawn").rpms
    else:
        rpms = verify.newest_rpms(project / "dist")
    from phoenix_rpm import verify_profile
    from phoenix_rpm.box import ensure_root

    profile = verify_profile.load(project)   # [phoenix:verify]: backing servers, setup, checks
    ensure_root(extra=profile.packages)  # warm: the cache exists before the first timed round
    plan_model = verify.load_plan(project)
    rpm = verify.main_rpm(rpms, plan_model.name)
    plan = build_verify_plan(plan_model, rpm, profile)
    rows: dict[str, list[float]] = {k: [] for k in ("boot", "backing", "install", "setup", "ready", "testinfra",
                                                     "teardown", "total", "wall")}
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        plan_json = plan.write(Path(tmp) / "verify-plan.json")
        for i in range(args.rounds):
            started = time.monotonic()
            report = verify.verify_rpm(rpm, plan, plan_json, Path(tmp) / "junit.xml", profile=profile)
            wall = time.monotonic() - started
            if not report.ok:
                print(verify.format_report(report), file=sys.stderr)
                if not args.keep_going:
                    return 1
            t = report.timings
            for key, value in (("boot", t.boot), ("backing", t.backing), ("install", t.install),
                               ("setup", t.setup), ("ready", t.ready),
                               ("testinfra", t.testinfra), ("teardown", t.teardown), ("total", t.total),
                               ("wall", wall)):
                rows[key].append(value)
            print(f"round {i + 1}: boot {t.boot:.1f} s, backing {t.backing:.1f} s, install {t.install:.1f} s, "
                  f"setup {t.setup:.1f} s, ready {t.ready:.1f} s, "
                  f"testinfra {t.testinfra:.1f} s, teardown {t.teardown:.1f} s, wall {wall:.1f} s ({report.suite.passed if report.suite else 0} checks passed)",
                  file=sys.stderr)
    labels = {
        "boot": "boot a fresh box (overlay, netns, nspawn --boot, ssh)",
        "backing": "backing servers: start, create database/user/vhost (profile `needs`)",
        "install": "copy in + `rpm -ivh`",
        "setup": "drop-in + setup commands as the service user (profile `setup`)",
        "ready": "`systemctl enable --now` + every WSGI port answers",
        "testinfra": "testinfra suite over ssh",
        "teardown": "box teardown (kill, unmount, remove the overlay)",
        "total": "sum of the phases",
        "wall": "wall time of verify_rpm",
    }
    print(f"\n{rpm.nvr}, {args.rounds} rounds, {len(plan.units)} units, {len(plan.config_files)} config files\n")
    print(f"| phase ({args.rounds} rounds) | median | max |")
    print("|---|---|---|")
    for key, values in rows.items():
        print(f"| {labels[key]} | {statistics.median(values):.1f} s | {max(values):.1f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
