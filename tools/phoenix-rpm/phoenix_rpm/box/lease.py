"""Who owns which throw-away box, and cleaning up after runs that died.

Why: a build or verification can be killed (SIGKILL, a crashed CI job, a
closed terminal) before its ``finally`` runs, leaving an overlay mounted, a
container running and network namespaces behind. Every box therefore writes a
*lease* before it creates anything: a JSON file in /run/phoenix/boxes naming
its owner process (pid + start time, so a reused pid is not mistaken for the
owner) and every resource it creates. The next run calls
``cleanup_leftovers()``, which tears down the resources of every lease whose
owner is gone, and of ``phx-`` network namespaces and work dirs that no lease
claims. Boxes of live owners (a second verification running at the same time)
are never touched.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Iterator

from phoenix_rpm import cachedirs, runner
from phoenix_rpm.box import netns, nspawn
from phoenix_rpm.errors import UserError

PREFIX = "phx-"


def state_dir() -> Path:
    """The leases' folder (cachedirs.box_leases)."""
    return cachedirs.box_leases()


def work_root() -> Path:
    """Parent of the overlays' upper/work/merged dirs (cachedirs.box_work)."""
    return cachedirs.box_work()


def new_name() -> str:
    """A unique box name; short because it becomes part of interface names (15 chars max)."""
    return PREFIX + secrets.token_hex(3)


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), None when it is gone.

    With the pid it names one process for good: a reused pid starts at another time.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@dataclasses.dataclass
class Lease:
    """The record of one box: written before each resource is created."""

    name: str
    owner_pid: int
    owner_start: str | None
    workdir: str
    overlay: str | None = None          # the merged dir, when mounted
    lower: str | None = None            # the cached root under the overlay (in use: not removable)
    netns: list[str] = dataclasses.field(default_factory=list)
    nspawn_pid: int | None = None
    subnet: int | None = None           # N of 169.254.N.0/24, unique among live boxes
    # Left running on purpose (build-rpm --verify --keep-box): not a leftover
    # although its owner is gone; removed by `build-rpm box rm --kept NAME`.
    kept: bool = False

    @classmethod
    def create(cls, name: str | None = None) -> Lease:
        if name is None:
            name = new_name()
            while (state_dir() / f"{name}.json").exists():   # 1 in 16 million, but cheap to rule out
                name = new_name()
        if not name.startswith(PREFIX) or len(name) > 12 or not name[len(PREFIX):].replace("-", "").isalnum():
            raise UserError(f"box name {name!r}: must start with {PREFIX!r}, be at most 12 characters, letters/digits")
        if (state_dir() / f"{name}.json").exists():
            raise UserError(f"box {name} already exists (lease {state_dir() / (name + '.json')}); pick another name")
        pid = os.getpid()
        lease = cls(name=name, owner_pid=pid, owner_start=start_time(pid),
                    workdir=str(work_root() / name))
        lease.save()
        return lease

    @property
    def path(self) -> Path:
        return state_dir() / f"{self.name}.json"

    def save(self) -> None:
        state_dir().mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
        tmp.replace(self.path)

    def claim_subnet(self) -> int:
        """Pick a 169.254.N.0/24 no live box uses and record it, under a lock.

        Each box has its own namespaces, so equal addresses could not clash;
        unique ones keep logs, ssh-configs and `box list` unambiguous.
        """
        import fcntl

        state_dir().mkdir(parents=True, exist_ok=True)
        fd = os.open(state_dir() / ".subnets.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            used = {le.subnet for le in load_leases() if le.name != self.name and (le.owner_alive() or le.kept)}
            start = int(hashlib.sha256(self.name.encode()).hexdigest(), 16) % 254
            for i in range(254):
                candidate = (start + i) % 254 + 1
                if candidate not in used:
                    break
            else:
                raise RuntimeError("all 254 box subnets (169.254.1-254.0/24) are in use")
            self.subnet = candidate
            self.save()
        finally:
            os.close(fd)
        return candidate

    def owner_alive(self) -> bool:
        return start_time(self.owner_pid) == self.owner_start and self.owner_start is not None

    def teardown(self) -> None:
        """Stop the container, unmount, delete namespaces and dirs; idempotent, best effort.

        Every step runs even when an earlier one failed, and Ctrl-C is held
        off meanwhile so a second interrupt cannot leave half a box behind.
        """
        with _sigint_deferred():
            errors: list[str] = []
            for step in (self._kill_processes, self._unmount, self._delete_netns, self._remove_workdir,
                         self._forget_machine):
                try:
                    step()
                except Exception as exc:  # noqa: BLE001 - finish the other steps, report at the end
                    errors.append(f"{step.__name__}: {exc}")
            if not errors:
                self.path.unlink(missing_ok=True)
            else:
                runner.log(f"warning: box {self.name} not fully removed ({'; '.join(errors)}); "
                           "the next run's cleanup retries")

    def _kill_processes(self) -> None:
        victims: set[int] = set()
        if self.nspawn_pid and _cmdline_has(self.nspawn_pid, self.workdir):
            victims.add(self.nspawn_pid)
        if self.overlay:
            victims.update(_pids_rooted_in(Path(self.overlay)))
        for ns in self.netns:
            victims.update(_netns_pids(ns))
        victims.discard(os.getpid())
        _kill_and_wait(victims)

    def _forget_machine(self) -> None:
        nspawn.forget_machine(self.name)

    def _unmount(self) -> None:
        if self.overlay and os.path.ismount(self.overlay):
            unmount(Path(self.overlay))

    def _delete_netns(self) -> None:
        for ns in self.netns:
            netns.delete(ns)

    def _remove_workdir(self) -> None:
        wd = Path(self.workdir)
        if wd.exists():
            if self.overlay and os.path.ismount(self.overlay):
                raise RuntimeError(f"{self.overlay} is still mounted")
            runner.run(["rm", "-rf", "--one-file-system", wd])


def unmount(path: Path) -> None:
    """umount, retried briefly (a dying container can hold it busy), lazily as last resort."""
    for _ in range(20):
        if runner.run(["umount", path], check=False, capture=True).returncode == 0:
            return
        if not os.path.ismount(path):
            return
        time.sleep(0.25)
    runner.run(["umount", "--lazy", path])


def load_leases() -> list[Lease]:
    leases: list[Lease] = []
    if not state_dir().is_dir():
        return leases
    for path in sorted(state_dir().glob(f"{PREFIX}*.json")):
        try:
            data = json.loads(path.read_text())
            known = {f.name for f in dataclasses.fields(Lease)}
            # keys from another toolkit version are dropped, not a reason to forget the box
            leases.append(Lease(**{k: v for k, v in data.items() if k in known}))
        except (OSError, ValueError, TypeError):
            runner.log(f"warning: unreadable box lease {path}; removing it")
            path.unlink(missing_ok=True)
    return leases


def remove_kept(name: str) -> str:
    """Tear down a box kept by ``--keep-box`` (or any box whose owner is gone)."""
    for lease in load_leases():
        if lease.name == name:
            if lease.owner_alive():
                raise UserError(f"box {name} is in use by pid {lease.owner_pid}; stop that run instead")
            lease.teardown()
            return name
    kept = ", ".join(le.name for le in load_leases() if le.kept) or "none"
    raise UserError(f"no box named {name!r} (kept boxes: {kept}); see: build-rpm box list")


def cleanup_leftovers() -> list[str]:
    """Remove boxes, netns and mounts left by crashed runs; returns what it removed.

    Leases of live owners are kept. Unclaimed ``phx-*`` network namespaces and
    work dirs (from a run killed between creating a resource and recording it,
    which the lease order makes impossible, or from an older toolkit) go too.
    """
    removed: list[str] = []
    live_names: set[str] = set()
    for lease in load_leases():
        if lease.owner_alive() or lease.kept:
            live_names.add(lease.name)
            continue
        lease.teardown()
        removed.append(lease.name)
    for ns in netns.list_names():
        base = ns[:-2] if ns.endswith("-p") else ns
        # Checked again just before deleting: a run starting right now writes
        # its lease before it creates the namespace, so a lease file means "in use".
        if ns.startswith(PREFIX) and base not in live_names and not (state_dir() / f"{base}.json").exists():
            _kill_and_wait(set(_netns_pids(ns)) - {os.getpid()})
            netns.delete(ns)
            removed.append(ns)
    if work_root().is_dir():
        for wd in sorted(work_root().glob(f"{PREFIX}*")):
            if wd.name in live_names or (state_dir() / f"{wd.name}.json").exists():
                continue
            merged = wd / "merged"
            if os.path.ismount(merged):
                _kill_and_wait(set(_pids_rooted_in(merged)) - {os.getpid()})
                unmount(merged)
            runner.run(["rm", "-rf", "--one-file-system", wd])
            removed.append(str(wd))
    if removed:
        runner.log(f"==> removed leftovers of crashed box runs: {', '.join(sorted(set(removed)))}")
    return sorted(set(removed))


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        return text.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _pids_rooted_in(directory: Path) -> list[int]:
    """Processes whose root directory is on the filesystem mounted at directory.

    How a container's processes are found without its leader pid: their
    /proc/PID/root is the overlay, so it has the overlay's device number.
    """
    try:
        dev = os.stat(directory).st_dev
        if dev == os.stat(directory.parent).st_dev:
            return []  # not a mount point: nothing can be rooted in it specifically
    except OSError:
        return []
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/root").st_dev == dev:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


def _netns_pids(ns: str) -> list[int]:
    proc = runner.run(["ip", "netns", "pids", ns], check=False, capture=True)
    return [int(p) for p in proc.stdout.split() if p.isdigit()] if proc.returncode == 0 else []


def _kill_and_wait(pids: set[int], timeout: float = 10.0) -> None:
    """SIGKILL: a throw-away box needs no orderly shutdown, and killing its
    PID 1 takes the whole PID namespace with it."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if _alive(p)}
        if pids:
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":
        try:  # our own child: reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True


class _sigint_deferred:
    """Hold SIGINT/SIGTERM during teardown (main thread only); re-raise after."""

    def __init__(self) -> None:
        self.pending: int | None = None
        self.old: dict[int, object] = {}

    def _handler(self, signum: int, frame: object) -> None:
        self.pending = signum

    def __enter__(self) -> _sigint_deferred:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.old.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        if self.pending == signal.SIGINT:
            raise KeyboardInterrupt
        if self.pending == signal.SIGTERM:
            raise SystemExit(128 + signal.SIGTERM)


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While a box exists, SIGTERM unwinds like Ctrl-C does, so teardown runs
    (a CI job's timeout or `kill` then removes the box instead of leaving it
    to the next run's cleanup). Main thread only: signals are delivered there."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
