"""Fuzz the generate stage: random strings in every metadata field and entry point name (issue 11).

Hypothesis writes a pyproject.toml whose description (Summary), license,
URL, author, author email, readme text (%description) and entry point name
are random text mixed with payloads (``%(touch MARKER)``, ``%{lua:...}``,
``$(...)``, newlines, ``%posttrans``, ``[Service]``, ``User=root``...). For
every example, either the generate stage refuses it (one-line UserError,
exit 2, nothing written), or rpm and systemd read back *exactly* what the
template meant:

- ``rpmspec -q`` (on this host, with the marker file watched) sees one
  package, the intended Summary/License/URL and changelog author, and the
  same Requires/Provides/Obsoletes/Conflicts, Epoch and scriptlets as a
  plain baseline project: no value added a tag or a section;
- each unit has exactly the baseline's sections and keys, and its
  Description reads back as the summary;
- the marker file never appears.

The last two tests do the same for unit override values (refused, or only
that key changes: the user, the sandbox and ExecStart keep the baseline's
values, ``*Directory=`` names only the service's own folders, and
``systemd-analyze verify`` accepts the unit) and for install file names
(refused, or one ``%install`` word and one ``%files`` entry, never in a
code-loading place).

The last test feeds the WSGI/uWSGI and config-generator inputs: a
``wsgi_bind`` address, a WSGI module's file name, a generator's
``output_file`` and namespace (refused, or every uWSGI ini value plain:
nothing uWSGI would expand as ``$(...)``, ``@(...)`` or ``%(...)``).

Bounded: ``max_examples`` (100 + 60 + 60 + 60 + 50) keeps the run about a minute on the 2-core CI host
(about 35-60 s, most of it rpmspec).
"""
from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pkgtools import read_unit, run, section, verify_units

from phoenix_rpm import generate, rpmtext, validate
from phoenix_rpm.errors import UserError
from phoenix_rpm.escape import NBSP

PAYLOADS = [
    "%(touch {marker})", '%{{lua: os.execute("touch {marker}")}}', "$(touch {marker})", "`touch {marker}`",
    "\n", "\nRequires: evil", "\nEpoch: 7", "\n%posttrans\ntouch {marker}", "\n%%posttrans", "\n %if 1",
    "\n%include /etc/passwd", "\n[Service]\nUser=root", "\nExecStartPre=+/bin/sh", "%", "%%", "%{{name}}",
    "\\", "\\\n", "\r", "\t", "\x00", "\x1b", "'", '"', ";", "&", "|", "../", "/", " ", "ü", "☃", "\u00a0",
    "\u2028", "#", "=", ":", "[x]", "*", "?",
]

QF = ("NAME=%{name}\\nSUMMARY=%{summary}\\nLICENSE=%{license}\\nURL=%{url}\\nEPOCH=%{epoch}\\n"
      "REQ=[%{requires};]\\nPROV=[%{provides};]\\nOBS=[%{obsoletes};]\\nCONF=[%{conflicts};]\\n"
      "SCRIPTS=%{prein}|%{postin}|%{preun}|%{postun}|%{pretrans}|%{posttrans}|%{verifyscript}\\n"
      "CHANGELOG=%{changelogname}\\nDESC=%{description}")

