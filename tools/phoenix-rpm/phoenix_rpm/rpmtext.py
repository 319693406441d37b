"""rpm-specific helpers for the spec template: known folders as macros, dates, wrapping.

The escaping itself lives in ``escape.py`` (one function per output
language); these helpers add rpm's folder macros on top of it.

A file name is text to us but code to rpm (``%`` starts a macro, a space
splits a %files line, ``*?[`` glob) and to the shell in %install. These
helpers are the only way a project path enters the spec; names rpm cannot
hold at all (quotes, backslashes, globs, control characters) are refused
earlier, in ``inputs.py``, with a message naming the setup.cfg line.
"""
from __future__ import annotations

import textwrap
import time

from phoenix_rpm import escape

MACRO_DIRS = (
    ("/etc/", "%{_sysconfdir}/"),
    ("/usr/bin/", "%{_bindir}/"),
    ("/usr/share/", "%{_datadir}/"),
)


def macro_escape(text: str) -> str:
    """``%`` -> ``%%`` so rpm passes the text through literally (one line: see escape.spec_value)."""
    return escape.spec_value(text)


def with_macros(path: str) -> str:
    """Write well-known folders as their macros (%{_sysconfdir}, ...), escape the rest."""
    for plain, macro in MACRO_DIRS:
        if path.startswith(plain):
            return escape.Trusted(macro + macro_escape(path[len(plain):]))
    return macro_escape(path)


def files_path(path: str) -> str:
    """A %files entry: macros for known folders, the rest by escape.files_path (quoted when it holds a space)."""
    for plain, macro in MACRO_DIRS:
        if path.startswith(plain):
            rest = escape.files_path(path[len(plain):])
            if rest.startswith('"'):
                return escape.Trusted(f'"{macro}{rest[1:]}')
            return escape.Trusted(macro + rest)
    return escape.files_path(path)


def sh(text: str) -> str:
    """A shell word inside a scriptlet or %install: shell-quoted, then rpm-escaped."""
    return escape.shell_word(text)


def buildroot_path(path: str) -> str:
    """``%{buildroot}<path>`` as one shell word."""
    return escape.Trusted("%{buildroot}" + escape.shell_word(path))


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
