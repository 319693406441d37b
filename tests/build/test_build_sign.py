"""``--sign KEYID``: rpmsign --addsign with a throw-away GPG key, checked by rpm -K."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from phoenix_rpm import build, sign
from phoenix_rpm.errors import UserError


@pytest.fixture
def gnupghome(tmp_path: Path, monkeypatch) -> tuple[Path, str]:
    """A fresh keyring with one passphrase-less signing key; GNUPGHOME points at it."""
    home = Path("/run") / f"phoenix-gpg-{os.getpid()}"  # short path: gpg-agent's socket
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    uid = "Phoenix Test Signing <signing@example.org>"
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid,
                    "rsa2048", "sign", "never"], check=True, capture_output=True)
    yield home, uid
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def checked_with_public_key(packages: list[Path], uid: str, work: Path) -> str:
    """``rpm -K`` of ``packages`` against a fresh rpmdb holding only ``uid``'s public key."""
    pub = work / "key.asc"
    pub.write_bytes(subprocess.run(["gpg", "--batch", "--armor", "--export", uid],
                                   check=True, capture_output=True).stdout)
    dbpath = work / "rpmdb"
    dbpath.mkdir()
    subprocess.run(["rpm", "--dbpath", str(dbpath), "--import", str(pub)], check=True)
    return sign.check_signatures(packages, dbpath=dbpath)


def test_signed_packages_verify_with_rpm_k(hello_host_build: build.BuildResult, gnupghome,
                                            tmp_path: Path) -> None:
    home, uid = gnupghome
    pkgs = []
    for pkg in hello_host_build.packages:  # sign copies: the shared build stays unsigned
        shutil.copy2(pkg, tmp_path / pkg.name)
        pkgs.append(tmp_path / pkg.name)
    sign.sign(pkgs, uid)
    out = checked_with_public_key(pkgs, uid, tmp_path)
    for pkg in pkgs:
        assert f"{pkg}: digests signatures OK" in out
    # Without the key the signature is there but cannot be trusted.
    empty = tmp_path / "empty-rpmdb"
    empty.mkdir()
    proc = subprocess.run(["rpm", "-K", "--dbpath", str(empty), str(pkgs[0])], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "SIGNATURES NOT OK" in proc.stdout


def test_unknown_key_is_a_usage_error(hello_host_build: build.BuildResult, gnupghome) -> None:
    with pytest.raises(UserError, match="no such secret key"):
        sign.sign(hello_host_build.packages, "nobody@nowhere.invalid")


def test_build_with_sign_signs_what_lands_in_dist(hello_repo: Path, gnupghome, tmp_path: Path) -> None:
    from hello_project import hello_inputs

    home, uid = gnupghome
    result = build.build(hello_repo, box="host", sign=uid, inputs=hello_inputs(hello_repo),
                         dist_dir=tmp_path / "dist", reuse=False)
    assert result.signed_with == uid
    out = checked_with_public_key(result.packages, uid, tmp_path)
    assert out.count("digests signatures OK") == len(result.packages) == 2
    # The record of the build matches the signed files: an unchanged rerun reuses them.
    again = build.build(hello_repo, box="host", sign=uid, inputs=hello_inputs(hello_repo),
                        dist_dir=tmp_path / "dist")
    assert again.skipped


def test_a_new_key_under_the_same_user_id_signs_anew(hello_repo: Path, gnupghome, tmp_path: Path) -> None:
    """The build key holds the key's fingerprint: packages signed by an old key with the
    same user id (a keyring made anew) are not reused, they would fail every gpgcheck."""
    from hello_project import hello_inputs

    home, uid = gnupghome
    dist = tmp_path / "dist"
    first = build.build(hello_repo, box="host", sign=uid, inputs=hello_inputs(hello_repo), dist_dir=dist)
    old = sign.fingerprint(uid)
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True)
    shutil.rmtree(home)
    home.mkdir(mode=0o700)
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid,
                    "rsa2048", "sign", "never"], check=True, capture_output=True)
    assert sign.fingerprint(uid) != old
    again = build.build(hello_repo, box="host", sign=uid, inputs=hello_inputs(hello_repo), dist_dir=dist)
    assert not again.skipped
    out = checked_with_public_key(again.packages, uid, tmp_path)
    assert out.count("digests signatures OK") == len(again.packages) == len(first.packages)
