"""Where the toolkit keeps what it reuses and what it tracks: the one rule.

A leaf module (it imports nothing of the toolkit), so every part that needs
a folder imports it without a cycle (box/lease.py, box/nspawn.py,
box/root.py, sources.py, rpmbuild.py, vagrant/image.py).

Caches live under /var/cache/phoenix/<name>, shared by every checkout on the
machine. The build caches (wheels, venv layers) fall back to the user's
~/.cache/phoenix/<name> when that is not writable, so a non-root build still
works; the box and VM caches need root anyway and do not. Each has an
environment variable that moves it (e.g. to a bigger disk). State of running
boxes (their leases) lives under /run/phoenix: gone after a reboot, as are
the boxes it describes.
"""
from __future__ import annotations

import os
from pathlib import Path

SYSTEM_CACHE = Path("/var/cache/phoenix")
RUN_STATE = Path("/run/phoenix")


def cache_dir(name: str, *, env: str | None = None, per_user: bool = True) -> Path:
    """The folder of the cache ``name``.

    ``env``: an environment variable that, when set, names the folder;
    ``per_user``: fall back to ~/.cache/phoenix/<name> when the system
    folder cannot be written (checking makes it, as root).
    """
    if env and os.environ.get(env):
        return Path(os.environ[env])
    system = SYSTEM_CACHE / name
    if not per_user:
        return system
    try:
        system.mkdir(parents=True, exist_ok=True)
        if os.access(system, os.W_OK):
            return system
    except OSError:
        pass
    return Path.home() / ".cache" / "phoenix" / name


def box_roots() -> Path:
    """Cached box roots (box/root.py); PHOENIX_BOX_CACHE moves them."""
    return cache_dir("boxes", env="PHOENIX_BOX_CACHE", per_user=False)


def vagrant_images() -> Path:
    """Built Vagrant boxes (vagrant/image.py); PHOENIX_VAGRANT_CACHE moves them."""
    return cache_dir("vagrant", env="PHOENIX_VAGRANT_CACHE", per_user=False)


def box_leases() -> Path:
    """Leases of running boxes (box/lease.py); PHOENIX_BOX_STATE moves them."""
    return Path(os.environ.get("PHOENIX_BOX_STATE") or RUN_STATE / "boxes")


def box_work() -> Path:
    """Parent of the box overlays' upper/work/merged folders (box/lease.py):
    /var/tmp, not /tmp (may be a small tmpfs); PHOENIX_BOX_WORK moves it."""
    return Path(os.environ.get("PHOENIX_BOX_WORK") or "/var/tmp/phoenix")


# Per-build scratch folders (scratch.py): /var/tmp, on disk, never shared.
BUILD_SCRATCH = Path("/var/tmp/phoenix-scratch")
