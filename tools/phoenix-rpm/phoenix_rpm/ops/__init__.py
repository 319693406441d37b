"""Run it like production: the ops scenarios of issue 7 (docs/reliability.md).

``tools/build-rpm --verify --ops`` calls :func:`run` while the verify box is
still up, after the testinfra suite passed: load with wrk on every port,
kill -9 of a worker and of the main process, systemctl restart and reload,
the broker restarted under casts and an rpc worker killed mid-call (only
for a project with a broker and bus requests in its profile: bus.py),
a table of hostile requests, least privilege and resources. The requests
come from the project's workload profile (profile.py, ``[phoenix:ops]
profile``), the generic default without one. Each scenario
logs one ``ops: ...`` line with its figures; any problem fails the run
(CheckFailed, exit 1) naming the scenario and the defect.

Public API::

    run(box, plan, report=None, *, seconds=None, out=None, profile=None) -> list[ScenarioResult]
    target_for(box, plan, load_seconds=60, profile=None) -> Target;  run_all(target) -> results
    load_profile(project_dir) -> Profile
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed, UserError
from phoenix_rpm.ops.profile import Profile
from phoenix_rpm.ops.profile import load as load_profile
from phoenix_rpm.ops.scenarios import SCENARIOS, ScenarioResult, Target, run_all, target_for

__all__ = ["SCENARIOS", "Profile", "ScenarioResult", "Target", "load_profile", "load_seconds", "run", "run_all",
           "target_for"]


def load_seconds() -> float:
    """Length of the main load: 60 s (issue 7), PHOENIX_OPS_LOAD_SECONDS to change it."""
    text = os.environ.get("PHOENIX_OPS_LOAD_SECONDS", "60")
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise UserError(f"PHOENIX_OPS_LOAD_SECONDS={text!r}: give a positive number of seconds")
    return value


def run(box: Any, plan: Any, report: Any = None, *, seconds: float | None = None,
        out: Path | None = None, profile: Profile | None = None) -> list[ScenarioResult]:
    """Run every scenario in the booted box; add failures to ``report.problems``.

    Without a report (tests, bench) a failure raises CheckFailed instead.
    ``out``: a JSON file that receives every figure (dist/ops-report.json).
    ``profile``: the project's workload (load_profile), None for the generic one.
    """
    with runner.stage("ops scenarios (load, faults, restart/reload, broker restart, rpc worker kill, malformed "
                      "message, bad input, least privilege, resources)"):
        target = target_for(box, plan, seconds if seconds is not None else load_seconds(), profile)
        results = run_all(target)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps([{"name": r.name, "line": r.line, "ok": r.ok, "skipped": r.skipped,
                                    "problems": r.problems, "figures": r.figures} for r in results],
                                  indent=2, default=str) + "\n")
    problems = [f"ops {p}" if not p.startswith("ops") else p for r in results for p in r.problems]
    if report is not None:
        report.problems.extend(problems)
    elif problems:
        raise CheckFailed(f"{len(problems)} ops problem(s):\n  " + "\n  ".join(problems))
    return results
