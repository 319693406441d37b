"""One escaping function per output language the generate stage writes.

A value from a project (a summary, a path, an entry point name, a unit
override) is text to the project but code to whatever reads the generated
file: rpm expands ``%`` macros (``%(cmd)`` runs a shell, ``%{lua:...}`` runs
Lua) and starts a new tag or section at every line start; the shell of
``%install`` splits on spaces and runs ``$(...)``; ``%files`` globs; systemd
resolves ``%`` specifiers, expands ``$VAR`` in command lines and continues a
line that ends in ``\\``. Each function below turns a value into text that
its reader takes literally, or refuses it with ``EscapeError`` when no
literal spelling exists (a newline in a tag value). See docs/packaging.md,
"Hostile input and the trust boundary".

The template environment (``spec.environment``) applies these as filters
and, through Jinja2's ``finalize``, applies the language's default to every
``{{ ... }}`` that names no filter: a new template line is safe without
thought. Text the toolkit writes itself (macros such as ``%{_unitdir}``) is
marked ``Trusted`` and passes unchanged; a ``Trusted`` value that goes
through ``str`` methods becomes a plain ``str`` again, so trust never leaks
onto project text by accident.
"""
from __future__ import annotations

import re

import jinja2


class EscapeError(ValueError):
    """A value has no literal spelling in the output language (e.g. a newline in a tag)."""


class Trusted(str):
    """Text written by the toolkit (not by the project): emitted as it is."""


#: characters no generated line may contain: they end a line or confuse readers
# C0 and C1 controls and Unicode's line/paragraph separators: NEL (U+0085),
# U+2028 and U+2029 end a line for Python's splitlines() and for many readers
# of the generated files, so they are refused like a newline.
# The bidirectional embedding/override/isolate controls (U+202A-U+202E,
# U+2066-U+2069) reorder how a line *displays* ("Trojan Source"): a reviewer of
# the spec or unit would read other text than rpm and systemd do; refused too.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: rpm reads these at the start of a (whitespace-stripped) line as a section,
#: a conditional or %include, *after* expanding ``%%`` to ``%``
#: (probed with rpm 4.18: ``%%posttrans`` opens a scriptlet, `` %%if`` a conditional).
NBSP = "\u00a0"
#: rpm's %files glob characters; rpm 4.18 (probed) and older have no escape for
#: them (a backslash stays literal), so a path holding one cannot be listed
FILES_GLOB = re.compile(r"[*?\[]")
#: a shell word that needs no quoting
SHELL_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
#: systemd command-line keys: ``$`` is expanded and words are split there only
EXEC_KEYS = frozenset({"ExecStart", "ExecStartPre", "ExecStartPost", "ExecReload", "ExecStop",
                       "ExecStopPost", "ExecCondition"})


def _one_line(text: str, what: str) -> str:
    if CONTROL.search(text):
        bad = CONTROL.search(text).group(0)  # type: ignore[union-attr]
        name = "a newline" if bad in "\r\n" else f"control character {bad!r}"
        raise EscapeError(f"{what} {text[:60]!r} contains {name}; it must be one line of printable text")
    return text


# --- rpm spec -----------------------------------------------------------------

def spec_value(value: object) -> Trusted:
    """A spec tag value or any text inside a spec line: one line, ``%`` -> ``%%``.

    Never at a line start (a tag value follows ``Tag:``), so a doubled
    ``%%posttrans`` stays text here; line starts are ``spec_body``'s job.
    """
    if isinstance(value, Trusted):
        return value
    text = _one_line(str(value), "spec value")
    return Trusted(text.replace("%", "%%"))


def spec_body_line(line: str) -> str:
    """One line of %description or %changelog text.

    rpm strips white space and expands ``%%`` before it looks for a section,
    a conditional or ``%include`` (``%%include /etc/passwd`` in a description
    includes that file), so no escaping of a leading ``%`` works: such a line
    is written after a no-break space (U+00A0), which rpm does not skip. A
    line starting with ``#`` would be dropped as a comment: same treatment.
    A line that starts with ``*`` or ``-`` in %changelog would start an entry;
    the caller (the template) writes changelog lines after ``- ``.
    """
    text = _one_line(line, "spec text line").replace("%", "%%")
    # "#" too: rpm drops a line whose first non-blank is "#" as a comment, even
    # inside %description (probed with rpmspec -q, rpm 4.18).
    if text.lstrip(" \t").startswith(("%", "#")):
        text = NBSP + text
    return text


def spec_body(text: object) -> Trusted:
    """Multi-line %description text: every line made safe by ``spec_body_line``."""
    if isinstance(text, Trusted):
        return text
    return Trusted("\n".join(spec_body_line(line) for line in str(text).replace("\r\n", "\n").split("\n")))


def shell_word(value: object) -> Trusted:
    """One shell word in %install or a scriptlet: quoted like ``shlex.quote``, then ``%`` -> ``%%``."""
    if isinstance(value, Trusted):
        return value
    text = _one_line(str(value), "shell word")
    if not text:
        return Trusted("''")
    if not SHELL_SAFE.match(text):
        text = "'" + text.replace("'", "'\"'\"'") + "'"
    return Trusted(text.replace("%", "%%"))


def shell_path(value: object) -> Trusted:
    """A path argument of a command in %install: a shell word that cannot be read as an option.

    A relative path starting with ``-`` (a data file named ``-rf`` at the
    top of the project) is written ``./-rf``: the same file, never a flag.
    """
    if isinstance(value, Trusted):
        return value
    text = str(value)
    return shell_word("./" + text if text.startswith("-") else text)