PYPROJECT = """\
[build-system]
requires = ["pbr>=6.0"]
build-backend = "pbr.build"

[project]
name = "demo"
version = "1.0.0"
description = {summary}
license = {{text = {license}}}
urls = {{Homepage = {url}}}
authors = [{{name = {author}, email = {email}}}]
readme = "README.txt"

[project.scripts]
{ep} = "demo.api:main"
demo-manage = "demo.manage:main"
"""


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes, plus the control characters TOML forbids raw."""
    out = json.dumps(text)
    return re.sub(r"[\x7f]", lambda m: f"\\u{ord(m.group(0)):04x}", out)


def make(root: Path, summary: str, license: str, url: str, author: str, email: str, readme: str, ep: str) -> Path:
    project = root / "demo"
    (project / "demo").mkdir(parents=True)
    (project / "demo" / "__init__.py").write_text("")
    (project / "demo" / "api.py").write_text("from phoenix.server import eventlet\n\n\ndef main():\n    eventlet.run()\n")
    (project / "demo" / "manage.py").write_text("def main():\n    pass\n")
    (project / "README.txt").write_text(readme, encoding="utf-8")
    (project / "pyproject.toml").write_text(PYPROJECT.format(
        summary=toml_string(summary), license=toml_string(license), url=toml_string(url),
        author=toml_string(author), email=toml_string(email), ep=toml_string(ep)), encoding="utf-8")
    return project


def query(spec: Path, cwd: Path) -> dict[str, str]:
    proc = subprocess.run(["rpmspec", "-q", "--srpm", "--qf", QF, str(spec)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    head, _, desc = proc.stdout.partition("DESC=")
    # split on "\n" only: str.splitlines() also splits on U+2028 & co., which rpm keeps as text
    out = dict(line.split("=", 1) for line in head.split("\n") if line)
    out["DESC"] = desc
    packages = subprocess.run(["rpmspec", "-q", "--qf", "%{name}\\n", str(spec)], capture_output=True, text=True,
                              cwd=cwd, timeout=120).stdout.split()
    out["PACKAGES"] = " ".join(packages)
    return out


def unit_shape(unit: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, int]]:
    return sorted((s, k, len(v)) for s, keys in unit.items() for k, v in keys.items())


_BASELINE: dict[str, object] = {}


def baseline(tmp: Path) -> dict[str, object]:
    if not _BASELINE:
        project = make(tmp / "baseline", "Demo", "MIT", "https://example.org", "Demo", "d@example.org",
                       "Plain text.", "demo-api")
        generate.write(project)
        _BASELINE["q"] = query(project / "rpm" / "demo.spec", tmp)
        _BASELINE["unit"] = unit_shape(read_unit(project / "systemd" / "demo-api.service"))
        _BASELINE["files"] = sorted(p.name for p in (project / "systemd").iterdir())
    return _BASELINE


def fuzzed(marker: str) -> st.SearchStrategy[str]:
    piece = st.one_of(st.text(max_size=12), st.sampled_from([p.format(marker=marker) for p in PAYLOADS]))
    return st.lists(piece, max_size=6).map("".join)


MARKER_DIR = Path(tempfile.gettempdir()) / "phoenix-fuzz-marker"
MARKER = MARKER_DIR / "ran"
NAME = st.from_regex(r"\A[a-z][a-z0-9._-]{0,20}\Z", fullmatch=True)


FIELDS = ("summary", "license", "url", "author", "email", "readme", "ep")
PLAIN = {"summary": "Demo", "license": "MIT", "url": "https://example.org", "author": "Demo",
         "email": "d@example.org", "readme": "Plain text.", "ep": "demo-api"}


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(FIELDS), value=st.one_of(fuzzed(str(MARKER)), NAME.map(lambda n: n + "-api")),
       others=st.dictionaries(st.sampled_from(FIELDS), fuzzed(str(MARKER)), max_size=2))
def test_fuzzed_metadata_is_refused_or_exact(field: str, value: str, others: dict[str, str]) -> None:
    """One field (sometimes up to three) random, the rest plain: both refusals and acceptances are common."""
    values = {**PLAIN, **others, field: value}
    _check(**values)


def _check(summary: str, license: str, url: str, author: str, email: str, readme: str, ep: str) -> None:
    MARKER_DIR.mkdir(exist_ok=True)
    MARKER.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="phoenix-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        base = baseline(tmp)
        try:
            project = make(tmp, summary, license, url, author, email, readme, ep)
        except (UnicodeEncodeError, ValueError):
            return  # a string no file can hold (lone surrogates): nothing to feed
        before = sorted(p.relative_to(project) for p in project.rglob("*"))
        if _refused(project, before):
            return
        q = query(project / "rpm" / "demo.spec", tmp)
        assert not MARKER.exists(), "a project value ran a command"
        plan = generate.load_plan(project)
        assert q["PACKAGES"] == "demo"
        assert q["SUMMARY"] == plan.summary and q["LICENSE"] == plan.license
        assert q["URL"] == (plan.url or "(none)")
        assert q["CHANGELOG"] == f"{plan.packager} - 1.0.0-1"
        for key in ("EPOCH", "REQ", "PROV", "OBS", "CONF", "SCRIPTS"):
            assert q[key] == base["q"][key].replace("demo-api", ep), key  # type: ignore[index]
        text = plan.description
        expected = "\n".join(NBSP + line if line.lstrip().startswith("%") else line
                             for line in rpmtext.wrap(text).split("\n"))
        assert q["DESC"] == expected
        unit = read_unit(project / "systemd" / f"{ep}.service")
        documented = bool(re.match(r"^(https?://|file:|info:|man:)", plan.url))
        shape = [k for k in base["unit"] if documented or k[1] != "Documentation"]  # type: ignore[attr-defined]
        assert unit_shape(unit) == shape
        assert [v.replace("%%", "%") for v in unit["Unit"]["Description"]] == [f"{plan.summary} ({ep})"]
        assert sorted(p.name for p in (project / "systemd").iterdir()) == \
            sorted(n.replace("demo-api", ep) for n in base["files"])  # type: ignore[attr-defined]
        shutil.rmtree(project)


@pytest.fixture(autouse=True)
def _version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


SETUP_CFG = """\
[metadata]
name = demo
summary = {summary}
license = {license}
author = {author}
description =
{description}

