"""Bad input: one line naming the file and the key or line, exit status 2, nothing written.

Table-driven: each case edits a small valid project, then generates. Most
cases go through the Python API (fast); the ones marked ``cli`` go through
``tools/build-rpm --stage generate`` in a subprocess, as a user would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from pkgtools import build_rpm

from phoenix_rpm import generate
from phoenix_rpm.errors import UserError

SETUP_CFG = """\
[metadata]
name = demo
summary = Demo service
license = MIT
author = Demo
author_email = demo@example.org

[files]
packages = demo
data_files =
    etc/demo =
        etc/demo/demo.conf

[entry_points]
console_scripts =
    demo-api = demo.api:main
    demo-manage = demo.manage:main
"""

PYPROJECT = """\
[build-system]
requires = ["pbr>=6.0"]
build-backend = "pbr.build"

[project]
name = "demo"
dynamic = ["version"]
description = "Demo"

[project.scripts]
demo-api = "demo.api:main"
"""


def make_project(root: Path) -> Path:
    project = root / "demo"
    (project / "demo").mkdir(parents=True)
    (project / "etc" / "demo").mkdir(parents=True)
    (project / "setup.cfg").write_text(SETUP_CFG)
    (project / "demo" / "__init__.py").write_text("")
    (project / "demo" / "api.py").write_text("from phoenix.server import eventlet\n\n\ndef main():\n    eventlet.run()\n")
    (project / "demo" / "manage.py").write_text("def main():\n    pass\n")
    (project / "etc" / "demo" / "demo.conf").write_text("[DEFAULT]\ngraceful_shutdown_timeout = 10\n")
    return project


def cfg_replace(old: str, new: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        text = (project / "setup.cfg").read_text()
        assert old in text, old
        (project / "setup.cfg").write_text(text.replace(old, new, 1))
    return edit


def cfg_append(extra: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        with (project / "setup.cfg").open("a") as handle:
            handle.write(extra)
    return edit


def write(rel: str, text: str) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return edit


def remove(rel: str) -> Callable[[Path], None]:
    return lambda project: (project / rel).unlink()


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(project: Path) -> None:
        for e in edits:
            e(project)
    return edit


def pyproject_only(text: str) -> Callable[[Path], None]:
    return both(remove("setup.cfg"), write("pyproject.toml", text))


@dataclass
class Case:
    id: str
    edit: Callable[[Path], None]
    file: str  # the file the message must name
    says: list[str]  # text the message must contain (the key, the line, the value)
    line: int | None = None  # the line number the message must give, when known
    env: dict[str, str] = field(default_factory=dict)
    cli: bool = False


CASES = [
    Case("no-setup-cfg", remove("setup.cfg"), "setup.cfg", ["no setup.cfg"], cli=True),
    Case("unparsable-ini", cfg_replace("[files]", "[files"), "setup.cfg", ["cannot parse", "[files"], line=8),
    Case("no-section-header", lambda p: (p / "setup.cfg").write_text("name = demo\n" + SETUP_CFG),
         "setup.cfg", ["not an ini file"], line=1),
    Case("no-metadata", cfg_replace("[metadata]", "[meta]"), "setup.cfg", ["[metadata]"], cli=True),
    Case("no-name", cfg_replace("name = demo\n", ""), "setup.cfg", ["name is missing"]),
    Case("invalid-name", cfg_replace("name = demo", "name = de mo"), "setup.cfg", ["'de mo'", "rpm package name"]),
    Case("duplicate-key", cfg_replace("license = MIT", "license = MIT\nlicense = BSD"), "setup.cfg",
         ["license", "twice"], line=5),
    Case("lone-percent", cfg_replace("summary = Demo service", "summary = 100% demo"), "setup.cfg",
         ["[metadata] summary", "'%%'"], line=3),
    Case("data-file-missing", cfg_replace("etc/demo/demo.conf", "etc/demo/demo.conf\n        etc/demo/gone.conf"),
         "setup.cfg", ["[files] data_files", "'etc/demo/gone.conf'", "does not exist"], line=13, cli=True),
    Case("glob-matches-nothing", cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n"
                                             "    share/demo = nothere/*"),
         "setup.cfg", ["'nothere/*'", "matches no file"], line=13),
    Case("glob-in-the-middle", cfg_replace("        etc/demo/demo.conf", "        etc/demo/*.conf"),
         "setup.cfg", ["'etc/demo/*.conf'", "trailing '*'"], line=12),
    Case("folder-as-plain-source", cfg_replace("        etc/demo/demo.conf", "        etc/demo"),
         "setup.cfg", ["'etc/demo' is a folder", "etc/demo/*"], line=12),
    Case("first-line-without-target", cfg_replace("    etc/demo =\n", ""), "setup.cfg",
         ["has no 'target ='"], line=11),
    Case("duplicate-target-path", both(write("other/demo.conf", "x\n"),
                                       cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n"
                                                   "        other/demo.conf")),
         "setup.cfg", ["same path", "'etc/demo/demo.conf'"]),
    Case("absolute-target", cfg_replace("    etc/demo =", "    /etc/demo ="), "setup.cfg",
         ["absolute target", "'/etc/demo'"], line=11),
    Case("target-leaves-prefix", cfg_replace("    etc/demo =", "    ../etc ="), "setup.cfg",
         ["'../etc'", "leaves the install prefix"], line=11),
    Case("quote-in-file-name", cfg_replace("        etc/demo/demo.conf", "        'etc/demo/a\"b.conf'"),
         "setup.cfg", ["a\"b.conf", "rpm %files line cannot hold"], line=12),
    Case("unbalanced-quote", cfg_replace("        etc/demo/demo.conf", "        'etc/demo/demo.conf"),
         "setup.cfg", ["balance the quotes"], line=12),
    Case("entry-point-missing-module", cfg_replace("demo.api:main", "demo.nope:main"), "setup.cfg",
         ["demo-api", "module 'demo.nope' not found"], line=16, cli=True),
    Case("entry-point-missing-function", cfg_replace("demo.api:main", "demo.api:start"), "setup.cfg",
         ["demo-api", "defines no 'start'"], line=16),
    Case("entry-point-malformed", cfg_replace("demo.api:main", "demo.api:"), "setup.cfg",
         ["[entry_points] console_scripts", "demo-api"], line=16),
    Case("entry-point-without-function", cfg_replace("demo.api:main", "demo.api"), "setup.cfg",
         ["demo-api names no function"], line=16),
    Case("entry-point-syntax-error", write("demo/api.py", "def main(:\n"), "setup.cfg",
         ["demo/api.py line 1", "syntax error"]),
    Case("script-defined-twice", cfg_append("wsgi_scripts =\n    demo-api = demo.api:main\n"), "setup.cfg",
         ["'demo-api' is defined twice"]),
    Case("unknown-override-key", cfg_append("\n[phoenix:rpm]\nservics = demo-api\n"), "setup.cfg",
         ["[phoenix:rpm] unknown key 'servics'"], line=20, cli=True),
    Case("unknown-systemd-key", cfg_append("\n[phoenix:rpm]\nunit_overrides =\n    demo-api.LimitNOFLE = 10\n"),
         "setup.cfg", ["demo-api.LimitNOFLE", "unknown systemd key"]),
    Case("override-for-a-tool", cfg_append("\n[phoenix:rpm]\nunit_overrides =\n    demo-manage.LimitNOFILE = 10\n"),
         "setup.cfg", ["'demo-manage' is not a service"]),
    Case("malformed-unit-override", cfg_append("\n[phoenix:rpm]\nunit_overrides =\n    demo-api LimitNOFILE 10\n"),
         "setup.cfg", ["unit_overrides", "<service>.<Key> = <value>"], line=21),
    Case("unknown-service-name", cfg_append("\n[phoenix:rpm]\nservices = demo-worker\n"), "setup.cfg",
         ["services: 'demo-worker'"]),
    Case("service-and-tool", cfg_append("\n[phoenix:rpm]\nservices = demo-api\ntools = demo-api\n"), "setup.cfg",
         ["'demo-api' is listed in both"]),
    Case("bad-install-mode", cfg_append("\n[phoenix:rpm]\ninstall_mode = docker\n"), "setup.cfg",
         ["install_mode = 'docker'"]),
    Case("root-user", cfg_append("\n[phoenix:rpm]\nuser = root\n"), "setup.cfg", ["user = root"]),
    Case("invalid-user", cfg_append("\n[phoenix:rpm]\nuser = Demo User\n"), "setup.cfg",
         ["user = 'Demo User'"]),
    Case("relative-venv-dir", cfg_append("\n[phoenix:rpm]\nvenv_dir = opt/demo\n"), "setup.cfg",
         ["venv_dir = 'opt/demo'"]),
    Case("logrotate-not-boolean", cfg_append("\n[phoenix:rpm]\nlogrotate = maybe\n"), "setup.cfg",
         ["logrotate = 'maybe'"]),
    Case("extra-file-missing", cfg_append("\n[phoenix:rpm]\nextra_files =\n    /etc/demo/policy.yaml = policy.yaml\n"),
         "setup.cfg", ["extra_files", "'policy.yaml' does not exist"]),
    Case("extra-file-relative-target", both(write("policy.yaml", "x\n"),
                                            cfg_append("\n[phoenix:rpm]\nextra_files =\n    etc/p.yaml = policy.yaml\n")),
         "setup.cfg", ["extra_files", "'etc/p.yaml' is not an absolute path"]),
    Case("graceful-timeout-not-a-number", write("etc/demo/demo.conf", "[DEFAULT]\ngraceful_shutdown_timeout = soon\n"),
         "demo.conf", ["graceful_shutdown_timeout = 'soon'"]),
    Case("requirement-invalid", write("requirements.txt", "pbr>=6\noslo.config>>=9\n"), "requirements.txt",
         ["'oslo.config>>=9'", "PEP 508"], line=2),
    Case("requirement-pip-option", write("requirements.txt", "--index-url https://example.org/simple\n"),
         "requirements.txt", ["pip option"], line=1),
    Case("pbr-version-not-rpm", lambda p: None, "PBR_VERSION", ["'1.0-1'", "no '-'"], env={"PBR_VERSION": "1.0-1"},
         cli=True),
    Case("no-version-outside-git", lambda p: None, "setup.cfg", ["no version", "PBR_VERSION"],
         env={"PBR_VERSION": ""}, cli=True),
    Case("pyproject-unparsable", pyproject_only("[project\nname = 'demo'\n"), "pyproject.toml",
         ["not valid TOML"], line=1),
    Case("pyproject-unknown-override", pyproject_only(PYPROJECT + "\n[tool.phoenix.rpm]\nusr = \"demo\"\n"),
         "pyproject.toml", ["[tool.phoenix.rpm] unknown key 'usr'"]),
    Case("pyproject-no-version", pyproject_only(PYPROJECT.replace('dynamic = ["version"]\n', "")),
         "pyproject.toml", ["no version"]),
    Case("pyproject-glob-matches-nothing",
         pyproject_only(PYPROJECT + '\n[tool.setuptools.data-files]\n"etc/demo" = ["etc/demo/*.ini"]\n'),
         "pyproject.toml", ["'etc/demo/*.ini' matches no file"]),
    Case("pyproject-bad-entry-point", pyproject_only(PYPROJECT.replace('"demo.api:main"', '"demo api"')),
         "pyproject.toml", ["[project.scripts] demo-api"]),
]


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
    assert sum(c.cli for c in CASES) >= 5


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path)
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    case.edit(project)
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    if case.cli:
        proc = build_rpm("--stage", "generate", project, env={"PBR_VERSION": "1.0.0", **case.env})
        assert proc.returncode == 2, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("build-rpm: error:")]
        assert len(lines) == 1, proc.stderr
        message = lines[0]
        assert "Traceback" not in proc.stderr
    else:
        with pytest.raises(UserError) as info:
            generate.write(project)
        assert info.value.exit_status == 2
        message = str(info.value)
    assert "\n" not in message
    assert case.file in message, message
    for text in case.says:
        assert text in message, message
    if case.line is not None:
        assert f"{case.file}:{case.line}:" in message, message
    assert "; " in message, f"no 'what to do' part: {message}"
    after = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert after == before, "bad input must write nothing"
    assert not (project / "rpm").exists() and not (project / "systemd").exists()


def test_valid_base_project_generates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table's starting point is valid: every failure above comes from its one edit."""
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    generate.write(project)
    assert (project / "rpm" / "demo.spec").is_file()
    assert (project / "systemd" / "demo-api.service").is_file()


def test_percent_and_space_names_are_escaped_not_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'%' (written '%%' in setup.cfg) and spaces are legal: the spec escapes and quotes them."""
    monkeypatch.setenv("PBR_VERSION", "1.0.0")
    project = make_project(tmp_path)
    (project / "etc" / "demo" / "100% on.conf").write_text("x\n")
    cfg_replace("        etc/demo/demo.conf", "        etc/demo/demo.conf\n        'etc/demo/100%% on.conf'")(project)
    generate.write(project)
    spec = (project / "rpm" / "demo.spec").read_text()
    assert '%config(noreplace) %attr(0640, root, demo) "%{_sysconfdir}/demo/100%% on.conf"' in spec
    assert "install -p -D -m 0640 'etc/demo/100%% on.conf' %{buildroot}'/etc/demo/100%% on.conf'" in spec
    from pkgtools import rpmspec_parsed, section

    parsed = rpmspec_parsed(project / "rpm" / "demo.spec")
    assert "install -p -D -m 0640 'etc/demo/100% on.conf'" in parsed  # rpm turned %% back into %
    assert '%config(noreplace) %attr(0640, root, demo) "/etc/demo/100% on.conf"' in section(parsed, "files")
