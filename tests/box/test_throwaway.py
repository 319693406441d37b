"""Throw-away overlays and run_in: nothing leaks into the cache, no network by default."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from phoenix_rpm.box import run_in, throwaway
from phoenix_rpm.errors import CommandFailed


def test_writes_go_to_the_overlay_and_vanish(box_root: Path) -> None:
    with throwaway(box_root) as tree:
        assert os.path.ismount(tree)
        (tree / "etc/phoenix-marker").write_text("x")
        (tree / "etc/os-release").unlink()                       # even a deletion must not reach the cache
        run_in(tree, ["sh", "-c", "echo inside > /root/inside.txt"])
        assert (tree / "root/inside.txt").read_text() == "inside\n"
    assert not tree.exists()
    assert not (box_root / "etc/phoenix-marker").exists()
    assert not (box_root / "root/inside.txt").exists()
    assert (box_root / "etc/os-release").exists() or (box_root / "etc/os-release").is_symlink()
    with throwaway(box_root) as fresh:
        assert not (fresh / "etc/phoenix-marker").exists()


def test_removed_also_when_the_body_raises(box_root: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with throwaway(box_root) as tree:
            (tree / "var/tmp/x").write_text("x")
            raise RuntimeError("boom")
    assert not tree.exists()
    assert not os.path.ismount(tree)


def test_run_in_has_no_network_by_default(box_root: Path) -> None:
    with throwaway(box_root) as tree:
        links = run_in(tree, ["ip", "-o", "link"], capture=True).stdout.splitlines()
        assert [line.split(":")[1].strip() for line in links] == ["lo"]
        refused = run_in(tree, ["curl", "-sS", "--max-time", "3", "http://deb.debian.org/"],
                         capture=True, check=False)
        assert refused.returncode != 0


def test_run_in_binds_env_cwd_and_reports_failures(box_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "in.txt").write_text("hello\n")
    out = tmp_path / "out"
    out.mkdir()
    with throwaway(box_root) as tree:
        run_in(tree, ["sh", "-c", 'cat in.txt > /out/copy.txt; echo "$GREETING" >> /out/copy.txt; '
                                  "touch in.txt 2>/dev/null || echo ro >> /out/copy.txt"],
               ro_binds=[(src, "/src")], binds=[(out, "/out")], cwd="/src", env={"GREETING": "hi"})
        with pytest.raises(CommandFailed, match="exit status 3"):
            run_in(tree, ["sh", "-c", "echo why >&2; exit 3"])
    assert (out / "copy.txt").read_text() == "hello\nhi\nro\n"


def test_a_command_that_times_out_is_stopped_and_the_copy_still_removed(box_root: Path) -> None:
    with throwaway(box_root) as tree:
        with pytest.raises(CommandFailed, match="timed out"):
            run_in(tree, ["sh", "-c", "sleep 300 & sleep 300"], timeout=1)
        # a container whose nspawn was killed must not outlive the copy
    assert not tree.exists()
    assert _processes_with(b"sleep\x00300") == []


def _processes_with(text: bytes) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and text in (p / "cmdline").read_bytes():
                found.append(int(p.name))
        except OSError:
            continue
    return found


def test_run_in_with_network_shares_the_hosts_interfaces(box_root: Path) -> None:
    """network=True is for steps that must fetch (never the rpmbuild step); no traffic is sent here."""
    host_links = {line.split(":")[1].strip().split("@")[0]
                  for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True,
                                             check=True).stdout.splitlines()}
    with throwaway(box_root) as tree:
        out = run_in(tree, ["ip", "-o", "link"], network=True, capture=True).stdout
        box_links = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
        assert box_links == host_links
        resolv = run_in(tree, ["cat", "/etc/resolv.conf"], network=True, capture=True).stdout
        assert resolv == Path("/etc/resolv.conf").read_text()


_CHILD = """
import sys, time
from pathlib import Path
from phoenix_rpm.box import run_in, throwaway
with throwaway(Path(sys.argv[1])) as tree:
    print(tree, flush=True)
    run_in(tree, ["sleep", "600"])
"""


def test_sigterm_during_a_build_removes_the_copy(box_root: Path) -> None:
    """A CI timeout or `kill` ends a build: the copy and its container go with it."""
    import signal
    import sys

    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(box_root)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    tree = Path(child.stdout.readline().strip()) if child.stdout else Path()
    assert os.path.ismount(tree), child.stderr.read() if child.stderr else ""
    deadline = time.monotonic() + 10
    while not _processes_with(b"sleep\x00600") and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    assert not tree.parent.exists()
    assert _processes_with(b"sleep\x00600") == []


def test_a_timed_out_command_does_not_outlive_run_in(box_root: Path) -> None:
    """Even on a root that is not a throw-away copy (nothing else would stop it)."""
    with pytest.raises(CommandFailed, match="timed out"):
        run_in(box_root, ["sh", "-c", "sleep 301 & sleep 301"], timeout=1)
    deadline = time.monotonic() + 5
    while _processes_with(b"sleep\x00301") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(b"sleep\x00301") == []


def test_an_nspawn_whose_start_was_interrupted_is_killed_too(box_root: Path) -> None:
    """A SIGTERM can land after nspawn was exec'd but before subprocess.Popen
    returned (CI saw such an nspawn survive, with its container's `sleep`):
    then nothing holds the process object and the command inside does not
    carry the run's marker yet. The clean-up finds it by its --machine= and
    returns only once it is gone."""
    from phoenix_rpm.box import nspawn

    with throwaway(box_root) as tree:
        argv = nspawn.nspawn_argv(tree, ["sleep", "601"])
        machine = next(a.split("=", 1)[1] for a in argv if a.startswith("--machine="))
        orphan = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while len(_processes_with(b"sleep\x00601")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)   # nspawn and the sleep (the stub init renames itself)
        assert len(_processes_with(b"sleep\x00601")) == 2
        nspawn._kill_marked(machine)
        assert _processes_with(b"sleep\x00601") == []
        orphan.wait(timeout=5)
    assert not tree.exists()
