"""Project variants and their builds, shared by the verify tests of one session.

Each scenario needs real RPMs built from a real project: apollo as it is
(v1), apollo with a bumped version and a changed packaged config (v2, for the
upgrade), and apollo with deliberate packaging defects (for the negative
cases). Building is the slow part, so:

* every variant is a copy of this working tree at a *stable* path under
  ``$PHOENIX_VERIFY_TEST_DIR`` (default /var/tmp/phoenix-verify-tests), turned
  into a git repository with a fixed commit date: the build stage's input
  hash is then the same from one session to the next and an unchanged
  variant is not rebuilt;
* each variant is built at most once per session (session fixtures).

The copy is what a fresh clone would hold (git's tracked files plus the
untracked, not-ignored ones), so the tests also prove a clone builds.
"""
from __future__ import annotations

import dataclasses
import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_RPM = ROOT / "tools" / "build-rpm"
WORK = Path(os.environ.get("PHOENIX_VERIFY_TEST_DIR", "/var/tmp/phoenix-verify-tests"))
# A fixed commit date: SOURCE_DATE_EPOCH of every variant, so rebuilds are skipped.
COMMIT_DATE = "2026-01-01T00:00:00Z"
V1 = "1.0.0"
V2 = "1.0.1"
KEEP = {".git", "dist"}


@dataclasses.dataclass
class Variant:
    """A copy of the project, the version it is built at, and its dist/."""

    name: str
    project: Path
    version: str

    @property
    def dist(self) -> Path:
        return self.project / "dist"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PBR_VERSION": self.version}

    def rpm(self, package: str = "apollo") -> Path:
        found = sorted(p for p in self.dist.glob(f"{package}-{self.version}-*.rpm")
                       if not p.name.endswith(".src.rpm"))
        assert found, f"{self.dist}: no {package}-{self.version} binary RPM (build output: {list(self.dist.glob('*'))})"
        return found[0]

    def build_rpm(self, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        """Run the real CLI on this variant (the path a user takes)."""
        proc = subprocess.run([str(BUILD_RPM), *args, str(self.project)], env=self.env, text=True,
                              capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            pytest.fail(f"tools/build-rpm {' '.join(args)} {self.project} exited {proc.returncode}:\n"
                        f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}", pytrace=False)
        return proc

    def build_only(self, after_generate: Callable[[Path], None] | None = None) -> None:
        """generate, optionally break the generated files, build (no lint: defects are the point).

        The CLI's build stage regenerates the spec first, which would undo a
        deliberate defect; so a broken variant is built through the build
        stage's Python API (in a child process, with this variant's
        PBR_VERSION), which takes the files as they are.
        """
        self.build_rpm("--stage", "generate")
        if after_generate is None:
            self.build_rpm("--stage", "build")
            return
        after_generate(self.project)
        code = ("import sys; from pathlib import Path; from phoenix_rpm.build import build; "
                "build(Path(sys.argv[1]), box='nspawn')")
        proc = subprocess.run([sys.executable, "-c", code, str(self.project)], env=self.env, text=True,
                              capture_output=True, timeout=1800, cwd=ROOT)
        if proc.returncode != 0:
            pytest.fail(f"build of the {self.name} variant failed:\n{proc.stderr[-6000:]}", pytrace=False)


def source_files(root: Path = ROOT) -> list[str]:
    """What a clone holds: tracked files plus untracked ones git does not ignore."""
    out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout.decode()
    return sorted(n for n in out.split("\0") if n and (root / n).is_file())


def sync_copy(dest: Path, edit: Callable[[Path], None] | None = None) -> Path:
    """Make ``dest`` hold the working tree's files (plus ``edit``), committed in git.

    Files are only rewritten when they differ and dist/ is kept, so the build
    stage can recognise an unchanged variant and skip the rebuild.
    """
    dest.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / (dest.name + ".staging")
    if staging.exists():
        shutil.rmtree(staging)
    names = source_files()
    for name in names:
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    if edit is not None:
        edit(staging)
    wanted = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file() or p.is_symlink()}
    for path in sorted(dest.rglob("*"), reverse=True):
        rel = path.relative_to(dest)
        if rel.parts[0] in KEEP:
            continue
        if (path.is_file() or path.is_symlink()) and rel.as_posix() not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel in sorted(wanted):
        src, dst = staging / rel, dest / rel
        if dst.is_file() and not dst.is_symlink() and filecmp.cmp(src, dst, shallow=False):
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists() or dst.is_symlink():
            dst.unlink()
        shutil.copy2(src, dst, follow_symlinks=False)
    shutil.rmtree(staging)
    git = ["git", "-c", "user.name=phoenix tests", "-c", "user.email=tests@example.org",
           "-c", "init.defaultBranch=main"]
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
    if not (dest / ".git").is_dir():
        subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    (dest / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (dest / ".git" / "info" / "exclude").write_text("/dist/\n")
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    if subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=dest).returncode != 0 or \
            subprocess.run(["git", "rev-parse", "HEAD"], cwd=dest, capture_output=True).returncode != 0:
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "variant"], cwd=dest, env=env, check=True)
    return dest


def replace_once(path: Path, old: str, new: str) -> None:
    """Edit a generated file; fail loudly if the text to break is not there."""
    text = path.read_text()
    assert old in text, f"{path}: expected to find {old!r} to change (did the generator change?)"
    path.write_text(text.replace(old, new, 1))


CONF_COMMENT = "# v2: a comment the upgrade test looks for in apollo.conf.rpmnew\n"
