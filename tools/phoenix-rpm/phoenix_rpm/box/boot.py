"""A booted box: a throw-away overlay running systemd as PID 1, reachable over ssh.

The sequence (each step recorded in the lease first, so a crash is cleaned
by the next run): overlay of the cached root -> network namespaces + veth ->
ssh key authorised inside -> ``systemd-nspawn --boot`` in the background ->
wait for ``systemctl is-system-running`` (running or degraded) -> wait for
sshd. Teardown always runs: on success, on exceptions, on Ctrl-C and on
SIGTERM (turned into SystemExit while the box is up).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator, Sequence

from phoenix_rpm import runner
from phoenix_rpm.box import netns, nspawn, ssh
from phoenix_rpm.box.overlay import leased_overlay
from phoenix_rpm.errors import CheckFailed, UserError

BOOT_TIMEOUT = float(os.environ.get("PHOENIX_BOX_BOOT_TIMEOUT", "90"))
SSH_TIMEOUT = float(os.environ.get("PHOENIX_BOX_SSH_TIMEOUT", "30"))

# Paths the box mounts over at boot: a file copied there from the host is hidden.
_HIDDEN = ("/tmp", "/run", "/dev", "/proc", "/sys")


class BootedBox:
    """Handle on a running box; valid only inside the ``booted()`` block."""

    # How long a backing server may take to answer after its start (backing.py):
    # seconds in a container on the host's own CPU.
    server_start_timeout = 120.0

    def __init__(self, *, name: str, root: Path, address: str, ssh_host: str, ssh_config: Path,
                 leader_pid: int, peer_ns: str, console_log: Path) -> None:
        self.name = name
        self.root = root                # the overlay's merged dir on the host
        self.address = address          # the box's IP inside its network namespace
        self.ssh_host = ssh_host        # the Host alias in ssh_config
        self.ssh_config = ssh_config
        self.leader_pid = leader_pid    # the box's systemd, as a host pid
        self.peer_ns = peer_ns
        self.console_log = console_log
        self.kept = False               # left running at the end (--keep-box)

    def exec(self, argv: Sequence[str], *, check: bool = True, input: str | None = None,
             capture: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run argv inside the booted box as root (nsenter into all its namespaces).

        The environment is clean (PATH, HOME=/root, LANG=C.UTF-8), as for a
        root login, not the host's.
        """
        if not argv:
            raise UserError("BootedBox.exec: empty command")
        full = ["nsenter", "--target", str(self.leader_pid), "--all", "--root", "--wd=/",
                "env", "-i", f"PATH={nspawn.BOX_PATH}", "HOME=/root", "LANG=C.UTF-8", *argv]
        return runner.run(full, check=check, input=input, capture=capture, timeout=timeout)

    def copy_in(self, src: Path, dest: str) -> None:
        """Copy a host file (or directory) to an absolute path inside the box
        (a ``dest`` ending in ``/`` is a directory to copy into, made if missing).

        Not under /tmp, /run...: the box mounts its own tmpfs there, which
        hides what is written into the tree from outside.
        """
        if not dest.startswith("/"):
            raise UserError(f"copy_in: {dest!r} must be an absolute path inside the box")
        if any(dest == h or dest.startswith(h + "/") for h in _HIDDEN):
            raise UserError(f"copy_in: {dest} is hidden by the box's own mounts; use e.g. /var/tmp or /root")
        src = Path(src)
        if not src.exists():
            raise UserError(f"copy_in: {src} does not exist")
        if ".." in Path(dest).parts:
            raise UserError(f"copy_in: {dest} must not contain '..'")
        target = self.root / dest.lstrip("/")
        if dest.endswith("/"):          # "into this directory", like cp
            target = target / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, target)
        runner.run(["chown", "-R", "0:0", target])

    def host_argv(self, argv: Sequence[str]) -> list[str]:
        """Prefix a HOST command so it runs where it can reach ``self.address``."""
        return ["ip", "netns", "exec", self.peer_ns, *argv]

    def ssh_argv(self, *command: str) -> list[str]:
        """``ssh -F <ssh_config> <alias> command...``."""
        return ssh.ssh_argv(self.ssh_config, self.ssh_host, *command)

    def __repr__(self) -> str:
        return f"BootedBox(name={self.name!r}, address={self.address!r}, leader_pid={self.leader_pid})"


JOURNALD_DROPIN = "etc/systemd/journald.conf.d/50-phoenix-box.conf"


def keep_every_journal_line(root: Path) -> None:
    """Turn journald's rate limit off inside the (not yet booted) box tree.

    The checks read the units' journals whole: no ERROR record
    (docs/verify.md), and the ops scenarios find which process is which
    worker kind from the launcher's lines (docs/reliability.md). A service
    with an access log line per request passes journald's default burst
    (10000 lines in 30 s) under the ops load; journald then drops the unit's
    lines for the rest of the window, and a CI run lost the "Started rpc
    worker" lines of a reload that way. A production host keeps its own
    journald settings; only the box changes.
    """
    dropin = root / JOURNALD_DROPIN
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text("# written by phoenix-rpm at box boot: the checks read whole journals\n"
                      "[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n")