[files]
packages = demo

[entry_points]
console_scripts =
    {ep} = demo.api:main
    demo-manage = demo.manage:main
"""


def _ini_value(text: str) -> str:
    """One setup.cfg line: '%' doubled for setuptools' interpolation."""
    return text.replace("%", "%%")


def _ini_block(text: str) -> str:
    """A multi-line setup.cfg value: indented continuation lines; blank lines kept as '.'."""
    lines = _ini_value(text).replace("\r", "").split("\n")
    return "\n".join("    " + (line.strip() or ".") for line in lines)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(summary=fuzzed(str(MARKER)), license=fuzzed(str(MARKER)), author=fuzzed(str(MARKER)),
       description=fuzzed(str(MARKER)), ep=st.one_of(fuzzed(str(MARKER)), NAME.map(lambda n: n + "-api")),
       plain=st.sets(st.sampled_from(["summary", "license", "author", "ep"]), min_size=2))
def test_fuzzed_setup_cfg_is_refused_or_exact(summary: str, license: str, author: str, description: str, ep: str,
                                              plain: set[str]) -> None:
    """setup.cfg: a multi-line description (sections, %include, conditionals) and one-line fields."""
    values = {"summary": summary, "license": license, "author": author, "ep": ep}
    values.update({k: PLAIN[k] for k in plain})
    MARKER_DIR.mkdir(exist_ok=True)
    MARKER.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="phoenix-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        project = tmp / "demo"
        (project / "demo").mkdir(parents=True)
        (project / "demo" / "__init__.py").write_text("")
        (project / "demo" / "api.py").write_text("from phoenix.server import eventlet\n\n\ndef main():\n"
                                                 "    eventlet.run()\n")
        (project / "demo" / "manage.py").write_text("def main():\n    pass\n")
        if any("\n" in v or "\r" in v for v in values.values()):
            event("newline in a one-line field: setup.cfg continuation")
        try:
            (project / "setup.cfg").write_text(SETUP_CFG.format(
                summary=_ini_value(values["summary"]), license=_ini_value(values["license"]),
                author=_ini_value(values["author"]), description=_ini_block(description),
                ep=values["ep"].replace("\n", " ")), encoding="utf-8")
        except UnicodeEncodeError:
            return
        before = sorted(p.relative_to(project) for p in project.rglob("*"))
        if _refused(project, before):
            return
        plan = generate.load_plan(project)
        q = query(project / "rpm" / "demo.spec", tmp)
        assert not MARKER.exists(), "a project value ran a command"
        assert q["PACKAGES"] == "demo"
        assert q["SUMMARY"] == plan.summary and q["LICENSE"] == plan.license
        assert q["EPOCH"] == "(none)" and q["OBS"] == "" and q["CONF"] == ""
        assert q["SCRIPTS"].count("|") == 6 and "(none)|" in q["SCRIPTS"]  # no pretrans/posttrans added
        assert q["SCRIPTS"].split("|")[4:6] == ["(none)", "(none)"]
        expected = "\n".join(NBSP + line if line.lstrip().startswith("%") else line
                             for line in rpmtext.wrap(plan.description).split("\n"))
        assert q["DESC"] == expected
        if not plan.services:  # an entry point name that is not a service's: no unit to read
            event("no service")
            return
        service = plan.services[0]
        unit = read_unit(project / "systemd" / service.unit)
        assert sorted(unit) == ["Install", "Service", "Unit"]
        assert [v.replace("%%", "%") for v in unit["Unit"]["Description"]] == [f"{plan.summary} ({service.name})"]
        assert "User" in unit["Service"] and unit["Service"]["User"] == ["demo"]
        proc = verify_units([project / "systemd" / service.unit], tmp)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr


