"""The generate stage's decisions, shown: what became a service and why, and the rest of the plan.

``tools/build-rpm --stage generate`` prints them as a short table;
``--format json`` prints the same data as JSON for scripts and CI
(docs/packaging.md "Decisions"). Everything here is read from the plan: no
decision is made in this module.
"""
from __future__ import annotations

import json
from typing import Any

from phoenix_rpm import broker
from phoenix_rpm.plan import SpecPlan
from phoenix_rpm.sources import BOX_PYTHON as BOX_PYTHON_ABI


def as_data(plan: SpecPlan) -> dict[str, Any]:
    """The plan's decisions as plain JSON-able data."""
    entries: list[dict[str, Any]] = []
    for s in plan.services:
        entries.append({
            "entry_point": s.entry_point if s.uwsgi else s.name, "target": s.entry_point,
            "decision": "service", "reason": s.reason, "unit": s.unit, "server": s.server or "its own",
            "exec_start": s.exec_start, "bind": s.bind or None, "bind_source": s.bind_source or None,
            "uwsgi_ini": s.uwsgi_ini,
        })
    for t in plan.tools:
        entries.append({"entry_point": t.name, "target": t.entry_point, "decision": "tool", "reason": t.reason,
                        "unit": None, "server": None})
    configs: list[dict[str, str]] = [{"path": f.dest, "source": f.origin or f"shipped ({f.source})"}
                                     for f in plan.files if f.config]
    configs += [{"path": g.dest, "source": f"generated in %install: {g.generator.reason}"}
                for g in plan.generated_config]
    configs += [{"path": str(s.uwsgi_ini), "source": f"generated uWSGI ini of {s.unit}"}
                for s in plan.uwsgi_apps]
    return {
        "name": plan.name,
        "version": plan.version,
        "inputs": plan.merged_from or plan.config_file.name,
        "install_mode": plan.install_mode,
        "venv_dir": plan.venv_dir,
        "python": "python(abi) = " + (BOX_PYTHON_ABI if plan.bundled else "any python3"),
        "user": plan.user,
        "group": plan.group,
        "config_dir": f"/etc/{plan.conf_name}" if plan.conf_name else None,
        "config_dir_reason": plan.conf_reason,
        "main_config": plan.main_config,
        "config_drop_in_dir": plan.conf_d,
        "entry_points": entries,
        "config_files": configs,
        "left_out": list(plan.left_out),
        # the shipped config's transport_url: do the units order after a local broker (broker.py)
        "message_broker": broker.describe(plan),
    }


def as_json(plan: SpecPlan) -> str:
    return json.dumps(as_data(plan), indent=2, sort_keys=False) + "\n"


def as_table(plan: SpecPlan) -> str:
    data = as_data(plan)
    rows = [("ENTRY POINT", "DECISION", "UNIT / SERVER", "WHY")]
    for e in data["entry_points"]:
        unit = f"{e['unit']} / {e['server']}" + (f" on {e['bind']}" if e.get("bind") else "") if e["unit"] else "-"
        rows.append((e["entry_point"], e["decision"], unit, e["reason"]))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{data['name']} {data['version']}: from {data['inputs']}; install mode {data['install_mode']}"
             + (f" ({data['venv_dir']})" if data["venv_dir"] else "") + f", {data['python']}"
             + (f", user {data['user']}:{data['group']}" if data["user"] else "")]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r[:3], widths)) + "  " + r[3])
    if data["config_dir"] and data["config_dir_reason"]:
        lines.append(f"  config folder {data['config_dir']}: {data['config_dir_reason']}")
    for why in data["left_out"]:
        lines.append(f"  left out: {why}")
    if data["config_files"]:
        lines.append("  config (%config(noreplace)):"
                     + (f" drop-ins in {data['config_drop_in_dir']}" if data["config_drop_in_dir"] else ""))
        for c in data["config_files"]:
            lines.append(f"    {c['path']}  <- {c['source']}")
    mq = data["message_broker"]
    if mq:
        where = f"{mq['scheme']} on {', '.join(mq['hosts']) or 'no host'} ({mq['source']} transport_url)"
        lines.append(f"  message broker: {where}: " + (
            f"units After=/Wants={mq['units_after']} (local)" if mq["units_after"] else
            "units order after network-online.target only (" + ("no unit known for this scheme)" if mq["local"]
                                                                 else "not on this machine)")))
    for e in data["entry_points"]:
        if e.get("bind_source"):
            lines.append(f"  {e['unit']} listens on {e['bind']} ({e['bind_source']})")
    return "\n".join(lines) + "\n"
