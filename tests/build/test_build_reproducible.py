"""Two builds of the same commit give byte-identical packages (issue 4, item 4).

The two builds run into two separate output folders with the reuse shortcut
off, from two separate checkouts made at different times, so nothing but the
commit is shared.
"""
from __future__ import annotations

import gzip
import tarfile
import time
from pathlib import Path

from hello_project import HELLO_COMMIT_EPOCH, hello_inputs, make_hello_repo
from pkgcheck import sha256

from phoenix_rpm import build, reproducible


def test_two_builds_of_one_commit_are_identical(tmp_path: Path) -> None:
    first_repo = make_hello_repo(tmp_path / "one")
    time.sleep(1.1)  # the second checkout's files get other mtimes
    second_repo = make_hello_repo(tmp_path / "two")
    first = build.build(first_repo, box="host", inputs=hello_inputs(first_repo),
                        dist_dir=tmp_path / "dist1", reuse=False)
    second = build.build(second_repo, box="host", inputs=hello_inputs(second_repo),
                         dist_dir=tmp_path / "dist2", reuse=False)
    assert [p.name for p in first.packages] == [p.name for p in second.packages]
    assert sha256(first.rpms[0]) == sha256(second.rpms[0])
    assert sha256(first.srpm) == sha256(second.srpm)


def test_source_date_epoch_is_the_last_commit(hello_repo: Path, monkeypatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    assert reproducible.source_date_epoch(hello_repo) == HELLO_COMMIT_EPOCH


def test_source_date_epoch_outside_git_is_the_newest_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    (tmp_path / "setup.cfg").write_text("[metadata]\nname = x\n")
    (tmp_path / "old.py").write_text("")
    import os

    os.utime(tmp_path / "setup.cfg", (1700000000, 1700000000))
    os.utime(tmp_path / "old.py", (1600000000, 1600000000))
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "new.rpm").write_text("")  # outputs are not inputs
    assert reproducible.source_date_epoch(tmp_path) == 1700000000


def test_normalised_tarball_does_not_depend_on_when_or_who(tmp_path: Path) -> None:
    outs = []
    for i, order in enumerate((["b", "a"], ["a", "b"])):
        src = tmp_path / f"src{i}"
        (src / "pkg").mkdir(parents=True)
        for name in order:
            (src / "pkg" / name).write_text(name)
            time.sleep(0.01)
        raw = tmp_path / f"raw{i}.tar.gz"
        with tarfile.open(raw, "w:gz") as tar:
            for name in order:
                tar.add(src / "pkg" / name, arcname=f"pkg/{name}")
        out = tmp_path / f"out{i}.tar.gz"
        reproducible.normalise_tarball(raw, out, 1234567890)
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    with tarfile.open(outs[0]) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["pkg/a", "pkg/b"]
    assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(1234567890, 0, 0, "root")}
    header = outs[0].read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"  # gzip -n: no timestamp
    assert gzip.decompress(outs[0].read_bytes())  # still a valid gzip
