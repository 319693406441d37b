"""Where the toolkit keeps what it can reuse between builds (wheels, venv layers).

Why one function: every cache lives under /var/cache/phoenix when that is
writable (root, CI), shared by every checkout on the machine, and falls back
to the user's ~/.cache/phoenix otherwise, so a non-root build still works.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    """The folder of the cache ``name``: system-wide when writable, else per user."""
    system = Path("/var/cache/phoenix") / name
    try:
        system.mkdir(parents=True, exist_ok=True)
        if os.access(system, os.W_OK):
            return system
    except OSError:
        pass
    return Path.home() / ".cache" / "phoenix" / name
