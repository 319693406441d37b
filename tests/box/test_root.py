"""The cached root: made once per package list, then reused as it is."""
from __future__ import annotations

import json
import time
from pathlib import Path

from phoenix_rpm.box import ensure_root, run_in
from phoenix_rpm.box import root as root_mod


def test_second_call_reuses_the_cached_root(box_root: Path) -> None:
    started = time.monotonic()
    again = ensure_root()
    took = time.monotonic() - started
    assert again == box_root
    assert took < 2.0, f"cached ensure_root took {took:.1f} s"
    key = root_mod.box_key()
    assert box_root == root_mod.cache_dir() / key / "root"
    meta = json.loads((box_root.parent / "box.json").read_text())
    assert meta["key"] == key and meta["packages"] == list(root_mod.PACKAGES)


def test_key_depends_on_the_package_list() -> None:
    assert root_mod.box_key(root_mod.PACKAGES) != root_mod.box_key(root_mod.PACKAGES + ("vim",))
    assert root_mod.box_key(tuple(reversed(root_mod.PACKAGES))) == root_mod.box_key()


def test_root_is_debian12_with_the_tools_and_an_empty_machine_id(box_root: Path) -> None:
    assert (box_root / "etc/debian_version").read_text().startswith("12.")
    assert (box_root / "etc/machine-id").read_text() == ""
    out = run_in(box_root, ["sh", "-c", "for t in systemctl python3 rpm rpmbuild sshd curl ip; do command -v $t; done; "
                            "python3 -m venv --help >/dev/null && echo venv-ok; "
                            "rpm -q phoenix-box-base"], capture=True).stdout
    for tool in ("systemctl", "python3", "rpm", "rpmbuild", "sshd", "curl", "ip"):
        assert f"/{tool}\n" in out
    assert "venv-ok" in out
    assert "phoenix-box-base-1-1.noarch" in out


def test_list_roots_shows_the_current_root(box_root: Path) -> None:
    current = [r for r in root_mod.list_roots() if r.current]
    assert len(current) == 1 and current[0].complete and current[0].root == box_root


def test_commands_on_the_cached_root_itself_cannot_write_to_it(box_root: Path) -> None:
    proc = run_in(box_root, ["touch", "/etc/phoenix-should-not-exist"], check=False, capture=True)
    assert proc.returncode != 0 and "Read-only file system" in proc.stderr
    assert not (box_root / "etc/phoenix-should-not-exist").exists()
