"""The box: a clean Debian 12 root for builds, booted with systemd for verification.

Public API (other stages code against these names):

* ``ensure_root(refresh=False) -> Path``: the cached debootstrap root.
* ``throwaway(root)``: a fresh overlay of it, removed on exit.
* ``run_in(root, argv, ...)``: one command inside a root with systemd-nspawn.
* ``booted(root, ...)``: a throw-away overlay booted with systemd as PID 1 in
  its own network namespace, with sshd and an ssh-config file; yields a
  ``BootedBox``.
* ``cleanup_leftovers()``: remove what crashed runs left behind.
"""
from __future__ import annotations

from phoenix_rpm.box.boot import BootedBox, booted
from phoenix_rpm.box.lease import cleanup_leftovers
from phoenix_rpm.box.nspawn import run_in
from phoenix_rpm.box.overlay import throwaway
from phoenix_rpm.box.root import ensure_root

__all__ = ["BootedBox", "booted", "cleanup_leftovers", "ensure_root", "run_in", "throwaway"]
