"""One wrapper for every external command, and visible, timed stages.

Borrowed from mkosi: every command goes through ``run()`` so that ``--verbose``
shows it and a failure reports the command line and the tail of its stderr;
every long step is a ``stage()`` that prints what it did and how long it took.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from typing import Iterator, Mapping, Sequence

from phoenix_rpm.errors import CommandFailed

VERBOSE = bool(os.environ.get("PHOENIX_VERBOSE"))


def set_verbose(flag: bool) -> None:
    """Switch on the echo of every command (``--verbose``)."""
    global VERBOSE
    VERBOSE = flag


def log(msg: str) -> None:
    """Progress output goes to stderr so stdout stays parseable."""
    print(msg, file=sys.stderr, flush=True)


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    capture: bool = False,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command; raise CommandFailed with its stderr tail when it fails.

    ``env`` is added to the current environment, not a replacement for it.
    Without ``capture`` the output still gets captured (to report it on
    failure) unless ``--verbose`` is on, in which case it streams through.
    """
    args = [os.fspath(a) for a in argv]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    if VERBOSE:
        prefix = f"(cd {shlex.quote(os.fspath(cwd))} && " if cwd else ""
        log(f"+ {prefix}{' '.join(shlex.quote(a) for a in args)}{')' if cwd else ''}")
    stream = VERBOSE and not capture
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            input=input,
            text=True,
            stdout=None if stream else subprocess.PIPE,
            stderr=None if stream else subprocess.PIPE,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise CommandFailed(args, 127, f"{args[0]}: not found ({exc})") from None
    except subprocess.TimeoutExpired as exc:
        out = (exc.stderr or b"")
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        raise CommandFailed(args, -1, f"timed out after {timeout} s\n{text}") from None
    if check and proc.returncode != 0:
        raise CommandFailed(args, proc.returncode, (proc.stderr or "") + (proc.stdout or "" if not proc.stderr else ""))
    return proc


@contextlib.contextmanager
def stage(name: str) -> Iterator[list[str]]:
    """Time a named stage; the body appends the paths it produced to the list."""
    produced: list[str] = []
    log(f"==> {name} ...")
    started = time.monotonic()
    try:
        yield produced
    except BaseException:
        log(f"==> {name} FAILED after {time.monotonic() - started:.1f} s")
        raise
    took = time.monotonic() - started
    suffix = (": " + ", ".join(produced)) if produced else ""
    log(f"==> {name} done in {took:.1f} s{suffix}")
