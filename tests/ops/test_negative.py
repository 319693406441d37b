"""Each scenario family seen failing for the right reason, cheaply.

Where it is cheap the broken thing is real (a local HTTP server that answers
500 with a traceback, one that drops connections, a parent that does not
respawn its workers, wrk against them); otherwise a judge gets the figures a
broken service produced (these are the figures seen in real runs before the
fixes: e.g. 6.9 s to answer after a main-process kill with RestartSec=5,
20 dropped requests during a restart). Every test checks that the problem
message names the defect, so a report says what to fix.
"""
from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from phoenix_rpm import inbox
from phoenix_rpm.ops import badinput, client, scenarios
from phoenix_rpm.ops.profile import load as load_profile

# Local servers and processes only: the quick tier (conftest.py).
pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
APOLLO = load_profile(ROOT)          # apollo's workload profile (ops-profile/apollo.py)
MISSING = {"id": "00000000-0000-4000-8000-000000000000", "name": "x"}


class _Broken(http.server.BaseHTTPRequestHandler):
    """Answers every request with a 500 and a Python traceback: a controller that raises."""

    def _fail(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length < 1_000_000:
            self.rfile.read(length)
        body = b'Traceback (most recent call last):\n  File "items.py", line 1\nKeyError: boom\n'
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _fail

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients of the hostile table hang up mid-body on purpose


@pytest.fixture
def broken_server() -> Iterator[int]:
    server = _QuietServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def dropping_server() -> Iterator[int]:
    """Accepts connections and closes them without an answer (a dropped request)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    stop = threading.Event()

    def loop() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_load_reports_non_2xx_answers_of_a_failing_controller(broken_server):
    argv = ["wrk", "-t1", "-c4", "-d2s", "-s", str(scenarios.script_for(APOLLO.wrk_script)),
            f"http://127.0.0.1:{broken_server}", "--", "neg", MISSING["id"]]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    figures = scenarios.merge_wrk(scenarios.collect_wrk([proc], timeout=30))
    problems = scenarios.judge_load(figures)
    assert figures["non_2xx"] == figures["requests"] > 0
    assert any("non-2xx answers to valid requests" in p for p in problems), problems


WORKERS_NEVER_RESPAWNED = r"""
import os, signal, sys, time
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        time.sleep(60); os._exit(0)
    kids.append(pid)
print("ready", flush=True)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    try:
        os.wait()  # reaps a dead worker and, on purpose, starts no new one
    except ChildProcessError:
        time.sleep(0.1)
"""


def test_worker_death_reports_a_parent_that_does_not_respawn():
    parent = subprocess.Popen([sys.executable, "-c", WORKERS_NEVER_RESPAWNED], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        out = subprocess.run([sys.executable, "-c", inbox.source("kill_worker"), str(parent.pid), "1"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    finally:
        for kid in open(f"/proc/{parent.pid}/task/{parent.pid}/children").read().split():
            os.kill(int(kid), signal.SIGKILL)
        parent.terminate()
        parent.wait()
    import json
    figures = {**json.loads(out), "failed": 0}
    assert figures["respawn_s"] is None and figures["main_alive"]
    problems = scenarios.judge_worker_death(figures)
    assert any("the parent does not respawn workers" in p for p in problems), problems


def test_worker_death_reports_more_failures_than_requests_in_flight():
    figures = {"main": 1, "victim": 2, "respawn_s": 0.01, "main_alive": True,
               "connections_held": 3, "failed": 40}
    problems = scenarios.judge_worker_death(figures)
    assert problems == ["worker death: 40 requests failed but only 3 were in flight on the killed worker"]


def test_main_crash_reports_a_slow_restart_and_lost_data():
    # 6.9 s: what the first real run measured with the generated RestartSec=5.
    figures = {"answered": True, "back_s": 6.9, "waited_s": 6.8, "old_pid": 87, "new_pid": 225,
               "missing": ["abc: 404"], "changed": [], "written": 20}
    problems = scenarios.judge_main_crash(figures)
    assert any("answering again took 6.9 s, 6.9 s of it before the new process started; the limit is 5 s "
               "(RestartSec=" in p for p in problems), problems
    assert any("data written before the crash lost: 1 items missing" in p for p in problems), problems


def test_main_crash_judges_the_restart_policy_not_the_start_up_under_load():
    """A slow start (a loaded machine, a heavy import) is the start-up's figure, not
    systemd's: RestartSec=1 plus detection stays under the limit; RestartSec=5 does not."""
    base = {"answered": True, "waited_s": 6.0, "old_pid": 87, "new_pid": 225, "missing": [], "changed": [],
            "written": 20}
    assert scenarios.judge_main_crash({**base, "back_s": 5.9, "startup_s": 3.8}) == []
    slow_policy = scenarios.judge_main_crash({**base, "back_s": 9.1, "startup_s": 3.8})
    assert slow_policy and "5.3 s of it before the new process started" in slow_policy[0], slow_policy
    hung = scenarios.judge_main_crash({**base, "back_s": 33.0, "startup_s": 31.5})
    assert any("31.5 s from exec to READY=1; the limit is 30 s" in p for p in hung), hung


def test_restart_client_counts_dropped_connections_as_failures(dropping_server):
    figures = client.steady({"host": "127.0.0.1", "ports": [dropping_server], "threads": 2, "duration": 0.5})
    figures.update({"active": "active"})
    assert figures["failed"] > 0 and figures["ok"] == 0
    problems = scenarios.judge_restart(figures)
    assert any("accepted requests failed during systemctl restart" in p for p in problems), problems
    assert any("RemoteDisconnected" in p or "ConnectionResetError" in p for p in problems), problems


class _Fine(http.server.BaseHTTPRequestHandler):
    def _ok(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _ok

    def log_message(self, *args: object) -> None:
        pass


def test_restart_client_retries_refused_connections_and_does_not_count_them():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there for the first 0.5 s: connects are refused
    servers = []

    def come_up() -> None:
        time.sleep(0.5)
        servers.append(http.server.ThreadingHTTPServer(("127.0.0.1", port), _Fine))
        servers[0].serve_forever()

    threading.Thread(target=come_up, daemon=True).start()
    try:
        figures = client.steady({"host": "127.0.0.1", "ports": [port], "threads": 2, "duration": 1.0,
                                 "refused_retry_s": 5})
    finally:
        if servers:
            servers[0].shutdown()
            servers[0].server_close()
    assert figures["failed"] == 0 and figures["refused_retries"] > 0 and figures["ok"] > 0


def test_restart_reports_refusals_when_the_unit_keeps_its_sockets():
    """With FileDescriptorStoreMax= the port never closes across a restart:
    a refused connection means the service did not hand its sockets over."""
    figures = {"failed": 0, "ok": 900, "samples": [], "active": "active", "refused_retries": 37}
    assert scenarios.judge_restart({**figures, "fd_store_max": 0}) == []
    problems = scenarios.judge_restart({**figures, "fd_store_max": 16})
    assert any("37 connections refused although the unit keeps its listening sockets" in p
               for p in problems), problems


def test_reload_reports_a_restart_instead_of_a_reload():
    figures = {"old_pid": 10, "new_pid": 11, "applied_s": 0.3, "restored_s": 0.2, "option": "x"}
    assert scenarios.judge_reload(figures) == [
        "reload: MainPID changed 10 -> 11: systemctl reload restarted the service instead of reloading it"]


def test_bad_input_reports_500s_and_tracebacks_of_a_failing_controller(broken_server):
    table = APOLLO.bad_input(MISSING, badinput.Limits())
    answers = client.raw({"host": "127.0.0.1", "port": broken_server, "cases": [c.to_json() for c in table]})
    results = [{**a, "expect": c.expect, "json_body": c.json_body} for c, a in zip(table, answers["results"])]
    figures = {"results": results, "not_answering": [], "tracebacks": 1, "traceback_sample": "Traceback ...",
               "unit": "apollo-api.service"}
    problems = scenarios.judge_bad_input(figures)
    assert any("'truncated JSON': 500 (a server error) instead of 400" in p for p in problems), problems
    assert any("'truncated JSON': the answer shows a traceback" in p for p in problems), problems
    assert any("is not a JSON error" in p for p in problems), problems
    assert any("traceback(s) in the journal" in p for p in problems), problems


def test_bad_input_table_is_large_and_expects_only_4xx():
    table = APOLLO.bad_input(MISSING, badinput.Limits())
    assert len(table) >= 30
    assert len({c.name for c in table}) == len(table)
    assert all(400 <= c.expect < 500 for c in table)


def test_least_privilege_reports_each_defect():
    figures = {
        "user": "apollo", "group": "apollo", "max_exposure": 2.0,
        "process_users": {"apollo-api.service": ["apollo", "root"]},
        "probes": [{"unit": "apollo-api.service", "wrote_outside": ["/etc"], "denied_inside": []}],
        "world_writable": ["/usr/lib/apollo/bin/x"], "config_modes": {"/etc/apollo/apollo.conf": "644 root root"},
        "exposure": {"apollo-api.service": 9.6},
    }
    problems = scenarios.judge_least_privilege(figures)
    assert problems == [
        "least privilege: processes of apollo-api.service run as root, not apollo",
        "least privilege: as apollo in the sandbox of apollo-api.service, writing succeeded outside the "
        "service's directories: /etc",
        "least privilege: world-writable files in the payload: /usr/lib/apollo/bin/x",
        "least privilege: /etc/apollo/apollo.conf is '644 root root'; expected '640 root apollo' (0640 root:apollo)",
        "least privilege: systemd-analyze security apollo-api.service = 9.6; the limit is 2.0",
    ]


def test_resources_reports_a_unit_without_limits():
    figures = {"limits": {"apollo-api.service": {"LimitNOFILE": "", "TasksMax": "", "MemoryMax": ""}},
               "after_load": {"apollo-api.service": {"processes": 3, "rss_mib": 120.0}}}
    assert scenarios.judge_resources(figures) == [
        "resources: apollo-api.service sets no LimitNOFILE=",
        "resources: apollo-api.service sets neither TasksMax= nor MemoryMax=",
    ]


def test_load_seconds_comes_from_the_environment_and_rejects_nonsense(monkeypatch):
    from phoenix_rpm import ops
    from phoenix_rpm.errors import UserError

    monkeypatch.delenv("PHOENIX_OPS_LOAD_SECONDS", raising=False)
    assert ops.load_seconds() == 60.0
    monkeypatch.setenv("PHOENIX_OPS_LOAD_SECONDS", "12.5")
    assert ops.load_seconds() == 12.5
    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv("PHOENIX_OPS_LOAD_SECONDS", bad)
        with pytest.raises(UserError, match="PHOENIX_OPS_LOAD_SECONDS"):
            ops.load_seconds()
