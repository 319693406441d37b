"""`tools/build-rpm box create|list|rm|run` as a user types them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phoenix_rpm.box import root as root_mod

REPO = Path(__file__).resolve().parents[2]


def box(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phoenix_rpm.cli", "box", *args], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600)


@pytest.mark.unit
def test_help_explains_the_subcommands() -> None:
    proc = subprocess.run([str(REPO / "tools/build-rpm"), "box", "--help"], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    for word in ("create", "list", "rm KEY", "--leftovers", "--refresh", "/var/cache/phoenix/boxes", "boot", "run"):
        assert word in proc.stdout


@pytest.mark.unit
def test_no_subcommand_is_a_usage_error() -> None:
    proc = box()
    assert proc.returncode == 2
    assert "create" in proc.stdout


def test_create_prints_the_cached_root_and_list_shows_it(box_root: Path) -> None:
    created = box("create")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == str(box_root)
    listed = box("list")
    assert listed.returncode == 0
    line = next(line for line in listed.stdout.splitlines() if root_mod.box_key() in line)
    assert "[current]" in line and " MB" in line


@pytest.mark.unit
def test_rm_removes_a_cached_root_by_key_prefix(tmp_path: Path) -> None:
    fake = tmp_path / "0123456789abcdef"
    (fake / "root/usr").mkdir(parents=True)
    (fake / "box.json").write_text(json.dumps({"created": "2026-01-01T00:00:00Z", "seconds": 1}))
    env = {"PHOENIX_BOX_CACHE": str(tmp_path)}
    assert "0123456789abcdef" in box("list", env=env).stdout
    proc = box("rm", "01234", env=env)
    assert proc.returncode == 0, proc.stderr
    assert not fake.exists()
    missing = box("rm", "feedface", env=env)
    assert missing.returncode == 2
    assert "no cached box root with key 'feedface'" in missing.stderr
    assert box("rm", env=env).returncode == 2          # neither KEY nor --all


def test_rm_leftovers_and_run(box_root: Path) -> None:
    proc = box("rm", "--leftovers")
    assert proc.returncode == 0, proc.stderr
    ran = box("run", "--", "sh", "-c", "rpm -q phoenix-box-base; ip -o link | wc -l; exit 3")
    assert ran.returncode == 3
    assert ran.stdout.split() == ["phoenix-box-base-1-1.noarch", "1"]


@pytest.mark.unit
def test_a_root_in_use_is_not_removed(tmp_path: Path) -> None:
    from phoenix_rpm.box import lease, throwaway

    fake = tmp_path / "cache" / "00aa11bb22cc33dd"
    (fake / "root/usr").mkdir(parents=True)
    (fake / "box.json").write_text(json.dumps({"created": "2026-01-01T00:00:00Z", "seconds": 1}))
    env = {"PHOENIX_BOX_CACHE": str(tmp_path / "cache")}
    # Boxes kept by other runs (--keep-box) outlive their owner on purpose: not this test's.
    before = {le.name for le in lease.load_leases()}
    with throwaway(fake / "root") as tree:
        assert (tree / "usr").is_dir()
        busy = box("rm", "00aa", env=env)
        assert busy.returncode == 2
        assert "in use by running boxes" in busy.stderr
        assert fake.exists()
    assert box("rm", "00aa", env=env).returncode == 0
    assert not fake.exists()
    left = [le.name for le in lease.load_leases() if le.name not in before and not le.owner_alive()]
    assert left == [], f"leases of this test's box left behind: {left}"


def test_list_shows_a_running_box_with_its_address(box_root: Path) -> None:
    from phoenix_rpm.box import booted

    with booted(box_root) as running:
        listed = box("list").stdout
    line = next(line for line in listed.splitlines() if running.name in line)
    assert "running" in line and running.address in line and f"owner pid {os.getpid()}" in line
    assert running.name not in box("list").stdout
