"""One process API for every external command, and visible, timed stages.

Borrowed from mkosi: every command goes through ``run()`` (wait for it) or
``spawn()`` (a context manager for one running in the background, stopped
when the block ends), so that ``--verbose`` shows it (``echo``) and a
failure reports the command line and the tail of its stderr
(``CommandFailed``, also from ``finish()``); every long step is a
``stage()`` that prints what it did and how long it took. Nothing else in
the toolkit calls ``subprocess`` (the programs that run inside a box or a
network namespace as scripts of their own are the exception: inbox/,
ops/client.py, templates/venv_layer.py).
"""
from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import time
from typing import IO, Any, Callable, Iterator, Mapping, Sequence

from phoenix_rpm.errors import CommandFailed

VERBOSE = bool(os.environ.get("PHOENIX_VERBOSE"))


def set_verbose(flag: bool) -> None:
    """Switch on the echo of every command (``--verbose``)."""
    global VERBOSE
    VERBOSE = flag


def log(msg: str) -> None:
    """Progress output goes to stderr so stdout stays parseable."""
    print(msg, file=sys.stderr, flush=True)


def echo(argv: Sequence[str | os.PathLike[str]], *, cwd: str | os.PathLike[str] | None = None,
         note: str = "", suffix: str = "") -> None:
    """Show a command under ``--verbose`` (``note``: when it runs, e.g. "(while the RPM builds)")."""
    if not VERBOSE:
        return
    args = [os.fspath(a) for a in argv]
    prefix = f"(cd {shlex.quote(os.fspath(cwd))} && " if cwd else ""
    log(f"+ {note + ' ' if note else ''}{prefix}{' '.join(shlex.quote(a) for a in args)}{')' if cwd else ''}{suffix}")


def _env(env: Mapping[str, str] | None) -> dict[str, str]:
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return full_env


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
    full_env = _env(env)
    echo(args, cwd=cwd)
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


def _kill(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
    proc.wait()


@contextlib.contextmanager
def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | IO[Any] | None = subprocess.DEVNULL,
    stdout: int | IO[Any] | None = subprocess.PIPE,
    stderr: int | IO[Any] | None = subprocess.PIPE,
    text: bool = True,
    new_session: bool = False,
    note: str = "",
    stop: Callable[[subprocess.Popen[Any]], None] | None = None,
) -> Iterator[subprocess.Popen[Any]]:
    """Start a command in the background; when the block ends it is stopped.

    ``env`` is added to the current environment (as in ``run``). On leaving
    the block a process still running is killed (or handed to ``stop``, for
    processes that need their own way down, like a booting container) and
    reaped, so no exit path leaves one behind. ``finish()`` waits for it and
    raises CommandFailed with its stderr tail when it failed.
    """
    args = [os.fspath(a) for a in argv]
    echo(args, cwd=cwd, note=note, suffix=" &")
    try:
        proc = subprocess.Popen(args, cwd=cwd, env=_env(env), stdin=stdin, stdout=stdout, stderr=stderr,
                                text=text, start_new_session=new_session)
    except FileNotFoundError as exc:
        raise CommandFailed(args, 127, f"{args[0]}: not found ({exc})") from None
    try:
        yield proc
    finally:
        (stop or _kill)(proc)


def finish(proc: subprocess.Popen[str], *, timeout: float | None = None, input: str | None = None,
           check: bool = True) -> tuple[str, str]:
    """Wait for a spawned command; its (stdout, stderr). CommandFailed on a
    non-zero exit (with ``check``) or on the timeout, with the stderr tail."""
    argv = [os.fspath(a) for a in proc.args] if isinstance(proc.args, (list, tuple)) else [str(proc.args)]
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise CommandFailed(argv, -1, f"timed out after {timeout} s") from None
    out, err = out or "", err or ""
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, err or out)
    return out, err


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
