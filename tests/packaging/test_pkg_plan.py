"""Decisions of the plan, on small projects written in a temporary folder."""
from __future__ import annotations

from pathlib import Path

import pytest
from pkgtools import rpmspec_parsed, section

from phoenix_rpm import generate, rpmtext
from phoenix_rpm.plan import ConfigDir

SETUP = """\
[metadata]
name = {name}
summary = Plan test
license = MIT

[files]
packages = pkg
data_files =
    etc/{name} = etc/{name}/{name}.conf

[entry_points]
console_scripts =
{scripts}
{extra}
"""


def project(tmp: Path, scripts: list[str], extra: str = "", name: str = "demo", conf: str = "[DEFAULT]\n") -> Path:
    root = tmp / name
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    # main is made at run time: the analyzer cannot read it, the daemon question is
    # "unknown", so the name hint decides (docs/packaging.md, daemon detection)
    (root / "pkg" / "cli.py").write_text("def _make():\n    def run():\n        pass\n    return run\n\n\n"
                                         "main = _make()\n")
    (root / "pkg" / "svc.py").write_text("import phoenix.server.eventlet\n\n\ndef main():\n"
                                         "    phoenix.server.eventlet.run()\n")
    (root / "etc" / name).mkdir(parents=True)
    (root / "etc" / name / f"{name}.conf").write_text(conf)
    lines = "\n".join(f"    {s}" for s in scripts)
    (root / "setup.cfg").write_text(SETUP.format(name=name, scripts=lines, extra=extra))
    return root


@pytest.fixture(autouse=True)
def _version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.0.0")


@pytest.mark.parametrize("script,is_service", [
    ("demo-api", True), ("demo-worker", True), ("demo-periodic", True), ("demo-engine", True),
    ("demo-scheduler", True), ("demo-conductor", True), ("demo-agent", True), ("demo-server", True),
    ("demo-manage", False), ("demo-status", False), ("demo", False), ("demo-apiclient", False),
])
def test_default_service_rule(script: str, is_service: bool, tmp_path: Path) -> None:
    plan = generate.load_plan(project(tmp_path, [f"{script} = pkg.cli:main"]))
    assert ([s.name for s in plan.services] == [script]) is is_service
    assert ([t.name for t in plan.tools] == [script]) is not is_service


def test_phoenix_detection_sets_type_and_config_file(tmp_path: Path) -> None:
    plan = generate.load_plan(project(tmp_path, ["demo-api = pkg.svc:main", "demo-worker = pkg.cli:main"]))
    by_name = {s.name: s for s in plan.services}
    assert by_name["demo-api"].type == "notify" and by_name["demo-api"].phoenix
    assert by_name["demo-api"].exec_start.endswith(
        "--config-file /etc/demo/demo.conf --config-dir /etc/demo/demo.conf.d")
    assert by_name["demo-worker"].type == "exec" and "--config-file" not in by_name["demo-worker"].exec_start


def test_graceful_timeout_drives_timeout_stop(tmp_path: Path) -> None:
    plan = generate.load_plan(project(tmp_path, ["demo-api = pkg.svc:main"],
                                      conf="[DEFAULT]\ngraceful_shutdown_timeout = 90\n"))
    assert plan.graceful_shutdown_timeout == 90 and plan.timeout_stop_sec > 90
    plan = generate.load_plan(project(tmp_path / "b", ["demo-api = pkg.svc:main"]))
    assert plan.graceful_shutdown_timeout == 60  # the framework's default


def test_tools_only_project_has_no_user_units_or_scriptlets(tmp_path: Path) -> None:
    root = project(tmp_path, ["demo-manage = pkg.cli:main"])
    generate.write(root)
    plan = generate.load_plan(root)
    assert plan.user is None and plan.services == () and not (root / "systemd").exists()
    parsed = rpmspec_parsed(root / "rpm" / "demo.spec")
    assert section(parsed, "pre") == [] and section(parsed, "post") == []
    files = section(parsed, "files")
    assert "%config(noreplace) %attr(0644, root, root) /etc/demo/demo.conf" in files
    assert "%dir %attr(0755, root, root) /etc/demo" in files


def test_requirements_map_to_python3dist_in_system_mode(tmp_path: Path) -> None:
    root = project(tmp_path, ["demo-api = pkg.svc:main"], extra="[phoenix:rpm]\ninstall_mode = system\n")
    (root / "requirements.txt").write_text(
        "pbr>=6.0  # build and runtime\neventlet==0.41.3\nRoutes>=2.5,<3\nWebOb~=1.8.6\n"
        "foo!=1.2\nbar==2.*\ncolorama; sys_platform == 'win32'\n")
    plan = generate.load_plan(root)
    assert list(plan.rpm_requires) == [
        "python3dist(pbr) >= 6.0",
        "python3dist(eventlet) = 0.41.3",
        "(python3dist(routes) >= 2.5 with python3dist(routes) < 3)",
        "(python3dist(webob) >= 1.8.6 with python3dist(webob) < 1.9)",
        "python3dist(foo)",
        "(python3dist(bar) >= 2 with python3dist(bar) < 3)",
    ]
    bundled = generate.load_plan(project(tmp_path / "b", ["demo-api = pkg.svc:main"]))
    assert bundled.rpm_requires == ()  # the venv carries them


@pytest.mark.parametrize("path,expected", [
    ("/etc/demo/demo.conf", "%{_sysconfdir}/demo/demo.conf"),
    ("/etc/demo/100% sure.conf", '"%{_sysconfdir}/demo/100%% sure.conf"'),
    ("/usr/share/demo/a b", '"%{_datadir}/demo/a b"'),
    ("/opt/x/%{y}", "/opt/x/%%{y}"),
])
def test_files_paths_are_escaped_for_rpm(path: str, expected: str) -> None:
    assert rpmtext.files_path(path) == expected


def test_shell_words_are_quoted_and_escaped() -> None:
    assert rpmtext.sh("etc/demo/100% sure.conf") == "'etc/demo/100%% sure.conf'"
    assert rpmtext.sh("plain.conf") == "plain.conf"


def test_changelog_date_is_english_and_utc() -> None:
    assert rpmtext.changelog_date(1700000000) == "Tue Nov 14 2023"
    assert rpmtext.changelog_date(0) == "Thu Jan 01 1970"


def test_extra_files_in_a_sub_folder_own_it(tmp_path: Path) -> None:
    root = project(tmp_path, ["demo-api = pkg.svc:main"],
                   extra="[phoenix:rpm]\nextra_files =\n    /etc/demo/policy.d/base.yaml = policy.yaml\n")
    (root / "policy.yaml").write_text("x: 1\n")
    plan = generate.load_plan(root)
    assert ConfigDir("/etc/demo/policy.d", "0750", "root", "demo") in plan.config_dirs
    assert "/etc/demo/policy.d/base.yaml" in plan.config_files
