"""The generated files' places in the project: read and written only as plain files inside it.

``generate`` writes ``rpm/<name>.spec`` and ``systemd/*``; ``--check``, the
keep-version logic and the build stage *read* what is there. A checkout is
project-controlled: ``rpm/demo.spec -> /etc/shadow`` would print the target
in ``--check``'s diff, ``systemd -> /etc/systemd/system`` would make
generate write (and remove stale files) outside the project, a FIFO named
``rpm/demo.spec`` would hang ``--check``, and the build would copy a
symlinked ``systemd/demo.service`` into the SRPM. So every output path is
checked component by component with ``lstat`` (no symlink anywhere from
the project folder down, the file itself regular) before it is opened, and
opened with ``O_NOFOLLOW``; a refusal is one line, exit 2
(docs/packaging.md, "Hostile input and the trust boundary").
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from phoenix_rpm.errors import UserError

#: the folders generate writes into (relative to the project)
OUTPUT_FOLDERS = ("rpm", "systemd")


def _refuse(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}; generate reads and writes its files only as plain files inside "
                     "the project: remove it (git rm) and run tools/build-rpm --stage generate again")


def checked(project_dir: Path, rel: str) -> Path:
    """``project_dir / rel`` when no part of it below the project folder is a symlink and it is
    a regular file (or absent); else a one-line ``UserError``.

    Folders on the way must be folders (or absent); the last part may be
    missing (generate creates it).
    """
    parts = [p for p in rel.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise _refuse(project_dir / rel, "is not a plain path inside the project")
    path = Path(project_dir)
    for i, part in enumerate(parts):
        path = path / part
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Path(project_dir, *parts)
        except OSError as exc:
            raise _refuse(path, f"cannot be examined ({exc.strerror})") from None
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            raise _refuse(path, f"is a symlink (to {target!r}), where generate keeps a generated "
                                f"{'file' if last else 'folder'}")
        if last and not stat.S_ISREG(st.st_mode):
            raise _refuse(path, "is not a regular file (a folder, FIFO or device)")
        if not last and not stat.S_ISDIR(st.st_mode):
            # write_all says the same in its own words; reading finds nothing there
            return Path(project_dir, *parts)
    return path


def read(project_dir: Path, rel: str) -> str | None:
    """The text of a generated file as it is in the project, or None when there is none."""
    path = checked(project_dir, rel)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})") from None
    with open(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _refuse(path, "is not a regular file (a folder, FIFO or device)")
        return handle.read().decode("utf-8", errors="replace")


def folder(project_dir: Path, name: str) -> Path | None:
    """An output folder (``rpm``, ``systemd``) to list, or None when absent; a symlink is refused."""
    path = project_dir / name
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, f"is a symlink (to {os.readlink(path)!r}), where generate keeps a generated folder")
    return path if stat.S_ISDIR(st.st_mode) else None
