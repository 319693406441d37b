"""The no-change rebuild follows exactly what goes into the packages (docs/build.md).

An untracked file that the sdist carries is part of the package: editing it
must give a new RPM, not "inputs unchanged". A file the sdist leaves out
(ignored or not) must not cost a rebuild.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hello_project import DATA, HELLO_COMMIT_EPOCH, git_commit_all, hello_inputs

from phoenix_rpm import build


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "hello"
    shutil.copytree(DATA / "hello", repo)
    (repo / ".gitignore").write_text("/dist/\n/notes/\n*.log\nhello/_build_info.py\n")
    git_commit_all(repo, HELLO_COMMIT_EPOCH)
    return repo


def key(repo: Path) -> str:
    return build.inputs_hash(repo, hello_inputs(repo), HELLO_COMMIT_EPOCH, "host", None,
                             repo / "upper-constraints.txt")


def test_untracked_module_of_a_package_is_an_input(repo: Path) -> None:
    first = key(repo)
    (repo / "hello" / "extra.py").write_text("VALUE = 1\n")
    assert subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True,
                          text=True).stdout.strip() == "?? hello/extra.py", "extra.py is untracked"
    with_extra = key(repo)
    assert with_extra != first, "an untracked module the sdist carries changes the key"
    (repo / "hello" / "extra.py").write_text("VALUE = 2\n")
    assert key(repo) != with_extra, "editing the untracked module changes the key"


def test_ignored_module_of_a_package_is_an_input(repo: Path) -> None:
    """git ignores it, setuptools packs it all the same (every module of a listed package)."""
    first = key(repo)
    (repo / "hello" / "_build_info.py").write_text("BUILD = 1\n")
    assert key(repo) != first, "an ignored module the sdist carries changes the key"


def test_files_the_sdist_leaves_out_are_not_inputs(repo: Path) -> None:
    first = key(repo)
    (repo / "notes").mkdir()
    (repo / "notes" / "todo.txt").write_text("ignored, not packaged\n")
    (repo / "debug.log").write_text("ignored, not packaged\n")
    (repo / "dist").mkdir()
    (repo / "dist" / "x.rpm").write_text("outputs are not inputs")
    assert key(repo) == first


def test_edited_untracked_module_gives_a_new_rpm(repo: Path, tmp_path: Path) -> None:
    """Through real host builds: the second build is not skipped and ships the new file."""
    from pkgcheck import unpack

    extra = repo / "hello" / "extra.py"
    extra.write_text("VALUE = 'first'\n")
    first = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert not first.skipped
    (repo / "notes").mkdir()
    (repo / "notes" / "todo.txt").write_text("touched, ignored, not packaged\n")
    same = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert same.skipped, "an ignored file the package does not carry must not rebuild"
    extra.write_text("VALUE = 'second'\n")
    again = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert not again.skipped, "an edited untracked module the sdist carries must rebuild"
    payload = unpack(again.rpms[0], tmp_path / "payload")
    shipped = list(payload.glob("opt/hello/lib/python3*/site-packages/hello/extra.py"))
    assert [p.read_text() for p in shipped] == ["VALUE = 'second'\n"]


def test_second_build_of_an_untouched_tree_makes_no_sdist(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The short way (packaged.tree_stamp): no file changed, so the last key holds."""
    from phoenix_rpm import sources

    first = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert not first.skipped

    def no_sdist(*args: object, **kwargs: object) -> Path:
        raise AssertionError("the sdist was made again for an untouched tree")

    monkeypatch.setattr(sources, "make_sdist", no_sdist)
    again = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert again.skipped and again.packages == first.packages


def test_short_way_notices_git_add_of_a_file(repo: Path) -> None:
    """git add changes what pbr packs without changing any file: the index is in the stamp."""

    from phoenix_rpm import packaged

    (repo / "NOTES.txt").write_text("untracked: not in the sdist\n")
    before = packaged.tree_stamp(repo, repo / "dist")
    assert packaged.tree_stamp(repo, repo / "dist") == before
    subprocess.run(["git", "add", "NOTES.txt"], cwd=repo, check=True)
    assert packaged.tree_stamp(repo, repo / "dist") != before


def test_a_wheel_rebuilt_with_the_same_name_and_size_is_a_new_input(tmp_path: Path) -> None:
    """A local path requirement's wheel keeps its name across edits of its
    code (and here its size too): the listing follows the bytes."""
    import os

    from phoenix_rpm import packaged

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = wheels / "locallib-0.1-py3-none-any.whl"
    wheel.write_bytes(b"A" * 1000)
    before = packaged.wheel_listing(wheels)
    assert (wheels / packaged.WHEEL_DIGESTS).is_file()
    assert packaged.wheel_listing(wheels) == before      # from the memo
    wheel.write_bytes(b"B" * 1000)
    st = wheel.stat()   # a rebuild comes later than this test's next write: say so for coarse clocks
    os.utime(wheel, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))
    after = packaged.wheel_listing(wheels)
    assert [n for n, _ in after] == [n for n, _ in before] and after != before
    assert packaged.wheel_listing(None) == []
