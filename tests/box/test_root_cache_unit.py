"""ensure_root's caching and locking, with a fake tree maker (no debootstrap, fast)."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from phoenix_rpm.box import root as root_mod

# A fake tree maker, no box: the quick tier (conftest.py).
pytestmark = pytest.mark.unit


@pytest.fixture
def fake_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_create(key: str, base: Path) -> None:
        calls.append(key)
        time.sleep(0.3)                 # long enough for a second caller to queue on the lock
        (base / "root/usr").mkdir(parents=True)
        (base / "box.json").write_text("{}")

    monkeypatch.setenv("PHOENIX_BOX_CACHE", str(tmp_path))
    monkeypatch.setattr(root_mod, "_create", fake_create)
    return calls


def test_two_concurrent_callers_make_the_tree_once(fake_cache: list[str]) -> None:
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(root_mod.ensure_root())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake_cache == [root_mod.box_key()]
    assert len(results) == 2 and results[0] == results[1]


def test_an_incomplete_tree_is_made_again_and_refresh_remakes(fake_cache: list[str], tmp_path: Path) -> None:
    half = tmp_path / root_mod.box_key() / "root"
    half.mkdir(parents=True)              # a crash before box.json was written
    root_mod.ensure_root()
    assert len(fake_cache) == 1
    root_mod.ensure_root()
    assert len(fake_cache) == 1
    (half / "usr/stale").write_text("x")
    root_mod.ensure_root(refresh=True)
    assert len(fake_cache) == 2
    assert not (half / "usr/stale").exists()
