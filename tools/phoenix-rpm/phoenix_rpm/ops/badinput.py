"""The bad-input table: malformed and hostile requests and the answer each deserves.

Each case is raw request bytes (so invalid UTF-8, broken request lines and
bodies that lie about their length can be expressed) and the exact 4xx the
API must give. "Right" means: the status a client can act on (400 for a
malformed body, 404 for an id that cannot exist, 405 for a method the
resource does not have, 413/414 for size limits), a JSON error body, never a
500 and never a traceback; and the service still answers afterwards.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

ITEMS = "/v1/items"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    request: bytes
    expect: int
    json_body: bool = True   # the answer must carry a JSON error document

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "hex": self.request.hex()}


def http(method: str, path: str, body: bytes | None = None, *,
         headers: dict[str, str] | None = None, raw_path: bytes | None = None) -> bytes:
    """One HTTP/1.1 request, ``Connection: close``, Content-Length set from the body."""
    lines = [method.encode() + b" " + (raw_path if raw_path is not None else path.encode()) + b" HTTP/1.1",
             b"Host: apollo", b"Connection: close"]
    extra = dict(headers or {})
    if body is not None and "Content-Length" not in extra and "Transfer-Encoding" not in extra:
        extra["Content-Length"] = str(len(body))
    if body is not None and "Content-Type" not in extra:
        extra["Content-Type"] = "application/json"
    lines += [f"{k}: {v}".encode("latin-1") for k, v in extra.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def post(body: bytes | str, **kw: Any) -> bytes:
    return http("POST", ITEMS, body.encode() if isinstance(body, str) else body, **kw)


def item(**fields: Any) -> str:
    return json.dumps({"item": fields})


def cases(existing_id: str, existing_name: str, max_body: int = 114688,
          max_url: int = 8192, max_header: int = 16384) -> list[Case]:
    """The table (existing_id/name: an item created just before, for conflicts)."""
    member = f"{ITEMS}/{existing_id}"
    big = b'{"item": {"name": "big", "value": "' + b"x" * (max_body + 1024) + b'"}}'
    chunk = b"x" * 65536
    chunked_big = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(max_body // len(chunk) + 2)) + b"0\r\n\r\n"
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
        Case("duplicate name", post(item(name=existing_name, value=2)), 409),
        Case("PATCH with name null", http("PATCH", member, item(name=None).encode()), 400),
        Case("PUT without body", http("PUT", member, b""), 400),
        Case("limit is not a number", http("GET", f"{ITEMS}?limit=abc"), 400),
        Case("limit is zero", http("GET", f"{ITEMS}?limit=0"), 400),
        Case("marker is a path", http("GET", f"{ITEMS}?marker=../../etc/passwd"), 400),
        # -- sizes ------------------------------------------------------------------
        Case("body over max_request_body_size", post(big), 413),
        Case("chunked body over max_request_body_size",
             post(chunked_big, headers={"Transfer-Encoding": "chunked"}), 413),
        Case("Content-Length not a number", post(b"{}", headers={"Content-Length": "lots"}), 400),
        Case("URL longer than max_url_length", http("GET", f"{ITEMS}?name=" + "a" * (max_url + 100)), 414),
        Case("header line longer than max_header_line",
             http("GET", ITEMS, headers={"X-Big": "h" * (max_header + 100)}), 400),
        # -- identifiers and paths --------------------------------------------------------
        Case("path traversal in the id", http("GET", "/v1/items/../../../etc/passwd"), 404),
        Case("encoded path traversal in the id", http("GET", "/v1/items/..%2F..%2Fetc%2Fpasswd"), 404),
        Case("id that is not a UUID", http("GET", f"{ITEMS}/not-a-uuid"), 404),
        Case("NUL byte in the id", http("DELETE", f"{ITEMS}/%00"), 404),
        Case("invalid UTF-8 in the path", http("GET", "", raw_path=b"/v1/items/\xff\xfe"), 404),
        Case("unknown id", http("GET", f"{ITEMS}/{MISSING_ID}"), 404),
        Case("PUT to an unknown id", http("PUT", f"{ITEMS}/{MISSING_ID}", item(name="p", value=1).encode()), 404),
        Case("unknown path", http("GET", "/v2/things"), 404),
        # -- methods ----------------------------------------------------------------
        Case("unknown method", http("BREW", ITEMS), 405),
        Case("DELETE on the collection", http("DELETE", ITEMS), 405),
        Case("POST on a member", http("POST", member, item(name="m", value=1).encode()), 405),
        Case("POST to /healthcheck", http("POST", "/healthcheck", b"{}"), 405),
        # -- broken HTTP ------------------------------------------------------------
        Case("garbage request line", b"HELLO THERE WORLD\r\n\r\n", 400),
        Case("Content-Length with Transfer-Encoding",
             post(b"{}", headers={"Content-Length": "2", "Transfer-Encoding": "chunked"}), 400),
    ]
