"""The escaping layer itself (escape.py), one language at a time, checked by its real reader.

Each spec case is put in a tiny spec and read back by ``rpmspec -q`` on this
host with a marker file watched; each shell case is run by ``sh``; each
command-line case goes through ``systemd-analyze verify`` in the units tests
(test_hostile_values.py) and is checked here against systemd.syntax(7)'s
unquoting rules. The finalize default is checked through a real template.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from phoenix_rpm import escape
from phoenix_rpm.escape import EscapeError, Trusted

MARKER = "phoenix-escape-marker"

VALUES = ["plain", "100% sure", "%(touch {m})", "%{{lua: os.execute('touch {m}')}}", "%%posttrans", "%{{name}}",
          "a\\b", "trailing \\", "Ünïcødé ☃", "$(touch {m}) `touch {m}`", "%", "%%%", "%{{?x:y}}", "%[1+1]",
          "#", "#!/bin/sh"]


@pytest.mark.parametrize("value", VALUES)
def test_spec_value_reads_back_exactly(value: str, tmp_path: Path) -> None:
    value = value.format(m=tmp_path / MARKER)
    spec = tmp_path / "t.spec"
    spec.write_text(f"Name: t\nVersion: 1\nRelease: 1\nSummary: {escape.spec_value(value)}\nLicense: MIT\n"
                    f"%description\n{escape.spec_body(value)}\n%files\n")
    proc = subprocess.run(["rpmspec", "-q", "--qf", "%{summary}|%{description}", str(spec)], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    body = escape.NBSP + value if value.lstrip().startswith(("%", "#")) else value
    assert proc.stdout == f"{value}|{body}"
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b", "a\x1bb", "a\tb", "\x7f", "a\x85b", "a\u2028b", "a\u2029b"])
@pytest.mark.parametrize("func", [escape.spec_value, escape.shell_word, escape.files_path, escape.unit_value,
                                  escape.exec_arg, escape.spec_body_line])
def test_control_characters_are_refused_everywhere(func, value: str) -> None:  # noqa: ANN001
    with pytest.raises(EscapeError):
        func(value)


@pytest.mark.parametrize("word", ["plain", "a b", "it's", "$(id)", "`id`", "a;b", "&|<>", "*", "~", "-rf", "",
                                  "100%", "ü", '"', "\\"])
def test_shell_word_is_one_literal_word(word: str, tmp_path: Path) -> None:
    quoted = escape.shell_word(word).replace("%%", "%")  # as rpm hands it to the shell
    proc = subprocess.run(["sh", "-c", f"printf '%s|' {quoted}"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout == f"{word}|"


@pytest.mark.parametrize("path,expected", [
    ("/a/b", "/a/b"), ("/a b/c", '"/a b/c"'), ("/100%", "/100%%"), ("/x/{a,b}", "/x/{a,b}"),
])
def test_files_path(path: str, expected: str) -> None:
    assert escape.files_path(path) == expected


@pytest.mark.parametrize("path", ["/a*", "/a?", "/a[1]", '/a"b', "/a\\b"])
def test_files_path_refuses_what_rpm_cannot_list_literally(path: str) -> None:
    with pytest.raises(EscapeError):
        escape.files_path(path)


@pytest.mark.parametrize("key,value,expected", [
    ("Description", "100% $HOME", "100%% $HOME"),
    ("ExecStart", "/bin/x $HOME %n", "/bin/x $$HOME %%n"),
    ("Environment", "A=%h", "A=%%h"),
])
def test_unit_value(key: str, value: str, expected: str) -> None:
    assert escape.unit_value(value, key) == expected


def test_unit_value_refuses_a_trailing_backslash() -> None:
    with pytest.raises(EscapeError, match="backslash"):
        escape.unit_value("x \\", "Description")


def _systemd_unquote(line: str) -> list[str]:
    """systemd.syntax(7) word splitting of what exec_line writes: "..." with \\\\ and \\" escapes."""
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        word = ""
        if line[i] == '"':
            i += 1
            while line[i] != '"':
                if line[i] == "\\":
                    i += 1
                word += line[i]
                i += 1
            i += 1
        else:
            while i < len(line) and line[i] != " ":
                word += line[i]
                i += 1
        words.append(word.replace("$$", "$").replace("%%", "%"))
    return words


@pytest.mark.parametrize("argv", [["/bin/x"], ["/bin/x", "a b", 'q"uote', "back\\slash", "$HOME", "%n", ""],
                                  ["/usr/bin/env", "A=$(id)", "--opt=1 2"]])
def test_exec_line_round_trips(argv: list[str]) -> None:
    assert _systemd_unquote(escape.exec_line(argv)) == argv


@pytest.mark.parametrize("argv", [[], ["x"], ["+/bin/sh"], ["!/bin/sh"], ["-/bin/sh"]])
def test_exec_line_wants_an_absolute_program(argv: list[str]) -> None:
    with pytest.raises(EscapeError):
        escape.exec_line(argv)


def _env() -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(loader=jinja2.DictLoader({
        "spec.j2": "Summary: {{ v }}\n", "service.j2": "Description={{ v }}\n",
        "trusted.j2": "{{ t }}|{{ v | sh }}|{{ 3 }}\n"}), finalize=escape.finalize)
    env.filters.update(escape.FILTERS)
    return env


def test_finalize_escapes_by_the_templates_language() -> None:
    env = _env()
    assert env.get_template("spec.j2").render(v="%(id)") == "Summary: %%(id)"
    assert env.get_template("service.j2").render(v="100%") == "Description=100%%"
    assert env.get_template("trusted.j2").render(t=Trusted("%{_unitdir}"), v="a b") == "%{_unitdir}|'a b'|3"
    with pytest.raises(EscapeError):
        env.get_template("spec.j2").render(v="x\nRequires: evil")


def test_trust_does_not_survive_string_operations() -> None:
    assert type(Trusted("%x") + "y") is str
    assert escape.spec_value(Trusted("%x").upper()) == "%%X"