@contextlib.contextmanager
def booted(root: Path, *, name: str | None = None, ssh_config_path: Path | None = None,
           boot_timeout: float | None = None, keep: bool = False) -> Iterator[BootedBox]:
    """Boot a throw-away copy of root; yield a BootedBox; always tear it down.

    ``keep``: leave it running when the block ends (not on Ctrl-C or
    SIGTERM), for a user to log in (``--keep-box``): its lease is marked
    kept, so no cleanup takes it, and ``box rm --kept NAME`` removes it.

    Calls cleanup_leftovers() first (through the overlay). Raises CheckFailed
    with the console tail when the box does not reach running/degraded within
    ``boot_timeout`` seconds (default PHOENIX_BOX_BOOT_TIMEOUT or 90) or sshd
    does not answer within PHOENIX_BOX_SSH_TIMEOUT (30).
    """
    started = time.monotonic()
    boot_timeout = BOOT_TIMEOUT if boot_timeout is None else boot_timeout
    with leased_overlay(root, name=name) as lease, contextlib.ExitStack() as running:
        merged = Path(lease.overlay or "")
        workdir = Path(lease.workdir)
        with runner.stage(f"boot box {lease.name}"):
            lease.netns = list(netns.names_for(lease.name))
            lease.save()
            pair = netns.create(lease.name, lease.claim_subnet())
            key = ssh.generate_key(workdir / "id_ed25519")
            ssh.authorize(merged, key.with_suffix(".pub"))
            keep_every_journal_line(merged)
            cfg_text = ssh.config_text(alias=lease.name, address=pair.box_addr, identity=key, peer_ns=pair.peer_ns)
            cfg = ssh.write_config(workdir / "ssh_config", cfg_text)
            if ssh_config_path is not None:
                ssh.write_config(Path(ssh_config_path), cfg_text)
                cfg = Path(ssh_config_path)
            console = workdir / "console.log"
            # Stopped by _stop however the block ends (the explicit calls below
            # only order it before reading the console log).
            # A kept box (--keep-box) must outlive the block: its stop is skipped
            # once the lease says kept.
            proc = running.enter_context(nspawn.start_boot(
                merged, machine=lease.name, netns_path=pair.box_ns_path, console_log=console,
                stop=lambda p: None if lease.kept else _stop(p)))
            lease.nspawn_pid = proc.pid
            lease.save()
            try:
                deadline = time.monotonic() + boot_timeout
                leader = nspawn.wait_for_leader(proc, deadline)
                box = BootedBox(name=lease.name, root=merged, address=pair.box_addr, ssh_host=lease.name,
                                ssh_config=cfg, leader_pid=leader, peer_ns=pair.peer_ns, console_log=console)
                state = _wait_running(box, proc, deadline, boot_timeout)
                try:
                    ssh.wait_for_ssh(cfg, lease.name, time.monotonic() + SSH_TIMEOUT)
                except CheckFailed as exc:
                    status = box.exec(["systemctl", "status", "--no-pager", "--lines=15", "ssh.service"],
                                      check=False, timeout=10)
                    raise nspawn.BootFailed(f"{exc}\n--- systemctl status ssh.service ---\n"
                                            f"{(status.stdout or status.stderr).strip()}") from None
                runner.log(f"    box {lease.name}: systemd {state}, ssh ready at {pair.box_addr} "
                           f"after {time.monotonic() - started:.1f} s (ssh -F {cfg} {lease.name})")
            except nspawn.BootFailed as exc:
                _stop(proc)   # first: nspawn writes the console log out as it exits
                raise CheckFailed(f"box {lease.name}: {exc}\n{nspawn.console_tail(console)}") from None
            except BaseException:
                _stop(proc)
                raise
        box.kept = keep
        try:
            yield box
        except (KeyboardInterrupt, SystemExit):
            _stop(proc)
            raise
        except BaseException:
            if not keep:
                _stop(proc)
            else:
                lease.kept = True
                lease.save()
            raise
        else:
            if keep:
                lease.kept = True
                lease.save()
            else:
                _stop(proc)


def _wait_running(box: BootedBox, proc: subprocess.Popen[bytes], deadline: float, timeout: float) -> str:
    """Poll `systemctl is-system-running` until running/degraded; on timeout
    the error shows the jobs still waiting and the journal's tail."""
    state = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise nspawn.BootFailed(f"the box stopped while booting (nspawn status {proc.returncode})")
        try:
            out = box.exec(["systemctl", "is-system-running"], check=False, timeout=10)
            state = out.stdout.strip()
        except Exception as exc:  # noqa: BLE001 - nsenter can fail while the box is coming up
            state = f"({exc})"
        if state in ("running", "degraded"):
            if state == "degraded":
                failed = box.exec(["systemctl", "--failed", "--no-legend", "--plain"], check=False)
                runner.log(f"    box {box.name} is degraded; failed units: {failed.stdout.strip() or '?'}")
            return state
        time.sleep(0.2)
    raise nspawn.BootFailed(f"the box did not reach running/degraded within {timeout:g} s "
                            f"(last state: {state or 'none'})\n{_diagnostics(box)}")


def _diagnostics(box: BootedBox) -> str:
    """What systemd inside is still waiting for, and its journal's last lines."""
    out = []
    for title, argv in (("jobs still queued", ["systemctl", "list-jobs", "--no-pager"]),
                        ("journal tail", ["journalctl", "-b", "--no-pager", "-n", "25"])):
        try:
            proc = box.exec(argv, check=False, timeout=10)
            text = (proc.stdout or proc.stderr).strip()
        except Exception as exc:  # noqa: BLE001 - diagnostics must not hide the real error
            text = f"({exc})"
        out.append(f"--- {title} ---\n{text or '(none)'}")
    return "\n".join(out)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill the container at once (no orderly shutdown needed: the overlay is thrown away)."""
    if proc.poll() is None:
        leader = nspawn.find_leader(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            if leader:
                os.kill(leader, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
