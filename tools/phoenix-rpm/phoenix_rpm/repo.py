"""``tools/build-rpm --repo DIR``: publish the built packages into a dnf repository.

Operators point dnf at a repository rather than run ``rpm -ivh`` on each host
(docs/repo.md). The layout is the one dnf and createrepo_c expect::

    DIR/<basearch>/Packages/<letter>/*.rpm   binary tree (noarch goes to the host's arch)
    DIR/<basearch>/repodata/                 its metadata (+ repomd.xml.asc when signed)
    DIR/source/Packages/<letter>/*.src.rpm   source tree, same shape
    DIR/<repo id>.repo                       ready for /etc/yum.repos.d/
    DIR/RPM-GPG-KEY-<repo id>                the public key (signed repositories)
    DIR/sbom/<name>-<version>-<release>.cdx.json   the SBOM each bundled package ships

Why it is written the way it is:

* Atomic for readers: packages are added first (each by rename), the new
  metadata is made in a staging folder inside the tree and exchanged with
  ``repodata/`` in one ``renameat2(RENAME_EXCHANGE)``; packages that fall out
  of the retention window are deleted only after the swap. A reader sees the
  old metadata with its packages or the new metadata with its packages.
* Reproducible: the package files' mtimes are their build time, createrepo_c
  gets a fixed revision (the newest build time) with
  ``--set-timestamp-to-revision``, no sqlite databases, sha256 everywhere;
  signatures are dated at that revision (clamped to the key's creation). The
  same packages give the same bytes.
* Checked before anything is written: the folder is writable, the key is
  there, a signed repository only takes packages signed with its key, and a
  published file name never changes its content. Bad input is one line and
  exit 2 with the repository untouched (``UserError``).
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

from phoenix_rpm import reproducible, runner
from phoenix_rpm.errors import UserError

STATE_FILE = ".phoenix-repo.json"
LOCK_FILE = ".phoenix-repo.lock"
SOURCE_TREE = "source"
SBOM_DIR = "sbom"
# The createrepo_c options that make its output depend on the packages only.
CREATEREPO_FIXED = ("--no-database", "--checksum", "sha256", "--repomd-checksum", "sha256",
                    "--set-timestamp-to-revision", "--error-exit-val", "--workers", "2")


@dataclasses.dataclass(frozen=True)
class Package:
    """One package file, read from its header."""

    path: Path
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    buildtime: int
    source: bool

    @property
    def evr(self) -> tuple[str, str, str]:
        return (self.epoch, self.version, self.release)

    @property
    def nvr(self) -> str:
        return f"{self.name}-{self.version}-{self.release}"


@dataclasses.dataclass
class PublishResult:
    """What a publish did: for the log, the verify stage and the tests."""

    repo_dir: Path
    repo_id: str
    repo_file: Path
    key_file: Path | None
    added: list[Path]
    removed: list[Path]
    trees: dict[str, Path]
    sboms: list[Path]
    signed_with: str | None


# --- reading packages ------------------------------------------------------------

_QF = "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{BUILDTIME}\\t%{SOURCERPM}\\n"


def read_packages(paths: Sequence[Path]) -> list[Package]:
    """Headers of many packages in one ``rpm -qp`` (a repository may hold hundreds)."""
    if not paths:
        return []
    proc = runner.run(["rpm", "-qp", "--nosignature", "--nodigest", "--qf", _QF, *map(str, paths)],
                      capture=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.count("\t") == 6]
    if proc.returncode != 0 or len(lines) != len(paths):
        raise UserError(f"rpm -qp could not read every package ({len(lines)} of {len(paths)}): "
                        f"{proc.stderr.strip()[-300:]}; rebuild them with tools/build-rpm")
    out = []
    for path, line in zip(paths, lines):
        name, epoch, version, release, arch, buildtime, sourcerpm = line.split("\t")
        out.append(Package(Path(path), name, epoch, version, release, arch, int(buildtime),
                           source=sourcerpm == "(none)"))
    return out


def _compare(a: Package, b: Package) -> int:
    try:
        import rpm  # the distribution's bindings (python3-rpm), as rpmlint uses

        return int(rpm.labelCompare(a.evr, b.evr))  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - the toolkit's venv always has them
        key_a = (int(a.epoch), _vkey(a.version), _vkey(a.release))
        key_b = (int(b.epoch), _vkey(b.version), _vkey(b.release))
        return (key_a > key_b) - (key_a < key_b)


def _vkey(text: str) -> list[tuple[int, object]]:
    return [(1, int(p)) if p.isdigit() else (0, p) for p in re.findall(r"\d+|[a-zA-Z]+", text)]


# --- the repository -----------------------------------------------------------------


def default_repo_id(repo_dir: Path) -> str:
    """The repository's id in the .repo file: its folder's name, made a valid dnf id."""
    rid = re.sub(r"[^A-Za-z0-9_.:-]+", "-", repo_dir.resolve().name).strip("-.")
    return rid or "phoenix"


def binary_arch(packages: Sequence[Package]) -> str:
    """The tree binary packages go to: their arch, or the host's for noarch ($basearch)."""
    arches = sorted({p.arch for p in packages if not p.source and p.arch != "noarch"})
    if len(arches) > 1:
        raise UserError(f"packages of several architectures ({', '.join(arches)}) in one publish; "
                        "publish each architecture's build separately")
    return arches[0] if arches else os.uname().machine


