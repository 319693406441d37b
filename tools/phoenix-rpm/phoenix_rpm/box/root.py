"""The cached box root: a Debian 12 tree made once by debootstrap, reused by every run.

Why a cache keyed by the package list: debootstrap costs 70-110 s, while every
build and verification only needs a *fresh copy* of the same tree (see
overlay.py). The key is a hash of everything that shapes the tree (suite,
mirror, package list, recipe version), so changing any of them makes a new
root instead of silently reusing a stale one.

Layout::

    /var/cache/phoenix/boxes/<key>/root        the tree (never written after creation)
    /var/cache/phoenix/boxes/<key>/box.json    what made it and how long it took
    /var/cache/phoenix/boxes/<key>.lock        serialises two creators of one key
"""
from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Sequence

from phoenix_rpm import cachedirs, runner
from phoenix_rpm.box import provides
from phoenix_rpm.box.lease import load_leases
from phoenix_rpm.box.nspawn import run_in
from phoenix_rpm.errors import UserError

# Bump when the way the root is configured after debootstrap changes, so the
# cache key changes with it (an old root would otherwise be reused).
RECIPE_VERSION = "4"

SUITE = "bookworm"
MIRROR = os.environ.get("PHOENIX_BOX_MIRROR", "http://deb.debian.org/debian")

# What a box has on top of debootstrap's minbase. Boot: systemd as PID 1 and
# dbus; verification: sshd, iproute2, curl, procps; build: rpmbuild (Debian's
# `rpm` ships it), python3 with venv/pip and a C compiler for sdists that need
# one. Keep it sorted: the cache key hashes it.
PACKAGES: tuple[str, ...] = tuple(sorted((
    "ca-certificates",
    "cpio",
    "curl",
    "dbus",
    "file",
    "gcc",
    "iproute2",
    "less",
    "libc6-dev",
    "make",
    "openssh-server",
    "passwd",
    "procps",
    "python3",
    "python3-dev",
    "python3-pip",
    "python3-setuptools",
    "python3-venv",
    "python3-wheel",
    "rpm",
    "systemd",
    "systemd-sysv",
    "xz-utils",
)))


def cache_dir() -> Path:
    """Where cached roots live (cachedirs.box_roots; PHOENIX_BOX_CACHE moves it)."""
    return cachedirs.box_roots()


# A root with backing servers (docs/verify.md, "needs") is the plain root plus
# ``apt-get install --no-install-recommends`` of these Debian packages. Bump
# when _configure_servers changes.
SERVERS_RECIPE_VERSION = "1"


def box_key(packages: tuple[str, ...] = PACKAGES, extra: Sequence[str] = ()) -> str:
    """The cache key: a short sha256 of all inputs that shape the tree.

    ``extra``: packages installed on top of the plain root (the backing
    servers a verify profile needs); with none, the key is the plain root's,
    unchanged, so a project without a profile keeps its cached root.
    """
    lines = [f"recipe={RECIPE_VERSION}", f"suite={SUITE}", f"mirror={MIRROR}", *sorted(packages)]
    if extra:
        lines += [f"servers-recipe={SERVERS_RECIPE_VERSION}", *(f"extra={p}" for p in sorted(set(extra)))]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class CachedRoot:
    """One entry of the cache, as `tools/build-rpm box list` shows it."""

    key: str
    path: Path
    complete: bool
    created: str | None
    seconds: float | None
    size_mb: float | None
    current: bool

    @property
    def root(self) -> Path:
        return self.path / "root"


def ensure_root(*, refresh: bool = False, extra: Sequence[str] = ()) -> Path:
    """Cached debootstrap root (Debian 12 bookworm), created on first use.

    ``extra``: Debian packages (backing servers such as mariadb-server) that
    the root must also hold; such a root is derived from the plain one and
    cached under its own key (box_key), made once per package list.

    Returns ``/var/cache/phoenix/boxes/<key>/root`` where key is a sha of the
    package list and RECIPE_VERSION. The root has the `phoenix-box-base` rpm
    (provides.py) in its rpm database, so ``rpm -ivh`` of a package requiring
    python3, systemd or /bin/sh works there without --nodeps. ``refresh``
    throws the cached tree away and makes it again. Two processes asking at
    once: the second waits on a lock and then reuses the first one's tree.
    """
    extra = tuple(sorted(set(extra)))
    key = box_key(extra=extra)
    base = cache_dir() / key
    root = base / "root"
    marker = base / "box.json"
    if not refresh and marker.is_file() and root.is_dir():
        runner.log(f"==> box root {key}: cached at {root}" + (f" (with {' '.join(extra)})" if extra else ""))
        return root
    if extra:
        return _ensure_derived(key, extra, refresh=refresh)
    require_host_tools("debootstrap", "systemd-nspawn")
    cache_dir().mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir() / f"{key}.lock"):
        if refresh and base.exists():
            _refuse_if_in_use(base)
            _remove_tree(base)
        if marker.is_file() and root.is_dir():
            return root
        _create(key, base)
    old = [r for r in list_roots() if not r.current and r.complete]
    if old:
        listing = ", ".join(f"{r.key} ({r.size_mb or 0:.0f} MB)" for r in old)
        runner.log(f"    older box roots are still cached: {listing}; "
                   "remove them with: tools/build-rpm box rm KEY")
    return root