# --- unit override values and install file names -------------------------------------------------

#: keys an override may set without the opt-in, and ones it may not (a refusal is then the only answer)
OVERRIDE_KEYS = ["Description", "Environment", "ExecStartPre", "ExecReload", "RestartSec", "LimitNOFILE",
                 "SyslogIdentifier", "StateDirectory", "RuntimeDirectory", "LogsDirectory", "CacheDirectory",
                 "ConfigurationDirectory", "Wants", "After", "Before", "Conflicts", "RequiredBy", "WantedBy",
                 "EnvironmentFile", "StandardOutput", "User", "NoNewPrivileges", "Alias", "KillMode"]
DIRECTORY_KEYS = {"StateDirectory", "RuntimeDirectory", "LogsDirectory", "CacheDirectory", "ConfigurationDirectory"}
OVERRIDE_PIECES = ["demo", "demo/x", "demo-x", "rpm", "/var/lib/rpm", "../", ":", " ", "network-online.target",
                   "poweroff.target", "debug-shell.service", "/bin/true", "+/bin/sh", "!", "-", "@", "$HOME",
                   "${{X}}", "%n", "%%", "\\", "\n[Service]\nUser=root", "\nExecStartPre=+/bin/sh", "'", '"', "=",
                   "%(touch {marker})", "$(touch {marker})"]


def override_values(marker: str) -> st.SearchStrategy[str]:
    piece = st.one_of(st.text(max_size=8), st.sampled_from([p.format(marker=marker) for p in OVERRIDE_PIECES]))
    return st.lists(piece, min_size=1, max_size=5).map("".join)


def _plain_project(root: Path, extra: str = "") -> Path:
    project = make(root, "Demo", "MIT", "https://example.org", "Demo", "d@example.org", "Plain text.", "demo-api")
    with (project / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write(extra)
    return project


def _refused(project: Path, before: list[Path]) -> bool:
    try:
        generate.write(project)
    except UserError as exc:
        assert exc.exit_status == 2 and "\n" not in str(exc) and "; " in str(exc), str(exc)
        assert sorted(p.relative_to(project) for p in project.rglob("*")) == before, "refusal wrote files"
        event("refused")
        return True
    event("generated")
    return False


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from(OVERRIDE_KEYS), value=override_values(str(MARKER)))
def test_fuzzed_unit_override_is_refused_or_confined(key: str, value: str) -> None:
    """A random override value: refused, or the unit changes in that one key only, and systemd accepts it.

    Whatever passes must keep the service's user and sandbox (the baseline's
    values for every other key), name only its own folders in *Directory=,
    and run nothing on the host (marker).
    """
    from phoenix_rpm import units

    MARKER_DIR.mkdir(exist_ok=True)
    MARKER.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="phoenix-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        base_project = _plain_project(tmp / "base")
        generate.write(base_project)
        base = read_unit(base_project / "systemd" / "demo-api.service")
        try:
            project = _plain_project(tmp, f"\n[tool.phoenix.rpm.unit_overrides.demo-api]\n{key} = {toml_string(value)}\n")
        except UnicodeEncodeError:
            return
        before = sorted(p.relative_to(project) for p in project.rglob("*"))
        if _refused(project, before):
            assert not MARKER.exists()
            return
        assert not MARKER.exists(), "an override value ran a command"
        unit_path = project / "systemd" / "demo-api.service"
        unit = read_unit(unit_path)
        where = units.section_of(key)
        assert where is not None
        for sec, keys in base.items():
            for k, values in keys.items():
                if k != key:
                    assert unit[sec][k] == values, (sec, k)  # user, hardening, ExecStart untouched
        assert set(unit) == set(base)
        assert set(unit[where]) - set(base[where]) <= {key}
        assert unit["Service"]["User"] == ["demo"]
        if key in DIRECTORY_KEYS:
            for entry in " ".join(unit[where][key]).split():
                for path in entry.split(":"):
                    assert re.match(r"^demo([-_.][A-Za-z0-9._-]*)?(/[A-Za-z0-9][A-Za-z0-9._-]*)*$", path), entry
        proc = verify_units([unit_path], tmp)
        assert proc.returncode == 0, proc.stdout + proc.stderr


