"""Helpers of the repository tests: a throw-away signing key, tiny RPMs, dnf on the host.

A module of its own, not conftest.py (several test folders have a conftest).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]
BUILD_RPM = ROOT / "tools" / "build-rpm"
EPOCH = 1767225600  # 2026-01-01: SOURCE_DATE_EPOCH of the tiny packages

TINY_SPEC = """\
Name:           {name}
Version:        {version}
Release:        1
Summary:        A tiny package of the repository tests
License:        MIT
BuildArch:      noarch
%global _buildhost reproducible
%global use_source_date_epoch_as_buildtime 1
%global clamp_mtime_to_source_date_epoch 1

{requires}
%description
A tiny package of the repository tests.

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo {version} > %{{buildroot}}/usr/share/{name}/version

%files
/usr/share/{name}/version
"""


def make_rpm(out: Path, name: str, version: str, epoch: int = EPOCH, requires: str = "") -> Path:
    """Build a noarch RPM with the host's rpmbuild (a fraction of a second)."""
    top = out / f".top-{name}-{version}"
    (top / "SPECS").mkdir(parents=True, exist_ok=True)
    spec = top / "SPECS" / f"{name}.spec"
    spec.write_text(TINY_SPEC.format(name=name, version=version,
                                     requires=f"Requires:       {requires}\n" if requires else ""))
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", str(spec)],
                   check=True, capture_output=True, env=env)
    built = next((top / "RPMS" / "noarch").glob("*.rpm"))
    out.mkdir(parents=True, exist_ok=True)
    dest = out / built.name
    shutil.move(built, dest)
    shutil.rmtree(top)
    return dest


def new_gnupghome(uid: str = "Phoenix Repo Tests <repo@example.org>") -> Iterator[tuple[Path, str]]:
    """A fresh keyring with one passphrase-less signing key; GNUPGHOME points at it."""
    home = Path("/run") / f"phoenix-gpg-repo-{os.getpid()}-{abs(hash(uid)) % 10000}"  # short: agent socket
    home.mkdir(mode=0o700)
    old = os.environ.get("GNUPGHOME")
    os.environ["GNUPGHOME"] = str(home)
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid,
                    "rsa2048", "sign", "never"], check=True, capture_output=True)
    try:
        yield home, uid
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
        if old is None:
            os.environ.pop("GNUPGHOME", None)
        else:
            os.environ["GNUPGHOME"] = old
        shutil.rmtree(home, ignore_errors=True)


def sign_rpms(paths: list[Path], uid: str, epoch: int = EPOCH) -> None:
    from phoenix_rpm import sign

    sign.sign(paths, uid, epoch=epoch)


def host_dnf(repo_file: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The host's dnf against one .repo file only, into a throw-away install root."""
    reposdir = work / "repos.d"
    reposdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo_file, reposdir / repo_file.name)
    root = work / "root"
    root.mkdir(exist_ok=True)
    argv = ["dnf", "-y", "--releasever=9", f"--installroot={root}", f"--setopt=reposdir={reposdir}",
            f"--setopt=cachedir={work / 'cache'}", "--setopt=logdir=" + str(work), "--noplugins", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every metadata file (what a client downloads)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and "repodata" in p.parts}
