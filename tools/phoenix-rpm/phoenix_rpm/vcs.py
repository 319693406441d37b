"""What git says about the tree being packaged: dirty packaged files, tags.

pbr's version names a commit, but the package is made from the working tree.
When the files the package carries differ from that commit (an edited or
untracked module, a deleted file), two different trees would otherwise give
two different RPMs with one name-version-release. So a dirty build says so
on the build line and its Release carries ``.dirty<hash>``, the hash being
taken over the differing files' contents: another edit, another Release
(docs/build.md, "Honest versions"). An untracked repository gets a hint to tag
instead of a silent ``0.0.0``.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from phoenix_rpm import runner
from phoenix_rpm.errors import CommandFailed
from phoenix_rpm.units import GENERATED_MARK

# Files the sdist writes itself: not the tree's.
_SDIST_MADE = re.compile(r"^(PKG-INFO|AUTHORS|ChangeLog|[^/]+\.egg-info(/.*)?)$")


@dataclass(frozen=True)
class TreeState:
    """The tree as git sees it: ``git`` False outside a repository (nothing to say then)."""

    git: bool = False
    dirty: tuple[str, ...] = ()  # packaged paths (relative to the project) that differ from HEAD
    digest: str = ""  # short sha256 over those paths and their contents
    tagged: bool = True

    @property
    def release_suffix(self) -> str:
        """``.dirty<hash>`` for a dirty tree (rpm sorts it after the clean release), else ''."""
        return f".dirty{self.digest}" if self.dirty else ""


def _git(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    """A git query through runner.run (None when git is not installed)."""
    try:
        return runner.run(["git", *args], cwd=project_dir, capture=True, check=False)
    except CommandFailed:
        return None


def _names(out: str) -> set[str]:
    return {n for n in out.split("\0") if n}


def _generated(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return GENERATED_MARK.encode() in handle.read(300)
    except OSError:
        return False


def sdist_members(sdist: Path) -> set[str]:
    """File names inside a sdist, relative to its top folder."""
    with tarfile.open(sdist, "r:*") as tar:
        return {m.name.partition("/")[2] for m in tar.getmembers() if m.isfile() and "/" in m.name}


def tree_state(project_dir: Path, packaged: set[str]) -> TreeState:
    """Compare the files the package carries (``packaged``, relative paths) with HEAD."""
    head = _git(project_dir, "rev-parse", "--verify", "-q", "HEAD")
    if head is None or head.returncode != 0:
        return TreeState()
    tracked = _git(project_dir, "ls-files", "-z")
    changed = _git(project_dir, "diff", "HEAD", "--name-only", "--relative", "-z")
    tags = _git(project_dir, "describe", "--tags", "--abbrev=0")
    tracked_names = _names(tracked.stdout) if tracked else set()
    # pbr packs every tracked file, so a tracked file that differs from HEAD
    # (edited, deleted) is a packaged difference; an untracked or ignored file
    # differs only when the sdist carries it.
    dirty = set(_names(changed.stdout) if changed and changed.returncode == 0 else set())
    dirty |= {n for n in packaged - tracked_names if not _SDIST_MADE.match(n)}
    # rpm/ and systemd/ files that build-rpm generated: derived from setup.cfg
    # (whose own changes count) and rewritten before every build, so a
    # checkout of HEAD generates the same bytes (docs/build.md).
    dirty = {n for n in dirty if not _generated(project_dir / n)}
    h = hashlib.sha256()
    for name in sorted(dirty):
        path = project_dir / name
        h.update(name.encode(errors="surrogateescape") + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest() if path.is_file() else b"<deleted>")
    return TreeState(git=True, dirty=tuple(sorted(dirty)), digest=h.hexdigest()[:8] if dirty else "",
                     tagged=bool(tags and tags.returncode == 0))


_RELEASE = re.compile(r"^(Release:[ \t]*)(\S*)[ \t]*$", re.M)


def with_release_suffix(spec_text: str, suffix: str) -> str:
    """The spec with ``suffix`` added to its Release, before a trailing ``%{?dist}``-like macro."""
    if not suffix:
        return spec_text

    def put(m: re.Match[str]) -> str:
        value = m.group(2)
        plain, pct, rest = value.partition("%")
        if plain:
            return f"{m.group(1)}{plain}{suffix}{pct}{rest}"
        return f"{m.group(1)}{value}{suffix}"

    return _RELEASE.sub(put, spec_text, count=1)


def describe(state: TreeState, nvr: str) -> list[str]:
    """The build-stage lines about the tree (empty for a clean, tagged tree)."""
    lines = []
    if state.dirty:
        shown = ", ".join(state.dirty[:5]) + (f" and {len(state.dirty) - 5} more" if len(state.dirty) > 5 else "")
        lines.append(f"    {nvr}: dirty tree, {len(state.dirty)} packaged file(s) differ from HEAD ({shown}); "
                     "Release marked .dirty<hash>: commit them for a release build")
    if state.git and not state.tagged:
        lines.append(TAG_HINT)
    return lines


TAG_HINT = "    hint: no git tag, so pbr's version is a placeholder; tag a release: git tag -s 0.1.0"


def untagged(project_dir: Path) -> bool:
    """A git checkout with commits but no tag, its version not given by PBR_VERSION."""
    if os.environ.get("PBR_VERSION") or os.environ.get("OSLO_PACKAGE_VERSION"):
        return False
    head = _git(project_dir, "rev-parse", "--verify", "-q", "HEAD")
    if head is None or head.returncode != 0:
        return False
    tags = _git(project_dir, "describe", "--tags", "--abbrev=0")
    return bool(tags and tags.returncode != 0)
