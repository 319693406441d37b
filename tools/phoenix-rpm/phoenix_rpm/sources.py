"""The sources an SRPM carries: the pbr sdist and, in bundled mode, the wheels.

The SRPM must rebuild with no network (what Koji, COPR and mock require), so
everything ``%build``/``%install`` needs is a ``SourceN``: the project's sdist
(Source0) and a tarball of the wheels of every runtime requirement plus the
build tools pbr needs (Source1). Both are normalised (``reproducible``) so the
same commit gives the same bytes.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from phoenix_rpm import cachedirs, inputs, reproducible, runner
from phoenix_rpm.errors import CommandFailed, UserError

# What `pip install --no-index` of the sdist needs besides the requirements:
# pbr builds the project, setuptools and wheel are its PEP 517 backend; pip
# itself, so the venv's pip is a wheel of Source1 like everything else in it
# and the bundled() Provides list it (docs/repo.md), whatever pip the build
# host's python would seed a venv with.
BUILD_TOOLS = ("pbr", "pip", "setuptools", "wheel")

# The box's interpreter (Debian 12): wheels must be installable there.
BOX_PYTHON = "3.11"


def make_sdist(project_dir: Path, name: str, version: str, out_dir: Path, epoch: int) -> Path:
    """Build ``<name>-<version>.tar.gz`` with pbr and normalise it.

    ``PBR_VERSION`` fixes the version to the plan's; the egg-info goes to a
    temporary folder and AUTHORS/ChangeLog are not written, so the project
    tree is left as it was.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (project_dir / "setup.py").exists() and not (project_dir / "setup.cfg").exists():
        raise UserError(f"{project_dir}: no setup.py or setup.cfg; build-rpm packages pbr projects")
    with tempfile.TemporaryDirectory(prefix="phoenix-sdist-") as tmp:
        tmp_path = Path(tmp)
        egg_base = tmp_path / "egg"
        egg_base.mkdir()
        sdist_dir = tmp_path / "out"
        env = {
            "PBR_VERSION": version,
            "SKIP_GENERATE_AUTHORS": "1",
            "SKIP_WRITE_GIT_CHANGELOG": "1",
            "SOURCE_DATE_EPOCH": str(epoch),
        }
        seeded = seed_sources_list(project_dir, egg_base)
        if seeded and not inputs.in_git(project_dir):
            env["SKIP_GIT_SDIST"] = "1"  # pbr then reads the SOURCES.txt put in egg_base
        if (project_dir / "setup.py").exists():
            argv = [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(egg_base),
                    "sdist", "--dist-dir", str(sdist_dir)]
        else:
            argv = [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(sdist_dir)]
        runner.run(argv, cwd=project_dir, env=env)
        found = sorted(sdist_dir.glob("*.tar.gz"))
        if len(found) != 1:
            raise UserError(f"{project_dir}: pbr made {len(found)} sdists, expected one in {sdist_dir}")
        # pbr/setuptools normalise the distribution name (apollo.x -> apollo_x);
        # the spec's Source0 is %{name}-%{version}.tar.gz, and rpm's %setup
        # needs the top folder to match the tarball name.
        target = out_dir / f"{name}-{version}.tar.gz"
        _rename_top_dir(found[0], target, f"{name}-{version}", epoch, egg_info_entries(egg_base))
    return target