def _ensure_derived(key: str, extra: tuple[str, ...], *, refresh: bool) -> Path:
    """The plain root plus ``extra`` packages, made under the key's lock.

    Derived rather than debootstrapped with a longer --include: debootstrap
    would run the servers' maintainer scripts in its own way, while apt-get
    in a copy of the finished root is what an admin does (and what
    docs/verify.md describes); the plain root's 70-110 s are paid once for all.
    """
    plain = ensure_root()
    base = cache_dir() / key
    cache_dir().mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir() / f"{key}.lock"):
        if refresh and base.exists():
            _refuse_if_in_use(base)
            _remove_tree(base)
        if (base / "box.json").is_file() and (base / "root").is_dir():
            return base / "root"
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / "root.tmp"
        if tmp.exists():
            _remove_tree(tmp)
        started = time.monotonic()
        with runner.stage(f"box root {key}: copy of the plain root + apt-get install {' '.join(extra)} "
                          "(once per package list; minutes)"):
            runner.run(["cp", "-a", "--reflink=auto", plain, tmp], timeout=900)
            run_in(tmp, ["sh", "-c", "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                         + " ".join(extra) + " && apt-get clean && rm -rf /var/lib/apt/lists/*"],
                   network=True, env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=1800)
            _configure_servers(tmp)
        if (base / "root").exists():
            _remove_tree(base / "root")
        tmp.rename(base / "root")
        meta = {
            "key": key, "suite": SUITE, "mirror": MIRROR, "recipe": RECIPE_VERSION,
            "servers_recipe": SERVERS_RECIPE_VERSION, "packages": list(PACKAGES), "extra": list(extra),
            "derived_from": box_key(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.monotonic() - started, 1),
        }
        (base / "box.json").write_text(json.dumps(meta, indent=2) + "\n")
    return base / "root"


# Units of the backing servers: installed but not started at boot; the verify
# stage starts the ones a profile needs (phoenix_rpm.backing), so their start
# is a visible, timed step and a box never runs a server nobody asked for.
SERVER_UNITS = ("mariadb.service", "mysql.service", "postgresql.service", "rabbitmq-server.service",
                "memcached.service", "redis-server.service", "epmd.service", "epmd.socket")


def _configure_servers(root: Path) -> None:
    """Servers off at boot, and listening on loopback only (inside the box's
    own network namespace in any case: docs/verify.md)."""
    for wants in (root / "etc/systemd/system").glob("*.wants"):
        for unit in SERVER_UNITS:
            link = wants / unit
            if link.is_symlink():
                link.unlink()
    rabbit = root / "etc/rabbitmq"
    if rabbit.is_dir():
        (rabbit / "rabbitmq.conf").write_text(
            "# phoenix box: AMQP on loopback only\nlisteners.tcp.default = 127.0.0.1:5672\n")
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def require_host_tools(*tools: str) -> None:
    """Boxes need root and a few host tools; say which and how to get them."""
    if os.geteuid() != 0:
        raise UserError("the box needs root (debootstrap, mounts, network namespaces): run as root or with sudo")
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise UserError(f"missing host tools: {', '.join(missing)}; tools/build-rpm installs them "
                        "(tools/lib-env.sh), or: apt-get install debootstrap systemd-container iproute2 netcat-openbsd")


def _create(key: str, base: Path) -> None:
    """debootstrap into a temporary dir, configure it, then rename into place.

    The rename makes creation atomic: a crash half-way leaves only a
    ``root.tmp`` that the next attempt removes, never a half-made ``root``.
    """
    base.mkdir(parents=True, exist_ok=True)
    tmp = base / "root.tmp"
    if tmp.exists():
        _remove_tree(tmp)
    started = time.monotonic()
    with runner.stage(f"debootstrap {SUITE} box root {key} ({len(PACKAGES)} extra packages)"):
        runner.run(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, tmp, MIRROR],
            timeout=1800,
        )
    debootstrap_seconds = time.monotonic() - started
    with runner.stage("configure box root"):
        _configure(tmp)
    with runner.stage("install the base-system provides package into the box's rpmdb"):
        provides.install_into(tmp)
    if (base / "root").exists():      # an incomplete tree from a crash (no box.json)
        _remove_tree(base / "root")
    tmp.rename(base / "root")
    meta = {
        "key": key,
        "suite": SUITE,
        "mirror": MIRROR,
        "recipe": RECIPE_VERSION,
        "packages": list(PACKAGES),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "debootstrap_seconds": round(debootstrap_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
    }
    (base / "box.json").write_text(json.dumps(meta, indent=2) + "\n")


def _configure(root: Path) -> None:
    """Make the tree a good throw-away box; plain file edits, no network needed."""
    # An *empty* machine-id: each boot gets its own transient id (from nspawn's
    # container uuid) instead of every box sharing the cached one, and systemd
    # does not treat an empty file as a first boot.
    (root / "etc/machine-id").write_text("")
    dbus_id = root / "var/lib/dbus/machine-id"
    if dbus_id.is_symlink() or dbus_id.exists():
        dbus_id.unlink()
    # No hostname of its own: each box keeps the name nspawn gives it (its
    # box name), which tells two boxes apart in logs and prompts.
    (root / "etc/hostname").unlink(missing_ok=True)
    # Debian's rpm keeps its database in $HOME/.rpmdb; pin it to one place so
    # `rpm -ivh` finds the base provides whatever HOME the caller has.
    (root / "etc/rpm").mkdir(parents=True, exist_ok=True)
    (root / "etc/rpm/macros").write_text(
        "# phoenix box: one rpm database, whatever $HOME is\n%_dbpath /var/lib/rpm\n"
    )
    (root / "var/lib/rpm").mkdir(parents=True, exist_ok=True)
    # sshd: keys only, root allowed with a key (the verify stage logs in as root).
    sshd_d = root / "etc/ssh/sshd_config.d"
    sshd_d.mkdir(parents=True, exist_ok=True)
    (sshd_d / "phoenix-box.conf").write_text(
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n"
    )
    # Host keys made at each boot, not shared by every box from this cache:
    # remove the ones debootstrap made and generate before sshd's own check.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    ssh_dropin = root / "etc/systemd/system/ssh.service.d"
    ssh_dropin.mkdir(parents=True, exist_ok=True)
    (ssh_dropin / "phoenix-host-keys.conf").write_text(
        "[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n"
    )
    # Units that only make sense on real hardware or that wait for a network
    # configuration the box gets from outside (netns.py sets the address).
    for unit in ("systemd-networkd-wait-online.service", "systemd-timesyncd.service",
                 "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
                 "fstrim.timer", "getty@tty1.service"):
        link = root / "etc/systemd/system" / unit
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("/dev/null")
    # Less to copy, less to cache: apt's downloaded .debs.
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()


def list_roots() -> list[CachedRoot]:
    """Every cached root, the current key first."""
    current = box_key()
    found: list[CachedRoot] = []
    base = cache_dir()
    if not base.is_dir():
        return found
    for entry in sorted(base.iterdir()):
        if not entry.is_dir():
            continue
        meta_path = entry / "box.json"
        meta: dict[str, Any] = {}
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
            except ValueError:
                meta = {}
        found.append(CachedRoot(
            key=entry.name,
            path=entry,
            complete=bool(meta) and (entry / "root").is_dir(),
            created=meta.get("created"),
            seconds=meta.get("seconds"),
            size_mb=_size_mb(entry),
            current=entry.name == current,
        ))
    found.sort(key=lambda r: (not r.current, r.key))
    return found


def remove_root(key: str) -> Path:
    """Delete one cached root by key (or unique key prefix); returns its path."""
    matches = [r for r in list_roots() if r.key.startswith(key)] if key else []
    if not matches:
        raise UserError(f"{cache_dir()}: no cached box root with key {key!r}; see: tools/build-rpm box list")
    if len(matches) > 1:
        raise UserError(f"box key prefix {key!r} is ambiguous ({', '.join(m.key for m in matches)}); "
                        "give more characters")
    target = matches[0].path
    with _locked(cache_dir() / f"{matches[0].key}.lock"):
        _refuse_if_in_use(target)
        _remove_tree(target)
    lock = cache_dir() / f"{matches[0].key}.lock"
    lock.unlink(missing_ok=True)
    return target


def _refuse_if_in_use(base: Path) -> None:
    """Removing a tree that live overlays use as their lowerdir would pull the
    floor from under running builds and boxes: refuse, naming them."""
    users = [le for le in load_leases()
             if le.owner_alive() and le.lower and Path(le.lower).is_relative_to(base.resolve())]
    if users:
        names = ", ".join(f"{le.name} (pid {le.owner_pid})" for le in users)
        raise UserError(f"{base}: in use by running boxes {names}; wait for them or stop them first")


def _size_mb(path: Path) -> float | None:
    proc = runner.run(["du", "-sxm", path], check=False, capture=True)
    try:
        return float(proc.stdout.split()[0])
    except (IndexError, ValueError):
        return None


def _remove_tree(path: Path) -> None:
    """rm -rf that refuses to follow mounts out of the tree (--one-file-system)."""
    runner.run(["rm", "-rf", "--one-file-system", path])


class _locked:
    """An exclusive flock on a file, held for the with-block."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> _locked:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
