"""What makes two builds of the same commit byte-identical.

rpm stamps a package with the build time, the build host and the mtime of
every file; gzip and tar stamp their own times and owners. Each of those is
pinned here to one value derived from the commit (``SOURCE_DATE_EPOCH``), so
that the same commit always gives the same bytes (docs/build.md, "Reproducible").
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from pathlib import Path
from typing import Iterable

from phoenix_rpm import runner
from phoenix_rpm.errors import CommandFailed

# Directories that are outputs or environments, never inputs of a build.
_NOT_INPUTS = {".git", ".venv", "dist", "build", ".eggs", "__pycache__", ".pytest_cache", ".tox"}

BUILDHOST = "reproducible"


def source_date_epoch(project_dir: Path) -> int:
    """The time every artifact of this build is stamped with.

    ``SOURCE_DATE_EPOCH`` from the environment wins (the convention of
    reproducible-builds.org); else the committer time of the last commit, so
    that rebuilding a commit gives the same stamp whenever it is rebuilt; else,
    outside git, the newest mtime of the project's files.
    """
    env = env_epoch()
    if env is not None:
        return env
    try:
        out = runner.run(["git", "log", "-1", "--format=%ct"], cwd=project_dir, capture=True, check=False)
    except CommandFailed:  # no git on this host
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip().isdigit():
        return int(out.stdout.strip())
    return newest_mtime(project_dir)


#: the last second a time_t stamp, rpm's changelog and Python's time functions all accept (9999-12-31)
MAX_EPOCH = 253402300799


def env_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds, None when unset; a value that is no such number is a user error.

    ``str.isdigit()`` is true for ``²`` (and ``int()`` fails on it), and a
    twenty-digit stamp overflows time_t: both were tracebacks.
    """
    env = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not env:
        return None
    if not re.fullmatch(r"[0-9]{1,12}", env) or int(env) > MAX_EPOCH:
        from phoenix_rpm.errors import UserError

        raise UserError(f"SOURCE_DATE_EPOCH: {env[:30]!r} is not a time in seconds since 1970 (ASCII digits, "
                        "up to the year 9999); set it to e.g. $(git log -1 --format=%ct), or unset it")
    return int(env)


def newest_mtime(project_dir: Path) -> int:
    """Newest mtime of the project's own files (outputs and environments excluded)."""
    newest = 0
    for dirpath, dirnames, filenames in os.walk(project_dir):
        dirnames[:] = [d for d in dirnames if d not in _NOT_INPUTS and not d.endswith(".egg-info")]
        for name in filenames:
            try:
                newest = max(newest, int(os.lstat(os.path.join(dirpath, name)).st_mtime))
            except OSError:
                continue
    return newest


def rpm_defines(epoch: int) -> list[str]:
    """rpmbuild arguments that pin the build time, build host and file mtimes.

    ``clamp_mtime_to_source_date_epoch`` only lowers mtimes newer than the
    epoch, which is why the sources are also normalised to the epoch before
    they are packed (``normalise_tarball``, ``set_mtimes``).
    """
    defines = {
        "_buildhost": BUILDHOST,
        "use_source_date_epoch_as_buildtime": "1",
        "clamp_mtime_to_source_date_epoch": "1",
        "source_date_epoch_from_changelog": "0",
        # Debian's rpm would otherwise try to strip and split debug info with
        # tools it does not ship; the bundled wheels are already stripped.
        "debug_package": "%{nil}",
    }
    args: list[str] = []
    for name, value in defines.items():
        args += ["--define", f"{name} {value}"]
    return args


def build_env(epoch: int) -> dict[str, str]:
    """Environment of every build command: the epoch, a fixed locale and zone.

    Python's ``py_compile`` switches to hash-based ``.pyc`` files when
    ``SOURCE_DATE_EPOCH`` is set, so byte-compiling the bundled virtualenv
    does not record the time the files happened to be unpacked.
    """
    return {
        "SOURCE_DATE_EPOCH": str(epoch),
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONHASHSEED": "0",
    }


def set_mtimes(paths: Iterable[Path], epoch: int) -> None:
    """Give files the epoch as mtime: rpm copies source mtimes into the SRPM."""
    for path in paths:
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def normalise_tarball(src: Path, dst: Path, epoch: int) -> None:
    """Rewrite a .tar.gz with sorted members, fixed times and owners, ``gzip -n``.

    The contents (names, bytes, modes, links) stay; everything that records
    *when* or *by whom* the tarball was made goes. ``dst`` may equal ``src``.
    """
    with tarfile.open(src, "r:*") as tin:
        members = sorted(tin.getmembers(), key=lambda m: m.name)
        payload = {m.name: tin.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    entries = [(m, payload.get(m.name)) for m in members]
    write_tarball(dst, entries, epoch)


def tarball_from_dir(src_dir: Path, dst: Path, arcname: str, epoch: int, *, compresslevel: int = 6) -> None:
    """Pack ``src_dir`` as ``arcname/`` reproducibly (sorted, epoch mtime, root-owned)."""
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    top = tarfile.TarInfo(arcname)
    top.type = tarfile.DIRTYPE
    top.mode = 0o755
    entries.append((top, None))
    for path in sorted(src_dir.rglob("*")):
        rel = path.relative_to(src_dir).as_posix()
        info = tarfile.TarInfo(f"{arcname}/{rel}")
        if path.is_symlink():
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
            entries.append((info, None))
        elif path.is_dir():
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            entries.append((info, None))
        else:
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            entries.append((info, path.read_bytes()))
    write_tarball(dst, entries, epoch, compresslevel=compresslevel)


def write_tarball(dst: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]], epoch: int,
                  *, compresslevel: int = 6) -> None:
    """Write members in the given order with the epoch as mtime, owner root, no gzip name/time."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tout:
        for info, data in entries:
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.pax_headers = {}
            if info.isfile():
                info.size = len(data or b"")
                tout.addfile(info, io.BytesIO(data or b""))
            else:
                info.size = 0
                tout.addfile(info)
    tmp = dst.with_name(dst.name + ".tmp")
    with open(tmp, "wb") as fh:
        # filename="" and mtime=0: the gzip header records neither (gzip -n).
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=compresslevel) as gz:
            gz.write(raw.getvalue())
    os.replace(tmp, dst)
    os.utime(dst, (epoch, epoch))


def file_sha256(path: Path) -> str:
    """A file's sha256, read in chunks (packages are tens of MB): what two
    builds are compared by, and how dist/ and a prelinted SRPM are recognised."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
