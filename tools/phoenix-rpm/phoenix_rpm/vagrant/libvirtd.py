"""A private, privileged libvirtd for vagrant-libvirt: unix socket only, no networks.

Why hand-started (docs/vagrant.md, "What --box vagrant does"): systemd is not PID 1 on this host, so
``libvirt-daemon-system``'s units cannot run, and its default NAT network
(``virbr0``, 192.168.122.0/24) is exactly what the network rule forbids. We
install only ``libvirt-daemon`` + ``libvirt-daemon-driver-qemu`` (no network
driver at all), create the user, group and directories the qemu driver
expects, and start ``libvirtd`` without ``--listen``: it answers on its unix
socket and nowhere else. The VMs reach the host only through qemu user-mode
port forwards on 127.0.0.1.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import time
from pathlib import Path

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed, UserError

QEMU_CONF = Path("/etc/libvirt/qemu.conf")
SOCKET = Path("/run/libvirt/libvirt-sock")
PIDFILE = Path("/run/libvirtd.pid")
URI = "qemu:///system"

# The settings this host needs, each with why.
QEMU_SETTINGS: dict[str, str] = {
    # qemu runs as root: no dynamic ownership games on our box images.
    "user": '"root"',
    "group": '"root"',
    # No AppArmor/SELinux profile generation on a host without either.
    "security_driver": '"none"',
    # qemu's console/log written directly; virtlogd (a systemd-socket service) is not running.
    "stdio_handler": '"file"',
}

DIRECTORIES = (
    "/run/libvirt", "/var/lib/libvirt/images", "/var/lib/libvirt/qemu", "/var/lib/libvirt/boot",
    "/var/cache/libvirt/qemu", "/var/log/libvirt/qemu", "/etc/libvirt/qemu",
)


def configure() -> None:
    """qemu.conf keys, directories, the libvirt-qemu user and kvm group (idempotent)."""
    for d in DIRECTORIES:
        Path(d).mkdir(parents=True, exist_ok=True)
    # The qemu driver resolves its compiled-in defaults (user libvirt-qemu,
    # groups kvm and libvirt-qemu) before it reads qemu.conf: they must exist.
    for group in ("kvm", "libvirt-qemu"):
        try:
            grp.getgrnam(group)
        except KeyError:
            runner.run(["groupadd", "--system", group])
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        runner.run(["useradd", "--system", "--no-create-home", "--home-dir", "/var/lib/libvirt",
                    "--shell", "/usr/sbin/nologin", "--gid", "kvm", "libvirt-qemu"])
    QEMU_CONF.write_text(merged_conf(QEMU_CONF.read_text() if QEMU_CONF.exists() else "", QEMU_SETTINGS))


def merged_conf(text: str, settings: dict[str, str]) -> str:
    """text with each key set to our value: existing lines replaced, missing ones appended."""
    lines = text.splitlines()
    seen: set[str] = set()
    for i, line in enumerate(lines):
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in settings:
            lines[i] = f"{key} = {settings[key]}"
            seen.add(key)
    missing = [k for k in settings if k not in seen]
    if missing:
        lines.append("# phoenix (tools/build-rpm --box vagrant): privileged qemu, no virtlogd")
        lines += [f"{k} = {settings[k]}" for k in missing]
    return "\n".join(lines) + "\n"


def running() -> bool:
    """True when a libvirtd answers on the system socket."""
    if not SOCKET.exists() or shutil.which("virsh") is None:
        return False
    proc = runner.run(["virsh", "-c", URI, "version"], check=False, capture=True, timeout=20)
    return proc.returncode == 0


def ensure_running(timeout: float = 30.0) -> None:
    """Start libvirtd (daemonised, unix socket only) unless one already answers.

    Then check the network rule: no libvirt network may exist at all.
    """
    if os.geteuid() != 0:
        raise UserError("--box vagrant needs root (libvirtd, qemu): run as root or with sudo")
    if shutil.which("libvirtd") is None:
        raise UserError("libvirtd not found; tools/build-rpm --box vagrant installs it "
                        "(tools/lib-env.sh: PHOENIX_VAGRANT_APT_PACKAGES)")
    if not running():
        configure()
        with runner.stage("start libvirtd (privileged, unix socket only, no networks)"):
            # --daemon forks; no --listen, so no TCP socket is ever opened.
            runner.run(["libvirtd", "--daemon", "--pid-file", PIDFILE], timeout=30)
            deadline = time.monotonic() + timeout
            while not running():
                if time.monotonic() > deadline:
                    raise CheckFailed(f"libvirtd did not answer on {SOCKET} within {timeout:.0f} s; "
                                      "see /var/log/libvirt/ or run: libvirtd --verbose")
                time.sleep(0.5)
    assert_no_networks()


def networks() -> list[str]:
    """Names of every libvirt network, defined or active (there must be none)."""
    proc = runner.run(["virsh", "-c", URI, "net-list", "--all", "--name"], check=False, capture=True, timeout=20)
    if proc.returncode != 0:
        # libvirt built without its network driver: then no network can exist either.
        return []
    return [n.strip() for n in proc.stdout.splitlines() if n.strip()]


def assert_no_networks() -> None:
    found = networks()
    if found:
        raise CheckFailed(f"libvirt network(s) defined: {', '.join(found)}; the vagrant path must use none "
                          f"(remove with: virsh net-destroy NAME; virsh net-undefine NAME)")
