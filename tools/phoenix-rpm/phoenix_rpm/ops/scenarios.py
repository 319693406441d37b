"""The ops scenarios (issue 7): load, faults, restart/reload, bad input,
least privilege and resources, run against the RPM installed and started in
a booted box.

Each scenario *measures* (through the box: ``box.exec`` as root inside it,
``box.host_argv`` for clients in its peer network namespace) and then hands
its figures to a pure ``judge_*`` function that returns the problems. The
split is what makes the negative tests cheap: feed a judge the figures of a
broken service (no respawn, a 500, a dropped request) and it must name the
defect, without booting anything.
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed
from phoenix_rpm.ops import badinput

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "client.py"
MIX_LUA = HERE / "mix.lua"

CONNECTIONS = 64          # load connections, spread over the ports
RESPAWN_LIMIT = 1.0       # seconds for the parent to replace a killed worker
RESTART_LIMIT = 5.0       # seconds from kill -9 of the main process to answering again
RELOAD_LIMIT = 10.0       # seconds for a reload to show in the API
SEED_ITEMS = 50


@dataclasses.dataclass
class ScenarioResult:
    """One scenario's outcome: its one-line summary, figures and problems."""

    name: str
    line: str
    figures: dict[str, Any]
    problems: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclasses.dataclass
