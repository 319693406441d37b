"""The build stage: sdist (pbr) -> SRPM -> ``rpmbuild --rebuild`` in a clean box -> dist/.

Inputs come from the packaging plan (``plan.SpecPlan``, ``generate.load_plan``):
the spec, the version, the install mode, the runtime requirements and the
numbered sources, taken as ``BuildInputs`` (docs/architecture.md "The typed plan").
The build is skipped, and says so, when ``dist/`` already holds packages
built from the same inputs: the same sources as the SRPM would carry them
(the sdist's files, tracked or not, the wheels, the units), the same spec,
toolkit, box and signing key (packaged.py).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from phoenix_rpm import generate, outputs, packaged, reproducible, rpmbuild, runner, sources, vcs
from phoenix_rpm import inputs as inputs_mod
from phoenix_rpm.errors import UserError
from phoenix_rpm.model import InstallMode
from phoenix_rpm.plan import Source, SpecPlan

STATE_FILE = ".phoenix-build.json"
BOXES = ("nspawn", "host")

# Bump when the way packages are made changes, so old dist/ contents are rebuilt.
RECIPE = "phoenix-build-3"


@dataclass
class BuildResult:
    """What the build stage produced; lint and verify take it as their input."""

    name: str
    version: str
    spec: Path
    srpm: Path
    rpms: list[Path]
    dist_dir: Path
    epoch: int
    box: str
    skipped: bool = False
    inputs_hash: str = ""
    signed_with: str | None = None
    # packaged files that differ from git's HEAD (the Release says .dirty<hash>)
    dirty: tuple[str, ...] = ()

    @property
    def packages(self) -> list[Path]:
        return [self.srpm, *self.rpms]


@dataclass(frozen=True)
class BuildInputs:
    """The slice of the packaging plan the build needs (``inputs_from_plan``).

    Its own type rather than the whole ``SpecPlan`` so that a test (or a
    caller with a hand-written spec) can build without a pbr project.
    """

    name: str
    version: str
    spec: Path
    install_mode: InstallMode = InstallMode.BUNDLED
    requirements: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    # The spec to build, rendered for ``version``; None: build ``spec`` as it is.
    # The committed spec may carry an older version (it cannot follow every
    # commit): see generate.spec_to_build.
    spec_text: str | None = None

    @property
    def bundled(self) -> bool:
        return self.install_mode is InstallMode.BUNDLED

    def spec_bytes(self) -> bytes:
        return self.spec_text.encode() if self.spec_text is not None else self.spec.read_bytes()

    def sources_key(self) -> list[list[int | str | None]]:
        """The sources as the build key hashes them: sorted [number, filename, path] lists.

        The same JSON as the (number, filename, path) tuples hashed before
        ``Source`` existed, so dist/ and cache keys stay valid across that change.
        """
        return sorted(s.as_list() for s in self.sources)


def inputs_from_plan(plan: SpecPlan) -> BuildInputs:
    """What the build reads of the packaging plan, with the spec rendered for the plan's version."""
    return BuildInputs(
        name=plan.name,
        version=plan.version,
        spec=plan.spec_path,
        install_mode=plan.install_mode,
        requirements=plan.requirements,
        sources=tuple(plan.sources),
        spec_text=generate.spec_to_build(plan),
    )


def load_inputs(project_dir: Path) -> BuildInputs:
    return inputs_from_plan(generate.load_plan(project_dir))


