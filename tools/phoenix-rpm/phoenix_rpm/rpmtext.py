"""Escaping for the places a path or a word lands in a spec or a unit.

A file name is text to us but code to rpm (``%`` starts a macro, a space
splits a %files line, ``*?[`` glob) and to the shell in %install. These
helpers are the only way a project path enters the spec; names rpm cannot
hold at all (quotes, backslashes, globs, control characters) are refused
earlier, in ``inputs.py``, with a message naming the setup.cfg line.
"""
from __future__ import annotations

import shlex
import textwrap
import time

MACRO_DIRS = (
    ("/etc/", "%{_sysconfdir}/"),
    ("/usr/bin/", "%{_bindir}/"),
    ("/usr/share/", "%{_datadir}/"),
)


def macro_escape(text: str) -> str:
    """``%`` -> ``%%`` so rpm passes the text through literally."""
    return text.replace("%", "%%")


def with_macros(path: str) -> str:
    """Write well-known folders as their macros (%{_sysconfdir}, ...), escape the rest."""
    for plain, macro in MACRO_DIRS:
        if path.startswith(plain):
            return macro + macro_escape(path[len(plain):])
    return macro_escape(path)


def files_path(path: str) -> str:
    """A %files entry: macros for known folders, quoted when it holds a space."""
    out = with_macros(path)
    return f'"{out}"' if " " in out else out


def sh(text: str) -> str:
    """A shell word inside a scriptlet or %install: shell-quoted, then rpm-escaped."""
    return macro_escape(shlex.quote(text))


def buildroot_path(path: str) -> str:
    """``%{buildroot}<path>`` as one shell word."""
    return "%{buildroot}" + sh(path) if any(c in path for c in " '%$\"") else "%{buildroot}" + path


def changelog_date(epoch: int) -> str:
    """``Fri Nov 27 2026`` in English whatever the locale (rpm requires it)."""
    t = time.gmtime(epoch)
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{days[t.tm_wday]} {months[t.tm_mon - 1]} {t.tm_mday:02d} {t.tm_year}"


def wrap(text: str, width: int = 79) -> str:
    """%description lines: rpmlint wants them under 80 characters."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in paragraphs)
