"""The message-bus scenarios (broker restart, rpc worker kill) without a box.

The pass rules are pure functions fed the figures of broken runs; the
client's bus modes run for real against a local HTTP server speaking
apollo's action/job API (ops-profile/apollo.py) that can be told to lose
accepted jobs, perform refused ones or never answer a call; and a project
without a broker or without bus requests gets a skip that says why. The
scenarios through the real thing (RabbitMQ restarted, a worker killed in a
booted box) are in test_scenarios.py.
"""
from __future__ import annotations

import dataclasses
import http.server
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from phoenix_rpm.errors import UserError
from phoenix_rpm.ops import broker_restart as br
from phoenix_rpm.ops import bus, client, profile, scenarios
from phoenix_rpm.ops import rpc_worker_kill as rk

# A hang in the client's threads must fail the test, not block the tier.
pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
APOLLO = profile.load(ROOT)


# -- pass rules -----------------------------------------------------------------
def restart_figures(**over: Any) -> dict[str, Any]:
    f = {"requests": 900, "accepted": 800, "refused": 100, "accepted_during": 50, "accepted_after": 300,
         "unclear": 0, "unclear_samples": [], "status": {"done": 800}, "lost": 0, "unreadable_samples": [],
         "refused_performed": 0, "tally": None, "settle_s": 1.5, "restart_s": 4.2, "recover_s": 1.1,
         "calls": 40, "calls_ok": 35, "calls_answered": 5, "calls_hang": 0, "calls_error": 0,
         "longest_call_s": 9.0, "call_samples": [], "broker": "rabbitmq-server.service",
         "request_limit_s": 120.0, "broker_active": "active"}
    f.update(over)
    return f


def test_broker_restart_passes_a_run_that_lost_nothing():
    assert scenarios.judge_broker_restart(restart_figures()) == []


@pytest.mark.parametrize(("over", "words"), [
    ({"lost": 3, "status": {"done": 797, "pending": 3}}, "3 accepted casts never performed nor reported failed"),
    ({"refused_performed": 2}, "2 casts reported failed to their client were performed anyway"),
    ({"unclear": 4, "unclear_samples": ["error: HTTP 500"]},
     "neither accepted nor reported failed (e.g. error: HTTP 500"),
    ({"accepted_after": 0}, "did not reconnect"),
    ({"accepted": 0, "accepted_after": 0}, "no cast was accepted"),
    ({"recover_s": None}, "no RPC round trip succeeded after the broker came back"),
    ({"recover_s": 45.0}, "45.0 s after the broker was back; the limit is 30 s"),
    ({"calls_hang": 2}, "2 RPC calls got no answer within 120 s"),
    ({"tally": "the counter item is 801 after 800 accepted increments"}, "broker restart: the counter item is 801"),
    ({"broker_active": "failed"}, "rabbitmq-server.service is failed"),
])
def test_broker_restart_names_each_defect(over, words):
    problems = scenarios.judge_broker_restart(restart_figures(**over))
    assert len(problems) == 1 and words in problems[0], problems


def test_broker_restart_figures_split_the_run_at_the_restart():
    began, back = 100.0, 105.0
    load = {"accepted": [{"record": {}, "t0": 99.0, "t1": 99.1}, {"record": {}, "t0": 101.0, "t1": 106.0},
                         {"record": {}, "t0": 106.0, "t1": 106.1}],
            "refused": [{"record": {}, "t0": 102.0, "t1": 104.0}], "unclear": [],
            "calls": [{"t0": 99.0, "t1": 99.1, "outcome": "ok", "what": ""},
                      {"t0": 101.0, "t1": 107.5, "outcome": "ok", "what": ""},
                      {"t0": 106.0, "t1": 106.2, "outcome": "ok", "what": ""},
                      {"t0": 104.0, "t1": 104.5, "outcome": "answered", "what": "HTTP 503"}]}
    settle = {"status": {"done": 2, "pending": 1}, "settle_s": 3.0, "refused_performed": 0, "tally": None}
    f = br.figures(load, settle, began, back)
    assert (f["requests"], f["accepted"], f["refused"], f["accepted_after"], f["accepted_during"]) == (4, 3, 1, 1, 1)
    assert f["lost"] == 1 and f["restart_s"] == 5.0
    assert f["recover_s"] == 1.2, f  # the call that started 106.0 and ended 106.2, not the one before the restart
    assert (f["calls_ok"], f["calls_answered"]) == (3, 1)


