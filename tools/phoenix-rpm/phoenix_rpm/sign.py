"""Signing packages with ``rpmsign --addsign`` (``rpmbuild --sign`` no longer exists).

The key is looked up by GnuPG in the caller's keyring (``GNUPGHOME`` if set);
a key with a passphrase needs a running gpg-agent that knows it, as with any
rpmsign use.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from phoenix_rpm import runner
from phoenix_rpm.errors import UserError


def sign(packages: Sequence[Path], keyid: str, *, epoch: int | None = None) -> None:
    """Add a signature made with ``keyid`` to each package, in place.

    ``epoch``: date the signatures at this time (clamped to the key's
    creation) instead of now, so that signing the same package twice gives
    the same bytes and a repository's metadata stays reproducible
    (docs/repo.md).
    """
    gpg = require_key(keyid)
    extra = []
    if epoch is not None:
        extra = ["--define", f"_gpg_sign_cmd_extra_args --faked-system-time {signature_time(keyid, epoch)}!"]
    # Debian's rpm macros name /usr/bin/gpg2, which Debian 12 no longer ships:
    # point rpmsign at the gpg that is there.
    runner.run(["rpmsign", "--addsign", "--define", f"_gpg_name {keyid}", "--define", f"__gpg {gpg}",
                *extra, *[str(p) for p in packages]])


def require_key(keyid: str) -> str:
    """Check rpmsign, gpg and the secret key are there before anything is built; the gpg path."""
    if not keyid or keyid.startswith("-"):
        raise UserError(f"--sign {keyid!r}: give a GPG key id, fingerprint or user id")
    if shutil.which("rpmsign") is None:
        raise UserError("rpmsign not found: install the 'rpm' package (Debian) or 'rpm-sign' (Fedora/EL)")
    gpg = shutil.which("gpg") or shutil.which("gpg2")
    if gpg is None:
        raise UserError("gpg not found: install 'gnupg'")
    fingerprint(keyid)
    return gpg


def _secret_keys(keyid: str) -> list[tuple[str, int]]:
    """(fingerprint, creation time) of each secret primary key matching ``keyid``."""
    probe = runner.run(["gpg", "--batch", "--with-colons", "--list-secret-keys", keyid],
                       check=False, capture=True)
    if probe.returncode != 0:
        return []
    found: list[tuple[str, int]] = []
    created = 0
    for line in probe.stdout.splitlines():
        fields = line.split(":")
        if fields[0] == "sec":
            created = int(fields[5] or 0)
        elif fields[0] == "fpr" and created:
            found.append((fields[9], created))
            created = 0
    return found


def fingerprint(keyid: str) -> str:
    """The one secret key ``keyid`` names; a user error when none or several match."""
    keys = _secret_keys(keyid)
    if not keys:
        raise UserError(f"--sign {keyid}: no such secret key in the GnuPG keyring; "
                        "check `gpg --list-secret-keys` (or GNUPGHOME)")
    if len(keys) > 1:
        raise UserError(f"--sign {keyid}: names {len(keys)} secret keys "
                        f"({', '.join(k[0] for k in keys)}); pass one fingerprint")
    return keys[0][0]


def signature_time(keyid: str, epoch: int) -> int:
    """When a reproducible signature says it was made: ``epoch``, never before the key existed
    (gpg refuses a signature older than its key)."""
    keys = _secret_keys(keyid)
    return max(int(epoch), keys[0][1] if keys else 0)


def detach_sign(path: Path, keyid: str, out: Path, *, epoch: int) -> None:
    """An armored detached signature of ``path`` (repomd.xml.asc), dated reproducibly."""
    runner.run(["gpg", "--batch", "--yes", "--armor", "--detach-sign", "--local-user", fingerprint(keyid),
                "--faked-system-time", f"{signature_time(keyid, epoch)}!", "--output", str(out), str(path)])


def export_public_key(keyid: str) -> bytes:
    """The armored public key clients import (only that key: export-minimal, no other key of the uid)."""
    proc = runner.run(["gpg", "--batch", "--armor", "--export-options", "export-minimal",
                       "--export", fingerprint(keyid) + "!"], capture=True, check=False)
    if proc.returncode != 0 or "BEGIN PGP PUBLIC KEY BLOCK" not in proc.stdout:
        raise UserError(f"--sign {keyid}: gpg could not export its public key: {proc.stderr.strip()[-300:]}")
    return proc.stdout.encode()


def check_signatures(packages: Sequence[Path], dbpath: Path | None = None) -> str:
    """``rpm -K`` of the packages; returns its output (raises when one is not OK)."""
    argv = ["rpm", "-K"]
    if dbpath is not None:
        argv += ["--dbpath", str(dbpath)]
    return runner.run([*argv, *[str(p) for p in packages]], capture=True).stdout


@contextlib.contextmanager
def rpm_knows_key(keyid: str) -> Iterator[dict[str, str]]:
    """Environment for a tool that runs ``rpm -K`` (rpmlint): an rpm database that knows the key.

    rpmlint reports a package signed with a key missing from rpm's database
    as an error (unknown-key); the build host's database is not ours to
    change, so the tool gets a HOME whose ~/.rpmmacros points rpm at a
    throw-away database holding only the signing key.
    """
    with tempfile.TemporaryDirectory(prefix="phoenix-rpmkey-") as tmp:
        home = Path(tmp)
        key = home / "key.asc"
        key.write_bytes(export_public_key(keyid))
        (home / "rpmdb").mkdir()
        runner.run(["rpm", "--dbpath", str(home / "rpmdb"), "--import", str(key)], capture=True)
        (home / ".rpmmacros").write_text(f"%_dbpath {home / 'rpmdb'}\n")
        yield {"HOME": str(home)}
