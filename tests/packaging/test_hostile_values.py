"""Odd but legitimate values reach the spec and the units exactly, and inert (issue 11).

Each value carries a payload that would run a command if rpm or systemd
read it as code: ``%(touch MARKER)``, ``%{lua:...}``, ``$(touch MARKER)``,
backquotes, ``%include``, a line that is a section (``%posttrans``) or a
conditional (``%if``). The test then asks the real readers, on this host:
``rpmspec -q``/``rpmspec -P`` must return exactly the intended value and no
marker file may appear (so the escaping, not luck, kept rpm from running
it); ``systemd-analyze verify`` must accept the units and their values must
read back as intended. The last tests prove the same for spec text the
project writes itself (a hand-edited spec): rpm parses it only in the box.
"""
from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from pkgtools import read_unit, run, section, verify_units
from test_pkg_bad_input import cfg_append, cfg_replace, make_project

from phoenix_rpm import generate, rpmtext
from phoenix_rpm.escape import NBSP

MARK = "phoenix-marker"


def payloads(marker: Path) -> list[str]:
    return [
        f"%(touch {marker})",
        f'%{{lua: os.execute("touch {marker}")}}',
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"%{{expand:%%(touch {marker})}}",
        "%{_sysconfdir} and %% and % alone",
        "Ünïcødé ☃ ✓",
        "trailing backslash \\",
        "quotes ' and \" and ; & | < >",
    ]


def _ini(value: str) -> str:
    """A value as setup.cfg holds it: '%' doubled (setuptools' interpolation)."""
    return value.replace("%", "%%")


