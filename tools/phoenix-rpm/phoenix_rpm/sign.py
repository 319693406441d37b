"""Signing packages with ``rpmsign --addsign`` (``rpmbuild --sign`` no longer exists).

The key is looked up by GnuPG in the caller's keyring (``GNUPGHOME`` if set);
a key with a passphrase needs a running gpg-agent that knows it, as with any
rpmsign use.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Sequence

from phoenix_rpm import runner
from phoenix_rpm.errors import UserError


def sign(packages: Sequence[Path], keyid: str) -> None:
    """Add a signature made with ``keyid`` to each package, in place."""
    if not keyid or keyid.startswith("-"):
        raise UserError(f"--sign {keyid!r}: give a GPG key id, fingerprint or user id")
    if shutil.which("rpmsign") is None:
        raise UserError("rpmsign not found: install the 'rpm' package (Debian) or 'rpm-sign' (Fedora/EL)")
    gpg = shutil.which("gpg") or shutil.which("gpg2")
    if gpg is None:
        raise UserError("gpg not found: install 'gnupg'")
    probe = runner.run(["gpg", "--batch", "--list-secret-keys", keyid], check=False, capture=True)
    if probe.returncode != 0:
        raise UserError(f"--sign {keyid}: no such secret key in the GnuPG keyring; "
                        "check `gpg --list-secret-keys` (or GNUPGHOME)")
    # Debian's rpm macros name /usr/bin/gpg2, which Debian 12 no longer ships:
    # point rpmsign at the gpg that is there.
    runner.run(["rpmsign", "--addsign", "--define", f"_gpg_name {keyid}", "--define", f"__gpg {gpg}",
                *[str(p) for p in packages]])


def check_signatures(packages: Sequence[Path], dbpath: Path | None = None) -> str:
    """``rpm -K`` of the packages; returns its output (raises when one is not OK)."""
    argv = ["rpm", "-K"]
    if dbpath is not None:
        argv += ["--dbpath", str(dbpath)]
    return runner.run([*argv, *[str(p) for p in packages]], capture=True).stdout
