"""systemd-nspawn: run one command in a root, or boot it with systemd as PID 1.

Host facts that shape the flags (docs/box.md, "How booting works"): systemd is not PID 1
on this host, so nspawn must neither register with machined
(``--register=no``) nor ask systemd for a scope (``--keep-unit``). The box
gets no copy of the host's resolv.conf or timezone and no journal link, so
nothing of the host leaks in and nothing of the box leaks out.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from phoenix_rpm import cachedirs, runner
from phoenix_rpm.errors import CheckFailed, UserError

BOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PROPAGATE_DIR = Path("/run/systemd/nspawn/propagate")

COMMON_FLAGS = ("--quiet", "--register=no", "--keep-unit", "--timezone=off", "--link-journal=no")


def run_in(
    root: Path,
    argv: Sequence[str],
    *,
    binds: Sequence[tuple[Path, str]] = (),
    ro_binds: Sequence[tuple[Path, str]] = (),
    network: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    check: bool = True,
    capture: bool = False,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one command inside root with systemd-nspawn (no boot), via runner.run().

    No network unless ``network=True`` (``--private-network``: only ``lo``).
    ``binds``/``ro_binds`` are (host path, path in the box) pairs. ``env``
    replaces the host environment inside (PATH, HOME=/root, LANG=C.UTF-8 are
    preset); ``cwd`` is a path inside the box. A stub init runs as PID 1
    (``--as-pid2``) so that daemons the command forks are reaped and killed
    when it ends.
    """
    argv_full = nspawn_argv(root, argv, binds=binds, ro_binds=ro_binds, network=network, env=env, cwd=cwd)
    machine = next(a.split("=", 1)[1] for a in argv_full if a.startswith("--machine="))
    try:
        return runner.run(argv_full, check=check, capture=capture, timeout=timeout)
    except BaseException:
        # A timeout SIGKILLs nspawn, which orphans the container's processes
        # instead of stopping them; find them by the marker in their environment.
        _kill_marked(machine)
        raise
    finally:
        forget_machine(machine)


def _kill_marked(machine: str, wait: float = 10.0) -> None:
    """SIGKILL what is left of a run, and wait until it is gone.

    The command's processes carry PHOENIX_RUN in their environment; the
    stub init of ``--as-pid2`` is a fork of nspawn (no exec), found by the
    ``--machine=`` of its command line: killing it, the namespace's PID 1,
    takes down anything in the container that escaped the marker. The
    wait is what lets a caller remove the copy (and a test look) without
    racing the kernel tearing the processes down.
    """
    marker = f"PHOENIX_RUN={machine}".encode() + b"\0"
    name = f"--machine={machine}".encode() + b"\0"
    deadline = time.monotonic() + wait
    quiet = 0
    while True:
        left = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                if (marker in Path(f"/proc/{entry}/environ").read_bytes()
                        or name in Path(f"/proc/{entry}/cmdline").read_bytes()):
                    os.kill(int(entry), signal.SIGKILL)
                    left.append(entry)
            except (OSError, ProcessLookupError):
                continue
        # Three empty passes in a row, not one: a process in the middle of
        # fork/exec can read as an empty environ and cmdline for an instant
        # (seen under load: a `sleep` outlived a timed-out run).
        quiet = quiet + 1 if not left else 0
        if quiet >= 3 or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def nspawn_argv(
    root: Path,
    argv: Sequence[str],
    *,
    binds: Sequence[tuple[Path, str]] = (),
    ro_binds: Sequence[tuple[Path, str]] = (),
    network: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> list[str]:
    """The systemd-nspawn command line run_in() runs (exposed for tests and --verbose)."""
    root = Path(root)
    if not (root / "usr").is_dir():
        raise UserError(f"{root}: not a box root (no usr/); make one with: tools/build-rpm box create")
    if not argv:
        raise UserError("run_in: empty command")
    # A unique machine name: nspawn keys its per-container state in /run by it, and
    # two builds of roots both called "merged" must not share that.
    machine = f"phx-run-{secrets.token_hex(4)}"
    full = ["systemd-nspawn", *COMMON_FLAGS, "--as-pid2", "--console=pipe", f"--directory={root}",
            f"--machine={machine}"]
    if is_cached_root(root):
        # The cache is shared by every later run: commands on it directly may
        # read, never write (use throwaway() for a writable copy).
        full.append("--read-only")
    if network:
        full.append("--resolv-conf=copy-host")
    else:
        full += ["--private-network", "--resolv-conf=off"]
    for src, dest in binds:
        full.append(f"--bind={_bind_spec(src, dest)}")
    for src, dest in ro_binds:
        full.append(f"--bind-ro={_bind_spec(src, dest)}")
    # PHOENIX_RUN marks every process of this run, so a run that is killed
    # from outside (timeout) can still be stopped completely.
    merged_env = {"PATH": BOX_PATH, "HOME": "/root", "LANG": "C.UTF-8", "PHOENIX_RUN": machine}
    merged_env.update(env or {})
    for key, value in merged_env.items():
        full.append(f"--setenv={key}={value}")
    if cwd:
        full.append(f"--chdir={cwd}")
    full += ["--", *argv]
    return full


def is_cached_root(root: Path) -> bool:
    """True for a finished cached root (its parent holds box.json), not one being made."""
    resolved = Path(root).resolve()
    return (resolved.parent / "box.json").is_file() and resolved.parent.parent == cachedirs.box_roots().resolve()


def forget_machine(machine: str) -> None:
    """Remove nspawn's per-machine propagation dir, which it leaves behind on this
    host (its /run is not a tmpfs, so nspawn refuses to rm -rf it itself)."""
    path = PROPAGATE_DIR / machine
    if machine.startswith("phx-") and path.is_dir() and not os.path.ismount(path):
        with contextlib.suppress(OSError):
            for child in path.iterdir():
                child.unlink()
            path.rmdir()


def _bind_spec(src: Path, dest: str) -> str:
    if not Path(src).exists():
        raise UserError(f"{src}: bind-mount source does not exist")
    if not dest.startswith("/"):
        raise UserError(f"bind-mount target {dest!r} must be an absolute path inside the box")
    return f"{os.fspath(src)}:{dest}"


def boot_argv(root: Path, *, machine: str, netns_path: Path) -> list[str]:
    """systemd-nspawn --boot in the box's network namespace.

    ``--console=passive``: nspawn gives the box a pty and copies what systemd
    prints there to its stdout (our console.log) without reading input; with
    ``pipe`` systemd has no console and a hanging boot would leave no trace.
    """
    return [
        "systemd-nspawn", *COMMON_FLAGS, "--boot", "--console=passive", "--setenv=SYSTEMD_COLORS=0",
        f"--directory={root}", f"--machine={machine}",
        f"--network-namespace-path={netns_path}", "--resolv-conf=off",
        # arguments for the box's systemd: print unit status lines on the
        # console, so a boot that hangs shows where (console.log's tail)
        "systemd.show_status=yes",
    ]


@contextlib.contextmanager
def start_boot(root: Path, *, machine: str, netns_path: Path, console_log: Path,
               stop: Callable[[subprocess.Popen[bytes]], None]) -> Iterator[subprocess.Popen[bytes]]:
    """Start the booting container in the background, in its own session;
    ``stop`` takes it down when the block ends, however it ends.

    Own session: a Ctrl-C in the terminal reaches only the toolkit, whose
    teardown then stops the box, instead of racing it with nspawn's own exit.
    """
    argv = boot_argv(root, machine=machine, netns_path=netns_path)
    with open(console_log, "wb") as out, runner.spawn(argv, stdout=out, stderr=subprocess.STDOUT, text=False,
                                                      new_session=True, stop=stop,
                                                      note=f"(console to {console_log})") as proc:
        yield proc


def find_leader(nspawn_pid: int) -> int | None:
    """The container's PID 1 (seen from the host): a descendant of nspawn whose
    innermost pid (NSpid) is 1."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    todo = list(children.get(nspawn_pid, []))
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                    return pid
        except OSError:
            continue
        todo.extend(children.get(pid, []))
    return None


class BootFailed(CheckFailed):
    """The box did not come up. Raised *without* the console tail: nspawn
    writes the console out only as it exits, so the caller stops the box
    first and then adds console_tail() to the message."""


def wait_for_leader(proc: subprocess.Popen[bytes], deadline: float) -> int:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BootFailed(f"systemd-nspawn exited with status {proc.returncode} while booting the box")
        leader = find_leader(proc.pid)
        if leader:
            return leader
        time.sleep(0.05)
    raise BootFailed("the box's systemd did not start in time")


def console_tail(console_log: Path, lines: int = 30) -> str:
    try:
        text = console_log.read_text(errors="replace")
    except OSError:
        return f"(no console log at {console_log})"
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).replace("\r", "")
    # Blank lines, and nspawn's harmless complaint that /run is not a tmpfs here, say nothing.
    kept = [ln for ln in text.splitlines() if ln.strip() and "Attempted to remove disk file system" not in ln]
    tail = "\n".join(kept[-lines:])
    return f"--- last lines of the box console ({console_log}) ---\n{tail}"
