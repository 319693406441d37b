"""In the box: wait until every unit is active and every HTTP port answers.

Usage: python3 ready_probe.py PLAN_JSON TIMEOUT_SECONDS LISTEN_PY; exit 0 and
"ready", or exit 1 and "not ready: URL..." (the verify stage's wait_ready).
Any HTTP answer counts (the suite judges the status). A service without a
config file naming its ports (a discovered WSGI server) is found by the
sockets its unit listens on: LISTEN_PY (phoenix_rpm.boxprobes) prints them.
A unit that failed, or waits to be restarted after failing, ends the wait at
once: it will not become ready by waiting, and the suite then says why.
"""
from __future__ import annotations

import configparser
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any


def health_urls(plan: dict[str, Any]) -> tuple[list[str], dict[str, list[str]]]:
    """The first probe URL of every port named in a config file, and for the
    units without one (discovered), their probe paths."""
    urls: list[str] = []
    discover: dict[str, list[str]] = {}
    for h in plan["http"]:
        paths = [p["path"] for p in h.get("probes") or []] or [h.get("healthcheck", "/")]
        if not h.get("config_file"):
            discover[h["unit"]] = paths
            continue
        c = configparser.ConfigParser(interpolation=None, strict=False)
        c.read(h["config_file"])
        sec = c.defaults() if h["section"] == "DEFAULT" else c[h["section"]]
        host = sec.get(h["host_option"], "0.0.0.0").strip()
        host = "127.0.0.1" if host in ("", "0.0.0.0", "*") else ("[::1]" if host == "::" else host)
        for p in sec.get(h["port_option"], "").replace(",", " ").split():
            urls.append(f"http://{host}:{p}{paths[0]}")
    return urls, discover


def answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except urllib.error.HTTPError:
        return True   # an answer; the suite judges the status
    except Exception:
        return False


def unit_states(units: list[str]) -> list[dict[str, str]]:
    show = subprocess.run(["systemctl", "show", "-p", "ActiveState,SubState", *units],
                          capture_output=True, text=True).stdout.split("\n\n")
    return [dict(line.split("=", 1) for line in block.split() if "=" in line) for block in show if block.strip()]


def wait_ready(plan: dict[str, Any], timeout: float, listen_py: str) -> list[str]:
    """What still does not answer when the wait ended ([] = ready)."""
    deadline = time.monotonic() + timeout
    pending, discover = health_urls(plan)
    while time.monotonic() < deadline:
        states = unit_states(plan["units"])
        if any(st.get("ActiveState") in ("failed", "inactive") or st.get("SubState") == "auto-restart"
               for st in states):
            break
        for url in list(pending):
            if answers(url):
                pending.remove(url)
        if discover:
            found = json.loads(subprocess.run(["python3", "-c", listen_py, json.dumps(list(discover))],
                                              capture_output=True, text=True).stdout or "{}")
            for unit, addrs in found.items():
                if addrs and all(answers(f"http://127.0.0.1:{a[1]}{discover[unit][0]}") if a[0] in ("0.0.0.0", "::")
                                 else answers(f"http://{a[0]}:{a[1]}{discover[unit][0]}") for a in addrs):
                    discover.pop(unit)
        if not pending and not discover and all(st.get("ActiveState") == "active" for st in states):
            return []
        time.sleep(0.2)
    return pending + [f"{u} (no answering port)" for u in discover]


if __name__ == "__main__":
    still = wait_ready(json.loads(sys.argv[1]), float(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
    if not still:
        print("ready")
        sys.exit(0)
    print("not ready:", " ".join(still))
    sys.exit(1)
