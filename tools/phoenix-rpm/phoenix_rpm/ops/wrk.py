"""The load generator of the ops scenarios: wrk, one process per port.

wrk runs on the host in the box's peer network namespace, with the project's
Lua script (its ``request()``, phoenix_rpm.ops.profile) followed by the
toolkit's report.lua, whose ``done()`` prints one ``WRKJSON {...}`` line of
figures that :func:`collect_wrk` parses.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops.target import Target

HERE = Path(__file__).resolve().parent
REPORT_LUA = HERE / "report.lua"

CONNECTIONS = 64          # load connections, spread over the ports
SEED_ITEMS = 50           # records the load reads and updates (profiles that seed)


def script_for(request_script: Path) -> Path:
    """The project's request script with report.lua appended, as one file for ``wrk -s``.

    Named by its content under the temporary folder, so concurrent runs share
    it and a changed script never reuses a stale copy.
    """
    text = request_script.read_text(encoding="utf-8").rstrip() + "\n\n" + REPORT_LUA.read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"phoenix-ops-wrk-{digest}.lua"
    if not path.is_file():
        scratch = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)
    return path


_WRK_LINE = re.compile(r"^WRKJSON (\{.*\})$", re.M)


@contextlib.contextmanager
def run_wrk(target: Target, seconds: float, connections: int = CONNECTIONS) -> Iterator[list[subprocess.Popen[str]]]:
    """Start one wrk per port (connections split between them), mixing reads
    and writes; a wrk still running when the block ends is stopped."""
    if not target.seeded:
        seeded = target.client("seed", {"count": SEED_ITEMS if target.profile.seeds else 0,
                                        "prefix": f"ops-{uuid.uuid4().hex[:8]}"})
        if seeded["errors"]:
            raise CheckFailed("seeding items for the load failed: " + "; ".join(seeded["errors"][:3]))
        target.seeded = seeded["items"]
    # The script's arguments: a run token, then the seeded ids (a profile
    # that seeds nothing: the health check path, for generic.lua).
    ids = [item["id"] for item in target.seeded] if target.profile.seeds else [target.profile.health]
    script = script_for(target.profile.wrk_script)
    per_port = max(1, connections // len(target.ports))
    with contextlib.ExitStack() as running:
        procs = []
        for port in target.ports:
            token = f"{uuid.uuid4().hex[:8]}p{port}"
            argv = target.box.host_argv(["wrk", "-t1", f"-c{per_port}", f"-d{int(seconds)}s", "--timeout", "10s",
                                         "-s", str(script), f"http://{target.host}:{port}", "--", token, *ids])
            procs.append(running.enter_context(runner.spawn(argv)))
        yield procs


def collect_wrk(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, Any]]:
    results = []
    for proc in procs:
        out, err = runner.finish(proc, timeout=timeout, check=False)
        match = _WRK_LINE.search(out)
        if proc.returncode != 0 or not match:
            raise CheckFailed(f"wrk failed (exit {proc.returncode}): {(out + err).strip()[-2000:]}")
        results.append(json.loads(match.group(1)))
    return results


def merge_wrk(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over the per-port wrk runs; latency percentiles are the worst port's."""
    seconds = max(r["duration_us"] for r in runs) / 1e6
    requests = sum(r["requests"] for r in runs)
    return {
        "requests": requests, "seconds": round(seconds, 1),
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": round(max(r["p50_us"] for r in runs) / 1000, 2),
        "p90_ms": round(max(r["p90_us"] for r in runs) / 1000, 2),
        "p99_ms": round(max(r["p99_us"] for r in runs) / 1000, 2),
        "max_ms": round(max(r["max_us"] for r in runs) / 1000, 2),
        "errors": sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in runs),
        "non_2xx": sum(r["status"] for r in runs),
        "per_port": runs,
    }
