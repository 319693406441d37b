"""SRPM from the spec and its sources, then ``rpmbuild --rebuild`` of that SRPM.

Rebuilding the SRPM (instead of ``rpmbuild -ba`` on the spec) is what mock,
Koji and COPR do: it proves the SRPM alone is enough. In a box the rebuild
runs with networking off, so a source the spec forgot cannot be fetched.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

from phoenix_rpm import cachedirs, reproducible, runner
from phoenix_rpm.errors import CommandFailed, UserError

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

# Where the venv layer cache appears in the box (read-only), and how many
# layers the cache keeps (each is one set of requirements, about 60 MB for apollo).
VENV_CACHE_IN_BOX = "/var/cache/phoenix-venv-layers"
VENV_LAYERS_KEPT = 4


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    """A fixed, empty ``_topdir`` for one package, held under a lock.

    Fixed because rpm records paths of the build in what it writes: the
    SRPM's header holds the expanded %prep (with ``_sourcedir``), and a
    virtualenv made under the buildroot embeds it before the spec strips it
    (pip's RECORD hashes). A fresh temporary name per build would make every
    build differ; mock uses fixed paths (/builddir) for the same reason. The
    lock serialises two builds of one package on one host.
    """
    base = Path(os.environ.get("PHOENIX_RPMBUILD_DIR", "/var/tmp/phoenix-rpmbuild"))
    base.mkdir(parents=True, exist_ok=True)
    top = base / name
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            shutil.rmtree(top, ignore_errors=True)
            for sub in ("SOURCES", "SPECS", "SRPMS", "RPMS", "BUILD", "BUILDROOT"):
                (top / sub).mkdir(parents=True)
            yield top
        finally:
            shutil.rmtree(top, ignore_errors=True)
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_srpm(spec: Path, topdir: Path, epoch: int, *, in_box: bool = False) -> Path:
    """``rpmbuild -bs``: the spec plus every file in ``topdir/SOURCES`` -> ``topdir/SRPMS``.

    ``in_box``: rpmbuild parses the spec (and so expands its macros) in a
    throw-away box, not on the host (specbox.py, docs/packaging.md "Hostile
    input and the trust boundary"); topdir is bound at /build there.
    """
    sources_dir = topdir / "SOURCES"
    reproducible.set_mtimes([spec, *sorted(sources_dir.iterdir())], epoch)
    if in_box:
        return _build_srpm_in_box(spec, topdir, epoch)
    argv = [
        "rpmbuild", "-bs", "--nodeps",
        "--define", f"_topdir {topdir}",
        *reproducible.rpm_defines(epoch),
        str(spec),
    ]
    proc = runner.run(argv, env=reproducible.build_env(epoch), capture=True)
    written = _written(proc.stdout + proc.stderr, ".src.rpm")
    if len(written) != 1:
        raise UserError(f"{spec}: rpmbuild -bs wrote {written or 'no SRPM'}, expected one SRPM")
    return written[0]


def _build_srpm_in_box(spec: Path, topdir: Path, epoch: int) -> Path:
    from phoenix_rpm import specbox

    in_specs = topdir / "SPECS" / spec.name
    if spec.resolve() != in_specs.resolve():
        in_specs.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(spec, in_specs)
    argv = ["rpmbuild", "-bs", "--nodeps", "--define", "_topdir /build", *reproducible.rpm_defines(epoch),
            f"/build/SPECS/{spec.name}"]
    env = {**reproducible.build_env(epoch), "HOME": "/root", "PATH": SYSTEM_PATH}
    proc = specbox.run_rpm(argv, binds=[(topdir, "/build")], env=env)
    written = [topdir / p.relative_to("/build") for p in _written(proc.stdout + proc.stderr, ".src.rpm")
               if str(p).startswith("/build/")]
    if len(written) != 1 or not written[0].is_file():
        raise UserError(f"{spec}: rpmbuild -bs (in the box) wrote {written or 'no SRPM'}, expected one SRPM")
    return written[0]


def host_has_rpmdb_of_system() -> bool:
    """True on rpm-based hosts, where BuildRequires can be checked against the rpmdb.

    Debian's rpm database is empty (dpkg owns the system), so a host build
    there must skip the BuildRequires check; a box makes its base system known
    to rpm and needs no such shortcut.
    """
    try:
        proc = runner.run(["rpm", "-q", "--whatprovides", "/bin/sh"], capture=True, check=False)
    except CommandFailed:  # no rpm at all: no rpmdb either
        return False
    return proc.returncode == 0


def rebuild_defines(bundled: bool) -> list[str]:
    """Build-speed settings that do not change what the package means.

    ``--noclean``: the build tree is thrown away anyway (the box's overlay,
    the host's work folder), so rpm need not delete it file by file first.
    Bundled mode also skips the distribution's post-install steps
    (``__os_install_post``: brp-strip and friends run ``file`` on every file
    of the virtualenv, 30-40 s for apollo). They would only strip the
    binaries of upstream's wheels, which pip installed as upstream built
    them; rpmvenv skips stripping by default for the same reason. A rebuild
    of the SRPM elsewhere (Koji, mock) runs them, with the same result
    but for symbols.
    """
    argv = ["--noclean"]
    if bundled:
        argv += ["--define", "__os_install_post %{nil}"]
    return argv


def venv_layer_cache() -> Path | None:
    """Where the requirements' venv layers of earlier builds are kept; None: not used.

    The spec (bundled mode) makes the layer from the wheels when it is not
    given one, and saves it when asked (``phoenix_venv_cache_out``); see
    templates/venv_layer.py. ``PHOENIX_VENV_CACHE`` moves the folder, ``0``
    turns the cache off.
    """
    override = os.environ.get("PHOENIX_VENV_CACHE")
    if override is not None:
        return None if override.lower() in ("", "0", "no", "off", "false") else Path(override)
    return cachedirs.cache_dir("venv-layers")


def venv_layer_defines(cache_dir: str, out_dir: str) -> list[str]:
    return ["--define", f"phoenix_venv_cache {cache_dir}", "--define", f"phoenix_venv_cache_out {out_dir}"]


def keep_venv_layers(made: Path, cache: Path) -> list[Path]:
    """Move the layers a build made (``made``/*.tar) into the cache; keep the most recently used few."""
    kept: list[Path] = []
    if not made.is_dir():
        return kept
    cache.mkdir(parents=True, exist_ok=True)
    for layer in sorted(made.glob("venv-*.tar")):
        partial = cache / f"{layer.name}.{os.getpid()}.partial"
        shutil.copyfile(layer, partial)
        os.replace(partial, cache / layer.name)
        kept.append(cache / layer.name)
        runner.log(f"    venv layer saved for the next builds: {cache / layer.name}")
    if kept:
        layers = sorted(cache.glob("venv-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in layers[VENV_LAYERS_KEPT:]:
            old.unlink(missing_ok=True)
    return kept


def touch_used_layer(output: str | None, cache: Path) -> None:
    """Mark the layer the build unpacked as just used: the cache keeps the most recently used."""
    for match in re.finditer(r"^venv layer ([0-9a-f]+): unpacked from ", output or "", re.M):
        with contextlib.suppress(OSError):
            os.utime(cache / f"venv-{match.group(1)}.tar")


def rebuild_on_host(srpm: Path, topdir: Path, epoch: int, *, bundled: bool = False) -> list[Path]:
    """``rpmbuild --rebuild`` with the host's rpmbuild (``--box host``); RPMs in topdir/RPMS."""
    argv = ["rpmbuild", "--rebuild", "--define", f"_topdir {topdir}",
            *reproducible.rpm_defines(epoch), *rebuild_defines(bundled)]
    cache = venv_layer_cache() if bundled else None
    if cache is not None:
        argv += venv_layer_defines(str(cache), str(topdir / "venv-layers"))
    if not host_has_rpmdb_of_system():
        argv.append("--nodeps")
    argv.append(str(srpm))
    # The distribution's interpreter and tools, not whatever a developer's
    # PATH puts first (pyenv, a venv): the package runs on the system python3.
    env = {**reproducible.build_env(epoch), "PATH": SYSTEM_PATH}
    proc = runner.run(argv, env=env, timeout=3600)
    if cache is not None:
        touch_used_layer(proc.stdout, cache)
        keep_venv_layers(topdir / "venv-layers", cache)
    return _collect(topdir / "RPMS", topdir / "out")


def rebuild_in_box(srpm: Path, out_dir: Path, epoch: int, *, bundled: bool = False) -> list[Path]:
    """``rpmbuild --rebuild`` inside a throw-away copy of the cached box, offline.

    The SRPM goes to ``/build`` in the box (not ``/tmp``: the box mounts its
    own tmpfs there), itself a fresh tmpfs when there is memory for it
    (scratch.py); the RPMs come back from the box's ``/build/RPMS``. The
    venv layer cache is bound read-only; a layer the build made comes back
    from ``/build/venv-layers``.
    """
    from phoenix_rpm import scratch
    from phoenix_rpm.box import ensure_root, run_in, throwaway

    out_dir.mkdir(parents=True, exist_ok=True)
    root = ensure_root()
    cache = venv_layer_cache() if bundled else None
    with throwaway(root) as box, scratch.tmpfs() as tmpfs:
        build = tmpfs or box / "build"
        build.mkdir(parents=True, exist_ok=True)
        shutil.copy2(srpm, build / srpm.name)
        binds = [(tmpfs, "/build")] if tmpfs else []
        ro_binds = []
        argv = ["rpmbuild", "--rebuild", "--define", "_topdir /build",
                *reproducible.rpm_defines(epoch), *rebuild_defines(bundled)]
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            ro_binds.append((cache, VENV_CACHE_IN_BOX))
            argv += venv_layer_defines(VENV_CACHE_IN_BOX, "/build/venv-layers")
        argv.append(f"/build/{srpm.name}")
        env = {**reproducible.build_env(epoch), "HOME": "/root", "PATH": SYSTEM_PATH}
        proc = run_in(box, argv, binds=binds, ro_binds=ro_binds, env=env, cwd="/build", network=False,
                      timeout=3600)
        if cache is not None:
            touch_used_layer(proc.stdout, cache)
            keep_venv_layers(build / "venv-layers", cache)
        return _collect(build / "RPMS", out_dir)


def _collect(rpms_dir: Path, out_dir: Path) -> list[Path]:
    found = sorted(rpms_dir.rglob("*.rpm"))
    if not found:
        raise UserError(f"rpmbuild --rebuild produced no RPM under {rpms_dir}; check the spec's %files")
    out_dir.mkdir(parents=True, exist_ok=True)
    produced = []
    for rpm in found:
        dst = out_dir / rpm.name
        shutil.copy2(rpm, dst)
        produced.append(dst)
    return produced


def _written(output: str, suffix: str) -> list[Path]:
    paths = []
    for line in output.splitlines():
        if line.startswith("Wrote: ") and line.strip().endswith(suffix):
            paths.append(Path(line[len("Wrote: "):].strip()))
    return paths
