"""apollo's workload for ``tools/build-rpm --verify --ops`` (docs/reliability.md).

Named in setup.cfg ``[phoenix:ops] profile``. The toolkit runs the scenarios
(load, faults, restart/reload, the message bus under faults, bad input,
least privilege, resources); this file says what a realistic request and a
hostile request look like for apollo's API (``/v1/items``), and which
requests go over the message bus (an action cast to the rpc workers, the
digest call) and how to see a cast was performed (``/v1/jobs``). Every name is optional; see
tools/phoenix-rpm/phoenix_rpm/ops/profile.py for the contract.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from phoenix_rpm.ops.badinput import Case, Limits, http, oversized_bodies

Request = Callable[..., "tuple[int, bytes]"]

ITEMS = "/v1/items"
MISSING_ID = "00000000-0000-4000-8000-000000000000"

# The load: mix.lua (beside this file); per 10 requests 7 GETs of seeded
# items, 1 POST, 1 PATCH, 1 list.
WRK_SCRIPT = "mix.lua"
MIX = "70% GET item, 10% POST, 10% PATCH, 10% list"

# The reload scenario changes public_endpoint; GET / builds its links from it.
RELOAD = {"section": "DEFAULT", "option": "public_endpoint", "value": "http://reload-{token}.invalid:{port}",
          "path": "/", "shows": "{value}/v1/"}


def seed(request: Request, n: int, prefix: str) -> dict[str, Any]:
    """Create item n; its id and value, to read back after a crash."""
    value = {"n": n, "prefix": prefix}
    status, body = request("POST", ITEMS, {"item": {"name": "%s-%d" % (prefix, n), "value": value}})
    if status != 201:
        raise RuntimeError("POST %s: %d %s" % (ITEMS, status, body[:200].decode(errors="replace")))
    return {"id": json.loads(body)["item"]["id"], "name": "%s-%d" % (prefix, n), "value": value}


def check(request: Request, record: dict[str, Any]) -> str | None:
    """None if the item reads back unchanged."""
    status, body = request("GET", "%s/%s" % (ITEMS, record["id"]))
    if status != 200:
        return "%s: %d" % (record["id"], status)
    return None if json.loads(body)["item"]["value"] == record["value"] else "changed"


def steady(request: Request, worker: int, i: int, prefix: str) -> tuple[int, bytes]:
    """The restart load: every 4th request a POST, the others a short list."""
    if i % 4 == 0:
        return request("POST", ITEMS, {"item": {"name": "%s-%d-%d" % (prefix, worker, i), "value": i}})
    return request("GET", ITEMS + "?limit=5")


# -- the message bus (broker restart, rpc worker kill) ------------------------
# A cast: POST /v1/items/{id}/actions {"action": "increment", "by": 1}, 202
# with the job (written to the outbox first) or 503 naming the job that will
# not run; GET /v1/jobs/{id} tells whether it was performed. A call: the
# "digest" action, answered by an rpc worker (504 after rpc_response_timeout).
JOB_ID = re.compile(r"job ([0-9a-f-]{36})")


def bus_setup(request: Request, prefix: str) -> dict[str, Any]:
    """The item every cast of the run increments (starts at 0)."""
    status, body = request("POST", ITEMS, {"item": {"name": "%s-counter" % prefix, "value": 0}})
    if status != 201:
        raise RuntimeError("POST %s: %d %s" % (ITEMS, status, body[:200].decode(errors="replace")))
    return {"item": json.loads(body)["item"]["id"]}


def cast(request: Request, state: dict[str, Any], worker: int, i: int) -> tuple[str, dict[str, Any]]:
    status, body = request("POST", "%s/%s/actions" % (ITEMS, state["item"]), {"action": "increment", "by": 1})
    if status == 202:
        return "accepted", {"job": json.loads(body)["job"]["id"]}
    found = JOB_ID.search(body.decode(errors="replace")) if status == 503 else None
    if found:
        return "refused", {"job": found.group(1)}
    return "error", {"why": "HTTP %d %s" % (status, body[:200].decode(errors="replace"))}


def performed(request: Request, state: dict[str, Any], record: dict[str, Any]) -> str:
    status, body = request("GET", "/v1/jobs/%s" % record["job"])
    if status != 200:
        return "GET /v1/jobs/%s: %d" % (record["job"], status)
    job_status = json.loads(body)["job"]["status"]
    return "pending" if job_status == "queued" else str(job_status)


def call(request: Request, state: dict[str, Any], worker: int, i: int) -> tuple[int, bytes]:
    return request("POST", "%s/%s/actions" % (ITEMS, state["item"]), {"action": "digest"})


def bus_tally(request: Request, state: dict[str, Any], accepted: list[Any], refused: list[Any]) -> str | None:
    """The counter is the number of accepted increments: smaller, a job was
    lost; bigger, one was performed twice (or a refused one ran)."""
    status, body = request("GET", "%s/%s" % (ITEMS, state["item"]))
    if status != 200:
        return "GET of the counter item: %d" % status
    value = json.loads(body)["item"]["value"]
    if value != len(accepted):
        return ("the counter item is %s after %d accepted increments (%d refused): a job was lost or "
                "performed twice" % (value, len(accepted), len(refused)))
    return None


def _http(method: str, path: str, body: bytes | None = None, **kw: Any) -> bytes:
    return http(method, path, body, host="apollo", **kw)


def post(body: bytes | str, **kw: Any) -> bytes:
    return _http("POST", ITEMS, body.encode() if isinstance(body, str) else body, **kw)


def item(**fields: Any) -> str:
    return json.dumps({"item": fields})


def bad_input(existing: dict[str, Any], limits: Limits | None = None) -> list[Case]:
    """The hostile table (existing: an item created just before, for conflicts)."""
    limits = limits or Limits()
    member = f"{ITEMS}/{existing['id']}"
    big, chunked_big = oversized_bodies(limits)
    return [
        # -- bad JSON ---------------------------------------------------------
        Case("truncated JSON", post('{"item": {"name": "a"'), 400),
        Case("not JSON at all", post("name=a&value=b"), 400),
        Case("empty body on POST", post(b""), 400),
        Case("JSON array body", post("[1, 2, 3]"), 400),
        Case("JSON string body", post('"item"'), 400),
        Case("JSON null body", post("null"), 400),
        Case("NaN constant", post('{"item": {"name": "n", "value": NaN}}'), 400),
        Case("deeply nested JSON (recursion bomb)", post('{"item": {"name": "deep", "value": '
                                                         + "[" * 50000 + "]" * 50000 + "}}"), 400),
        Case("invalid UTF-8 in the body", post(b'{"item": {"name": "\xff\xfe", "value": 1}}'), 400),
        Case("UTF-16 body", post(item(name="u16", value=1).encode("utf-16")), 400),
        # -- wrong types and values -----------------------------------------------
        Case("name is a number", post(item(name=42, value=1)), 400),
        Case("name is null", post(item(name=None, value=1)), 400),
        Case("name is empty", post(item(name="   ", value=1)), 400),
        Case("name too long (256 chars)", post(item(name="n" * 256, value=1)), 400),
        Case("name with control characters", post(item(name="a\u0000b", value=1)), 400),
        Case("unknown field", post(item(name="u", value=1, colour="red")), 400),
        Case("read-only field id", post(item(name="r", value=1, id=MISSING_ID)), 400),
        Case("expires_at is a number", post(item(name="e", value=1, expires_at=12345)), 400),
        Case("expires_at is not a date", post(item(name="e2", value=1, expires_at="next tuesday")), 400),
        Case("duplicate name", post(item(name=existing["name"], value=2)), 409),
        Case("PATCH with name null", _http("PATCH", member, item(name=None).encode()), 400),
        Case("PUT without body", _http("PUT", member, b""), 400),
        Case("limit is not a number", _http("GET", f"{ITEMS}?limit=abc"), 400),
        Case("limit is zero", _http("GET", f"{ITEMS}?limit=0"), 400),
        Case("marker is a path", _http("GET", f"{ITEMS}?marker=../../etc/passwd"), 400),
        # -- sizes ------------------------------------------------------------------
        Case("body over max_request_body_size", post(big), 413),
        Case("chunked body over max_request_body_size",
             post(chunked_big, headers={"Transfer-Encoding": "chunked"}), 413),
        Case("Content-Length not a number", post(b"{}", headers={"Content-Length": "lots"}), 400),
        Case("URL longer than max_url_length", _http("GET", f"{ITEMS}?name=" + "a" * (limits.max_url + 100)), 414),
        Case("header line longer than max_header_line",
             _http("GET", ITEMS, headers={"X-Big": "h" * (limits.max_header + 100)}), 400),
        # -- identifiers and paths --------------------------------------------------------
        Case("path traversal in the id", _http("GET", "/v1/items/../../../etc/passwd"), 404),
        Case("encoded path traversal in the id", _http("GET", "/v1/items/..%2F..%2Fetc%2Fpasswd"), 404),
        Case("id that is not a UUID", _http("GET", f"{ITEMS}/not-a-uuid"), 404),
        Case("NUL byte in the id", _http("DELETE", f"{ITEMS}/%00"), 404),
        Case("invalid UTF-8 in the path", _http("GET", "", raw_path=b"/v1/items/\xff\xfe"), 404),
        Case("unknown id", _http("GET", f"{ITEMS}/{MISSING_ID}"), 404),
        Case("PUT to an unknown id", _http("PUT", f"{ITEMS}/{MISSING_ID}", item(name="p", value=1).encode()), 404),
        Case("unknown path", _http("GET", "/v2/things"), 404),
        # -- methods ----------------------------------------------------------------
        Case("unknown method", _http("BREW", ITEMS), 405),
        Case("DELETE on the collection", _http("DELETE", ITEMS), 405),
        Case("POST on a member", _http("POST", member, item(name="m", value=1).encode()), 405),
        Case("POST to /healthcheck", _http("POST", "/healthcheck", b"{}"), 405),
        # -- broken HTTP ------------------------------------------------------------
        Case("garbage request line", b"HELLO THERE WORLD\r\n\r\n", 400),
        Case("Content-Length with Transfer-Encoding",
             post(b"{}", headers={"Content-Length": "2", "Transfer-Encoding": "chunked"}), 400),
    ]
