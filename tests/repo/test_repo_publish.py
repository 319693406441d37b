"""``--repo DIR``: layout, retention, incremental == from scratch, reproducible, real dnf (issue 14).

Tiny noarch packages built with the host's rpmbuild stand in for a service
(the booted-box tests in test_repo_dnf_box.py use apollo); the client is the
host's real dnf, with gpgcheck=1 and repo_gpgcheck=1, into a throw-away root.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from repotools import host_dnf, make_rpm, new_gnupghome, sign_rpms, tree_bytes

from phoenix_rpm import repo


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, gpg_key) -> dict[str, Path]:
    """tiny 1.0 .. 1.3 and other 1.0, signed with the module's key."""
    out = tmp_path_factory.mktemp("tiny")
    pkgs = {f"tiny-{v}": make_rpm(out, "tiny", v) for v in ("1.0", "1.1", "1.2", "1.3")}
    pkgs["other-1.0"] = make_rpm(out, "other", "1.0")
    sign_rpms(list(pkgs.values()), gpg_key[1])
    return pkgs


def test_layout_and_repo_file(tmp_path: Path, tiny, gpg_key) -> None:
    result = repo.publish(tmp_path / "repo", [tiny["tiny-1.0"]], sign=gpg_key[1])
    arch = result.trees["binary"]
    assert (arch / "Packages" / "t" / tiny["tiny-1.0"].name).is_file()
    assert (arch / "repodata" / "repomd.xml").is_file()
    asc = (arch / "repodata" / "repomd.xml.asc").read_text()
    assert asc.startswith("-----BEGIN PGP SIGNATURE-----")
    key = result.key_file
    assert key is not None and "BEGIN PGP PUBLIC KEY BLOCK" in key.read_text()
    subprocess.run(["gpg", "--batch", "--verify", str(arch / "repodata" / "repomd.xml.asc"),
                    str(arch / "repodata" / "repomd.xml")], check=True, capture_output=True)
    text = result.repo_file.read_text()
    for line in ("gpgcheck=1", "repo_gpgcheck=1", f"gpgkey={(tmp_path / 'repo').as_uri()}/{key.name}",
                 f"baseurl={(tmp_path / 'repo').as_uri()}/$basearch/"):
        assert line in text.splitlines(), (line, text)


def test_host_dnf_installs_with_signature_checks(tmp_path: Path, tiny, gpg_key) -> None:
    result = repo.publish(tmp_path / "repo", [tiny["tiny-1.0"], tiny["tiny-1.1"]], sign=gpg_key[1])
    proc = host_dnf(result.repo_file, tmp_path / "client", "install", "tiny")
    assert proc.returncode == 0, proc.stderr
    assert "tiny-1.1-1.noarch" in proc.stdout          # the newest, resolved by dnf
    assert "Importing GPG key" in proc.stderr or "Key imported" in proc.stdout
    assert (tmp_path / "client" / "root" / "usr/share/tiny/version").read_text() == "1.1\n"
    down = host_dnf(result.repo_file, tmp_path / "client", "downgrade", "tiny")
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "client" / "root" / "usr/share/tiny/version").read_text() == "1.0\n"


def test_incremental_update_equals_from_scratch(tmp_path: Path, tiny, gpg_key) -> None:
    one = tmp_path / "one"
    for name in ("tiny-1.0", "tiny-1.1", "other-1.0", "tiny-1.2"):
        repo.publish(one, [tiny[name]], sign=gpg_key[1])
    scratch = tmp_path / "scratch"
    repo.publish(scratch, [tiny[n] for n in ("tiny-1.0", "tiny-1.1", "tiny-1.2", "other-1.0")],
                 sign=gpg_key[1])
    assert tree_bytes(one) == tree_bytes(scratch)
    assert len(tree_bytes(one)) == 5    # repomd.xml, .asc, primary, filelists, other


def test_same_inputs_same_bytes(tmp_path: Path, tiny, gpg_key) -> None:
    pkgs = [tiny["tiny-1.0"], tiny["other-1.0"]]
    first = repo.publish(tmp_path / "a", pkgs, sign=gpg_key[1])
    second = repo.publish(tmp_path / "b", pkgs, sign=gpg_key[1])
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert first.key_file.read_bytes() == second.key_file.read_bytes()
    # Publishing again changes nothing either.
    before = tree_bytes(tmp_path / "a")
    repo.publish(tmp_path / "a", pkgs, sign=gpg_key[1])
    assert tree_bytes(tmp_path / "a") == before


