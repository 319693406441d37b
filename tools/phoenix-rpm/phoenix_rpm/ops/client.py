"""The HTTP side of the ops scenarios: a stdlib-only client run as a script.

Why a script and not a function: the box's address is reachable only from
its peer network namespace, so the scenarios start this file with
``box.host_argv([python, client.py, MODE, JSON])``; it prints one JSON
object on stdout. Stdlib only (http.client, socket, threads), so it runs
under any Python 3.9+ without the toolkit's venv. What a realistic request
is comes from the project's ops profile (``"profile"`` in the JSON: a file
path, phoenix_rpm.ops.profile), loaded here by path; without one the client
seeds nothing and the steady load GETs the health check path.

Modes:

* ``seed``: create items, print their ids and values;
* ``check``: read items back, report the missing or changed ones;
* ``wait``: poll a URL until it answers 200, print the seconds it took;
* ``get``: one GET, its status and body;
* ``steady``: closed-loop load where every request opens a *new* connection
  and a refused connection (nothing listening: between the old and the new
  process of a restart) is retried, anything else that goes wrong counts as
  a failed request. That is the client of the graceful-restart scenario;
* ``raw``: send hand-made request bytes (bad input), report status, headers
  and body of each answer;
* ``bus_setup``, ``bus_load``, ``bus_settle``, ``bus_calls``: the message-bus
  scenarios (bus.py): the profile's ``cast()`` load with an RPC ``call()``
  prober while the broker restarts, then every accepted cast followed until
  performed; a ``call()`` load while an rpc worker is killed. Times are
  wall-clock (``time.time()``): the client runs on the same host as the
  scenario, which compares them with the moment it restarted or killed.
"""
from __future__ import annotations

import errno
import functools
import http.client
import importlib.util
import json
import socket
import sys
import threading
import time
import uuid
from typing import Any

TIMEOUT = 10.0