def seed_sources_list(project_dir: Path, egg_base: Path) -> bool:
    """Seed ``egg_base`` with the file list of an unpacked sdist; True when a list was seeded.

    Why: out of git, pbr lists only the Python modules and a few defaults, so
    an sdist remade from an unpacked upstream sdist lost its package data
    (alembic.ini, migration templates, the config generator's files). The
    upstream sdist says what it carries in ``<dist>.egg-info/SOURCES.txt``;
    with SKIP_GIT_SDIST pbr reads that list (docs/build.md, the sdist). In a
    git checkout pbr lists git's files and ignores the seed; a plain
    setuptools project (no file finder for git) reads it there too. Only
    plain relative paths to regular files inside the project are kept: the
    list is project input, and a line such as ``/etc/shadow`` or ``../x``
    must not pull a host file into the sdist.
    """
    root = project_dir.resolve()
    found = [d for d in sorted(project_dir.glob("*.egg-info"))
             if d.is_dir() and not d.is_symlink() and (d / "SOURCES.txt").is_file()
             and not (d / "SOURCES.txt").is_symlink()]
    if len(found) != 1:
        return False
    info_dir = found[0]
    kept = []
    for line in (info_dir / "SOURCES.txt").read_text(encoding="utf-8", errors="replace").splitlines():
        rel = line.strip()
        if not rel or rel.startswith("/") or ".." in Path(rel).parts or "\0" in rel:
            continue
        path = project_dir / rel
        if path.is_file() and not path.is_symlink() and path.resolve().is_relative_to(root):
            kept.append(rel)
    if not kept:
        return False
    (egg_base / info_dir.name).mkdir()
    (egg_base / info_dir.name / "SOURCES.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return True


def egg_info_entries(egg_base: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The ``<dist>.egg-info`` folder the sdist must carry, as members relative to its top.

    Why: the egg-info was written outside the project (the tree is left as it
    was), so setuptools' sdist leaves it out; but its SOURCES.txt is the only
    list of package data (.wsgi, .ini, templates, migrations) a build from
    the sdist has: there is no git there, and pbr reads SOURCES.txt instead
    (docs/build.md, the sdist). Upstream sdists carry it the same way. The
    line naming SOURCES.txt itself is made relative, as upstream's is, so the
    bytes do not depend on the temporary folder.
    """
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for info_dir in sorted(egg_base.glob("*.egg-info")):
        folder = tarfile.TarInfo(info_dir.name)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        entries.append((folder, None))
        for path in sorted(p for p in info_dir.iterdir() if p.is_file()):
            data = path.read_bytes()
            if path.name == "SOURCES.txt":
                lines = data.decode("utf-8").splitlines()
                own = f"{info_dir.name}/SOURCES.txt"
                fixed = [own if line.startswith("/") and line.endswith("/SOURCES.txt") else line for line in lines]
                data = "\n".join(fixed).encode("utf-8") + b"\n"
            member = tarfile.TarInfo(f"{info_dir.name}/{path.name}")
            member.mode = 0o644
            entries.append((member, data))
    return entries


def _rename_top_dir(src: Path, dst: Path, top: str, epoch: int,
                    extra: Sequence[tuple[tarfile.TarInfo, bytes | None]] = ()) -> None:
    with tarfile.open(src, "r:*") as tin:
        members = sorted(tin.getmembers(), key=lambda m: m.name)
        entries = []
        for m in members:
            data = tin.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            head, sep, rest = m.name.partition("/")
            m.name = top + (sep + rest if sep else "")
            entries.append((m, data))
    have = {e[0].name for e in entries}
    for info, data in extra:
        info.name = f"{top}/{info.name}"
        if info.name not in have:  # an sdist that carries its egg-info keeps its own
            entries.append((info, data))
    entries.sort(key=lambda e: e[0].name)
    reproducible.write_tarball(dst, entries, epoch)


def wheel_cache_root() -> Path:
    """Downloads are cached system-wide, per user when /var/cache is not writable."""
    return cachedirs.cache_dir("wheels", env="PHOENIX_WHEEL_CACHE")


def requirement_lines(lines: Iterable[str]) -> list[str]:
    """Requirement lines without comments, blanks or pip options, sorted for a stable key."""
    out = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            out.append(line)
    return sorted(set(out))


def wheels_key(requirements: Sequence[str], constraints: str) -> str:
    """Cache key of a wheel set: the requirement lines, the constraints, the box Python."""
    h = hashlib.sha256()
    h.update(f"python{BOX_PYTHON}\n".encode())
    for line in requirement_lines(requirements) + list(BUILD_TOOLS):
        h.update(line.encode() + b"\n")
    h.update(b"--constraints--\n" + constraints.encode())
    return h.hexdigest()[:16]


def fetch_wheels(requirements: Sequence[str], constraints_file: Path | None,
                 project_dir: Path | None = None) -> Path:
    """Wheels of the requirements and the build tools, for the box's Python; cached.

    When the host's Python is the box's (the usual case: both Debian 12),
    ``pip wheel`` gets wheels and builds the few projects that ship only
    sdists; otherwise only binary wheels for the box's platform are fetched.
    """
    constraints = constraints_file.read_text() if constraints_file else ""
    key = wheels_key(requirements, constraints)
    cache = wheel_cache_root() / key
    done = cache / ".complete"
    if done.exists():
        return cache
    if cache.exists():
        shutil.rmtree(cache)
    partial = cache.with_name(key + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="phoenix-req-") as req:
        req.write("\n".join(requirement_lines(requirements) + list(BUILD_TOOLS)) + "\n")
        req.flush()
        cons = ["-c", str(constraints_file)] if constraints_file else []
        host_py = f"{sys.version_info.major}.{sys.version_info.minor}"
        if host_py == BOX_PYTHON:
            argv = [sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                    "--wheel-dir", str(partial), *cons, "-r", req.name]
        else:
            argv = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                    "--only-binary", ":all:", "--python-version", BOX_PYTHON,
                    "--platform", "manylinux2014_x86_64", "--dest", str(partial), *cons, "-r", req.name]
        runner.log(f"    fetching wheels of {len(requirement_lines(requirements))} requirements into {cache}")
        try:
            runner.run(argv, timeout=1800)
        except CommandFailed as exc:
            # pip names its temporary requirements file; the user needs the
            # line of their own file (docs/build.md, "Sources").
            shutil.rmtree(partial, ignore_errors=True)
            mapped = requirement_error(exc.stderr, project_dir, constraints_file)
            if mapped:
                raise UserError(mapped) from None
            raise
    (partial / ".complete").write_text(key + "\n")
    os.replace(partial, cache)
    return cache


_NOT_FOUND = re.compile(r"(?:No matching distribution found for|Could not find a version that satisfies "
                        r"the requirement) ([A-Za-z0-9][A-Za-z0-9._-]*)([^\s(]*)")
_NETWORK = ("NewConnectionError", "Failed to establish a new connection", "Temporary failure in name resolution",
            "Network is unreachable", "ConnectTimeoutError", "ReadTimeoutError")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locate_requirement(project_dir: Path, name: str) -> tuple[Path, int, str] | None:
    """(file, line number, line) of the project's requirement on ``name``, if it declares one."""
    # setup.cfg: [phoenix:rpm] requirements and [extras] (extra_requirements.py)
    for path in (project_dir / "requirements.txt", project_dir / "pyproject.toml", project_dir / "setup.cfg"):
        if not path.is_file():
            continue
        for number, raw in enumerate(path.read_text(errors="replace").splitlines(), 1):
            text = raw.split("#", 1)[0].strip().strip('",').strip("'")
            if path.suffix == ".cfg":
                if not raw[:1].isspace() and not raw.startswith("requirements"):
                    continue  # a requirement is a continuation line (or requirements = X)
                text = re.sub(r"^requirements\s*=\s*", "", text)
            m = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)
            if m and _canonical(m.group(0)) == _canonical(name) and (path.suffix in (".txt", ".cfg") or '"' in raw
                                                                     or "'" in raw):
                return path, number, text
    return None


def requirement_error(stderr: str, project_dir: Path | None, constraints_file: Path | None) -> str | None:
    """pip's "no matching distribution" as the project's file and line; None for other failures."""
    if any(word in stderr for word in _NETWORK):
        return None  # no network: not the project's mistake
    m = _NOT_FOUND.search(stderr)
    if not m:
        return None
    name, spec = m.group(1), m.group(2)
    where = locate_requirement(project_dir, name) if project_dir is not None else None
    pinned = ""
    if constraints_file is not None:
        for number, raw in enumerate(constraints_file.read_text(errors="replace").splitlines(), 1):
            if raw.strip() and _canonical(re.split(r"[<>=!~;\s\[]", raw.strip(), maxsplit=1)[0]) == _canonical(name):
                pinned = f" (constrained by {constraints_file.name}:{number}: {raw.strip()})"
                break
    found = f"pip finds no distribution of {name}{spec} for Python {BOX_PYTHON}{pinned}"
    if where is not None:
        path, number, text = where
        return f"{path}:{number}: requirement {text!r}: {found}; fix the name or the version"
    req = project_dir / "requirements.txt" if project_dir is not None else Path("requirements.txt")
    return (f"{req}: {name}{spec}, needed by one of the requirements, cannot be installed: {found}; "
            "check the requirements' versions")


def make_wheels_tarball(name: str, version: str, requirements: Sequence[str],
                        constraints_file: Path | None, out_dir: Path, epoch: int,
                        project_dir: Path | None = None) -> Path:
    """``<name>-<version>-wheels.tar.gz`` with top folder ``wheels/`` (Source1)."""
    cache = fetch_wheels(requirements, constraints_file, project_dir)
    # Straight from the cache, as tarball_from_dir would pack a copy of it.
    top = tarfile.TarInfo("wheels")
    top.type, top.mode = tarfile.DIRTYPE, 0o755
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [(top, None)]
    for whl in sorted(cache.glob("*.whl")):
        info = tarfile.TarInfo(f"wheels/{whl.name}")
        info.mode = 0o755 if os.access(whl, os.X_OK) else 0o644
        entries.append((info, whl.read_bytes()))
    target = out_dir / f"{name}-{version}-wheels.tar.gz"
    # Wheels are zip files, already compressed: gzip -1 costs a tenth of
    # the time of -6 and the tarball is within a percent of the same size.
    reproducible.write_tarball(target, entries, epoch, compresslevel=1)
    return target
