"""Throw-away copies of the cached root: an overlayfs per build or verification.

Why overlayfs: the cached root stays read-only (lowerdir) and every run writes
into its own upper dir, so nothing from one run leaks into the next and a new
box costs milliseconds instead of a 1 GB copy. Where overlayfs cannot be
mounted (some container hosts), a full ``cp -a --reflink=auto`` copy is the
fallback. The lease (lease.py) is written before the mount, so a run killed
mid-way is cleaned by the next ``cleanup_leftovers()``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from phoenix_rpm import runner
from phoenix_rpm.box import lease as lease_mod
from phoenix_rpm.box.root import require_host_tools
from phoenix_rpm.errors import UserError


@contextlib.contextmanager
def leased_overlay(root: Path, *, name: str | None = None) -> Iterator[lease_mod.Lease]:
    """A lease plus a mounted overlay of root at ``lease.overlay``; always torn down."""
    root = Path(root)
    if not (root / "usr").is_dir():
        raise UserError(f"{root}: not a box root (no usr/); make one with: tools/build-rpm box create")
    require_host_tools("systemd-nspawn", "ip", "mount")
    lease_mod.cleanup_leftovers()
    with lease_mod.sigterm_unwinds():
        lease = lease_mod.Lease.create(name)
        try:
            workdir = Path(lease.workdir)
            upper, work, merged = workdir / "upper", workdir / "work", workdir / "merged"
            for d in (upper, work, merged):
                d.mkdir(parents=True, exist_ok=True)
            lease.overlay = str(merged)
            lease.lower = str(root.resolve())
            lease.save()
            opts = f"lowerdir={root},upperdir={upper},workdir={work}"
            proc = runner.run(["mount", "-t", "overlay", "overlay", "-o", opts, merged], check=False, capture=True)
            if proc.returncode != 0:
                runner.log(f"overlayfs unavailable ({proc.stderr.strip()}); copying the root instead")
                runner.run(["cp", "-a", "--reflink=auto", f"{root}/.", merged])
            yield lease
        finally:
            if not lease.kept:
                lease.teardown()


@contextlib.contextmanager
def throwaway(root: Path) -> Iterator[Path]:
    """A fresh writable overlay of root (lowerdir=root, upper/work under /var/tmp/phoenix).

    Yields the merged directory. On exit, also on exceptions and Ctrl-C, any
    process still running in it is killed, it is unmounted and its dirs are
    removed; the cached root is never written.
    """
    with leased_overlay(root) as lease:
        assert lease.overlay is not None
        yield Path(lease.overlay)
