"""ssh into a booted box: a generated key and a `vagrant ssh-config`-style file.

Why this shape: the verify stage runs ``pytest --hosts=ssh://<alias>
--ssh-config=<file>`` (testinfra's ssh backend) and a human can run
``ssh -F <file> <alias>``; both only need the file. The box sits in its own
network namespace, so the file carries a ``ProxyCommand`` that runs ``nc``
in the peer namespace (see netns.py): nothing is exposed on the host's ports.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from phoenix_rpm import runner
from phoenix_rpm.errors import CheckFailed, CommandFailed


def generate_key(path: Path) -> Path:
    """A fresh ed25519 key pair (no passphrase) at path / path.pub."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_suffix(".pub")):
        p.unlink(missing_ok=True)
    runner.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"phoenix-box-{path.parent.name}", "-f", path])
    return path


def authorize(root: Path, public_key: Path) -> None:
    """Install the key for root inside the (not yet booted) box tree."""
    ssh_dir = root / "root/.ssh"
    ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(ssh_dir, 0o700)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(public_key.read_text())
    os.chmod(keys, 0o600)
    os.chown(ssh_dir, 0, 0)
    os.chown(keys, 0, 0)


def config_text(*, alias: str, address: str, identity: Path, peer_ns: str) -> str:
    """The same keys, order and indentation as `vagrant ssh-config`, plus ProxyCommand."""
    return (
        f"Host {alias}\n"
        f"  HostName {address}\n"
        f"  User root\n"
        f"  Port 22\n"
        f"  UserKnownHostsFile /dev/null\n"
        f"  StrictHostKeyChecking no\n"
        f"  PasswordAuthentication no\n"
        f"  IdentityFile {identity}\n"
        f"  IdentitiesOnly yes\n"
        f"  LogLevel FATAL\n"
        f"  ProxyCommand ip netns exec {peer_ns} nc %h %p\n"
    )


def write_config(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def ssh_argv(config: Path, alias: str, *command: str) -> list[str]:
    """``ssh -F <config> <alias> command...`` with a short connect timeout."""
    return ["ssh", "-F", str(config), "-o", "ConnectTimeout=5", "-o", "BatchMode=yes", alias, *command]


def wait_for_ssh(config: Path, alias: str, deadline: float) -> None:
    """Poll ``ssh ... true`` until it works; each try has its own timeout."""
    last = ""
    while time.monotonic() < deadline:
        try:
            proc = runner.run(ssh_argv(config, alias, "true"), check=False, capture=True, timeout=15)
        except CommandFailed as exc:  # the try itself timed out
            last = str(exc)
            continue
        if proc.returncode == 0:
            return
        last = (proc.stderr or proc.stdout).strip()
        time.sleep(0.2)
    raise CheckFailed(f"ssh into the box did not work in time (ssh -F {config} {alias} true): {last or 'no output'}")