def build(
    project_dir: Path,
    box: str = "nspawn",
    sign: str | None = None,
    *,
    inputs: BuildInputs | None = None,
    dist_dir: Path | None = None,
    reuse: bool = True,
    on_srpm: Callable[[str, Path, Path], None] | None = None,
) -> BuildResult:
    """Build the SRPM and RPMs of ``project_dir`` into ``dist_dir`` (default PROJECT/dist).

    ``box`` is ``nspawn`` (a throw-away copy of the cached Debian 12 box,
    networking off) or ``host`` (the host's rpmbuild). ``sign`` is a GPG key
    id for ``rpmsign --addsign``. ``reuse=False`` always rebuilds.
    ``on_srpm(name, spec, srpm)`` is called once the SRPM exists, before the
    RPMs are built (the CLI starts linting the spec and SRPM then).
    """
    if box == "vagrant":
        # A Vagrant VM verifies; building there would only be slower. The
        # build runs in the nspawn box, the same clean root the VM is made of.
        box = "nspawn"
    if box not in BOXES:
        raise UserError(f"--box {box}: the build runs in 'nspawn' or on the 'host'")
    project_dir = project_dir.resolve()
    inp = inputs or load_inputs(project_dir)
    if dist_dir is None:
        # the project's dist/ is the project's: a checkout's "dist -> /etc/cron.d" would have the
        # build (root, often) write its packages and state there and remove old ones (outputs.py)
        outputs.folder(project_dir, "dist")
    dist = (dist_dir or project_dir / "dist").resolve()
    with runner.stage("build") as produced:
        if inp.spec_text is None and not inp.spec.is_file():
            raise UserError(f"{inp.spec}: no spec; run tools/build-rpm --stage generate first")
        epoch = reproducible.source_date_epoch(project_dir)
        constraints = project_dir / "upper-constraints.txt"
        # read by pip (its lines quoted in pip's errors): never through a symlink out
        constraints_file = inputs_mod.project_file(constraints) if constraints.is_file() else None
        # Keyed on the key's fingerprint, not the id given: a new key under the
        # same user id must sign anew (docs/repo.md).
        sign_key = _signing_key(sign)
        quick = quick_key(project_dir, inp, epoch, box, sign_key, constraints_file, dist)
        last = _read_state(dist) if reuse else None
        if last is not None and last.get("quick") == quick and _reusable(dist, last.get("inputs", "")):
            # Not a file of the tree changed since the last build (packaged.tree_stamp):
            # its key holds without making the sdist again.
            for line in last.get("tree", []):
                runner.log(line)
            return _reused(inp, dist, epoch, box, sign, last, tuple(last.get("dirty", [])), produced)
        with tempfile.TemporaryDirectory(prefix="phoenix-sources-") as pre_name:
            # The key is taken over the sources as the SRPM will carry them
            # (packaged.py), so the sdist is made first and reused by the build.
            premade = premake_sources(project_dir, inp, Path(pre_name), epoch, constraints_file)
            inp, state, said = _honest_release(project_dir, inp, premade)
            key = inputs_hash(project_dir, inp, epoch, box, sign_key, constraints_file, premade=premade)
            previous = _reusable(dist, key) if reuse else None
            if previous is not None:
                _remember_quick(dist, previous, quick, said, state.dirty)
                return _reused(inp, dist, epoch, box, sign, previous, state.dirty, produced)
            result = _build(project_dir, inp, dist, epoch, box, sign, constraints_file, key, on_srpm,
                            premade)
            result.dirty = state.dirty
            _remember_quick(dist, _read_state(dist) or {}, quick, said, state.dirty)
        produced += [_shown(p, project_dir) for p in result.rpms + [result.srpm]]
    return result


def _signing_key(sign: str | None) -> str | None:
    """What the build key holds of ``--sign``: the id and the fingerprint it names now."""
    if not sign:
        return None
    from phoenix_rpm import sign as signing

    return f"{sign}={signing.fingerprint(sign)}"


def _reused(inp: BuildInputs, dist: Path, epoch: int, box: str, sign: str | None, state: dict[str, Any],
            dirty: tuple[str, ...], produced: list[str]) -> BuildResult:
    key = state["inputs"]
    result = BuildResult(inp.name, inp.version, inp.spec, dist / state["srpm"],
                         [dist / r for r in state["rpms"]], dist, epoch, box,
                         skipped=True, inputs_hash=key, signed_with=sign, dirty=dirty)
    runner.log(f"    inputs unchanged since the last build ({key[:12]}): reusing dist/")
    produced += [_shown(p, dist) for p in result.rpms + [result.srpm]]
    return result


def quick_key(project_dir: Path, inp: BuildInputs, epoch: int, box: str, sign: str | None,
              constraints_file: Path | None, dist: Path) -> str:
    """The key's short way: every input but the sdist, plus the tree's file metadata (packaged.tree_stamp)."""
    wheel_dir = sources.wheel_cache_root() / sources.wheels_key(
        inp.requirements, constraints_file.read_text() if constraints_file else "")
    from_project = {s.filename: project_dir / s.path for s in _entries(inp) if s.path is not None}
    return packaged.digest(
        spec=inp.spec_bytes(),
        meta=[RECIPE, "quick", inp.name, inp.version, inp.install_mode, sorted(inp.requirements),
              inp.sources_key(), epoch, box_key(box), sign or "", os.environ.get("PBR_VERSION", ""),
              packaged.tree_stamp(project_dir, dist)],
        made={}, project_files=from_project,
        wheels=packaged.wheel_listing(wheel_dir if (wheel_dir / ".complete").exists() else None),
        constraints=constraints_file.read_bytes() if constraints_file else None,
        defines=" ".join(reproducible.rpm_defines(epoch)),
    )


