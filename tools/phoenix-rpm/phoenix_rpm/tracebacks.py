"""Python tracebacks found in journal text, cut so a report shows the news.

A service's journal holds a traceback as many lines (``journalctl -o cat``);
the report must show where it starts *and* the exception that ended it,
which the first line alone never does (docs/verify.md, "The report").
"""
from __future__ import annotations

import re

START = "Traceback (most recent call last)"

# A log record at ERROR or CRITICAL level, as oslo.log writes it
# ("2026-11-30 19:25:51.077 180 ERROR oslo.messaging... [-] message") or
# Python's logging default ("ERROR:name:message"). A daemon that cannot
# reach its message bus retries forever and logs this, with no traceback
# (docs/verify.md, "Health").
ERROR_RECORD = re.compile(r"^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)? +\d+ +(?:ERROR|CRITICAL) +\S+ "
                          r"(?P<oslo>.*)|(?:ERROR|CRITICAL):[\w.]+:.*)$")


def error_records(text: str) -> list[str]:
    """ERROR/CRITICAL log records, one line each: a logged traceback's own lines
    (oslo.log prefixes each of them alike) are not records of their own."""
    out = []
    for line in text.splitlines():
        m = ERROR_RECORD.match(line.strip())
        if not m:
            continue
        body = m.group("oslo")
        if body is not None and (START in body or body.startswith((" ", "\t")) or not body.strip()
                                 or not body.lstrip().startswith("[")):
            continue  # a traceback's header, frame or exception line, not a record
        out.append(line.strip())
    return out


def count(text: str) -> int:
    return sum(1 for line in text.splitlines() if START in line)


def first(text: str, limit: int = 40) -> list[str]:
    """The first traceback's lines: the header, its frames, the exception line.

    Frames are the indented lines after the header; the first line that is
    not indented is the exception (``ValueError: ...``). Interleaved output
    of other processes may cut a frame list short; then the lines up to the
    next non-indented line are all there is, and they are still the start.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if START not in line:
            continue
        # oslo.log prefixes every line of a logged exception alike
        # ("... ERROR svc Traceback ..."): judge indentation after that prefix.
        prefix = line[:line.index(START)]
        out = [line]
        for nxt in lines[i + 1:]:
            out.append(nxt)
            body = nxt[len(prefix):] if prefix and nxt.startswith(prefix) else nxt
            if body.strip() and not body.startswith((" ", "\t")):
                break  # the exception line ends the traceback
            if len(out) >= limit:
                break
        return out
    return []


def excerpt(lines: list[str], head: int = 6, tail: int = 3) -> list[str]:
    """At most head + tail lines of a traceback: where it starts, how it ends."""
    if len(lines) <= head + tail + 1:
        return lines
    return [*lines[:head], f"  ... ({len(lines) - head - tail} more lines)", *lines[-tail:]]