def kill_figures(**over: Any) -> dict[str, Any]:
    f = {"main": 10, "kind": "rpc", "kind_workers": [12], "victim": 12, "respawn_s": 0.02, "new_pid": 30,
         "ready_s": 1.4, "main_alive": True, "in_flight": 6, "in_flight_ok": 0, "in_flight_answered": 6,
         "in_flight_longest_s": 60.2, "failed_not_in_flight": 0, "ok_after_ready": 40, "calls_hang": 0,
         "call_samples": [], "request_limit_s": 120.0}
    f.update(over)
    return f


def test_rpc_worker_kill_passes_respawn_and_answered_callers():
    assert scenarios.judge_rpc_worker_kill(kill_figures()) == []


@pytest.mark.parametrize(("over", "words"), [
    ({"respawn_s": None, "ready_s": None}, "the parent does not respawn it"),
    ({"respawn_s": 2.5}, "came after 2.50 s; the limit is 1 s"),
    ({"ready_s": None}, "not consuming within 30 s"),
    ({"main_alive": False}, "the main process died"),
    ({"calls_hang": 1}, "1 callers got no answer within 120 s (a hang"),
    ({"failed_not_in_flight": 3, "call_samples": ["HTTP 500"]}, "3 calls started after the kill failed"),
    ({"in_flight": 0, "in_flight_answered": 0}, "no call was in flight at the kill"),
    ({"ok_after_ready": 0}, "no call succeeded after the new worker was consuming"),
])
def test_rpc_worker_kill_names_each_defect(over, words):
    problems = scenarios.judge_rpc_worker_kill(kill_figures(**over))
    assert len(problems) == 1 and words in problems[0], problems


def test_rpc_worker_kill_reports_a_unit_without_rpc_workers():
    problems = scenarios.judge_rpc_worker_kill({"error": "no live rpc worker among the children [5] of 4"})
    assert problems == ["rpc worker kill: no live rpc worker among the children [5] of 4"]


def test_rpc_worker_kill_figures_split_the_calls_at_the_kill():
    kill = {"killed_at": 50.0, "ready_s": 2.0, "respawn_s": 0.01}
    calls = [{"t0": 49.0, "t1": 49.5, "outcome": "ok", "what": ""},
             {"t0": 49.8, "t1": 110.0, "outcome": "answered", "what": "HTTP 504"},
             {"t0": 49.9, "t1": 50.3, "outcome": "ok", "what": ""},
             {"t0": 50.5, "t1": 51.0, "outcome": "ok", "what": ""},
             {"t0": 52.5, "t1": 52.6, "outcome": "ok", "what": ""}]
    f = rk.figures(kill, calls)
    assert (f["in_flight"], f["in_flight_ok"], f["in_flight_answered"]) == (2, 1, 1)
    assert f["in_flight_longest_s"] == 60.2 and f["failed_not_in_flight"] == 0 and f["ok_after_ready"] == 1


# -- when the scenarios apply ---------------------------------------------------------
def _target(needs: list[str], prof: profile.Profile) -> scenarios.Target:
    return scenarios.Target(box=None, unit="svc.service", units=["svc.service"], user="svc", group="svc",
                            package="svc", config_file="/etc/svc/svc.conf", config_files=[], state_dirs=[],
                            max_exposure=2.0, ports=[8080], profile=prof, needs=needs)


def test_no_broker_in_the_verify_profile_skips_the_bus_scenarios_and_says_why():
    target = _target(["mariadb"], APOLLO)
    for scenario, title in ((scenarios.broker_restart, "broker restart"),
                            (scenarios.rpc_worker_kill, "rpc worker kill")):
        result = scenario(target)  # box=None: a skip touches nothing
        assert result.ok and result.skipped and result.problems == []
        assert result.line.startswith(f"{title}: skipped: no message broker in the box"), result.line
        assert "needs (mariadb) has no rabbitmq" in result.line, result.line


def test_a_profile_without_bus_requests_skips_them_and_says_why():
    result = scenarios.broker_restart(_target(["rabbitmq"], profile.default()))
    assert result.skipped and "defines no cast(), performed() and call()" in result.line, result.line


def test_run_all_prints_a_skip_as_a_skip(capsys):
    results = scenarios.run_all(_target([], profile.default()), only=["broker_restart", "rpc_worker_kill"])
    assert [r.skipped != "" for r in results] == [True, True]
    err = capsys.readouterr()
    text = err.out + err.err
    assert "ops: broker restart: skipped: no message broker" in text, text


