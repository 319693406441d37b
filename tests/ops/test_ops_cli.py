"""``tools/build-rpm --verify --ops``: the path a user and CI take.

The same scenarios as test_scenarios.py, run by the CLI after the testinfra
suite in the verify box, with a short load (PHOENIX_OPS_LOAD_SECONDS=10: the
60 s load runs in test_scenarios.py). Checks what a user reads: exit 0, one
``ops:`` line per scenario, and dist/ops-report.json with every figure.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from phoenix_rpm.ops import SCENARIOS

BUILD_RPM = Path(__file__).resolve().parents[2] / "tools" / "build-rpm"


def test_build_rpm_verify_ops_runs_every_scenario_and_writes_the_report(ops_variant):
    env = {**ops_variant.env, "PHOENIX_OPS_LOAD_SECONDS": "10"}
    proc = subprocess.run([str(BUILD_RPM), "--verify", "--ops", str(ops_variant.project)],
                          env=env, text=True, capture_output=True, timeout=1800)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    lines = [line for line in output.splitlines() if line.startswith("ops: ")]
    assert len(lines) == len(SCENARIOS), lines
    assert any(line.startswith("ops: load 10s 64c ports 8780,8781: ") for line in lines), lines
    report = json.loads((ops_variant.dist / "ops-report.json").read_text())
    assert [r["name"] for r in report] == [s.__name__ for s in SCENARIOS]
    assert all(r["ok"] and not r["problems"] for r in report), [r["problems"] for r in report]
    # apollo's verify profile starts RabbitMQ and its ops profile casts and calls:
    # the bus scenarios ran, none was skipped
    assert [r["name"] for r in report if r["skipped"]] == [], [r["line"] for r in report if r["skipped"]]
    bus = {r["name"]: r["figures"] for r in report}
    assert bus["broker_restart"]["lost"] == 0 and bus["broker_restart"]["accepted"] > 0
    assert bus["rpc_worker_kill"]["calls_hang"] == 0 and bus["malformed_message"]["queue_messages"] == 0


@pytest.mark.unit
def test_ops_with_the_vagrant_box_is_refused_before_anything_is_built(tmp_path):
    """The scenarios need the nspawn box's network namespace: say so at once
    (exit 2, one line), not after a build and a VM boot."""
    proc = subprocess.run([str(BUILD_RPM), "--verify", "--ops", "--box", "vagrant", str(tmp_path)],
                          text=True, capture_output=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--ops needs the nspawn box" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "==> build" not in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []
