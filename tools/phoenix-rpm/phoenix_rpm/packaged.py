"""What goes into the packages, digested: the key of the no-change rebuild.

The build is skipped when ``dist/`` holds packages made from the same key
(docs/build.md, "No-change rebuild"), so the key must change whenever the
packages would: a key over git's tracked files alone returned a stale RPM
after an edit to an untracked module that the sdist does carry. The key is
therefore taken over the sources the SRPM will hold, as they will hold them:

- Source0, the pbr sdist itself (made here once and handed to the build, so
  it costs nothing extra on a rebuild): every file it packs, tracked,
  untracked or ignored, and nothing it leaves out;
- Source1, the wheels tarball: the wheel files it will pack (their bytes);
- Source10+, the project files the spec names (units, sysusers...);
- the spec as it will be built, the toolkit's own identity (version and the
  bytes of its code and templates: an edited toolkit makes other packages)
  and the options (box, signing key, rpm defines, epoch).
"""
from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path
from typing import Mapping, Sequence

from phoenix_rpm import runner
from phoenix_rpm.errors import CommandFailed

TOOLKIT_DIR = Path(__file__).resolve().parent


def toolkit_identity() -> str:
    """The toolkit's version plus a digest of its files (a checkout edits them without a new version)."""
    try:
        version = metadata.version("phoenix-rpm")
    except metadata.PackageNotFoundError:
        version = "unknown"
    h = hashlib.sha256()
    for path in sorted(TOOLKIT_DIR.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix == ".pyc":
            continue
        h.update(path.relative_to(TOOLKIT_DIR).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{version}:{h.hexdigest()[:16]}"


WHEEL_DIGESTS = ".phoenix-wheel-sha256.json"


def wheel_listing(wheel_dir: Path | None) -> list[tuple[str, str]]:
    """(file name, sha256) of every wheel Source1 will pack.

    Content, not name and size: a wheel built from a local path requirement
    keeps its name (and may keep its size) across edits of that code. The
    digests are remembered beside the wheels by (name, size, mtime), so a
    rebuild with nothing changed hashes nothing (docs/build.md, "No-change
    rebuild").
    """
    if wheel_dir is None:
        return []
    memo_path = wheel_dir / WHEEL_DIGESTS
    try:
        memo: dict[str, list[object]] = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    listing: list[tuple[str, str]] = []
    fresh: dict[str, list[object]] = {}
    for wheel in sorted(wheel_dir.glob("*.whl")):
        st = wheel.stat()
        stamp: list[object] = [st.st_size, st.st_mtime_ns]
        known = memo.get(wheel.name)
        if isinstance(known, list) and len(known) == 3 and known[:2] == stamp:
            sha = str(known[2])
        else:
            sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        fresh[wheel.name] = [*stamp, sha]
        listing.append((wheel.name, sha))
    if fresh != memo:
        try:
            tmp = memo_path.with_name(f".{memo_path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(fresh, sort_keys=True))
            os.replace(tmp, memo_path)
        except OSError:
            pass  # a read-only cache: hash again next time
    return listing


def digest(*, spec: bytes, meta: Sequence[object], made: Mapping[str, Path],
           project_files: Mapping[str, Path], wheels: Sequence[tuple[str, str]],
           constraints: bytes | None, defines: str) -> str:
    """sha256 over everything that can change the packages' bytes.

    ``made``: sources the build makes (label -> file, e.g. the sdist);
    ``project_files``: SourceN taken from the project as they are
    (file name in SOURCES -> path).
    """
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(label.encode() + b"\0" + hashlib.sha256(data).digest())

    add("toolkit", toolkit_identity().encode())
    add("spec", spec)
    add("meta", json.dumps(list(meta), default=str).encode())
    add("defines", defines.encode())
    if constraints is not None:
        add("constraints", constraints)
    add("wheels", json.dumps(list(wheels)).encode())
    for label, path in sorted(made.items()):
        add("made:" + label, path.read_bytes())
    for name, path in sorted(project_files.items()):
        try:
            add("file:" + name, path.read_bytes())
        except OSError:
            add("missing:" + name, b"")
    return h.hexdigest()


# Folders that never feed a sdist and may hold thousands of files.
_NOT_WALKED = {".git", ".venv", ".tox", ".eggs", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def tree_stamp(project_dir: Path, dist: Path) -> str:
    """A digest of the tree's file metadata and of git's staged list and HEAD: no file read.

    Making the sdist to compare it costs 1-2 s on a real project; when not a
    file of the tree changed (path, size, mtime, mode), git tracks the same
    files at the same commit and every other input is the same, the sdist
    would be the same bytes, so the last build's key still holds
    (build.quick_key). Any change, even to a file the package does not carry,
    only sends the build the long way: the sdist is made and compared.
    """
    h = hashlib.sha256()
    dist = dist.resolve()
    for dirpath, dirnames, filenames in os.walk(project_dir):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in _NOT_WALKED and (here / d).resolve() != dist)
        for name in sorted(filenames):
            try:
                st = os.lstat(here / name)
            except OSError:
                continue
            rel = (here / name).relative_to(project_dir).as_posix()
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}\n".encode(errors="surrogateescape"))
    # What git tracks, and at which commit: `git add` changes what pbr packs
    # without touching a file. The staged list, not the index file's stat,
    # which git rewrites whenever it refreshes its stat cache.
    for argv in (["git", "rev-parse", "HEAD"], ["git", "ls-files", "-s", "-z"]):
        try:
            out = runner.run(argv, cwd=project_dir, capture=True, check=False)
        except CommandFailed:  # no git on this host
            break
        h.update(b"git\0" + hashlib.sha256(out.stdout.encode() if out.returncode == 0 else b"").digest())
    return h.hexdigest()