def test_retention_keeps_the_newest_versions(tmp_path: Path, tiny, gpg_key) -> None:
    target = tmp_path / "repo"
    # As the SBOM of a bundled package lies beside the repository: pruned with it.
    sbom = target / repo.SBOM_DIR / "tiny-1.0-1.noarch.cdx.json"
    sbom.parent.mkdir(parents=True)
    sbom.write_text("{}")
    for name in ("tiny-1.0", "tiny-1.1", "other-1.0", "tiny-1.3", "tiny-1.2"):
        result = repo.publish(target, [tiny[name]], sign=gpg_key[1], keep=2)
    assert not sbom.exists()
    left = sorted(p.name for p in (result.trees["binary"] / "Packages").rglob("*.rpm"))
    assert left == ["other-1.0-1.noarch.rpm", "tiny-1.2-1.noarch.rpm", "tiny-1.3-1.noarch.rpm"]
    proc = host_dnf(result.repo_file, tmp_path / "client", "repoquery", "--qf", "%{name}-%{version}", "-q")
    assert sorted(proc.stdout.split()) == ["other-1.0", "tiny-1.2", "tiny-1.3"], proc.stderr


def test_metadata_swap_is_one_step(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    repo.exchange(a, b)
    assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"


def test_tampered_metadata_fails_dnf_with_a_signature_error(tmp_path: Path, tiny, gpg_key) -> None:
    result = repo.publish(tmp_path / "repo", [tiny["tiny-1.0"]], sign=gpg_key[1])
    repomd = result.trees["binary"] / "repodata" / "repomd.xml"
    repomd.write_text(repomd.read_text().replace("<revision>", "<revision>9"))
    proc = host_dnf(result.repo_file, tmp_path / "client", "install", "tiny")
    assert proc.returncode != 0
    assert "GPG signature verification error" in proc.stderr or "Bad GPG signature" in proc.stderr, proc.stderr


def test_a_package_swapped_for_one_signed_by_another_key_fails_the_signature_checks(
        tmp_path: Path, tiny, gpg_key) -> None:
    """Someone with write access but not the key swaps in a package signed
    by their own key and regenerates the metadata: with repo_gpgcheck=1 the
    repomd.xml signature no longer matches; a client that switched metadata
    checks off still refuses the package on its own signature (gpgcheck=1)."""
    result = repo.publish(tmp_path / "repo", [tiny["tiny-1.0"]], sign=gpg_key[1])
    impostor = make_rpm(tmp_path / "impostor", "tiny", "1.0")
    keyring = new_gnupghome("Someone Else <impostor@example.org>")
    _home, uid = next(keyring)
    try:
        sign_rpms([impostor], uid)
    finally:
        next(keyring, None)   # back to the module's key
    published = next((result.trees["binary"] / "Packages").rglob("tiny-1.0*.rpm"))
    published.write_bytes(impostor.read_bytes())
    subprocess.run(["createrepo_c", "--quiet", "--update", str(result.trees["binary"])],
                   check=True, capture_output=True)
    proc = host_dnf(result.repo_file, tmp_path / "client", "install", "tiny")
    assert proc.returncode != 0
    assert "GPG signature verification error" in proc.stderr or "Bad GPG signature" in proc.stderr, proc.stderr
    no_metadata_check = tmp_path / "nometa" / result.repo_file.name
    no_metadata_check.parent.mkdir()
    no_metadata_check.write_text(result.repo_file.read_text().replace("repo_gpgcheck=1", "repo_gpgcheck=0"))
    proc = host_dnf(no_metadata_check, tmp_path / "client2", "install", "tiny")
    assert proc.returncode != 0
    assert "GPG check FAILED" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert not list((tmp_path / "client2" / "root").rglob("tiny*")), "installed anyway"


def test_tampered_package_fails_dnf(tmp_path: Path, tiny, gpg_key) -> None:
    result = repo.publish(tmp_path / "repo", [tiny["tiny-1.0"]], sign=gpg_key[1])
    pkg = next((result.trees["binary"] / "Packages").rglob("*.rpm"))
    data = bytearray(pkg.read_bytes())
    data[-10] ^= 0xFF                     # one byte of the payload
    pkg.write_bytes(bytes(data))
    proc = host_dnf(result.repo_file, tmp_path / "client", "install", "tiny")
    assert proc.returncode != 0
    # file:// repository: dnf checks the local file in place and says so
    assert 'Package "tiny-1.0-1.noarch" from local repository "repo" has incorrect checksum' in proc.stderr, \
        proc.stderr
