"""Drive one throw-away Vagrant VM: up, provision, ssh-config, exec, destroy.

Each run gets its own Vagrant state directory (``VAGRANT_DOTFILE_PATH``) and
libvirt domain prefix, so two runs never share a machine and the repository
gets no ``.vagrant/``. The VM is always destroyed (``vagrant destroy -f``,
then ``virsh`` as a fallback) when the with-block ends, on failure and
Ctrl-C too. Every call has a timeout bounded by one overall deadline: the
qemu port forward accepts connections even while the guest hangs, so no
wait may be open-ended.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from phoenix_rpm import runner
from phoenix_rpm.box.lease import start_time
from phoenix_rpm.errors import CheckFailed, CommandFailed, UserError

# The Vagrantfile ships inside the toolkit; a checkout's top-level Vagrantfile loads it.
VAGRANT_DIR = Path(__file__).resolve().parent
VAGRANTFILE = VAGRANT_DIR / "Vagrantfile"
DEFAULT_DEADLINE = float(os.environ.get("PHOENIX_VAGRANT_TIMEOUT", "1200"))


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 now (qemu binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class VagrantVM:
    """One machine of the repository's Vagrantfile, in PHOENIX_VAGRANT_LOCAL mode.

    Has what verify.py's phases use of a box: ``exec()``, ``copy_in()``,
    ``ssh_host`` and ``ssh_config``.
    """

    ssh_host = "default"
    kept = False  # always destroyed: --keep-box is the nspawn box's (verify.Box)
    # qemu software emulation (docs/vagrant.md) runs the guest 20-30 times
    # slower than the host: RabbitMQ's Erlang VM takes 3-5 minutes to open
    # its AMQP listener there (2 vCPUs, a loaded host), seconds in nspawn.
    server_start_timeout = float(os.environ.get("PHOENIX_VAGRANT_SERVER_TIMEOUT", "720"))

    def __init__(self, box: str, workdir: Path, *, rpm: Path | None = None, units: Sequence[str] = (),
                 api_port: int | None = None, deadline: float | None = None) -> None:
        self.box = box
        self.workdir = workdir
        self.prefix = f"phx-vg-{workdir.name[-6:]}-"
        self.name = self.prefix + "default"  # the libvirt domain: prefix + machine name
        self.ssh_port = free_port()
        self.host_api_port = free_port()
        self.ssh_config = workdir / "ssh-config"
        self.console_log = workdir / "console.log"
        self.deadline = time.monotonic() + (deadline or DEFAULT_DEADLINE)
        self.destroy_seconds = 0.0  # set by vagrant_vm() once destroyed, for the phase timings
        self.env: dict[str, str] = {
            "VAGRANT_CWD": str(VAGRANT_DIR),
            "VAGRANT_VAGRANTFILE": VAGRANTFILE.name,
            "VAGRANT_DOTFILE_PATH": str(workdir / ".vagrant"),
            "VAGRANT_CHECKPOINT_DISABLE": "1",   # offline: no version check on the network
            "VAGRANT_NO_COLOR": "1",
            "VAGRANT_DEFAULT_PROVIDER": "libvirt",
            "PHOENIX_VAGRANT_LOCAL": "1",
            "PHOENIX_VAGRANT_BOX": box,
            "PHOENIX_VAGRANT_NAME": self.prefix,
            "PHOENIX_VAGRANT_SSH_PORT": str(self.ssh_port),
            "PHOENIX_VAGRANT_HOST_PORT": str(self.host_api_port),
            "PHOENIX_VAGRANT_CONSOLE_LOG": str(self.console_log),
        }
        if rpm is not None:
            self.env["PHOENIX_VAGRANT_RPM"] = str(rpm)
        if units:
            self.env["PHOENIX_VAGRANT_UNITS"] = " ".join(units)
        if api_port:
            self.env["PHOENIX_VAGRANT_API_PORT"] = str(api_port)

    # --- vagrant commands ---------------------------------------------------

    def remaining(self, wanted: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 5:
            raise CheckFailed(f"the Vagrant verification ran out of time (PHOENIX_VAGRANT_TIMEOUT="
                              f"{DEFAULT_DEADLINE:.0f} s); console log: {self.console_log}")
        return min(wanted, left)

    def vagrant(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``vagrant ARGS`` with this VM's environment; output captured (progress bars dropped)."""
        proc = runner.run(["vagrant", *args], env=self.env, cwd=VAGRANT_DIR, check=False, capture=True,
                          timeout=self.remaining(timeout))
        if check and proc.returncode != 0:
            raise CommandFailed(["vagrant", *args], proc.returncode, _tail(proc))
        return proc

    def up(self) -> None:
        """``vagrant up --no-provision``: create the domain, boot, wait for ssh."""
        self.vagrant("up", "--provider=libvirt", "--no-provision", timeout=600)

    def provision(self) -> subprocess.CompletedProcess[str]:
        """The Vagrantfile's own provisioners: upload the RPM, rpm -ivh, systemctl enable --now."""
        return self.vagrant("provision", timeout=900, check=False)

    def write_ssh_config(self) -> Path:
        proc = self.vagrant("ssh-config", timeout=120)
        self.ssh_config.write_text(proc.stdout)
        return self.ssh_config

    def ssh_user(self) -> str:
        match = re.search(r"^\s*User\s+(\S+)", self.ssh_config.read_text(), re.M)
        return match.group(1) if match else "vagrant"

    def destroy(self) -> None:
        """``vagrant destroy -f``; then make sure no domain or volume of ours is left."""
        try:
            runner.run(["vagrant", "destroy", "-f"], env=self.env, cwd=VAGRANT_DIR, check=False,
                       capture=True, timeout=300)
        finally:
            purge_domains(self.prefix)

    # --- what verify.py's phases call ---------------------------------------

    def exec(self, argv: Sequence[str], *, check: bool = True, timeout: float | None = 120,
             env: Mapping[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        command = shlex.join(argv)
        if env:
            command = "env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + command
        if self.ssh_user() != "root":
            command = "sudo " + command
        proc = runner.run(["ssh", "-F", str(self.ssh_config), "-o", "ConnectTimeout=10", "-o", "BatchMode=yes",
                           self.ssh_host, command], check=False, capture=True, input=input,
                          timeout=self.remaining(timeout or 600))
        if check and proc.returncode != 0:
            raise CommandFailed(list(argv), proc.returncode, _tail(proc))
        return proc

    # The --ops scenarios reach a box's ports from its peer network namespace
    # (BootedBox.address / host_argv); a VM has only two forwarded loopback
    # ports, so say so instead of failing with an AttributeError.
    @property
    def address(self) -> str:
        raise UserError("--ops needs the nspawn box (its own network namespace); "
                        "run tools/build-rpm --verify --ops without --box vagrant")

    def host_argv(self, argv: Sequence[str]) -> list[str]:
        raise UserError("--ops needs the nspawn box (its own network namespace); "
                        "run tools/build-rpm --verify --ops without --box vagrant")

    def copy_in(self, src: Path, dest: str) -> None:
        runner.run(["scp", "-q", "-F", str(self.ssh_config), str(src), f"{self.ssh_host}:{dest}"],
                   timeout=self.remaining(300))


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr or "") + (proc.stdout or "")
    text = "\n".join(line for line in text.splitlines() if "Progress:" not in line and not line.startswith("\tfrom "))
    return text.strip()[-3000:]


def purge_domains(prefix: str, *, passes: int = 4) -> list[str]:
    """virsh destroy + undefine every domain named ``prefix*`` and delete its volumes.

    The fallback after ``vagrant destroy -f`` (which can fail half-way, e.g.
    when the run was interrupted before Vagrant recorded the machine id).
    Checked, not trusted: a domain caught mid-shutdown refuses ``undefine``
    for an instant, so the list is read again until nothing of ours is left;
    a domain that outlives every pass is an error that names virsh's words.
    """
    if not prefix.startswith("phx-") or shutil.which("virsh") is None:
        return []
    uri = ["virsh", "-c", "qemu:///system"]
    removed: list[str] = []
    said: list[str] = []
    for attempt in range(passes + 1):
        proc = runner.run([*uri, "list", "--all", "--name"], check=False, capture=True, timeout=30)
        left = [d for d in proc.stdout.split() if d.startswith(prefix)]
        if proc.returncode == 0 and not left:
            break
        if attempt == passes:
            raise CheckFailed(f"libvirt domains {prefix}* are still defined after {passes} tries "
                              f"({'; '.join(said) or proc.stderr.strip() or 'no error printed'}); remove them "
                              f"with `virsh -c qemu:///system undefine NAME --remove-all-storage`")
        said = [] if proc.returncode == 0 else [proc.stderr.strip()]
        for domain in left:
            runner.run([*uri, "destroy", domain], check=False, capture=True, timeout=60)
            gone = runner.run([*uri, "undefine", domain, "--remove-all-storage"], check=False, capture=True,
                              timeout=60)
            if gone.returncode != 0:
                gone = runner.run([*uri, "undefine", domain], check=False, capture=True, timeout=60)
            if gone.returncode == 0:
                removed.append(domain)
            else:
                said.append(f"{domain}: {gone.stderr.strip()}")
        time.sleep(min(2 ** attempt, 5))
    vols = runner.run([*uri, "vol-list", "default"], check=False, capture=True, timeout=30)
    for line in vols.stdout.splitlines()[2:]:
        parts = line.split()
        if parts and parts[0].startswith(prefix):
            runner.run([*uri, "vol-delete", parts[0], "--pool", "default"], check=False, capture=True, timeout=60)
            removed.append(parts[0])
    return removed


OWNER_FILE = "owner"


def write_owner(workdir: Path) -> None:
    """Mark ``workdir`` as this process's: pid and start time (a reused pid is not us)."""
    pid = os.getpid()
    (workdir / OWNER_FILE).write_text(f"{pid} {start_time(pid)}\n")


def owner_alive(workdir: Path) -> bool:
    """Whether the run that made ``workdir`` is still going."""
    try:
        pid, start = (workdir / OWNER_FILE).read_text().split()
    except (OSError, ValueError):
        return False
    return start_time(int(pid)) == start


def reap_stale_domains() -> list[str]:
    """Remove the domains of earlier runs that were killed before their clean-up ran.

    Each run's domain prefix is its work dir's suffix (``phx-vg-XXXXXX-`` for
    ``vagrant-XXXXXX``), and the work dir names its owner process before the
    domain exists; a domain whose work dir is gone, or whose owner is no
    longer running, has nobody left to destroy it.
    """
    if shutil.which("virsh") is None:
        return []
    proc = runner.run(["virsh", "-c", "qemu:///system", "list", "--all", "--name"], check=False, capture=True,
                      timeout=30)
    removed: list[str] = []
    for domain in proc.stdout.split():
        match = re.fullmatch(r"(phx-vg-([0-9a-f]{6})-)\S*", domain)
        if match and not owner_alive(work_root() / f"vagrant-{match.group(2)}"):
            runner.log(f"    removing {domain}: left by an earlier run that was killed")
            removed += purge_domains(match.group(1))
    return removed


def work_root() -> Path:
    return Path(os.environ.get("PHOENIX_BOX_WORK", "/var/tmp/phoenix"))


@contextlib.contextmanager
def vagrant_vm(box: str, **kwargs: object) -> Iterator[VagrantVM]:
    """A VagrantVM whose state lives in a fresh work dir; destroyed and removed on exit.

    The VM is not started here: the caller times ``up()`` and ``provision()``.
    """
    reap_stale_domains()
    workdir = work_root() / f"vagrant-{secrets.token_hex(3)}"
    workdir.mkdir(parents=True)
    write_owner(workdir)
    vm = VagrantVM(box, workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield vm
    finally:
        started = time.monotonic()
        with runner.stage("vagrant destroy -f"):
            vm.destroy()
        vm.destroy_seconds = time.monotonic() - started
        keep = os.environ.get("PHOENIX_VAGRANT_KEEP_LOGS")
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
