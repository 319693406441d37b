"""Serializable objects for RPC (DESIGN.md section 3: ``objects.register_all()``).

Apollo has no RPC service yet, so there is nothing to register; the call stays
in the entry points so an RPC service slots in where the design expects it.
"""
from __future__ import annotations

REGISTERED: list[type] = []


def register_all() -> list[type]:
    return REGISTERED