def _state(repo_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((repo_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def check_url(url: str) -> str:
    """A base URL for the .repo file: one line, a scheme dnf fetches from (it lands in an ini file)."""
    if not re.fullmatch(r"(https?|ftp|file)://[^\s]+", url):
        raise UserError(f"--repo-url {url!r}: give the URL clients reach the repository at, "
                        "e.g. https://rpm.example.org/apollo (http, https, ftp or file; no spaces)")
    return url


def preflight(repo_dir: Path, sign: str | None, keep: int | None = None, base_url: str | None = None) -> None:
    """Everything that can be checked before the build: run first, so bad input costs nothing."""
    from phoenix_rpm import sign as signing

    if base_url is not None:
        check_url(base_url)
    if keep is not None and keep < 1:
        raise UserError(f"--repo-keep {keep}: keep at least 1 version of each package")
    if shutil.which("createrepo_c") is None:
        raise UserError("createrepo_c not found: install 'createrepo-c' (Debian) or 'createrepo_c' "
                        "(Fedora/EL); tools/build-rpm installs it on Debian")
    if sign is not None:
        signing.require_key(sign)
    _check_writable(Path(repo_dir).absolute())
    _check_signing(Path(repo_dir).absolute(), _state(Path(repo_dir).absolute()), [], sign)


def publish(repo_dir: Path, packages: Sequence[Path], *, sign: str | None = None,
            keep: int | None = None, repo_id: str | None = None, base_url: str | None = None) -> PublishResult:
    """Add ``packages`` (SRPMs and RPMs) to the repository at ``repo_dir`` and refresh it.

    ``keep``: how many versions of each package to keep (None: all), the
    newest by rpm's version order. ``sign``: the GnuPG key the repository is
    signed with; every package must carry its signature (the build stage adds
    it) and repomd.xml gets a detached one. ``base_url``: what the .repo file
    points clients at (default ``file://DIR``). The SBOM each bundled RPM
    ships is put beside the repository (DIR/sbom/).
    """
    repo_dir = Path(repo_dir).absolute()
    with runner.stage(f"publish to {repo_dir}") as produced:
        preflight(repo_dir, sign, keep, base_url)
        pkgs = read_packages([Path(p) for p in packages])
        if not pkgs:
            raise UserError("nothing to publish: no SRPM or RPM given; run tools/build-rpm first")
        state = _state(repo_dir)
        rid = repo_id or state.get("repo_id") or default_repo_id(repo_dir)
        keep = keep if keep is not None else state.get("keep")
        _check_signing(repo_dir, state, pkgs, sign)
        arch = binary_arch(pkgs)
        with _locked(repo_dir):
            result = _publish_locked(repo_dir, pkgs, arch, rid, sign, keep, base_url, state)
        produced.append(f"{len(result.added)} added, {len(result.removed)} pruned; "
                        f"clients: {result.repo_file}")
    return result


def _check_writable(repo_dir: Path) -> None:
    """Create and remove a file in every folder the publish writes to; nothing else is touched.

    Not os.access: root passes it on a read-only mount or an immutable folder.
    """
    folder = repo_dir
    while not folder.exists():
        folder = folder.parent
    candidates = [folder]
    if repo_dir.exists():
        candidates += [p for p in repo_dir.rglob("*") if p.is_dir() and not p.name.startswith(".")]
    for path in candidates:
        try:
            fd, probe = tempfile.mkstemp(prefix=".phoenix-write-probe-", dir=path)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise UserError(f"{path}: the repository folder is not writable ({exc.strerror}); "
                            "publish to a folder you can write, or fix its permissions/mount") from None


def _check_signing(repo_dir: Path, state: dict[str, Any], pkgs: Sequence[Package], sign: str | None) -> None:
    """A signed repository (its .repo says gpgcheck=1) takes only packages signed with its key."""
    from phoenix_rpm import sign as signing

    signed_with = state.get("fingerprint")
    if sign is None:
        if signed_with:
            what = f" ({pkgs[0].path.name})" if pkgs else ""
            raise UserError(f"{repo_dir}: the repository is signed (gpgcheck=1) with key {signed_with}; "
                            f"an unsigned package{what} would fail every client's gpgcheck: "
                            f"publish with --sign {signed_with}")
        return
    fpr = signing.fingerprint(sign)
    if signed_with and signed_with != fpr:
        raise UserError(f"{repo_dir}: the repository is signed with key {signed_with}, not {fpr}; "
                        f"publish with --sign {signed_with} (or start a new repository for a new key)")
    if not pkgs:
        return
    with tempfile.TemporaryDirectory(prefix="phoenix-repo-key-") as tmp:
        key = Path(tmp) / "key.asc"
        key.write_bytes(signing.export_public_key(sign))
        db = Path(tmp) / "rpmdb"
        db.mkdir()
        runner.run(["rpm", "--dbpath", str(db), "--import", str(key)], capture=True)
        proc = runner.run(["rpm", "-K", "--dbpath", str(db), *[str(p.path) for p in pkgs]],
                          check=False, capture=True)
        for pkg in pkgs:
            if f"{pkg.path}: digests signatures OK" not in proc.stdout:
                raise UserError(f"{pkg.path}: not signed with {fpr} (rpm -K: "
                                f"{_rpm_k_line(proc.stdout, pkg.path)}); a repository with gpgcheck=1 "
                                f"would refuse it: rebuild with tools/build-rpm --sign {sign}")


def _rpm_k_line(out: str, path: Path) -> str:
    for line in out.splitlines():
        if line.startswith(f"{path}:"):
            return line[len(str(path)) + 1:].strip()
    return "no result"


def _publish_locked(repo_dir: Path, pkgs: Sequence[Package], arch: str, rid: str, sign: str | None,
                    keep: int | None, base_url: str | None, state: dict[str, Any]) -> PublishResult:
    from phoenix_rpm import sign as signing

    trees = {"binary": repo_dir / arch, "source": repo_dir / SOURCE_TREE}
    placed: list[tuple[Package, Path]] = []
    for pkg in pkgs:
        tree = trees["source" if pkg.source else "binary"]
        placed.append((pkg, tree / "Packages" / pkg.path.name[0].lower() / pkg.path.name))
    # A published file name never changes its content: clients cache by name
    # and the old metadata's checksum would no longer match.
    for pkg, dest in placed:
        if dest.is_file() and reproducible.file_sha256(dest) != reproducible.file_sha256(pkg.path):
            raise UserError(f"{dest}: {pkg.path.name} is already published with other content; "
                            "bump the version (or Release) and rebuild, or publish to a new repository")
    added: list[Path] = []
    for pkg, dest in placed:
        if dest.is_file():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(pkg.path, tmp)
        os.utime(tmp, (pkg.buildtime, pkg.buildtime))   # --update and <time file=...> follow it
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        added.append(dest)
    removed: list[Path] = []
    for tree in trees.values():
        if not (tree / "Packages").is_dir():
            continue
        kept, pruned = retention(read_packages(sorted((tree / "Packages").rglob("*.rpm"))), keep)
        _refresh_metadata(tree, kept, sign)
        for pkg in pruned:          # only once the metadata naming them is gone
            pkg.path.unlink(missing_ok=True)
            (repo_dir / SBOM_DIR / f"{pkg.nvr}.{pkg.arch}.cdx.json").unlink(missing_ok=True)
            removed.append(pkg.path)
    key_file = None
    if sign:
        key_file = repo_dir / f"RPM-GPG-KEY-{rid}"
        _atomic_write(key_file, signing.export_public_key(sign))
    url = (base_url or repo_dir.as_uri()).rstrip("/")
    repo_file = repo_dir / f"{rid}.repo"
    _atomic_write(repo_file, repo_file_text(rid, url, key_file.name if key_file else None).encode())
    sbom_out = []
    for pkg, dest in placed:
        if pkg.source or not dest.is_file():     # a source package, or pruned at once by --repo-keep
            continue
        data = sbom_of(pkg.path, pkg.name)
        if data is not None:
            beside = repo_dir / SBOM_DIR / f"{pkg.nvr}.{pkg.arch}.cdx.json"
            _atomic_write(beside, data)
            sbom_out.append(beside)
    new_state = {"repo_id": rid, "fingerprint": signing.fingerprint(sign) if sign else None,
                 "keep": keep, "arch": arch}
    _atomic_write(repo_dir / STATE_FILE, (json.dumps(new_state, indent=2, sort_keys=True) + "\n").encode())
    return PublishResult(repo_dir, rid, repo_file, key_file, added, removed, trees, sbom_out,
                         signing.fingerprint(sign) if sign else None)


def retention(pkgs: Sequence[Package], keep: int | None) -> tuple[list[Package], list[Package]]:
    """(kept, pruned): the ``keep`` newest versions of each package name and arch, by rpm's order."""
    if keep is None:
        return sorted(pkgs, key=lambda p: p.path.name), []
    import functools

    groups: dict[tuple[str, str], list[Package]] = {}
    for pkg in pkgs:
        groups.setdefault((pkg.name, pkg.arch), []).append(pkg)
    kept: list[Package] = []
    pruned: list[Package] = []
    for group in groups.values():
        group.sort(key=functools.cmp_to_key(_compare), reverse=True)
        kept += group[:keep]
        pruned += group[keep:]
    return sorted(kept, key=lambda p: p.path.name), pruned


def _refresh_metadata(tree: Path, kept: Sequence[Package], sign: str | None) -> None:
    """createrepo_c --update into a staging folder, sign, swap it in as repodata/."""
    from phoenix_rpm import reproducible
    from phoenix_rpm import sign as signing

    sde = reproducible.env_epoch()
    revision = sde if sde is not None else max((p.buildtime for p in kept), default=0)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=tree))
    try:
        pkglist = staging / "pkglist"
        pkglist.write_text("".join(f"{p.path.relative_to(tree).as_posix()}\n" for p in kept))
        out = staging / "out"
        out.mkdir()
        argv = ["createrepo_c", "--quiet", *CREATEREPO_FIXED, "--revision", str(revision),
                "--pkglist", str(pkglist), "--outputdir", str(out)]
        if (tree / "repodata" / "repomd.xml").is_file():
            # Reuse what the current metadata says of unchanged packages
            # (same name, size and mtime): the incremental update.
            argv += ["--update", "--update-md-path", str(tree)]
        runner.run([*argv, str(tree)], timeout=1800)
        new = out / "repodata"
        if sign:
            signing.detach_sign(new / "repomd.xml", sign, new / "repomd.xml.asc", epoch=revision)
        for path in new.iterdir():
            os.utime(path, (revision, revision))
        current = tree / "repodata"
        if current.is_dir():
            exchange(new, current)      # new now holds the old metadata, removed below
        else:
            os.rename(new, current)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange(a: Path, b: Path) -> None:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE).

    Where the file system cannot (ENOSYS/EINVAL), two renames: a reader may
    then find no repodata/ for a moment, never metadata without its packages.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    func = getattr(libc, "renameat2", None)
    if func is not None:
        rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
        if rc == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), str(b))
    aside = b.with_name(b.name + ".old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def repo_file_text(repo_id: str, url: str, key_name: str | None) -> str:
    """The client's /etc/yum.repos.d/<id>.repo: binary repository enabled, sources listed disabled."""
    if key_name:
        checks = f"gpgcheck=1\nrepo_gpgcheck=1\ngpgkey={url}/{key_name}\n"
    else:
        checks = ("# unsigned: publish with tools/build-rpm --repo DIR --sign KEYID for gpgcheck=1\n"
                  "gpgcheck=0\nrepo_gpgcheck=0\n")
    return (f"# written by tools/build-rpm --repo; copy to /etc/yum.repos.d/\n"
            f"[{repo_id}]\nname={repo_id}\nbaseurl={url}/$basearch/\nenabled=1\n{checks}\n"
            f"[{repo_id}-source]\nname={repo_id} (sources)\nbaseurl={url}/{SOURCE_TREE}/\nenabled=0\n{checks}")


def client_repo_file(result: PublishResult, url: str) -> str:
    """The .repo file with another base URL (what a verification box is served at)."""
    return repo_file_text(result.repo_id, url.rstrip("/"), result.key_file.name if result.key_file else None)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(repo_dir: Path) -> Iterator[None]:
    """One publisher at a time per repository (two CI jobs may publish at once)."""
    repo_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(repo_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def sbom_of(rpm: Path, name: str) -> bytes | None:
    """The CycloneDX SBOM a bundled package ships (%{_docdir}/NAME*/NAME.cdx.json), or None.

    The doc folder is NAME on Fedora/EL and NAME-VERSION with Debian's rpm macros.
    """
    member = f"./usr/share/doc/{name}*/{name}.cdx.json"
    proc = runner.run(["sh", "-c", f"rpm2cpio {_sh(rpm)} | cpio --quiet -i --to-stdout {_sh(member)}"],
                      capture=True, check=False)
    return proc.stdout.encode() if proc.returncode == 0 and proc.stdout else None


def _sh(value: object) -> str:
    import shlex

    return shlex.quote(str(value))