def _request(host: str, port: int, method: str, path: str, body: Any = None,
             timeout: float = TIMEOUT) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Connection": "close"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _profile(args: dict[str, Any]) -> Any:
    """The project's ops profile module, or None (the generic workload)."""
    path = args.get("profile")
    if not path:
        return None
    spec = importlib.util.spec_from_file_location("phoenix_ops_profile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def seed(args: dict[str, Any]) -> dict[str, Any]:
    """Create ``count`` records through the profile's seed(), spread over the ports."""
    host, ports, count = args["host"], args["ports"], int(args["count"])
    prefix = args.get("prefix") or "seed-%s" % uuid.uuid4().hex[:8]
    profile = _profile(args)
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    if profile is None or not hasattr(profile, "seed"):
        return {"items": items, "errors": errors}
    for n in range(count):
        port = ports[n % len(ports)]
        try:
            items.append(profile.seed(functools.partial(_request, host, port), n, prefix))
        except Exception as exc:  # the profile's own words for what went wrong
            errors.append("seed on port %d: %s" % (port, exc))
    return {"items": items, "errors": errors}


def check(args: dict[str, Any]) -> dict[str, Any]:
    """Read each seeded record back through the profile's check()."""
    host, port = args["host"], args["ports"][0]
    profile = _profile(args)
    missing, changed = [], []
    for item in args["items"]:
        why = profile.check(functools.partial(_request, host, port), item)
        if why == "changed":
            changed.append(item["id"])
        elif why is not None:
            missing.append(why)
    return {"checked": len(args["items"]), "missing": missing, "changed": changed}


def wait(args: dict[str, Any]) -> dict[str, Any]:
    host, port, path = args["host"], args["port"], args.get("path", "/healthcheck")
    started = time.monotonic()
    deadline = started + float(args.get("timeout", 30))
    last = ""
    while time.monotonic() < deadline:
        try:
            status, body = _request(host, port, "GET", path, timeout=1.0)
            if status == 200:
                return {"ok": True, "seconds": time.monotonic() - started}
            last = "HTTP %d" % status
        except OSError as exc:
            last = "%s: %s" % (type(exc).__name__, exc)
        time.sleep(0.05)
    return {"ok": False, "seconds": time.monotonic() - started, "last": last}


def get(args: dict[str, Any]) -> dict[str, Any]:
    status, body = _request(args["host"], args["port"], "GET", args.get("path", "/"))
    return {"status": status, "body": body.decode("utf-8", errors="replace")}


def _refused(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED


def steady(args: dict[str, Any]) -> dict[str, Any]:
    """Closed loop, one new connection per request, refusals retried.

    A request counts as failed when the connection was accepted and then
    anything but a complete 2xx answer came back (reset, EOF, timeout, 5xx).
    """
    host, ports = args["host"], args["ports"]
    threads, duration = int(args.get("threads", 16)), float(args["duration"])
    prefix = "steady-%s" % uuid.uuid4().hex[:8]
    lock = threading.Lock()
    totals = {"ok": 0, "failed": 0, "refused_retries": 0}
    samples: list[str] = []
    latencies: list[float] = []
    stop_at = time.monotonic() + duration
    # How long past the run a refused request keeps being retried (the new
    # process of a restart is expected well within this).
    retry_window = float(args.get("refused_retry_s", 30))
    profile = _profile(args)
    health = args.get("health", "/healthcheck")

    def one(port: int, n: int, i: int) -> tuple[int, bytes]:
        request = functools.partial(_request, host, port)
        if profile is not None and hasattr(profile, "steady"):
            return profile.steady(request, n, i, prefix)  # type: ignore[no-any-return]
        return request("GET", health)

    def worker(n: int) -> None:
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            port = ports[(n + i) % len(ports)]
            started = time.monotonic()
            while True:
                try:
                    status, body = one(port, n, i)
                    outcome = "ok" if 200 <= status < 300 else "HTTP %d %r" % (status, body[:120])
                except OSError as exc:
                    if _refused(exc) and time.monotonic() < stop_at + retry_window:
                        with lock:
                            totals["refused_retries"] += 1
                        time.sleep(0.02)
                        continue
                    outcome = "%s: %s" % (type(exc).__name__, exc)
                except http.client.HTTPException as exc:
                    outcome = "%s: %s" % (type(exc).__name__, exc)
                break
            with lock:
                if outcome == "ok":
                    totals["ok"] += 1
                    latencies.append(time.monotonic() - started)
                else:
                    totals["failed"] += 1
                    if len(samples) < 10:
                        now = time.time()
                        samples.append("request %d %s.%03d (started %.3f s earlier) port %d: %s" % (
                            i, time.strftime("%H:%M:%S", time.gmtime(now)),
                            int(now * 1000) % 1000, time.monotonic() - started, port, outcome))

    pool = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0

    return {**totals, "samples": samples, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "max_ms": latencies[-1] * 1000 if latencies else 0.0, "seconds": duration}


def _read_answer(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            data = b"".join(chunks)
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep:
                length = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if length is not None and len(rest) >= length:
                    break
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def raw(args: dict[str, Any]) -> dict[str, Any]:
    """Send each case's bytes on a new connection; report what came back."""
    host, port = args["host"], args["port"]
    results = []
    for case in args["cases"]:
        payload = bytes.fromhex(case["hex"])
        started = time.monotonic()
        try:
            sock = socket.create_connection((host, port), timeout=TIMEOUT)
        except OSError as exc:
            results.append({"name": case["name"], "error": "connect: %s" % exc})
            continue
        try:
            try:
                sock.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before a huge body is sent
            data = _read_answer(sock, float(case.get("timeout", TIMEOUT)))
        finally:
            sock.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = 0
        if lines and lines[0].startswith(b"HTTP/"):
            parts = lines[0].split()
            status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        results.append({"name": case["name"], "status": status, "headers": headers,
                        "body": body[:2000].decode("utf-8", errors="replace"),
                        "seconds": time.monotonic() - started})
    return {"results": results}


#: seconds one bus request may take before the client gives up on it and
#: counts it as a hang (the scenarios' pass rules say no request may hang)
BUS_REQUEST_LIMIT = 120.0


def _bus(args: dict[str, Any], port: int) -> tuple[Any, Any]:
    """The profile and a request function with the bus timeout, on ``port``."""
    limit = float(args.get("request_limit", BUS_REQUEST_LIMIT))
    return _profile(args), functools.partial(_request, args["host"], port, timeout=limit)


def bus_setup(args: dict[str, Any]) -> dict[str, Any]:
    profile, request = _bus(args, args["ports"][0])
    prefix = "bus-%s" % uuid.uuid4().hex[:8]
    state = profile.bus_setup(request, prefix) if hasattr(profile, "bus_setup") else {}
    return {"state": state if state is not None else {}}


def _timed_call(profile: Any, request: Any, state: Any, n: int, i: int) -> dict[str, Any]:
    began = time.time()
    try:
        status, body = profile.call(request, state, n, i)
        outcome = "ok" if 200 <= status < 300 else "answered"
        what = "HTTP %d %s" % (status, body[:160].decode("utf-8", errors="replace"))
    except socket.timeout:
        outcome, status, what = "hang", 0, "no answer within the request limit"
    except (OSError, http.client.HTTPException) as exc:
        outcome, status, what = "error", 0, "%s: %s" % (type(exc).__name__, exc)
    return {"t0": began, "t1": time.time(), "outcome": outcome, "status": status, "what": what}


def bus_load(args: dict[str, Any]) -> dict[str, Any]:
    """Casts from ``threads`` threads, and RPC round trips started every
    ``call_interval`` seconds (at most ``call_threads`` at once).

    Runs until ``duration`` seconds have passed, or, once the scenario
    writes a JSON line ``{"restarted_at": T}`` on stdin, until ``tail``
    seconds after T (so the load covers the broker's way back however long
    its restart took) and a round trip started after T succeeded, or
    ``recover_wait`` more seconds passed without one.

    Why calls are started on a clock rather than one after another: a call
    sent while the broker restarts can wait out the service's whole RPC
    timeout (its message or its reply died with the broker's queues); a
    sequential prober stuck in it would measure that timeout instead of
    the moment the bus works again (a CI run saw exactly that).
    """
    threads = int(args.get("threads", 4))
    max_calls = max(1, int(args.get("call_threads", 2)))
    interval = float(args.get("call_interval", 0.1))
    state = args.get("state") or {}
    lock = threading.Lock()
    stop_at = [time.time() + float(args["duration"])]
    restarted_at: list[float] = []
    accepted: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    unclear: list[str] = []
    calls: list[dict[str, Any]] = []

    def watch_stdin() -> None:
        line = sys.stdin.readline()
        if line.strip():
            back = float(json.loads(line)["restarted_at"])
            with lock:
                restarted_at.append(back)
                stop_at[0] = back + float(args.get("tail", 6))

    def running() -> bool:
        now = time.time()
        with lock:
            if now < stop_at[0]:
                return True
            if not restarted_at:
                return False
            recovered = any(c["outcome"] == "ok" and c["t0"] >= restarted_at[0] for c in calls)
            return not recovered and now < stop_at[0] + float(args.get("recover_wait", 45))

    def caster(n: int) -> None:
        profile, request = _bus(args, args["ports"][n % len(args["ports"])])
        i = 0
        while running():
            i += 1
            began = time.time()
            try:
                kind, record = profile.cast(request, state, n, i)
            except socket.timeout:
                kind, record = "error", {"why": "no answer within the request limit (a hang)"}
            except (OSError, http.client.HTTPException) as exc:
                kind, record = "error", {"why": "%s: %s" % (type(exc).__name__, exc)}
            with lock:
                if kind == "accepted":
                    accepted.append({"record": record, "t0": began, "t1": time.time()})
                elif kind == "refused":
                    refused.append({"record": record, "t0": began, "t1": time.time()})
                else:
                    unclear.append("%s: %s" % (kind, (record or {}).get("why", record)))
                    time.sleep(0.05)  # a failing request must not spin

    slots = threading.Semaphore(max_calls)

    def one_call(n: int, i: int) -> None:
        try:
            profile, request = _bus(args, args["ports"][n % len(args["ports"])])
            result = _timed_call(profile, request, state, n, i)
            with lock:
                calls.append(result)
        finally:
            slots.release()

    def prober() -> None:
        started: list[threading.Thread] = []
        i = 0
        while running():
            if slots.acquire(timeout=interval):
                i += 1
                started.append(threading.Thread(target=one_call, args=(i % max_calls, i)))
                started[-1].start()
                time.sleep(interval)
        for t in started:
            t.join()

    threading.Thread(target=watch_stdin, daemon=True).start()
    pool = [threading.Thread(target=caster, args=(n,)) for n in range(threads)]
    pool.append(threading.Thread(target=prober))
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"accepted": accepted, "refused": refused, "unclear": unclear, "calls": calls}


def bus_settle(args: dict[str, Any]) -> dict[str, Any]:
    """Follow every accepted cast until it is no longer pending (or ``settle_s``
    passed), read every refused one, then the profile's whole-run tally."""
    profile, request = _bus(args, args["ports"][0])
    state = args.get("state") or {}
    accepted, refused = args["accepted"], args["refused"]
    started = time.time()
    deadline = started + float(args.get("settle_s", 120))
    status = {n: "pending" for n in range(len(accepted))}
    while True:
        for n, record in enumerate(accepted):
            if status[n] == "pending":
                status[n] = profile.performed(request, state, record)
        if all(s != "pending" for s in status.values()) or time.time() > deadline:
            break
        time.sleep(0.5)
    settled_s = time.time() - started
    counts: dict[str, int] = {}
    for s in status.values():
        key = s if s in ("done", "pending", "failed") else "unreadable"
        counts[key] = counts.get(key, 0) + 1
    odd = [s for s in status.values() if s not in ("done", "pending", "failed")][:5]
    refused_done = [r for r in refused if profile.performed(request, state, r) == "done"]
    tally = profile.bus_tally(request, state, accepted, refused) if hasattr(profile, "bus_tally") else None
    return {"status": counts, "unreadable_samples": odd, "settle_s": settled_s,
            "refused_performed": len(refused_done), "tally": tally}


def bus_calls(args: dict[str, Any]) -> dict[str, Any]:
    """``threads`` threads of back-to-back ``call()`` for ``duration`` seconds
    (at least ``min_calls`` each); every call's start, end and outcome (ok,
    answered with an error, hang)."""
    threads, state = int(args.get("threads", 6)), args.get("state") or {}
    stop_at = time.time() + float(args["duration"])
    lock = threading.Lock()
    calls: list[dict[str, Any]] = []

    min_calls = int(args.get("min_calls", 1))  # per thread, however short the duration

    def caller(n: int) -> None:
        profile, request = _bus(args, args["ports"][n % len(args["ports"])])
        i = 0
        while time.time() < stop_at or i < min_calls:
            i += 1
            result = _timed_call(profile, request, state, n, i)
            with lock:
                calls.append(result)

    pool = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"calls": calls}


MODES = {"seed": seed, "check": check, "wait": wait, "get": get, "steady": steady, "raw": raw,
         "bus_setup": bus_setup, "bus_load": bus_load, "bus_settle": bus_settle, "bus_calls": bus_calls}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in MODES:
        print("usage: client.py {%s} JSON-ARGS" % "|".join(MODES), file=sys.stderr)
        return 2
    args = json.loads(argv[2]) if argv[2] != "-" else json.load(sys.stdin)
    print(json.dumps(MODES[argv[1]](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
