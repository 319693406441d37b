"""Timestamps on the wire: ISO 8601 in UTC with a trailing Z."""
from __future__ import annotations

import datetime


def to_iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def parse_iso(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp with a zone (or Z).

    Raises ValueError for anything else, naive times included: an item that
    expires "at 10:00" in an unknown zone is a bug waiting to happen.
    """
    value = text.strip()
    if value.endswith(('Z', 'z')):
        value = value[:-1] + '+00:00'
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError('timestamp %r has no time zone (add Z for UTC)' % text)
    return moment.timestamp()
