"""What a user checks on a built package, as functions the tests share."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def rpm_q(rpm: Path, *args: str) -> str:
    proc = subprocess.run(["rpm", "-qp", "--nosignature", *args, str(rpm)],
                          capture_output=True, text=True, check=True)
    return proc.stdout


def unpack(rpm: Path, dest: Path) -> Path:
    """rpm2cpio | cpio -idm into dest: the payload exactly as it would land on disk."""
    dest.mkdir(parents=True, exist_ok=True)
    rpm2cpio = subprocess.Popen(["rpm2cpio", str(rpm)], stdout=subprocess.PIPE)
    subprocess.run(["cpio", "-idm", "--quiet"], stdin=rpm2cpio.stdout, cwd=dest, check=True)
    assert rpm2cpio.wait() == 0
    return dest


def grep_payload(payload: Path, needle: str) -> list[str]:
    """Files of the payload whose bytes contain needle (grep -rl, binaries included)."""
    proc = subprocess.run(["grep", "-rlF", "--", needle, "."], cwd=payload, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.split()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
