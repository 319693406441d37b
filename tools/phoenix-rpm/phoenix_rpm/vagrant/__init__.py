"""The Vagrant path: verify the RPM in a Vagrant-managed VM with a kernel of its own.

``tools/build-rpm --verify --box vagrant`` builds in the nspawn box as usual,
then verify.py opens the box with ``booted()`` below instead of the nspawn
one and runs the same phases (``rpm -ivh``, ``systemctl enable --now``, the
testinfra suite over ``vagrant ssh-config``). On this offline machine that
means (docs/vagrant.md):

* host packages from ``PHOENIX_VAGRANT_APT_PACKAGES`` (tools/lib-env.sh),
  installed on first use only;
* a hand-started privileged libvirtd with no networks (libvirtd.py);
* a local Debian 12 box made from the nspawn box root (image.py);
* the repository's Vagrantfile with ``PHOENIX_VAGRANT_LOCAL=1``: qemu
  software emulation, no management network, ssh and the API forwarded from
  127.0.0.1 only (driver.py), always ``vagrant destroy -f`` at the end.

Public API:

* ``booted() -> ContextManager[VagrantVM]``: the box opener verify.py calls;
* ``ensure_box(refresh=False) -> str``: build/add the local box, its name;
* ``ensure_host() -> None``: host packages + libvirtd;
* ``last_timings``: seconds of the last run's phases (box, up, destroy).
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Iterator, Sequence

from phoenix_rpm import runner
from phoenix_rpm.vagrant import libvirtd
from phoenix_rpm.vagrant.driver import VagrantVM, purge_domains, vagrant_vm
from phoenix_rpm.vagrant.image import ensure_box

__all__ = ["VagrantVM", "booted", "ensure_box", "ensure_host", "last_timings", "purge_domains"]

LIB_ENV = Path(__file__).resolve().parents[1] / "lib-env.sh"

last_timings: dict[str, float] = {}


def ensure_host() -> None:
    """Vagrant, vagrant-libvirt, libvirtd, qemu installed (first use only) and libvirtd running."""
    with runner.stage("host packages for the Vagrant path (tools/lib-env.sh)"):
        runner.run(["bash", "-c", f'source "{LIB_ENV}" && phoenix_vagrant_packages'], timeout=1800)
    libvirtd.ensure_running()


@contextlib.contextmanager
def booted(extra: Sequence[str] = ()) -> Iterator[VagrantVM]:
    """A fresh Vagrant VM of the local box, up and reachable by ssh; destroyed on exit.

    ``vagrant up --no-provision``: the verify stage installs and starts the
    package itself, timing each phase; the Vagrantfile's provisioners (the
    path a user takes with plain ``vagrant up``) run the same commands and
    are tested in tests/vagrant.
    """
    last_timings.clear()
    ensure_host()
    started = time.monotonic()
    box = ensure_box(extra=extra)
    last_timings["box"] = time.monotonic() - started
    with vagrant_vm(box) as vm:  # destroyed on any exit, Ctrl-C included
        started = time.monotonic()
        with runner.stage(f"vagrant up {vm.name} (box {box}, qemu software emulation)"):
            vm.up()
            vm.write_ssh_config()
            vm.exec(["true"], timeout=30)
        last_timings["up"] = time.monotonic() - started
        yield vm
    last_timings["destroy"] = vm.destroy_seconds
    runner.log("    vagrant phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in last_timings.items()))
