"""The venv layer cache changes how fast a bundled package is built, never what it holds.

The generated spec makes the requirements' layer of the virtualenv itself,
or unpacks one an earlier build saved (templates/venv_layer.py). hello, with
its spec generated, is built on the host: at a first commit with an empty
cache (the layer is made and saved) and with the cache off; at a second
commit (another epoch, another version) with the cache off and with the
layer the first commit saved. At each commit the RPMs must be
byte-identical. A last build, from a cached layer with a marker file slipped
in, proves the cached builds really took the layer from the cache. In the
box, where the layer is seeded from the distribution's pip wheel rather than
by ensurepip, the same three ways give the same bytes too.
"""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from hello_project import make_hello_repo
from pkgcheck import rpm_q, sha256

from phoenix_rpm import build, generate


def _commit(repo: Path, epoch: int, message: str) -> None:
    env = {"GIT_COMMITTER_DATE": f"@{epoch} +0000", "GIT_AUTHOR_DATE": f"@{epoch} +0000", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q",
                    "-m", message], cwd=repo, check=True, env=env)


def _generated_hello(where: Path) -> Path:
    repo = make_hello_repo(where)
    generate.write(repo)
    _commit(repo, 1767225600, "generated")
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

    made = _build(repo, tmp_path / "dist-made", str(cache), monkeypatch)
    layers = sorted(cache.glob("venv-*.tar"))
    assert len(layers) == 1, "the build without a layer saves the one it made"
    no_cache = _build(repo, tmp_path / "dist-off", "0", monkeypatch)
    assert _files(made) == _files(no_cache)
    assert sha256(made) == sha256(no_cache)

    # A later commit, built with the layer the first one saved.
    (repo / "README.rst").write_text((repo / "README.rst").read_text() + "\nA later commit.\n")
    _commit(repo, 1767312000, "later")
    no_cache = _build(repo, tmp_path / "dist-off-2", "0", monkeypatch)
    reused = _build(repo, tmp_path / "dist-reused-2", str(cache), monkeypatch)
    assert sorted(cache.glob("venv-*.tar")) == layers, "a cache hit saves nothing new"
    assert no_cache.name == reused.name != made.name
    assert _files(reused) == _files(no_cache)
    assert sha256(reused) == sha256(no_cache)

    # Tamper with the cached layer: a build that reads it ships the marker.
    marker = tmp_path / "MARKER"
    marker.write_text("from the cache\n")
    with tarfile.open(layers[0], "a") as tar:
        tar.add(marker, arcname="./MARKER")
    tampered = _build(repo, tmp_path / "dist-tampered", str(cache), monkeypatch)
    assert "/usr/lib/hello/MARKER" in rpm_q(tampered, "-l").split()


def test_box_build_same_with_and_without_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same in the box, where the layer is seeded from the distribution's pip wheel (venv_layer.seed_wheels)."""
    repo = _generated_hello(tmp_path)
    cache = tmp_path / "layers"
    built = {}
    for label, setting in (("made", str(cache)), ("off", "0"), ("reused", str(cache))):
        monkeypatch.setenv("PHOENIX_VENV_CACHE", setting)
        result = build.build(repo, box="nspawn", dist_dir=tmp_path / f"dist-{label}", reuse=False)
        built[label] = result.rpms[0]
        if label == "made":
            assert len(list(cache.glob("venv-*.tar"))) == 1
    assert _files(built["made"]) == _files(built["off"]) == _files(built["reused"])
    assert sha256(built["made"]) == sha256(built["off"]) == sha256(built["reused"])
    files = [line.split()[0] for line in _files(built["off"])]
    assert any(f.startswith("/usr/lib/hello/lib/python3") and "/pip/" in f for f in files), "pip is seeded"
