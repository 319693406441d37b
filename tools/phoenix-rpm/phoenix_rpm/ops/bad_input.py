"""Scenario 6, bad input: the profile's table of hostile requests (badinput.py);
each must get its 4xx with a JSON error, no traceback, and the service keeps answering."""
from __future__ import annotations

import json
import uuid
from typing import Any

from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops import badinput
from phoenix_rpm.ops.target import ScenarioResult, Target


def judge_bad_input(f: dict[str, Any]) -> list[str]:
    problems = []
    for r in f["results"]:
        name, status, expect = r["name"], r.get("status"), r["expect"]
        body = r.get("body", "")
        if "error" in r:
            problems.append(f"bad input {name!r}: {r['error']}")
            continue
        if status is not None and status >= 500:
            problems.append(f"bad input {name!r}: {status} (a server error) instead of {expect}: {body[:160]}")
        elif status != expect:
            problems.append(f"bad input {name!r}: {status} instead of {expect}: {body[:160]}")
        if "Traceback" in body:
            problems.append(f"bad input {name!r}: the answer shows a traceback")
        if r.get("json_body", True):
            try:
                doc = json.loads(body)
                if not isinstance(doc, dict) or "error" not in doc:
                    raise ValueError("no 'error' key")
            except ValueError:
                problems.append(f"bad input {name!r}: the {status} answer is not a JSON error "
                                f"(Content-Type {r.get('headers', {}).get('content-type')}, body {body[:80]!r})")
    if f["not_answering"]:
        problems.append(f"bad input: the service stopped answering on port(s) {f['not_answering']}")
    if f["tracebacks"]:
        problems.append(f"bad input: {f['tracebacks']} traceback(s) in the journal of {f['unit']}: "
                        f"{f['traceback_sample']}")
    return problems


def bad_input(target: Target) -> ScenarioResult:
    since = target.sh("date +%s").strip()
    name = f"badinput-{uuid.uuid4().hex[:8]}"
    existing: dict[str, Any] = {}
    if target.profile.seeds:
        seeded = target.client("seed", {"count": 1, "prefix": name})
        if seeded["errors"] or not seeded["items"]:
            raise CheckFailed("bad input: creating the record the table refers to failed: "
                              + "; ".join(seeded["errors"][:3]))
        existing = seeded["items"][0]
    table = target.profile.bad_input(existing, badinput.Limits())
    answers = target.client("raw", {"port": target.ports[0], "cases": [c.to_json() for c in table]})
    results = [{**answer, "expect": case.expect, "json_body": case.json_body}
               for case, answer in zip(table, answers["results"])]
    not_answering = [p for p in target.ports
                     if not target.client("wait", {"port": p, "timeout": 5})["ok"]]
    journal = target.sh(f"journalctl -u {target.unit} --since @{since} --no-pager -o cat")
    tracebacks = journal.count("Traceback")
    sample = ""
    if tracebacks:
        at = journal.index("Traceback")
        sample = journal[at:at + 400].replace("\n", " | ")
    f = {"cases": len(results), "results": results, "not_answering": not_answering,
         "tracebacks": tracebacks, "traceback_sample": sample, "unit": target.unit}
    problems = judge_bad_input(f)
    right = sum(1 for r in results if r.get("status") == r["expect"])
    fives = sum(1 for r in results if (r.get("status") or 0) >= 500)
    by_code: dict[int, int] = {}
    for r in results:
        by_code[r.get("status") or 0] = by_code.get(r.get("status") or 0, 0) + 1
    codes = " ".join(f"{c}x{n}" for c, n in sorted(by_code.items()))
    line = (f"bad input: {len(results)} hostile requests, {right} got the right 4xx with a JSON error "
            f"({codes}), {fives} 5xx; still answering on {len(target.ports) - len(not_answering)}/"
            f"{len(target.ports)} ports; {tracebacks} tracebacks in the journal")
    return ScenarioResult("bad_input", line, f, problems)