NAME_PIECES = ["a", "b.conf", " ", "%", "%%", "%{{name}}", "$(touch {marker})", "`id`", ";", "&", "|", "'", '"',
               "\\", "*", "?", "[", "]", "{{", "}}", "..", "/", "//", "\n", "\t", "ü", "☃", "-", "#", "=", ".pth",
               "site-packages", "autostart", "~"]


def file_names(marker: str) -> st.SearchStrategy[str]:
    piece = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
                      st.sampled_from([p.format(marker=marker) for p in NAME_PIECES]))
    plain = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._ %-]{0,15}\Z", fullmatch=True)
    return st.one_of(plain, st.lists(piece, min_size=1, max_size=5).map("".join))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=file_names(str(MARKER)), folder=st.sampled_from(["/etc/demo/", "/usr/share/demo/", "/etc/", "/usr/",
                                                             "/usr/lib/python3/", "/usr/local/", "/var/lib/demo/"]),
       system=st.booleans())
def test_fuzzed_install_names_are_refused_or_one_entry(name: str, folder: str, system: bool) -> None:
    """A random extra_files target and data_files source name: refused, or one install line and one %files entry.

    The accepted path must come back from ``rpmspec -P`` as exactly one
    shell word in %install and exactly one %files entry, never in a
    code-loading place (.pth, site-packages, autostart, /usr/local/), and
    nothing may run.
    """
    MARKER_DIR.mkdir(exist_ok=True)
    MARKER.unlink(missing_ok=True)
    dest = folder + name
    with tempfile.TemporaryDirectory(prefix="phoenix-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        mode = 'install_mode = "system"\n' if system else ""
        try:
            project = _plain_project(tmp, f"\n[tool.phoenix.rpm]\n{mode}[tool.phoenix.rpm.extra_files]\n"
                                          f"{toml_string(dest)} = \"policy.yaml\"\n")
            (project / "policy.yaml").write_text("x\n")
        except (UnicodeEncodeError, ValueError):
            event("not writable")
            return
        before = sorted(p.relative_to(project) for p in project.rglob("*"))
        if _refused(project, before):
            assert not MARKER.exists()
            return
        assert not MARKER.exists()
        assert validate.system_target(dest) is None and validate.code_loading(dest) is None, dest
        parsed = run("rpmspec", "-P", project / "rpm" / "demo.spec", cwd=tmp).stdout
        assert not MARKER.exists(), "a file name ran a command when rpm parsed the spec"
        installs = [shlex.split(line) for line in section(parsed, "install")
                    if line.startswith("install -p -D") and "policy.yaml" in line]
        assert len(installs) == 1 and installs[0][-1].endswith(dest), installs
        entries = [re.sub(r"^(%config\([^)]*\) )?(%attr\([^)]*\) )?", "", line) for line in section(parsed, "files")]
        assert (f'"{dest}"' if " " in dest else dest) in entries


# --- WSGI applications, their uWSGI ini, and the config generator ----------------------------------

#: what an address, a port, a module file name, a generator output_file or namespace may be fed
WSGI_PIECES = ["0.0.0.0", "[::]", ":", "8080", "80", "0", "70000", "\u00b2", "$(HOME)", "$(touch {marker})",
               "@(exec://touch {marker})", "@(/etc/passwd)", "%(socket)", "%d", "%n", ";", "#", " ", "\n",
               "\nexec-asap = touch {marker}", "'", '"', "..", "/", "-", "a", "public", ".conf", "\u202e"]


def wsgi_values(marker: str) -> st.SearchStrategy[str]:
    piece = st.one_of(st.text(max_size=6), st.sampled_from([p.format(marker=marker) for p in WSGI_PIECES]))
    return st.lists(piece, min_size=1, max_size=5).map("".join)


_UWSGI_BASE: list[str] = []


def _uwsgi_baseline(tmp: Path) -> list[str]:
    """The keys of a plain application's ini (no config, so no pyargv)."""
    if not _UWSGI_BASE:
        base = _plain_project(tmp / "base")
        (base / "demo" / "wsgi").mkdir()
        (base / "demo" / "wsgi" / "__init__.py").write_text("")
        (base / "demo" / "wsgi" / "public.py").write_text("application = object()\n")
        generate.write(base)
        _UWSGI_BASE.extend(k for k, _ in _ini_pairs((base / "systemd" / "demo-public-uwsgi.ini").read_text()))
        assert "http-socket" in _UWSGI_BASE and "pyargv" not in _UWSGI_BASE
    return _UWSGI_BASE


def _ini_pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split(" = ", 1)) for line in text.split("\n")  # type: ignore[misc]
            if line and not line.startswith("#") and line != "[uwsgi]"]


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(bind=st.one_of(wsgi_values(str(MARKER)),
                      st.from_regex(r"\A(0\.0\.0\.0|\[::\]|[a-z]{1,8}|):[0-9]{1,5}\Z", fullmatch=True)),
       set_bind=st.booleans(),
       stem=st.one_of(st.just("public"), st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z", fullmatch=True),
                      wsgi_values(str(MARKER))),
       output=st.one_of(st.just("etc/demo/demo.conf.sample"), wsgi_values(str(MARKER))),
       namespace=st.one_of(st.just("demo"), wsgi_values(str(MARKER))))
