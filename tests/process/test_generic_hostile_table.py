"""The ops scenarios' generic hostile requests (phoenix_rpm.ops.badinput.generic_cases,
what a project without an ops profile is probed with) against a real apollo-api
on loopback: every case gets its 4xx with a JSON error, so the generic default
holds for a phoenix service and would not fail a correct one.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "phoenix-rpm"))  # stdlib-only modules of the toolkit

from phoenix_rpm.ops import badinput, client  # noqa: E402


def test_generic_hostile_requests_get_their_4xx_from_a_real_apollo(start):
    api = start()
    table = badinput.generic_cases("/healthcheck")
    answers = client.raw({"host": "127.0.0.1", "port": api.ports[0], "cases": [c.to_json() for c in table]})
    wrong = []
    for case, answer in zip(table, answers["results"]):
        body = answer.get("body", "")
        try:
            is_json_error = "error" in json.loads(body)
        except ValueError:
            is_json_error = False
        if answer.get("status") != case.expect or (case.json_body and not is_json_error):
            wrong.append(f"{case.name}: {answer.get('status')} (expected {case.expect}) {body[:120]!r}")
    assert wrong == [], "\n".join(wrong)
    assert api.stop() == 0


def test_generic_steady_load_gets_only_2xx_from_a_real_apollo(start):
    """The restart scenario's load without a profile: GETs of the health check."""
    api = start()
    figures = client.steady({"host": "127.0.0.1", "ports": api.ports, "threads": 4, "duration": 1.0,
                             "health": "/healthcheck"})
    assert figures["ok"] > 0 and figures["failed"] == 0, figures
    assert api.stop() == 0