def files_path(value: object) -> Trusted:
    """A ``%files`` path: ``%`` escaped, quoted when it holds a space.

    rpm splits a %files line on white space unless the path is in double
    quotes, and expands glob characters with no way to escape them (rpm
    4.18: ``c\\[1\\]`` is looked up with the backslashes, ``c[1]`` packages
    ``c1``). A glob character, a double quote or a backslash is refused.
    """
    if isinstance(value, Trusted):
        return value
    text = _one_line(str(value), "%files path")
    if '"' in text or "\\" in text or FILES_GLOB.search(text):
        raise EscapeError(f"%files path {text[:60]!r} contains a glob character, a quote or a backslash, "
                          "which rpm's %files cannot list literally")
    text = text.replace("%", "%%")
    return Trusted(f'"{text}"' if " " in text else text)


# --- systemd ------------------------------------------------------------------

def unit_value(value: object, key: str = "") -> Trusted:
    """A systemd unit setting's value, taken literally by systemd.

    ``%`` -> ``%%`` (specifiers are resolved in almost every setting), one
    line, no trailing backslash (it would join the next line: a hardening
    key silently lost). In command lines (``Exec*=``) ``$`` -> ``$$`` too:
    systemd expands ``$VAR`` only there (systemd.service(5), "Command lines").
    """
    if isinstance(value, Trusted):
        return value
    label = f"unit value {key}=" if key else "unit value"
    text = _one_line(str(value), label)
    if text.endswith("\\"):
        raise EscapeError(f"{label} {text[:60]!r} ends in a backslash, which joins the next line")
    text = text.replace("%", "%%")
    if key in EXEC_KEYS:
        text = text.replace("$", "$$")
    return Trusted(text)


def exec_arg(value: object) -> Trusted:
    """One argument of a systemd command line (systemd.syntax(7) quoting).

    Double-quoted when it holds anything but plain characters, with ``\\``
    and ``"`` escaped; ``%`` and ``$`` doubled so systemd passes them as is.
    """
    if isinstance(value, Trusted):
        return value
    text = _one_line(str(value), "command-line argument")
    text = text.replace("%", "%%").replace("$", "$$")
    if text and re.match(r"^[A-Za-z0-9_@+=:,./%$-]+$", text):  # % and $ are doubled already
        return Trusted(text)
    return Trusted('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')


def exec_line(argv: list[str]) -> Trusted:
    """A whole ``ExecStart=`` value from an argument list; the program must be an absolute path.

    The first word never starts with systemd's prefixes (``-@:+!``): ``+``
    and ``!`` would run it with full privileges.
    """
    if not argv or not str(argv[0]).startswith("/"):
        raise EscapeError(f"command {argv[:1]!r} is not an absolute path")
    return Trusted(" ".join(exec_arg(a) for a in argv))


# --- uWSGI ini ----------------------------------------------------------------

#: what a uWSGI ini value may hold: uWSGI expands ``$(ENV)``, ``@(file)``,
#: ``@(exec://cmd)`` (runs a shell), ``%(key)`` and the ``%x`` magic
#: variables in every value, with no escape for any of them, and ``;`` or
#: ``#`` may start a comment; so only plain characters pass (``@`` alone is
#: plain: without parentheses it opens nothing)
UWSGI_SAFE = re.compile(r"^[A-Za-z0-9_.,:/=+@\[\] -]*$")


def uwsgi_value(value: object, key: str = "") -> Trusted:
    """A value of the generated uWSGI ini (``key = value``), taken literally by uWSGI, or refused.

    uWSGI has no quoting for its magic (docs/packaging.md, "Hostile input
    and the trust boundary"), so a value holding ``$ % ( ) ; #``, a quote
    or a control character has no literal spelling and is refused.
    """
    if isinstance(value, Trusted):
        return value
    label = f"uWSGI ini value {key} =" if key else "uWSGI ini value"
    text = _one_line(str(value), label)
    if not UWSGI_SAFE.match(text) or text != text.strip():
        raise EscapeError(f"{label} {text[:60]!r} holds a character uWSGI would expand or cut "
                          "($, %, parentheses, ; or #, a quote) or leading/trailing white space")
    return Trusted(text)


# --- templates ----------------------------------------------------------------

FILTERS = {
    "spec_value": spec_value,
    "spec_body": spec_body,
    "sh": shell_word,
    "sh_path": shell_path,
    "files": files_path,
    "unit_value": unit_value,
    "exec_arg": exec_arg,
    "uwsgi_value": uwsgi_value,
    "trusted": Trusted,
}


def is_unit_template(name: str | None) -> bool:
    """Templates that write systemd-style files (units, sysusers, tmpfiles, logrotate)."""
    return bool(name) and not str(name).startswith("spec") and not str(name).endswith(".spec.j2")


@jinja2.pass_context
def finalize(context: jinja2.runtime.Context, value: object) -> object:
    """The default escaping of every ``{{ ... }}``: by the language of the template being rendered.

    Spec templates get ``spec_value`` (one line, ``%`` doubled), unit
    templates ``unit_value``. Numbers pass (they are the toolkit's);
    ``Trusted`` text passes. Anything else from a project is escaped, so a
    line added to a template without a filter is still safe.
    """
    if value is None or isinstance(value, (Trusted, bool, int)):
        return "" if value is None else value
    name = context.name or ""
    if is_unit_template(name):
        return unit_value(value)
    return spec_value(value)
