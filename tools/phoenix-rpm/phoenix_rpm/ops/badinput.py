"""Hostile requests: the Case type, a raw request builder, and the generic table.

Each case is raw request bytes (so invalid UTF-8, broken request lines and
bodies that lie about their length can be expressed) and the exact 4xx the
service must give. "Right" means: the status a client can act on, a JSON
error body, never a 500 and never a traceback; and the service still answers
afterwards. The requests that only make sense for one API (apollo's
``/v1/items`` bodies) live in that project's ops profile
(phoenix_rpm.ops.profile); :func:`generic_cases` is what every phoenix HTTP
service must refuse whatever its API.
"""
from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile request and the status it deserves."""

    name: str
    request: bytes
    expect: int
    json_body: bool = True   # the answer must carry a JSON error document

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "hex": self.request.hex()}


@dataclasses.dataclass(frozen=True)
class Limits:
    """The framework's size limits (phoenix's [DEFAULT] defaults) the table probes."""

    max_body: int = 114688
    max_url: int = 8192
    max_header: int = 16384


def http(method: str, path: str, body: bytes | None = None, *, headers: dict[str, str] | None = None,
         raw_path: bytes | None = None, host: str = "localhost") -> bytes:
    """One HTTP/1.1 request, ``Connection: close``, Content-Length set from the body."""
    lines = [method.encode() + b" " + (raw_path if raw_path is not None else path.encode()) + b" HTTP/1.1",
             b"Host: " + host.encode(), b"Connection: close"]
    extra = dict(headers or {})
    if body is not None and "Content-Length" not in extra and "Transfer-Encoding" not in extra:
        extra["Content-Length"] = str(len(body))
    if body is not None and "Content-Type" not in extra:
        extra["Content-Type"] = "application/json"
    lines += [f"{k}: {v}".encode("latin-1") for k, v in extra.items()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def oversized_bodies(limits: Limits) -> tuple[bytes, bytes]:
    """A JSON body over ``max_body``, and a chunked one over it (its chunks, terminated)."""
    big = b'{"item": {"name": "big", "value": "' + b"x" * (limits.max_body + 1024) + b'"}}'
    chunk = b"x" * 65536
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk)
                       for _ in range(limits.max_body // len(chunk) + 2)) + b"0\r\n\r\n"
    return big, chunked


def generic_cases(health: str = "/healthcheck", limits: Limits | None = None, host: str = "localhost") -> list[Case]:
    """What any phoenix HTTP service must refuse, whatever its API: broken HTTP,
    the framework's size limits, an unknown path. ``health``: a path that
    answers 200 to GET (the verify plan's health check).

    Bodies go to a path no service has: a health check filter may answer a
    POST to its own path (405) before the body-size limit sees it. A chunked
    body over the limit is left to the profiles: the limit sees it only once
    the application reads the body, which a 404 never does.
    """
    limits = limits or Limits()

    def req(method: str, path: str, body: bytes | None = None, **kw: Any) -> bytes:
        return http(method, path, body, host=host, **kw)

    nowhere = "/phoenix-ops/no/such/path"
    big, _ = oversized_bodies(limits)
    return [
        Case("body over max_request_body_size", req("POST", nowhere, big), 413),
        Case("URL longer than max_url_length", req("GET", f"{health}?name=" + "a" * (limits.max_url + 100)), 414),
        Case("header line longer than max_header_line",
             req("GET", health, headers={"X-Big": "h" * (limits.max_header + 100)}), 400),
        Case("unknown path", req("GET", nowhere), 404),
        Case("garbage request line", b"HELLO THERE WORLD\r\n\r\n", 400),
        Case("Content-Length with Transfer-Encoding",
             req("POST", nowhere, b"{}", headers={"Content-Length": "2", "Transfer-Encoding": "chunked"}), 400),
    ]
