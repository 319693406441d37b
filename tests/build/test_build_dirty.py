"""Honest versions: a build from a dirty tree says so and its Release carries it (docs/build.md)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hello_project import DATA, HELLO_COMMIT_EPOCH, git_commit_all, hello_inputs

from phoenix_rpm import build, vcs


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "hello"
    shutil.copytree(DATA / "hello", repo)
    (repo / ".gitignore").write_text("/dist/\n/notes/\n")
    git_commit_all(repo, HELLO_COMMIT_EPOCH)
    return repo


PACKAGED = {"setup.cfg", "hello/__init__.py", "hello/cmd.py", "etc/hello/hello.conf"}


def test_clean_tree_is_not_dirty(repo: Path) -> None:
    state = vcs.tree_state(repo, PACKAGED | {"PKG-INFO", "hello.egg-info/SOURCES.txt"})
    assert state.git and state.dirty == () and state.release_suffix == ""


def test_untagged_repository_gets_a_hint_to_tag(repo: Path) -> None:
    state = vcs.tree_state(repo, PACKAGED)
    assert not state.tagged
    assert any("git tag -s 0.1.0" in line for line in vcs.describe(state, "hello-0.0.0-1"))
    subprocess.run(["git", "tag", "1.0.0"], cwd=repo, check=True)
    assert vcs.tree_state(repo, PACKAGED).tagged
    assert vcs.describe(vcs.tree_state(repo, PACKAGED), "hello-1.0.0-1") == []


def test_edited_tracked_and_untracked_packaged_files_are_dirty(repo: Path) -> None:
    (repo / "hello" / "cmd.py").write_text("def main():\n    return 2\n")
    one = vcs.tree_state(repo, PACKAGED)
    assert one.dirty == ("hello/cmd.py",)
    (repo / "hello" / "extra.py").write_text("X = 1\n")
    two = vcs.tree_state(repo, PACKAGED | {"hello/extra.py"})
    assert two.dirty == ("hello/cmd.py", "hello/extra.py")
    assert one.digest != two.digest, "two different trees, two different Release suffixes"
    (repo / "hello" / "extra.py").write_text("X = 2\n")
    assert vcs.tree_state(repo, PACKAGED | {"hello/extra.py"}).digest != two.digest


def test_unpackaged_changes_leave_the_tree_clean(repo: Path) -> None:
    (repo / "notes").mkdir()
    (repo / "notes" / "x.txt").write_text("ignored\n")
    (repo / "scratch.txt").write_text("untracked, not in the sdist\n")
    assert vcs.tree_state(repo, PACKAGED).dirty == ()


def test_release_suffix_goes_before_the_dist_macro() -> None:
    spec = "Name: x\nRelease:        1%{?dist}\nSummary: y\n"
    assert "Release:        1.dirtyabcd1234%{?dist}\n" in vcs.with_release_suffix(spec, ".dirtyabcd1234")
    assert "Release: %{rel}.dirtyab\n" in vcs.with_release_suffix("Release: %{rel}\n", ".dirtyab")
    assert vcs.with_release_suffix(spec, "") == spec


def test_two_dirty_trees_never_share_an_nvr(repo: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Through real host builds: each dirty tree gets its own Release, the build line says why."""
    clean = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert [p.name for p in clean.rpms] == ["hello-1.0.0-1.x86_64.rpm"] and clean.dirty == ()
    (repo / "hello" / "extra.py").write_text("VALUE = 'first'\n")
    first = build.build(repo, box="host", inputs=hello_inputs(repo))
    err = capfd.readouterr().err
    assert first.dirty == ("hello/extra.py",)
    assert "dirty tree, 1 packaged file(s) differ from HEAD (hello/extra.py)" in err
    (name,) = [p.name for p in first.rpms]
    assert name.startswith("hello-1.0.0-1.dirty") and name.endswith(".x86_64.rpm")
    (repo / "hello" / "extra.py").write_text("VALUE = 'second'\n")
    second = build.build(repo, box="host", inputs=hello_inputs(repo))
    assert second.rpms[0].name.startswith("hello-1.0.0-1.dirty") and second.rpms[0].name != name


def test_generated_units_not_yet_committed_leave_the_tree_clean(repo: Path) -> None:
    """build-rpm writes systemd/ and rpm/ before building: derived from setup.cfg, not edits."""
    from phoenix_rpm.units import GENERATED_MARK

    unit = repo / "systemd" / "hello-worker.service"
    unit.write_text(f"# {GENERATED_MARK} from setup.cfg: do not edit by hand.\n[Service]\n")
    assert vcs.tree_state(repo, PACKAGED | {"systemd/hello-worker.service"}).dirty == ()
    unit.write_text("[Service]\n# written by hand\n")
    assert vcs.tree_state(repo, PACKAGED | {"systemd/hello-worker.service"}).dirty == (
        "systemd/hello-worker.service",)


def test_generate_hints_at_tagging_an_untagged_repository(repo: Path, capfd: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from phoenix_rpm import generate

    monkeypatch.delenv("PBR_VERSION", raising=False)
    generate.write(repo)
    hint = "hint: no git tag, so pbr's version is a placeholder; tag a release: git tag -s 0.1.0"
    assert hint in capfd.readouterr().err
    subprocess.run(["git", "tag", "-a", "1.0.0", "-m", "1.0.0"], cwd=repo, check=True,
                   env={"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin"})
    generate.write(repo)
    assert "hint" not in capfd.readouterr().err