def test_fuzzed_wsgi_and_generator_inputs_are_refused_or_inert(bind: str, set_bind: bool, stem: str, output: str,
                                                               namespace: str) -> None:
    """uWSGI expands ``$(...)``, ``@(...)`` (``@(exec://...)`` runs a shell) and ``%(...)`` in ini values.

    A random ``wsgi_bind`` address, WSGI module file name, generator
    ``output_file`` and namespace: refused (one line, nothing written), or
    every ini has exactly the baseline's keys with plain values (nothing
    uWSGI would expand), the address is the one given, every generated file
    name is plain, and ``rpmspec -P`` runs nothing.
    """
    from phoenix_rpm import escape

    MARKER_DIR.mkdir(exist_ok=True)
    MARKER.unlink(missing_ok=True)
    if "/" in stem or "\x00" in stem or stem in (".", "..") or not stem.strip():
        return  # not a file name at all
    with tempfile.TemporaryDirectory(prefix="phoenix-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        unit = f"demo-{stem.replace('_', '-')}"
        extra = f"\n[tool.phoenix.rpm.wsgi_bind]\n{toml_string(unit)} = {toml_string(bind)}\n" if set_bind else ""
        project = _plain_project(tmp, extra)
        try:
            (project / "demo" / "wsgi").mkdir()
            (project / "demo" / "wsgi" / "__init__.py").write_text("")
            (project / "demo" / "wsgi" / f"{stem}.py").write_text("application = object()\n")
            (project / "etc" / "demo").mkdir(parents=True)
            (project / "etc" / "demo" / "demo-config-generator.conf").write_text(
                f"[DEFAULT]\noutput_file = {output}\nwrap_width = 79\nnamespace = {namespace}\n", encoding="utf-8")
        except (UnicodeEncodeError, ValueError, OSError):
            event("not writable")
            return
        base_keys = _uwsgi_baseline(tmp)
        before = sorted(p.relative_to(project) for p in project.rglob("*"))
        if _refused(project, before):
            assert not MARKER.exists()
            return
        assert not MARKER.exists()
        names = sorted(p.name for p in (project / "systemd").iterdir())
        assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", n) for n in names), names
        inis = [project / "systemd" / n for n in names if n.endswith("-uwsgi.ini")]
        event("an application" if inis else "no application (a name no module can have)")
        for ini in inis:
            pairs = _ini_pairs(ini.read_text())
            # the baseline's keys, in order; pyargv only when a generated config is there to read
            assert [k for k, _ in pairs if k != "pyargv"] == base_keys, ini.read_text()
            for key, value in pairs:
                assert escape.UWSGI_SAFE.match(value) and "$(" not in value and "%" not in value, (key, value)
        if set_bind and (project / "systemd" / f"{unit}-uwsgi.ini").is_file():
            assert ("http-socket", bind) in _ini_pairs((project / "systemd" / f"{unit}-uwsgi.ini").read_text())
        run("rpmspec", "-P", project / "rpm" / "demo.spec", cwd=tmp)
        assert not MARKER.exists(), "a WSGI or generator value ran a command when rpm parsed the spec"
