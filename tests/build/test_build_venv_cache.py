"""The venv layer cache changes how fast a bundled package is built, never what it holds.

The generated spec makes the requirements' layer of the virtualenv itself,
or unpacks one an earlier build saved (templates/venv_layer.py). hello, with
its spec generated, is built three times on the host: with the cache off,
with an empty cache (the layer is made and saved) and with that cache (the
layer is unpacked). The three RPMs must be byte-identical. A fourth build,
from a cached layer with a marker file slipped in, proves the third one
really took the layer from the cache.
"""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest

from hello_project import make_hello_repo
from phoenix.packaging import build, generate
from pkgcheck import rpm_q, sha256


def _generated_hello(where: Path) -> Path:
    repo = make_hello_repo(where)
    generate.write(repo)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
                    "--date=@1767225600", "-m", "generated"], cwd=repo, check=True,
                   env={"GIT_COMMITTER_DATE": "@1767225600 +0000", "PATH": "/usr/bin:/bin"})
    return repo


def _build(repo: Path, dist: Path, cache: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHOENIX_VENV_CACHE", cache)
    result = build.build(repo, box="host", dist_dir=dist, reuse=False)
    assert len(result.rpms) == 1
    return result.rpms[0]


def _files(rpm: Path) -> list[str]:
    """Every file of the package with its mode, size, owner and digest."""
    return rpm_q(rpm, "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILESIZES} %{FILEUSERNAME} "
                              "%{FILEDIGESTS} %{FILELINKTOS}\n]").splitlines()


def test_cached_layer_gives_the_same_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _generated_hello(tmp_path)
    assert "venv-layer.py layer" in (repo / "rpm" / "hello.spec").read_text()
    cache = tmp_path / "layers"

    no_cache = _build(repo, tmp_path / "dist-off", "0", monkeypatch)
    made = _build(repo, tmp_path / "dist-made", str(cache), monkeypatch)
    layers = sorted(cache.glob("venv-*.tar"))
    assert len(layers) == 1, "the build without a layer saves the one it made"
    reused = _build(repo, tmp_path / "dist-reused", str(cache), monkeypatch)

    assert _files(made) == _files(no_cache)
    assert _files(reused) == _files(no_cache)
    assert sha256(made) == sha256(no_cache)
    assert sha256(reused) == sha256(no_cache)
    assert sorted(cache.glob("venv-*.tar")) == layers, "a cache hit saves nothing new"

    # Tamper with the cached layer: a build that reads it ships the marker.
    marker = tmp_path / "MARKER"
    marker.write_text("from the cache\n")
    with tarfile.open(layers[0], "a") as tar:
        tar.add(marker, arcname="./MARKER")
    tampered = _build(repo, tmp_path / "dist-tampered", str(cache), monkeypatch)
    assert "/usr/lib/hello/MARKER" in rpm_q(tampered, "-l").split()
