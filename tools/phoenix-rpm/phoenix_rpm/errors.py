"""The toolkit's exceptions, and the exit status each one maps to.

One base class so the CLI can catch every expected failure in one place and
print one line instead of a traceback (docs/architecture.md, "The command-line contract": exit 1 for a failed
check, 2 for bad input or usage).
"""
from __future__ import annotations

import sys
from typing import Callable, Sequence


class ToolkitError(Exception):
    """Base of every error the toolkit expects and reports without a traceback."""

    exit_status = 1


class UserError(ToolkitError):
    """Bad input: a project file, an option or an argument the user must fix.

    The message names the file, the key or line, and what to do.
    """

    exit_status = 2


class CheckFailed(ToolkitError):
    """A check ran and found a problem: lint errors, drift, failed verification."""

    exit_status = 1


class CommandFailed(ToolkitError):
    """An external command exited non-zero; carries its command line and stderr tail."""

    exit_status = 1

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str = "") -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.rstrip().splitlines()[-20:])
        msg = f"command failed with exit status {returncode}: {_quote(argv)}"
        if tail:
            msg += "\n--- last lines of its output ---\n" + tail
        super().__init__(msg)


def _quote(argv: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(str(a)) for a in argv)


def report_errors(prog: str, body: Callable[[], int]) -> int:
    """Run a command's body; a ToolkitError becomes one line on stderr and its exit status.

    Shared by every command-line entry point (tools/build-rpm, its box
    subcommand, tools/build-box) so a user mistake never shows a traceback
    and Ctrl-C exits 130.
    """
    try:
        return body()
    except ToolkitError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