def test_apollo_profile_declares_its_bus_requests():
    assert APOLLO.bus


@pytest.mark.parametrize(("text", "words"), [
    ("def cast(r, s, w, i): pass\n", "defines cast() but not performed(), call()"),
    ("def cast(r, s, w, i): pass\ndef performed(r, s, x): pass\n", "but not call()"),
    ("def bus_tally(r, s, a, f): pass\n", "bus_tally() without cast(), performed() and call()"),
    ("cast = 3\nperformed = 4\ncall = 5\n", "cast is not a function"),
])
def test_a_half_declared_bus_is_one_line_naming_what_is_missing(tmp_path, text, words):
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = svc\n\n[phoenix:ops]\nprofile = p.py\n")
    (tmp_path / "p.py").write_text(text)
    with pytest.raises(UserError) as exc:
        profile.load(tmp_path)
    assert words in str(exc.value) and "p.py" in str(exc.value), exc.value


# -- the client's bus modes against a local server speaking apollo's API ----------------
@dataclasses.dataclass
class Bus:
    """An in-memory apollo: items, actions (cast/call) and jobs, with defects on demand."""

    lose_every: int = 0          # accept (202) but never perform every n-th cast
    refuse_every: int = 0        # answer 503 naming the job ...
    perform_refused: bool = False  # ... and perform it anyway
    call_sleep: float = 0.0
    items: dict[str, Any] = dataclasses.field(default_factory=dict)
    jobs: dict[str, str] = dataclasses.field(default_factory=dict)
    casts: int = 0
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def _handler(bus_state: Bus) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the hang test)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[:2] == ["v1", "jobs"]:
                self.answer(200, {"job": {"id": parts[2], "status": bus_state.jobs[parts[2]]}})
            else:
                self.answer(200, {"item": bus_state.items[parts[2]]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/v1/items":
                ident = str(uuid.uuid4())
                bus_state.items[ident] = {"id": ident, **body["item"]}
                return self.answer(201, {"item": bus_state.items[ident]})
            item = bus_state.items[self.path.split("/")[3]]
            if body["action"] == "digest":
                time.sleep(bus_state.call_sleep)
                return self.answer(200, {"result": {"sha256": "x"}})
            with bus_state.lock:
                bus_state.casts += 1
                n, job = bus_state.casts, str(uuid.uuid4())
                if bus_state.refuse_every and n % bus_state.refuse_every == 0:
                    bus_state.jobs[job] = "done" if bus_state.perform_refused else "failed"
                    item["value"] += 1 if bus_state.perform_refused else 0
                    return self.answer(503, {"error": {"message": f"job {job} was not sent and will not run"}})
                lost = bus_state.lose_every and n % bus_state.lose_every == 0
                bus_state.jobs[job] = "queued" if lost else "done"
                item["value"] += 0 if lost else 1
            self.answer(202, {"job": {"id": job, "status": "queued"}})
    return Handler


@pytest.fixture()
def bus_server() -> Iterator[tuple[Bus, int]]:
    state = Bus()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, server.server_address[1]
    server.shutdown()
    server.server_close()


def _run(port: int, **over: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    args = {"host": "127.0.0.1", "ports": [port], "profile": str(APOLLO.path)}
    state = client.bus_setup(args)["state"]
    load = client.bus_load({**args, "state": state, "threads": 2, "call_threads": 1, "duration": 1.5, **over})
    settle = client.bus_settle({**args, "state": state, "settle_s": 1.0,
                                "accepted": [a["record"] for a in load["accepted"]],
                                "refused": [r["record"] for r in load["refused"]]})
    return load, settle


def test_client_and_judge_pass_a_bus_that_performs_every_accepted_cast(bus_server, monkeypatch):
    _state, port = bus_server
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    load, settle = _run(port)
    f = br.figures(load, settle, time.time() - 10, time.time() - 10)
    assert f["accepted"] >= 5 and f["lost"] == 0 and settle["tally"] is None, f
    assert f["calls_ok"] > 0 and f["recover_s"] is not None


def test_client_and_judge_catch_accepted_casts_that_are_never_performed(bus_server, monkeypatch):
    state, port = bus_server
    state.lose_every = 5
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    load, settle = _run(port)
    f = br.figures(load, settle, time.time() - 10, time.time() - 10)
    f.update({"broker": "b", "request_limit_s": 1.0, "broker_active": "active"})
    assert len(load["accepted"]) >= 5, load
    assert settle["status"].get("pending", 0) == len(load["accepted"]) // 5, settle
    problems = scenarios.judge_broker_restart(f)
    assert any("accepted casts never performed nor reported failed" in p for p in problems), problems
    assert any("a job was lost or performed twice" in p for p in problems), problems


def test_client_and_judge_catch_refused_casts_that_were_performed(bus_server, monkeypatch):
    state, port = bus_server
    state.refuse_every, state.perform_refused = 3, True
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    load, settle = _run(port)
    assert load["refused"] and all(re.fullmatch(r"[0-9a-f-]{36}", r["record"]["job"]) for r in load["refused"])
    assert settle["refused_performed"] == len(load["refused"]), settle


def test_client_counts_a_call_without_an_answer_as_a_hang(bus_server):
    state, port = bus_server
    state.call_sleep = 1.5
    args = {"host": "127.0.0.1", "ports": [port], "profile": str(APOLLO.path), "request_limit": 0.5}
    setup = client.bus_setup(args)["state"]
    calls = client.bus_calls({**args, "state": setup, "threads": 1, "duration": 0.2})["calls"]
    assert calls and all(c["outcome"] == "hang" for c in calls), calls
    assert bus.call_stats(calls)["calls_hang"] == len(calls)


def test_calls_stuck_in_the_restart_do_not_hide_the_recovery(bus_server, monkeypatch):
    """Calls sent while the broker restarts wait out the service's RPC
    timeout; calls started on a clock still find the moment the bus works
    again, and the load runs on until one succeeded after the restart."""
    import os
    state, port = bus_server
    state.call_sleep = 3.0   # "the restart": every call waits 3 s ...
    read, write = os.pipe()
    monkeypatch.setattr("sys.stdin", os.fdopen(read))
    back = []

    def restart() -> None:
        time.sleep(0.5)
        state.call_sleep = 0.0   # ... the broker is back at once
        back.append(time.time())
        with os.fdopen(write, "w") as pipe:
            pipe.write(json.dumps({"restarted_at": back[0]}) + "\n")
    threading.Thread(target=restart, daemon=True).start()
    args = {"host": "127.0.0.1", "ports": [port], "profile": str(APOLLO.path), "request_limit": 10}
    setup = client.bus_setup(args)["state"]
    load = client.bus_load({**args, "state": setup, "threads": 1, "call_threads": 100, "call_interval": 0.05,
                            "tail": 0.2, "recover_wait": 20, "duration": 60})
    f = br.figures(load, {"status": {"done": len(load["accepted"])}, "refused_performed": 0, "settle_s": 0},
                   back[0] - 0.5, back[0])
    assert f["recover_s"] is not None and f["recover_s"] < 1.0, f
    assert f["longest_call_s"] >= 2.5, f   # the stuck calls were measured too


# -- malformed messages ----------------------------------------------------------------
def malformed_figures(**over: Any) -> dict[str, Any]:
    f = {"unit": "apollo-api.service", "topic": "apollo-engine", "published": ["a", "b", "c", "d"], "settle_s": 3.0,
         "queue_messages": 0, "consumers": 1, "logged": 12, "workers_gone": [], "calls_ok": 1, "call_samples": []}
    f.update(over)
    return f


def test_malformed_message_passes_logged_acked_and_still_serving():
    assert scenarios.judge_malformed_message(malformed_figures()) == []


@pytest.mark.parametrize(("over", "words"), [
    ({"queue_messages": 4}, "4 messages still on queue apollo-engine 3 s after 4 malformed ones"),
    ({"logged": 1}, "1 warning/error lines in the journal of apollo-api.service for 4 malformed messages"),
    ({"workers_gone": ["181"]}, "worker(s) ['181'] of apollo-api.service died over it"),
    ({"calls_ok": 0, "call_samples": ["HTTP 504"]}, "the next RPC round trip failed (e.g. HTTP 504)"),
])
def test_malformed_message_names_each_defect(over, words):
    problems = scenarios.judge_malformed_message(malformed_figures(**over))
    assert len(problems) == 1 and words in problems[0], problems


def test_malformed_message_is_skipped_without_a_broker():
    result = scenarios.malformed_message(_target([], APOLLO))
    assert result.skipped and result.line.startswith("malformed message: skipped: no message broker"), result.line