class Target:
    """The running service in the box, as the scenarios see it."""

    box: Any
    unit: str                 # the HTTP unit (apollo-api.service)
    units: list[str]          # every unit the package ships
    user: str
    group: str
    package: str
    config_file: str
    config_files: list[str]
    state_dirs: list[str]
    max_exposure: float
    ports: list[int] = dataclasses.field(default_factory=list)
    load_seconds: float = 60.0
    seeded: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    memory_after_load: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.box.address

    # -- in the box ----------------------------------------------------------
    def sh(self, script: str, *, check: bool = True, timeout: float = 120) -> str:
        proc = self.box.exec(["sh", "-c", script], check=False, timeout=timeout)
        if check and proc.returncode != 0:
            raise CheckFailed(f"in the box: {script!r} failed (exit {proc.returncode}): "
                              f"{((proc.stderr or '') + (proc.stdout or '')).strip()[-2000:]}")
        return proc.stdout or ""

    def py(self, code: str, *args: str, timeout: float = 60) -> Any:
        """Run a python3 snippet in the box (as root); it prints one JSON value."""
        proc = self.box.exec(["python3", "-c", code, *args], check=False, timeout=timeout)
        if proc.returncode != 0:
            raise CheckFailed(f"in the box: python snippet failed (exit {proc.returncode}): "
                              f"{(proc.stderr or '').strip()[-2000:]}")
        return json.loads(proc.stdout)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.sh(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def main_pid(self) -> int:
        return int(self.show(self.unit, "MainPID")["MainPID"])

    # -- from the host, in the box's peer namespace ----------------------------
    def client_argv(self, mode: str) -> list[str]:
        return self.box.host_argv([sys.executable, str(CLIENT), mode, "-"])

    def client(self, mode: str, args: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
        argv = self.client_argv(mode)
        proc = subprocess.run(argv, input=json.dumps({"host": self.host, "ports": self.ports, **args}),
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise CheckFailed(f"ops client {mode} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return json.loads(proc.stdout)


_PORTS = r"""
import configparser, json, sys
c = configparser.ConfigParser(interpolation=None, strict=False)
c.read(sys.argv[1])
sec = c.defaults() if sys.argv[2] == "DEFAULT" else c[sys.argv[2]]
print(json.dumps([int(p) for p in sec.get(sys.argv[3], "").replace(",", " ").split()]))
"""


def target_for(box: Any, plan: Any, load_seconds: float = 60.0) -> Target:
    """A Target from the verify plan (its HTTP check names unit, config and port option)."""
    # Only a phoenix service names its ports in its config (a discovered
    # WSGI server has no config_file): the scenarios edit and restart them.
    http = next((h for h in plan.http if h.config_file), None)
    if http is None:
        raise CheckFailed(f"{plan.package}: no HTTP service in the verify plan; the ops "
                          "scenarios need a phoenix wsgi service")
    target = Target(box=box, unit=http.unit, units=list(plan.units), user=plan.user, group=plan.group,
                    package=plan.package, config_file=http.config_file,
                    config_files=list(plan.config_files), state_dirs=list(plan.state_dirs),
                    max_exposure=plan.max_exposure, load_seconds=load_seconds)
    target.ports = target.py(_PORTS, http.config_file, http.section, http.port_option)
    if not target.ports:
        raise CheckFailed(f"{http.config_file}: no [{http.section}] {http.port_option} in the box")
    return target


# -- 1. load ------------------------------------------------------------------------

_WRK_LINE = re.compile(r"^WRKJSON (\{.*\})$", re.M)


def run_wrk(target: Target, seconds: float, connections: int = CONNECTIONS) -> list[subprocess.Popen[str]]:
    """Start one wrk per port (connections split between them), mixing reads and writes."""
    if not target.seeded:
        seeded = target.client("seed", {"count": SEED_ITEMS, "prefix": f"ops-{uuid.uuid4().hex[:8]}"})
        if seeded["errors"]:
            raise CheckFailed("seeding items for the load failed: " + "; ".join(seeded["errors"][:3]))
        target.seeded = seeded["items"]
    ids = [item["id"] for item in target.seeded]
    per_port = max(1, connections // len(target.ports))
    procs = []
    for port in target.ports:
        token = f"{uuid.uuid4().hex[:8]}p{port}"
        argv = target.box.host_argv(["wrk", "-t1", f"-c{per_port}", f"-d{int(seconds)}s", "--timeout", "10s",
                                     "-s", str(MIX_LUA), f"http://{target.host}:{port}", "--", token, *ids])
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def collect_wrk(procs: list[subprocess.Popen[str]], timeout: float) -> list[dict[str, Any]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
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


def judge_load(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["requests"] == 0:
        problems.append("load: no request completed")
    if f["errors"]:
        problems.append(f"load: {f['errors']} failed requests (socket errors or timeouts); expected 0")
    if f["non_2xx"]:
        problems.append(f"load: {f['non_2xx']} non-2xx answers to valid requests; expected 0")
    return problems


def load(target: Target) -> ScenarioResult:
    procs = run_wrk(target, target.load_seconds)
    f = merge_wrk(collect_wrk(procs, timeout=target.load_seconds + 60))
    f["connections"] = CONNECTIONS
    f["ports"] = target.ports
    target.memory_after_load = memory(target)
    line = (f"load {f['seconds']:.0f}s {CONNECTIONS}c ports {','.join(map(str, target.ports))}: "
            f"{f['rps']:.0f} req/s p50 {f['p50_ms']:.1f} ms p99 {f['p99_ms']:.1f} ms, "
            f"{f['errors']} errors, {f['non_2xx']} non-2xx ({f['requests']} requests, 70% GET item, "
            f"10% POST, 10% PATCH, 10% list)")
    return ScenarioResult("load", line, f, judge_load(f))


# -- 2. worker death ------------------------------------------------------------------

_KILL_WORKER = r"""
import json, os, re, subprocess, sys, time
main = int(sys.argv[1]); ports = sys.argv[2].split(",")
def kids():
    # Every process whose parent is main (not /proc/<main>/task/<main>/children:
    # that lists only the children forked by the main *thread*).
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == main and fields[0] != "Z":
                found.add(int(entry))
    return found
before = kids()
flt = " or ".join(f"sport = :{p}" for p in ports)
ss = subprocess.run(["ss", "-Htnp", "state", "established", f"( {flt} )"], capture_output=True, text=True).stdout
held_by = {pid: sum(1 for l in ss.splitlines() if f"pid={pid}," in l) for pid in before}
# The busiest worker: killing one that holds no connection would prove little.
victim = max(sorted(before), key=lambda pid: held_by[pid])
held = held_by[victim]
started = time.monotonic()
os.kill(victim, 9)
new, delay = set(), None
while time.monotonic() - started < 5:
    new = kids() - before
    if new:
        delay = time.monotonic() - started
        break
    time.sleep(0.002)
def proc_state(pid):
    out = {}
    for name in ("wchan", "syscall"):
        try:
            out[name] = open(f"/proc/{pid}/{name}").read().strip()[:80]
        except OSError as exc:
            out[name] = str(exc)
    return out
stuck = {pid: proc_state(pid) for pid in sorted(kids() | {main})} if delay is None else {}
tree = subprocess.run(["ps", "-o", "pid,ppid,stat,etimes,args", "--ppid", str(main), "-p", str(main)],
                      capture_output=True, text=True).stdout
print(json.dumps({"main": main, "victim": victim, "workers_before": sorted(before), "held_by": held_by, "tree": tree, "stuck": stuck,
                  "connections_held": held, "new_workers": sorted(new), "respawn_s": delay,
                  "main_alive": os.path.exists(f"/proc/{main}")}))
"""


def judge_worker_death(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["respawn_s"] is None:
        problems.append(f"worker death: no new worker within 5 s after kill -9 of worker {f['victim']} "
                        f"(main process {f['main']}): the parent does not respawn workers; processes: "
                        + " | ".join(line.strip() for line in f.get("tree", "").splitlines())
                        + f"; kernel state (wchan, syscall): {f.get('stuck')}")
    elif f["respawn_s"] > RESPAWN_LIMIT:
        problems.append(f"worker death: the new worker came after {f['respawn_s']:.2f} s; "
                        f"the limit is {RESPAWN_LIMIT:.0f} s")
    if not f["main_alive"]:
        problems.append("worker death: the main process died with its worker")
    if f["failed"] > f["connections_held"]:
        problems.append(f"worker death: {f['failed']} requests failed but only {f['connections_held']} "
                        "were in flight on the killed worker")
    return problems


def worker_death(target: Target, seconds: float = 12.0, kill_after: float = 4.0) -> ScenarioResult:
    procs = run_wrk(target, seconds)
    time.sleep(kill_after)
    f = target.py(_KILL_WORKER, str(target.main_pid()), ",".join(map(str, target.ports)))
    load_f = merge_wrk(collect_wrk(procs, timeout=seconds + 60))
    f["failed"] = load_f["errors"] + load_f["non_2xx"]
    f["requests"] = load_f["requests"]
    respawn = "never" if f["respawn_s"] is None else f"in {f['respawn_s'] * 1000:.0f} ms"
    line = (f"worker death: kill -9 of worker {f['victim']} under load ({f['connections_held']} connections "
            f"on it): respawned {respawn}; {f['failed']} failed requests of {f['requests']} "
            f"(bound: {f['connections_held']} in flight)")
    return ScenarioResult("worker_death", line, f, judge_worker_death(f))


# -- 3. main process crash ---------------------------------------------------------------

def judge_main_crash(f: dict[str, Any]) -> list[str]:
    problems = []
    if not f["answered"]:
        problems.append(f"main crash: the service did not answer within {f['waited_s']:.0f} s after kill -9 "
                        f"of its main process (last: {f.get('last', '?')})")
    elif f["back_s"] > RESTART_LIMIT:
        problems.append(f"main crash: answering again took {f['back_s']:.1f} s; the limit is "
                        f"{RESTART_LIMIT:.0f} s (RestartSec= of the unit?)")
    if f["answered"] and f["new_pid"] == f["old_pid"]:
        problems.append("main crash: MainPID did not change: systemd did not restart the service")
    if f["missing"] or f["changed"]:
        problems.append(f"main crash: data written before the crash lost: {len(f['missing'])} items missing, "
                        f"{len(f['changed'])} changed of {f['written']}")
    return problems


def main_crash(target: Target, items: int = 20) -> ScenarioResult:
    seeded = target.client("seed", {"count": items, "prefix": f"crash-{uuid.uuid4().hex[:8]}"})
    if seeded["errors"]:
        raise CheckFailed("main crash: writing items before the crash failed: " + "; ".join(seeded["errors"][:3]))
    before = target.show(target.unit, "MainPID", "NRestarts")
    started = time.monotonic()
    target.sh(f"kill -9 {before['MainPID']}")
    # The killed parent's workers can answer for a moment until systemd stops
    # the old cgroup: wait for the *new* main process to be up (Type=notify:
    # active means READY=1, all listeners open) before probing the port.
    deadline = started + 30
    while time.monotonic() < deadline:
        now = target.show(target.unit, "MainPID", "ActiveState")
        if now["MainPID"] not in ("0", before["MainPID"]) and now["ActiveState"] == "active":
            break
        time.sleep(0.1)
    waited = target.client("wait", {"port": target.ports[0], "timeout": max(1.0, deadline - time.monotonic())})
    back = time.monotonic() - started
    after = target.show(target.unit, "MainPID", "NRestarts", "ActiveState")
    checked = target.client("check", {"items": seeded["items"]}) if waited["ok"] else \
        {"missing": [], "changed": []}
    f = {"old_pid": int(before["MainPID"]), "new_pid": int(after["MainPID"]),
         "restarts": int(after.get("NRestarts", 0)) - int(before.get("NRestarts", 0)),
         "answered": waited["ok"], "back_s": round(back, 2), "waited_s": waited["seconds"],
         "last": waited.get("last"), "written": len(seeded["items"]),
         "missing": checked["missing"], "changed": checked["changed"]}
    line = (f"main crash: kill -9 of main pid {f['old_pid']}: systemd restarted it (NRestarts +{f['restarts']}, "
            f"new pid {f['new_pid']}), answering again after {f['back_s']:.1f} s; "
            f"{f['written'] - len(f['missing']) - len(f['changed'])}/{f['written']} items written before "
            "the crash read back intact")
    return ScenarioResult("main_crash", line, f, judge_main_crash(f))


# -- 4. graceful restart and reload ------------------------------------------------------------

def judge_restart(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["failed"]:
        problems.append(f"restart: {f['failed']} accepted requests failed during systemctl restart "
                        f"(expected 0; e.g. {'; '.join(f['samples'][:3])})")
    if not f["ok"]:
        problems.append("restart: no request succeeded during the restart run")
    if f["active"] != "active":
        problems.append(f"restart: the unit is {f['active']} after systemctl restart")
    if f.get("fd_store_max", 0) > 0 and f.get("refused_retries", 0) > 0:
        problems.append(f"restart: {f['refused_retries']} connections refused although the unit keeps its "
                        f"listening sockets in systemd's fd store (FileDescriptorStoreMax="
                        f"{f['fd_store_max']}): the service did not hand its sockets over (FDSTORE=1)")
    return problems


def restart(target: Target, seconds: float = 10.0, restart_after: float = 3.0) -> ScenarioResult:
    args = {"host": target.host, "ports": target.ports, "threads": 16, "duration": seconds}
    argv = target.box.host_argv([sys.executable, str(CLIENT), "steady", json.dumps(args)])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(restart_after)
    old_pid = target.main_pid()
    started = time.monotonic()
    target.sh(f"systemctl restart {target.unit}", timeout=120)
    took = time.monotonic() - started
    out, err = proc.communicate(timeout=seconds + 90)
    if proc.returncode != 0:
        raise CheckFailed(f"restart: the ops client failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    f = json.loads(out)
    shown = target.show(target.unit, "ActiveState", "FileDescriptorStoreMax")
    f.update({"old_pid": old_pid, "new_pid": target.main_pid(), "restart_s": round(took, 2),
              "active": shown["ActiveState"],
              "fd_store_max": int(shown.get("FileDescriptorStoreMax") or 0)})
    line = (f"restart: systemctl restart under load took {f['restart_s']:.1f} s (pid {f['old_pid']} -> "
            f"{f['new_pid']}): {f['failed']} failed of {f['ok'] + f['failed']} requests, "
            f"{f['refused_retries']} connection refusals retried, slowest answer {f['max_ms'] / 1000:.1f} s")
    return ScenarioResult("restart", line, f, judge_restart(f))


def judge_reload(f: dict[str, Any]) -> list[str]:
    problems = []
    if f["new_pid"] != f["old_pid"]:
        problems.append(f"reload: MainPID changed {f['old_pid']} -> {f['new_pid']}: "
                        "systemctl reload restarted the service instead of reloading it")
    if f["applied_s"] is None:
        problems.append(f"reload: the changed option ({f['option']}) did not show in the API "
                        f"within {RELOAD_LIMIT:.0f} s (last answer: {f.get('last', '')[:200]})")
    if f.get("restored_s") is None:
        problems.append("reload: restoring the original configuration did not show in the API")
    return problems


def _reload_until(target: Target, predicate: Callable[[str], bool]) -> tuple[float | None, str]:
    target.sh(f"systemctl reload {target.unit}", timeout=60)
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < RELOAD_LIMIT:
        answer = target.client("get", {"port": target.ports[0], "path": "/"})
        last = answer["body"]
        if answer["status"] == 200 and predicate(last):
            return time.monotonic() - started, last
        time.sleep(0.1)
    return None, last


def reload(target: Target) -> ScenarioResult:
    """Change [DEFAULT] public_endpoint (it shows in GET / links), reload, check, restore."""
    endpoint = f"http://reload-{uuid.uuid4().hex[:8]}.invalid:{target.ports[0]}"
    conf = target.config_file
    old_pid = target.main_pid()
    target.sh(f"cp -p {conf} {conf}.ops-orig && "
              f"sed -i 's|^\\[DEFAULT\\]$|[DEFAULT]\\npublic_endpoint = {endpoint}|' {conf} && "
              f"grep -q '^public_endpoint = {endpoint}$' {conf}")
    try:
        applied, last = _reload_until(target, lambda body: f"{endpoint}/v1/" in body)
        mid_pid = target.main_pid()
    finally:
        target.sh(f"mv -f {conf}.ops-orig {conf}")
    restored, _ = _reload_until(target, lambda body: endpoint not in body)
    f = {"option": f"public_endpoint = {endpoint}", "old_pid": old_pid, "new_pid": mid_pid,
         "applied_s": None if applied is None else round(applied, 2),
         "restored_s": None if restored is None else round(restored, 2), "last": last}
    shown = "never" if applied is None else f"after {f['applied_s']:.2f} s"
    line = (f"reload: systemctl reload applied public_endpoint {shown}, MainPID {old_pid} -> {mid_pid} "
            f"({'unchanged' if old_pid == mid_pid else 'CHANGED'})")
    return ScenarioResult("reload", line, f, judge_reload(f))


# -- 5. bad input -------------------------------------------------------------------------------

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
    seeded = target.client("seed", {"count": 1, "prefix": name})
    table = badinput.cases(seeded["items"][0]["id"], f"{name}-0")
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


# -- 6. least privilege -----------------------------------------------------------------------------

# Unit settings that decide what a process of the unit may write; the probe
# runs with exactly these (RuntimeDirectoryPreserve=yes always: the probe's
# transient unit must not remove the running service's /run directory).
SANDBOX_KEYS = ("User", "Group", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "StateDirectory",
                "LogsDirectory", "RuntimeDirectory", "CacheDirectory", "NoNewPrivileges", "UMask")
MUST_NOT_WRITE = ("/", "/etc", "/usr", "/usr/lib", "/usr/bin", "/var/lib", "/var/log", "/var/cache",
                  "/opt", "/srv", "/root", "/home", "/boot")


def unit_settings(target: Target, unit: str) -> dict[str, list[str]]:
    """The [Service] settings of the installed unit file (``systemctl cat``)."""
    settings: dict[str, list[str]] = {}
    section = ""
    for raw in target.sh(f"systemctl cat {unit}").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def write_probe(target: Target, unit: str) -> dict[str, Any]:
    """Try to write in many places as the unit's user inside the unit's sandbox."""
    settings = unit_settings(target, unit)
    props = [f"-p{key}={value}" for key in SANDBOX_KEYS for value in settings.get(key, [])]
    allowed = [d for d in target.state_dirs]
    allowed += [f"/run/{d}" for v in settings.get("RuntimeDirectory", []) for d in v.split()]
    allowed += [f"/var/log/{d}" for v in settings.get("LogsDirectory", []) for d in v.split()]
    allowed = sorted(set(allowed))
    paths = list(MUST_NOT_WRITE) + sorted({str(Path(p).parent) for p in target.config_files}) + allowed
    script = ("for d in " + " ".join(paths) + "; do f=$d/.ops-probe-$$; "
              "if (echo x > $f) 2>/dev/null; then echo \"$d wrote\"; rm -f $f; else echo \"$d denied\"; fi; done")
    argv = ["systemd-run", "--wait", "--pipe", "--quiet", "--collect", "-pRuntimeDirectoryPreserve=yes",
            *props, "sh", "-c", script]
    proc = target.box.exec(argv, check=False, timeout=60)
    if proc.returncode != 0:
        raise CheckFailed(f"least privilege: systemd-run probe failed (exit {proc.returncode}): "
                          f"{((proc.stderr or '') + (proc.stdout or '')).strip()[-1000:]}")
    seen = dict(line.rsplit(" ", 1) for line in (proc.stdout or "").splitlines() if " " in line)
    return {"unit": unit, "props": props, "allowed": allowed,
            "denied": [p for p in paths if p not in allowed and seen.get(p) == "denied"],
            "wrote_outside": [p for p in paths if p not in allowed and seen.get(p) != "denied"],
            "wrote_inside": [p for p in allowed if seen.get(p) == "wrote"],
            "denied_inside": [p for p in allowed if seen.get(p) != "wrote"]}


_EXPOSURE = re.compile(r"Overall exposure level for (\S+): ([0-9.]+)")


def judge_least_privilege(f: dict[str, Any]) -> list[str]:
    problems = []
    for unit, users in f["process_users"].items():
        wrong = sorted({u for u in users if u != f["user"]})
        if not users:
            problems.append(f"least privilege: {unit} has no running process")
        if wrong:
            problems.append(f"least privilege: processes of {unit} run as {', '.join(wrong)}, not {f['user']}")
    for probe in f["probes"]:
        if probe["wrote_outside"]:
            problems.append(f"least privilege: as {f['user']} in the sandbox of {probe['unit']}, writing "
                            f"succeeded outside the service's directories: {', '.join(probe['wrote_outside'])}")
        if probe["denied_inside"]:
            problems.append(f"least privilege: as {f['user']} in the sandbox of {probe['unit']}, writing "
                            f"failed in its own directories: {', '.join(probe['denied_inside'])}")
    if f["world_writable"]:
        problems.append(f"least privilege: world-writable files in the payload: {', '.join(f['world_writable'][:5])}")
    want = f"640 root {f['group']}"
    for path, mode in f["config_modes"].items():
        if mode != want:
            problems.append(f"least privilege: {path} is {mode!r}; expected {want!r} (0640 root:{f['group']})")
    for unit, score in f["exposure"].items():
        if score is None:
            problems.append(f"least privilege: no systemd-analyze security score for {unit}")
        elif score > f["max_exposure"]:
            problems.append(f"least privilege: systemd-analyze security {unit} = {score}; the limit is "
                            f"{f['max_exposure']}")
    return problems


# The unit's cgroup, wherever this host mounts it: pure cgroup v2, or the
# hybrid layout (v2 under unified/, systemd's v1 tree under systemd/) that a
# container gets on a cgroup-v1 host.
CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd")


def cgroup_dir(target: Target, unit: str) -> str | None:
    cg = target.show(unit, "ControlGroup")["ControlGroup"]
    if not cg:
        return None
    found = target.sh(" ; ".join(f"test -f {root}{cg}/cgroup.procs && echo {root}{cg}"
                                 for root in CGROUP_ROOTS) + " ; true").split()
    return found[0] if found else None


def cgroup_pids(target: Target, unit: str) -> list[int]:
    where = cgroup_dir(target, unit)
    if where is None:
        return []
    # cgroup.procs shows 0 for a member outside the reader's PID namespace: a
    # process entered from the host, or (seen on this hybrid-cgroup host, whose
    # boxes share the host's unified hierarchy) the same unit of another box
    # running the same package. Not this service's process; ps refuses 0.
    return [pid for pid in map(int, target.sh(f"cat {where}/cgroup.procs", check=False).split()) if pid > 0]


def least_privilege(target: Target) -> ScenarioResult:
    users: dict[str, list[str]] = {}
    for unit in target.units:
        pids = cgroup_pids(target, unit)
        users[unit] = target.sh(f"ps -o user= -p {','.join(map(str, pids))}").split() if pids else []
    probes = [write_probe(target, unit) for unit in target.units]
    payload = target.sh(f"rpm -qlv {target.package}").splitlines()
    world = [line.split()[-1] for line in payload
             if line and line[0] not in "l" and len(line) > 9 and line[8] == "w"]
    modes = {p: target.sh(f"stat -c '%a %U %G' {p}").strip() for p in target.config_files}
    exposure: dict[str, float | None] = {}
    for unit in target.units:
        out = target.sh(f"systemd-analyze security --no-pager {unit}", check=False)
        m = _EXPOSURE.search(out)
        exposure[unit] = float(m.group(2)) if m else None
    f = {"user": target.user, "group": target.group, "process_users": users, "probes": probes,
         "payload_files": len(payload), "world_writable": world, "config_modes": modes,
         "exposure": exposure, "max_exposure": target.max_exposure}
    nproc = sum(len(u) for u in users.values())
    denied = sum(len(p["denied"]) for p in probes)
    inside = sorted({d for p in probes for d in p["wrote_inside"]})
    scores = ", ".join(f"{u.removesuffix('.service')} {s}" for u, s in exposure.items())
    line = (f"least privilege: {nproc} processes, all {target.user}: "
            f"{'yes' if all(set(u) == {target.user} for u in users.values()) else 'NO'}; in the unit sandbox "
            f"writes denied in {denied} places outside and allowed in {', '.join(inside)}; "
            f"{len(world)} world-writable of {len(payload)} payload files; config "
            f"{', '.join(sorted(set(modes.values())))}; systemd-analyze security: {scores}")
    return ScenarioResult("least_privilege", line, f, judge_least_privilege(f))


# -- 7. resources -------------------------------------------------------------------------------------

def memory(target: Target) -> dict[str, Any]:
    """RSS summed over every process of each unit's cgroup, and memory.current."""
    out: dict[str, Any] = {}
    for unit in target.units:
        pids = cgroup_pids(target, unit)
        rss_kb = 0
        for pid in pids:
            status = target.sh(f"cat /proc/{pid}/status", check=False)
            m = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            rss_kb += int(m.group(1)) if m else 0
        where = cgroup_dir(target, unit)
        current = target.sh(f"cat {where}/memory.current 2>/dev/null", check=False).strip() if where else ""
        out[unit] = {"processes": len(pids), "rss_mib": round(rss_kb / 1024, 1),
                     "memory_current_mib": round(int(current) / 1048576, 1) if current.isdigit() else None}
    return out


def judge_resources(f: dict[str, Any]) -> list[str]:
    problems = []
    for unit, limits in f["limits"].items():
        if not limits.get("LimitNOFILE"):
            problems.append(f"resources: {unit} sets no LimitNOFILE=")
        if not (limits.get("TasksMax") or limits.get("MemoryMax")):
            problems.append(f"resources: {unit} sets neither TasksMax= nor MemoryMax=")
    for unit, mem in f["after_load"].items():
        if not mem["processes"]:
            problems.append(f"resources: {unit} had no process to measure")
    return problems


def resources(target: Target) -> ScenarioResult:
    limits = {}
    for unit in target.units:
        settings = unit_settings(target, unit)
        limits[unit] = {k: (settings.get(k) or [""])[-1] for k in ("LimitNOFILE", "TasksMax", "MemoryMax")}
    after_load = target.memory_after_load or memory(target)
    f = {"after_load": after_load, "now": memory(target), "limits": limits}
    parts = []
    for unit, mem in after_load.items():
        lim = limits[unit]
        set_ = " ".join(f"{k}={v}" for k, v in lim.items() if v) or "no limits"
        current = "" if mem["memory_current_mib"] is None else f" (cgroup memory.current {mem['memory_current_mib']} MiB)"
        parts.append(f"{unit.removesuffix('.service')} {mem['processes']} processes RSS {mem['rss_mib']:.1f} MiB"
                     f"{current}, {set_}")
    line = "resources after the load: " + "; ".join(parts)
    return ScenarioResult("resources", line, f, judge_resources(f))


SCENARIOS: list[Callable[[Target], ScenarioResult]] = [
    load, worker_death, main_crash, restart, reload, bad_input, least_privilege, resources]


def run_all(target: Target, only: list[str] | None = None) -> list[ScenarioResult]:
    """Every scenario in order (load first, then faults...); a scenario that
    cannot even measure becomes a failed result and the rest still run."""
    results = []
    for scenario in SCENARIOS:
        if only and scenario.__name__ not in only:
            continue
        started = time.monotonic()
        try:
            result = scenario(target)
        except CheckFailed as exc:
            result = ScenarioResult(scenario.__name__, f"{scenario.__name__}: could not run", {}, [str(exc)])
        result.figures["scenario_s"] = round(time.monotonic() - started, 1)
        runner.log(f"ops: {result.line}" + ("" if result.ok else "  FAILED"))
        for problem in result.problems:
            runner.log(f"    FAILED {problem}")
        results.append(result)
    return results