def _generate(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    generate.write(project)
    return project / "rpm" / "demo.spec"


def _query(spec: Path, fmt: str, cwd: Path) -> str:
    proc = subprocess.run(["rpmspec", "-q", "--srpm", "--qf", fmt, str(spec)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("index", range(9))
@pytest.mark.parametrize("key", ["summary", "license", "author"])
def test_metadata_value_is_exact_and_inert(key: str, index: int, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / MARK
    value = f"Demo {payloads(marker)[index]} end"
    project = make_project(tmp_path)
    old = {"summary": "summary = Demo service", "license": "license = MIT", "author": "author = Demo"}[key]
    cfg_replace(old, f"{key} = {_ini(value)}")(project)
    spec = _generate(project, monkeypatch)
    tag = {"summary": "%{summary}", "license": "%{license}", "author": "%{changelogname}"}[key]
    got = _query(spec, tag, tmp_path)
    expected = value if key != "author" else f"{value} <demo@example.org> - 1.0.0-1"
    assert got == expected
    run("rpmspec", "-P", spec, cwd=tmp_path)
    assert not marker.exists(), "a macro or command in a project value ran"
    if key == "summary":
        unit = read_unit(project / "systemd" / "demo-api.service")
        # systemd resolves %% to % (specifiers) when it reads Description=
        assert [v.replace("%%", "%") for v in unit["Unit"]["Description"]] == [f"{value} (demo-api)"]
        baseline = make_project(tmp_path / "base")
        generate.write(baseline)
        assert _keys(unit) == _keys(read_unit(baseline / "systemd" / "demo-api.service"))
        proc = verify_units([project / "systemd" / "demo-api.service"], tmp_path)
        assert proc.returncode == 0, proc.stderr


def _keys(unit: dict[str, dict[str, list[str]]]) -> list[tuple[str, str, int]]:
    return sorted((s, k, len(v)) for s, keys in unit.items() for k, v in keys.items())


DESCRIPTIONS = [
    "%posttrans\n/bin/sh -c 'touch MARKER'",
    "%include /etc/passwd",
    "%if 1\nhello",
    "  %endif",
    "%%description second",
    "%define x %(touch MARKER)\n%{x}",
    "100% sure, %(touch MARKER) and %{lua:os.execute('touch MARKER')}",
    "Line one.\n\n%package evil\nSummary: x",
    "Ünïcødé paragraph ☃\n\n- bullet %prep",
]


@pytest.mark.parametrize("text", DESCRIPTIONS, ids=[f"desc{i}" for i in range(len(DESCRIPTIONS))])
def test_description_lines_never_start_a_section(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / MARK
    text = text.replace("MARKER", str(marker))
    project = make_project(tmp_path)
    # a multi-line description in setup.cfg: continuation lines (blank lines as '.')
    body = "\n".join("    " + (line if line.strip() else ".") for line in _ini(text).split("\n"))
    cfg_replace("summary = Demo service", f"summary = Demo service\ndescription =\n{body}")(project)
    spec = _generate(project, monkeypatch)
    described = generate.load_plan(project).description
    expected = "\n".join(NBSP + line if line.lstrip().startswith("%") else line
                         for line in rpmtext.wrap(described).split("\n"))
    assert _query(spec, "%{description}", tmp_path) == expected
    parsed = run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    assert "root:x:0:0" not in parsed, "%include read a host file"
    assert _query(spec, "[%{posttrans}]", tmp_path) == ""
    assert _query(spec, "%{name}", tmp_path) == "demo"  # no %package evil
    assert not marker.exists()


ODD_NAMES = ["a b.conf", "100%% sure.conf", "ü n i.conf", "$(touch MARK).conf", "`touch MARK`.conf",
             "semi;colon.conf", "amp&pipe|.conf", "it's.conf", "%%(touch MARK).conf",
             "-rf.conf", "new$HOME.conf"]


def test_a_source_named_like_an_option_stays_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data file '-rf' at the top of the project: install gets './-rf', never the flag."""
    project = make_project(tmp_path)
    (project / "-rf").write_text("x\n")
    cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n        -rf")(project)
    spec = _generate(project, monkeypatch)
    parsed = run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    installs = [shlex.split(line) for line in section(parsed, "install") if line.startswith("install -p -D")]
    assert ["install", "-p", "-D", "-m", "0640", "./-rf", f"{_buildroot(parsed)}/etc/demo/-rf"] in installs


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_file_names_are_one_shell_word_and_one_files_entry(name: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plain = name.replace("%%", "%").replace("MARK", MARK)
    name = name.replace("MARK", MARK)
    project = make_project(tmp_path)
    (project / "etc" / "demo" / plain).write_text("x\n")
    (project / "share").mkdir()
    (project / "share" / plain).write_text("y\n")
    cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n        " + shlex.quote(f"etc/demo/{name}")
                + "\n    share/demo = " + shlex.quote(f"share/{name}"))(project)
    cfg_append("\n[phoenix:rpm]\ninstall_mode = system\n")(project)
    spec = _generate(project, monkeypatch)
    parsed = run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    installs = [shlex.split(line) for line in section(parsed, "install") if line.startswith("install -p -D")]
    assert ["install", "-p", "-D", "-m", "0640", f"etc/demo/{plain}",
            f"{_buildroot(parsed)}/etc/demo/{plain}"] in installs
    files = section(parsed, "files")
    assert _files_entry(f"/etc/demo/{plain}") in [re.sub(r"^(%config\([^)]*\) )?(%attr\([^)]*\) )?", "", line)
                                                  for line in files]
    assert _files_entry(f"/usr/share/demo/{plain}") in files
    assert not (tmp_path / MARK).exists()


def _buildroot(parsed: str) -> str:
    line = next(line for line in parsed.splitlines() if line.startswith("install -d -m"))
    return shlex.split(line)[-1].split("/etc/")[0]


def _files_entry(path: str) -> str:
    return f'"{path}"' if " " in path else path


@pytest.mark.parametrize("line,expected", [
    ('/bin/echo "a b" $HOME 100%', ['/bin/echo "a b" $$HOME 100%%']),
    ("/bin/echo 'it''s' %n", ['/bin/echo its %%n']),
    ("/usr/bin/env A=$(id) x", ['/usr/bin/env "A=$$(id)" x']),
])
def test_exec_override_arguments_are_quoted_for_systemd(line: str, expected: list[str], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    cfg_append(f"\n[phoenix:rpm]\nunit_overrides =\n    demo-api.ExecStartPre = {_ini(line)}\n")(project)
    _generate(project, monkeypatch)
    unit_file = project / "systemd" / "demo-api.service"
    assert read_unit(unit_file)["Service"]["ExecStartPre"] == expected
    proc = verify_units([unit_file], tmp_path)
    assert proc.returncode == 0, proc.stderr


# --- spec text the project writes itself: parsed in the box only -------------

HOSTILE_SPEC = """\
%global x %(touch {marker}; echo 1)
Name: m
Version: 1
Release: 1
Summary: s %{{x}}
License: MIT
Source0: m-1.txt
BuildArch: noarch
%description
d
%prep
%build
%install
%files
%changelog
* Mon Nov 30 2026 a <b@example.org> - 1-1
- x
"""


def _hostile_topdir(tmp_path: Path, marker: Path) -> tuple[Path, Path]:
    top = tmp_path / "top"
    for sub in ("SOURCES", "SPECS", "SRPMS", "BUILD", "RPMS", "BUILDROOT"):
        (top / sub).mkdir(parents=True)
    (top / "SOURCES" / "m-1.txt").write_text("x\n")
    spec = top / "SPECS" / "m.spec"
    spec.write_text(HOSTILE_SPEC.format(marker=marker))
    return top, spec


def test_srpm_of_a_hostile_spec_is_built_in_the_box(tmp_path: Path) -> None:
    """rpmbuild -bs runs the spec's %(...) in the box: no marker on the host; on the host it would."""
    from phoenix_rpm import rpmbuild

    marker = tmp_path / MARK
    top, spec = _hostile_topdir(tmp_path, marker)
    srpm = rpmbuild.build_srpm(spec, top, 1700000000, in_box=True)
    assert srpm.is_file() and srpm.name == "m-1-1.src.rpm"
    assert not marker.exists(), "rpmbuild -bs expanded the project's macros on the host"
    rpmbuild.build_srpm(spec, top, 1700000000, in_box=False)  # the control: the test can fail
    assert marker.exists()


def test_rpmlint_parses_a_hostile_spec_in_the_box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phoenix_rpm import lint

    marker = tmp_path / MARK
    _, spec = _hostile_topdir(tmp_path, marker)
    monkeypatch.delenv("PHOENIX_SPEC_PARSE", raising=False)
    report = lint.run_rpmlint([spec], [])
    assert "specfile-error" in report.output, report.output  # touch failed in the box: no such folder there
    assert not marker.exists(), "rpmlint expanded the project's macros on the host"
    monkeypatch.setenv("PHOENIX_SPEC_PARSE", "host")  # --box host: the user's explicit choice
    lint.run_rpmlint([spec], [])
    assert marker.exists()


@pytest.mark.parametrize("dest", ["/etc/demo/a b.yaml", "/etc/demo/$(touch MARK).yaml", "/etc/demo/x;y&z|w.yaml",
                                  "/etc/demo/100% `id`.yaml", "/usr/share/demo/it's.yaml"])
def test_odd_extra_files_targets_are_one_word_and_one_entry(dest: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    dest = dest.replace("MARK", MARK)
    project = make_project(tmp_path)
    (project / "policy.yaml").write_text("x\n")
    cfg_append(f"\n[phoenix:rpm]\nextra_files =\n    {_ini(dest)} = policy.yaml\n")(project)
    spec = _generate(project, monkeypatch)
    parsed = run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    installs = [shlex.split(line) for line in section(parsed, "install") if line.startswith("install -p -D")]
    mode = "0640" if dest.startswith("/etc/demo/") else "0644"
    assert ["install", "-p", "-D", "-m", mode, "policy.yaml", f"{_buildroot(parsed)}{dest}"] in installs
    entries = [re.sub(r"^(%config\([^)]*\) )?(%attr\([^)]*\) )?", "", line) for line in section(parsed, "files")]
    assert _files_entry(dest) in entries
    assert not (tmp_path / MARK).exists()


# --- what the stricter rules still allow (docs/packaging.md, "Hostile input and the trust boundary") ----

def test_own_directories_and_ordinary_dependencies_reach_the_unit(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """*Directory= naming the service's own folders, and Wants=/After= on ordinary units, pass unchanged."""
    project = make_project(tmp_path)
    cfg_append("\n[phoenix:rpm]\nunit_overrides =\n    demo-api.StateDirectory = demo demo/cache demo-extra\n"
               "    demo-api.CacheDirectory = demo/api\n    demo-api.Wants = network-online.target\n"
               "    demo-api.After = network-online.target\n")(project)
    _generate(project, monkeypatch)
    unit_path = project / "systemd" / "demo-api.service"
    unit = read_unit(unit_path)
    assert unit["Service"]["StateDirectory"] == ["demo demo/cache demo-extra"]
    assert unit["Service"]["CacheDirectory"] == ["demo/api"]
    assert "network-online.target" in " ".join(unit["Unit"]["Wants"])
    proc = verify_units([unit_path], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_conflicts_with_the_opt_in_reaches_the_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    cfg_append("\n[phoenix:rpm]\nallow_privileged = true\nunit_overrides =\n"
               "    demo-api.Conflicts = demo-manage.service\n")(project)
    _generate(project, monkeypatch)
    unit = read_unit(project / "systemd" / "demo-api.service")
    assert unit["Unit"]["Conflicts"] == ["demo-manage.service"]


def test_longest_graceful_shutdown_is_a_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound is inclusive: 86400 s gives TimeoutStopSec=86400 + the stop margin; leading zeros are fine."""
    from phoenix_rpm.plan import MAX_GRACEFUL_SHUTDOWN, STOP_MARGIN

    project = make_project(tmp_path)
    (project / "etc" / "demo" / "demo.conf").write_text(
        f"[DEFAULT]\ngraceful_shutdown_timeout = 000{MAX_GRACEFUL_SHUTDOWN}\n")
    _generate(project, monkeypatch)
    unit = read_unit(project / "systemd" / "demo-api.service")
    assert unit["Service"]["TimeoutStopSec"] == [str(MAX_GRACEFUL_SHUTDOWN + STOP_MARGIN)]


def test_requirement_files_linked_inside_the_project_are_read(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A requirements.txt that links to reqs/ and -r includes in sub-folders stay possible."""
    from phoenix_rpm.generate import load_project

    project = make_project(tmp_path)
    (project / "reqs").mkdir()
    # pip reads '-r' relative to the folder of the path it was given (the link's), not the link's target
    (project / "reqs" / "base.txt").write_text("pbr>=6\n-r reqs/more.txt\n")
    (project / "reqs" / "more.txt").write_text("oslo.config>=9\n")
    (project / "requirements.txt").symlink_to("reqs/base.txt")
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    assert [r.line for r in load_project(project).requirements] == ["pbr>=6", "oslo.config>=9"]
    generate.write(project)


def test_symlinks_inside_a_package_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    (project / "demo" / "alias.py").symlink_to("manage.py")
    (project / "demo" / "conf").symlink_to("../etc/demo")
    _generate(project, monkeypatch)


def test_pyproject_license_file_is_packaged_as_license(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``license = {file = ...}`` is checked inside the project and shipped as %license."""
    from test_pkg_bad_input import PYPROJECT

    project = make_project(tmp_path)
    (project / "setup.cfg").unlink()
    (project / "legal").mkdir()
    (project / "legal" / "COPYING.txt").write_text("MIT\n")
    (project / "pyproject.toml").write_text(PYPROJECT.replace(
        'description = "Demo"', 'description = "Demo"\nlicense = {file = "legal/COPYING.txt"}\n'
        'readme = {file = "README.md", content-type = "text/markdown"}'))
    (project / "README.md").write_text("demo\n")
    spec = _generate(project, monkeypatch)
    parsed = run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    assert "%license legal/COPYING.txt" in section(parsed, "files")
    assert "%doc README.md" in section(parsed, "files")


def test_a_venv_under_usr_local_lib_stays_possible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/usr/local/ is refused as a target, but venv_dir = /usr/local/lib/<name> stays possible (and its files)."""
    project = make_project(tmp_path)
    cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n    share/demo = etc/demo/demo.conf")(project)
    cfg_append("\n[phoenix:rpm]\nvenv_dir = /usr/local/lib/demo\n")(project)
    spec = _generate(project, monkeypatch)
    assert "/usr/local/lib/demo" in run("rpmspec", "-P", spec, cwd=tmp_path).stdout
    unit = read_unit(project / "systemd" / "demo-api.service")
    assert unit["Service"]["ExecStart"][0].startswith("/usr/local/lib/demo/bin/demo-api ")
