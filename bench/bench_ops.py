#!/usr/bin/env python3
"""Load figures of the installed service: the ops load scenario, repeated.

Usage (from the repository root, after ``tools/build-rpm``):

    .venv/bin/python bench/bench_ops.py [--seconds 60] [--rounds 3] [PROJECT_DIR]

Boots one fresh box, installs the newest RPM of PROJECT_DIR/dist with
``rpm -ivh``, ``systemctl enable --now``, then runs the load scenario of
``tools/build-rpm --verify --ops`` (wrk, 64 connections over every port, 70%
GET item / 10% POST / 10% PATCH / 10% list) ``--rounds`` times and prints
one ``ops: load ...`` line per round, the median line, and the memory of
the units after the last round. Figures for docs/benchmarks.md
("## Load in the booted box (issue 7)").
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "phoenix-rpm"))  # the toolkit

from phoenix_rpm import verify  # noqa: E402
from phoenix_rpm.ops import scenarios  # noqa: E402
from phoenix_rpm.ops.profile import load as load_profile  # noqa: E402
from phoenix_rpm.verify_plan import build_verify_plan  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project_dir", nargs="?", default=str(ROOT))
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    project = Path(args.project_dir).resolve()
    plan_model = verify.load_plan(project)
    rpm = verify.main_rpm(verify.newest_rpms(project / "dist"), getattr(plan_model, "name", None))
    plan = build_verify_plan(plan_model, rpm)

    from phoenix_rpm.box import booted, ensure_root

    with booted(ensure_root()) as box:
        verify.install_rpm(box, rpm.path)
        complaint = verify.enable_now(box, plan.units)
        if complaint or not verify.wait_ready(box, plan):
            print(f"the service did not start: {complaint}", file=sys.stderr)
            return 1
        profile = load_profile(project, plan.http[0].healthcheck if plan.http else "/healthcheck")
        target = scenarios.target_for(box, plan, args.seconds, profile)
        results = []
        for n in range(args.rounds):
            result = scenarios.load(target)
            print(f"round {n + 1}: ops: {result.line}", flush=True)
            if result.problems:
                print("  problems: " + "; ".join(result.problems), flush=True)
            results.append(result.figures)
        rps = statistics.median(r["rps"] for r in results)
        p50 = statistics.median(r["p50_ms"] for r in results)
        p99 = statistics.median(r["p99_ms"] for r in results)
        print(f"median of {args.rounds}: {rps:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"({rpm.path.name}, {args.seconds:.0f} s, {scenarios.CONNECTIONS} connections, ports "
              f"{','.join(map(str, target.ports))})")
        for unit, mem in target.memory_after_load.items():
            print(f"memory after the last round: {unit}: {mem['processes']} processes, RSS {mem['rss_mib']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