def _remember_quick(dist: Path, state: dict[str, Any], quick: str, said: list[str], dirty: tuple[str, ...]) -> None:
    """Add the short-way key (and what was said about the tree) to the last build's record."""
    if not state or not dist.is_dir():
        return
    state = {**state, "quick": quick, "tree": said, "dirty": list(dirty)}
    (dist / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def _build(project_dir: Path, inp: BuildInputs, dist: Path, epoch: int, box: str,
           sign: str | None, constraints_file: Path | None, key: str,
           on_srpm: Callable[[str, Path, Path], None] | None = None,
           premade: Premade | None = None) -> BuildResult:
    dist.mkdir(parents=True, exist_ok=True)
    _forget(dist)
    bundled = inp.bundled
    with tempfile.TemporaryDirectory(prefix="phoenix-build-") as tmp_name:
        tmp = Path(tmp_name)
        # The fixed work folder is locked only while its paths matter: the
        # SRPM records them, and so does a host rebuild. The box has its own
        # fixed /build, so a box build frees the folder for the next build
        # before its long rebuild starts.
        with rpmbuild.workdir(inp.name) as top:
            collect_sources(project_dir, inp, top / "SOURCES", epoch, constraints_file, premade)
            # rpm parses the spec in a box unless the whole build is on the host (specbox.py)
            built = rpmbuild.build_srpm(_spec_file(inp, top), top, epoch, in_box=box != "host")
            srpm_tmp = tmp / built.name
            shutil.copy2(built, srpm_tmp)
            if on_srpm is not None:
                on_srpm(inp.name, inp.spec, srpm_tmp)
            if box == "host":
                rpms_tmp = []
                for r in rpmbuild.rebuild_on_host(srpm_tmp, top, epoch, bundled=bundled):
                    shutil.copy2(r, tmp / r.name)
                    rpms_tmp.append(tmp / r.name)
        if box != "host":
            rpms_tmp = rpmbuild.rebuild_in_box(srpm_tmp, tmp / "rpms", epoch, bundled=bundled)
        _remove_old_packages(dist, inp.name)
        srpm = dist / srpm_tmp.name
        shutil.copy2(srpm_tmp, srpm)
        rpms = []
        for r in rpms_tmp:
            shutil.copy2(r, dist / r.name)
            rpms.append(dist / r.name)
    if sign:
        from phoenix_rpm import sign as signing

        # Dated at the commit (docs/repo.md): the same build signs to the same bytes.
        signing.sign([srpm, *rpms], sign, epoch=epoch)
    _remember(dist, key, srpm, rpms)
    return BuildResult(inp.name, inp.version, inp.spec, srpm, rpms, dist, epoch, box,
                       skipped=False, inputs_hash=key, signed_with=sign)


def _spec_file(inp: BuildInputs, top: Path) -> Path:
    """The spec to hand to rpmbuild, always a copy in the work folder.

    In bundled mode the template's marker line becomes the bundled() Provides
    of the wheels now in SOURCES (bundled.py, docs/repo.md). A copy even when
    the text is the project's file as it is: rpmbuild -bs gets the spec's
    mtime set to the epoch (reproducible SRPM), which done to the project's
    own file touched the user's tree, so no build ever found the tree
    untouched (packaged.tree_stamp).
    """
    text = inp.spec_bytes().decode()
    wheels = top / "SOURCES" / f"{inp.name}-{inp.version}-wheels.tar.gz"
    if inp.bundled and wheels.is_file():
        from phoenix_rpm import bundled

        text = bundled.fill(text, wheels, inp.name)
    path = top / "SPECS" / inp.spec.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _honest_release(project_dir: Path, inp: BuildInputs,
                    premade: Premade) -> tuple[BuildInputs, vcs.TreeState, list[str]]:
    """Mark the Release of a build from a dirty tree and say so; hint at tagging (vcs.py)."""
    packaged_names = vcs.sdist_members(premade.sdist) if premade.sdist is not None else set()
    packaged_names |= {s.path for s in _entries(inp) if s.path is not None}
    state = vcs.tree_state(project_dir, packaged_names)
    if state.release_suffix:
        text = vcs.with_release_suffix(inp.spec_bytes().decode(), state.release_suffix)
        inp = dataclasses.replace(inp, spec_text=text)
    release = re.search(r"^Release:\s*(\S+)", inp.spec_bytes().decode(errors="replace"), re.M)
    nvr = f"{inp.name}-{inp.version}-{release.group(1).replace('%{?dist}', '') if release else '?'}"
    if os.environ.get("PBR_VERSION") or os.environ.get("OSLO_PACKAGE_VERSION"):
        state = dataclasses.replace(state, tagged=True)  # the version was given, not guessed
    said = vcs.describe(state, nvr)
    for line in said:
        runner.log(line)
    return inp, state, said


@dataclass
class Premade:
    """Sources made before the no-change check: the sdist file, the wheels folder."""

    sdist: Path | None = None
    wheel_dir: Path | None = None


def _entries(inp: BuildInputs) -> list[Source]:
    """Every SourceN of the plan with its file name expanded (Source1 added in bundled mode)."""
    tags = {s.number for s in inp.sources}
    entries = list(inp.sources) or [Source(0, f"{inp.name}-{inp.version}.tar.gz")]
    if inp.bundled and 1 not in tags:
        entries.append(Source(1, f"{inp.name}-{inp.version}-wheels.tar.gz"))
    return [dataclasses.replace(s, filename=_expand(s.filename, inp))
            for s in sorted(entries, key=lambda e: e.number)]


def premake_sources(project_dir: Path, inp: BuildInputs, out_dir: Path, epoch: int,
                    constraints_file: Path | None) -> Premade:
    """Make the sdist and fetch the wheels (both at once), for the key and then the build."""
    made = Premade()
    with ThreadPoolExecutor(max_workers=2) as pool:
        sdist_job = wheels_job = None
        for source in _entries(inp):
            if source.path is None and source.number == 0:
                sdist_job = pool.submit(sources.make_sdist, project_dir, inp.name, inp.version, out_dir, epoch)
            elif source.path is None and source.number == 1 and inp.bundled:
                wheels_job = pool.submit(sources.fetch_wheels, inp.requirements, constraints_file, project_dir)
        if sdist_job is not None:
            made.sdist = sdist_job.result()
        if wheels_job is not None:
            made.wheel_dir = wheels_job.result()
    return made


def collect_sources(project_dir: Path, inp: BuildInputs, src_dir: Path, epoch: int,
                    constraints_file: Path | None, premade: Premade | None = None) -> list[Path]:
    """Put every SourceN of the plan into ``src_dir``: sdist, wheels, project files.

    The sdist (a pbr subprocess) and the wheels tarball (gzip, which frees
    the GIL) are made at the same time; a sdist ``premade`` for the
    no-change key is copied instead of made again.
    """
    made: list[Path] = []
    jobs: list[tuple[str, Future[Path]]] = []
    src_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        for tag, filename, rel in ((s.number, s.filename, s.path) for s in _entries(inp)):
            if rel is not None:
                src = outputs.checked(project_dir, rel)  # never a symlink out of the project (outputs.py)
                if not src.is_file():
                    raise UserError(f"{inp.spec}: Source{tag} {filename} comes from {rel}, which does not exist; "
                                    "run tools/build-rpm --stage generate")
                dst = src_dir / filename
                shutil.copyfile(src, dst)
                made.append(dst)
            elif tag == 0 and premade is not None and premade.sdist is not None:
                dst = src_dir / filename
                shutil.copyfile(premade.sdist, dst)
                made.append(dst)
            elif tag == 0:
                jobs.append((filename, pool.submit(sources.make_sdist, project_dir, inp.name, inp.version,
                                                   src_dir, epoch)))
            elif tag == 1 and inp.bundled:
                jobs.append((filename, pool.submit(sources.make_wheels_tarball, inp.name, inp.version,
                                                   inp.requirements, constraints_file, src_dir, epoch,
                                                   project_dir)))
            else:
                raise UserError(f"{inp.spec}: Source{tag} {filename} has no path in the project "
                                "and is not one the build makes (0 sdist, 1 wheels)")
        for filename, job in jobs:
            dst = job.result()
            if dst.name != filename:
                dst = dst.rename(src_dir / filename)
            made.append(dst)
    reproducible.set_mtimes(made, epoch)
    return made


def _expand(filename: str, inp: BuildInputs) -> str:
    return (filename.replace("%{name}", inp.name).replace("%{version}", inp.version)
            .replace("%name", inp.name).replace("%version", inp.version))


def box_key(box: str) -> str:
    """Identity of the build environment: the box's cache key, or the host's rpmbuild."""
    if box == "host":
        proc = runner.run(["rpmbuild", "--version"], capture=True, check=False)
        return "host:" + proc.stdout.strip()
    try:
        from phoenix_rpm.box.root import box_key as root_key

        return "nspawn:" + root_key()
    except ImportError:
        pass
    return "nspawn"


def inputs_hash(project_dir: Path, inp: BuildInputs, epoch: int, box: str,
                sign: str | None, constraints_file: Path | None, *, premade: Premade | None = None) -> str:
    """sha256 over everything that can change the packages' bytes (see packaged.py).

    Without ``premade`` the sdist is made here, in a temporary folder.
    """
    if premade is None:
        with tempfile.TemporaryDirectory(prefix="phoenix-sources-") as tmp:
            made = premake_sources(project_dir, inp, Path(tmp), epoch, constraints_file)
            return inputs_hash(project_dir, inp, epoch, box, sign, constraints_file, premade=made)
    from_project = {s.filename: project_dir / s.path for s in _entries(inp) if s.path is not None}
    return packaged.digest(
        spec=inp.spec_bytes(),
        meta=[RECIPE, inp.name, inp.version, inp.install_mode, sorted(inp.requirements),
              inp.sources_key(), epoch, box_key(box), sign or ""],
        made={"sdist": premade.sdist} if premade.sdist is not None else {},
        project_files=from_project,
        wheels=packaged.wheel_listing(premade.wheel_dir),
        constraints=constraints_file.read_bytes() if constraints_file else None,
        defines=" ".join(reproducible.rpm_defines(epoch)),
    )


def _reusable(dist: Path, key: str) -> dict[str, Any] | None:
    """The last build's record when its inputs match and its packages are intact."""
    state = _read_state(dist)
    if not state or state.get("inputs") != key:
        return None
    for name, digest in state.get("sha256", {}).items():
        path = dist / name
        if not path.is_file() or reproducible.file_sha256(path) != digest:
            return None
    return state


def _read_state(dist: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((dist / STATE_FILE).read_text())
        return state
    except (OSError, ValueError):
        return None


def _remember(dist: Path, key: str, srpm: Path, rpms: Sequence[Path]) -> None:
    state = {
        "inputs": key,
        "srpm": srpm.name,
        "rpms": [r.name for r in rpms],
        "sha256": {p.name: reproducible.file_sha256(p) for p in [srpm, *rpms]},
    }
    (dist / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


def _forget(dist: Path) -> None:
    (dist / STATE_FILE).unlink(missing_ok=True)
    (dist / ".phoenix-lint.json").unlink(missing_ok=True)


def _remove_old_packages(dist: Path, name: str) -> None:
    """Packages of an earlier version would be linted and installed with the new ones."""
    pattern = re.compile(rf"^{re.escape(name)}(-[A-Za-z0-9_.+~^-]+)?\.rpm$")
    for path in dist.glob("*.rpm"):
        if pattern.match(path.name):
            path.unlink()


def _shown(path: Path, project_dir: Path) -> str:
    """Paths under the working directory are shown relative to it (dist/...)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def dist_packages(dist: Path, name: str | None = None) -> tuple[list[Path], list[Path]]:
    """(SRPMs, binary RPMs) found in ``dist`` (lint --stage lint uses what is there)."""
    def mine(p: Path) -> bool:
        return name is None or p.name.startswith(name + "-")

    srpms = sorted(p for p in dist.glob("*.src.rpm") if mine(p))
    rpms = sorted(p for p in dist.glob("*.rpm") if mine(p) and not p.name.endswith(".src.rpm"))
    return srpms, rpms
