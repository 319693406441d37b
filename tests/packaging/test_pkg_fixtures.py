"""The generate stage on fixture projects of different shapes, read back through rpm.

- cfg-globs: setup.cfg, several data_files targets, 'dir/*' trees with
  sub-folders, a blank target line, names with a space and a '%'.
- pyproject-pbr: PEP 621 pyproject.toml, pbr.build backend, install_mode=system.
- wsgi: wsgi_scripts, explicit [phoenix:rpm] services/user/venv_dir/overrides.
"""
from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

import pytest
from pkgtools import EPOCH, REPO, copy_fixture, read_unit, rpmspec_parsed, rpmspec_query, section
from specfile import Specfile

from phoenix_rpm import generate


@pytest.fixture(autouse=True)
def _pinned_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _generate(name: str, tmp_path: Path) -> tuple[Path, generate.SpecPlan]:
    project = copy_fixture(name, tmp_path)
    written = generate.write(project)
    assert all(p.is_file() for p in written)
    return project, generate.load_plan(project)


# --- cfg-globs ------------------------------------------------------------

def test_globs_spec_reads_back_through_specfile(tmp_path: Path) -> None:
    project, plan = _generate("cfg-globs", tmp_path)
    spec = Specfile(project / "rpm" / "helios.spec", sourcedir=project / "systemd")
    assert (spec.expanded_name, spec.expanded_version) == ("helios", "1.2.3")
    assert spec.license == "Apache-2.0"
    with spec.sources() as sources:
        numbered = {s.number: s.expanded_location for s in sources}
    assert numbered[0] == "helios-1.2.3.tar.gz"
    assert numbered[1] == "helios-1.2.3-wheels.tar.gz"
    # every generated systemd/ file is a Source, and the plan says the same
    generated = sorted(p.name for p in (project / "systemd").iterdir())
    assert sorted(v for k, v in numbered.items() if k >= 10) == generated
    assert [(s.number, s.filename) for s in plan.sources] == sorted(numbered.items())
    assert spec.expand("%{venv_dir}") == "/usr/lib/helios"
    # bundled: no debuginfo split, no /usr/lib/.build-id links shared with other packages
    assert spec.expand("%{_build_id_links}") == "none"
    assert spec.expand("%{?debug_package}") == ""


def test_globs_files_section_on_this_host(tmp_path: Path) -> None:
    project, plan = _generate("cfg-globs", tmp_path)
    parsed = rpmspec_parsed(project / "rpm" / "helios.spec")
    files = section(parsed, "files")
    conf = "%config(noreplace) %attr(0640, root, helios)"
    for path in ("/etc/helios/helios.conf", "/etc/helios/api-paste.ini", "/etc/helios/policy.d/00-default.json",
                 "/etc/helios/policy.d/extra/10-reader.json"):
        assert f"{conf} {path}" in files
    assert "%dir %attr(0750, root, helios) /etc/helios" in files
    assert "%dir %attr(0750, root, helios) /etc/helios/policy.d/extra" in files
    assert "%dir %attr(0750, helios, helios) /var/lib/helios" in files
    assert "%dir %attr(0750, helios, helios) /var/log/helios" in files
    assert "/usr/lib/helios/" in files
    assert "/usr/bin/helios-manage" in files  # the tool's symlink; services get none
    assert "/usr/bin/helios-api" not in files
    for unit in ("helios-api.service", "helios-worker.service"):
        assert f"/usr/lib/systemd/system/{unit}" in files
    assert "/usr/lib/sysusers.d/helios.conf" in files
    assert "/usr/lib/tmpfiles.d/helios.conf" in files
    assert "%config(noreplace) /etc/logrotate.d/helios" in files  # helios.conf sets log_dir
    assert not any("/usr/etc" in line for line in parsed.splitlines())
    assert "%license LICENSE" in files and "%doc README.rst" in files
    assert plan.paste_files == ["/etc/helios/api-paste.ini"]


def test_globs_data_files_match_pbrs_own_expansion(tmp_path: Path) -> None:
    """Our reading of data_files equals pbr's (globs, sub-folders, blank target, quoted names)."""
    project = copy_fixture("cfg-globs", tmp_path)
    script = r"""
import configparser, json
from pbr.hooks import files
from pbr import setupcfg
parser = configparser.ConfigParser()
parser.read('setup.cfg')
config = {s: dict(parser.items(s)) for s in parser.sections()}
fc = files.FilesConfig(config, 'helios')
fc.expand_globs()
config['files']['data_files'] = fc.data_files
kwargs = setupcfg.setup_cfg_to_setup_kwargs(config)
print(json.dumps(sorted((t.strip("'/"), sorted(s)) for t, s in kwargs['data_files'])))
"""
    out = subprocess.run([os.fspath(REPO / ".venv" / "bin" / "python"), "-c", script], cwd=project,
                         capture_output=True, text=True, check=True).stdout
    import json

    pbr_view = {(t.rstrip("/"), s) for t, sources in json.loads(out) for s in sources}
    plan = generate.load_plan(project)
    ours = {(df.target_dir, df.source) for df in generate.load_project(project).data_files}
    assert ours == {(t, s.lstrip("./")) for t, s in pbr_view}
    # and where they land: etc/ under /etc, the rest inside the venv (bundled)
    dests = {f.dest for f in plan.data_files}
    assert "/usr/lib/helios/share/helios/templates/mail/welcome.txt" in dests
    assert "/usr/lib/helios/share/helios/file with space.txt" in dests
    assert "/usr/lib/helios/share/helios/100%.txt" in dests


def test_globs_units(tmp_path: Path) -> None:
    project, _ = _generate("cfg-globs", tmp_path)
    api = read_unit(project / "systemd" / "helios-api.service")
    worker = read_unit(project / "systemd" / "helios-worker.service")
    # helios-api imports phoenix: Type=notify and --config-file
    assert api["Service"]["Type"] == ["notify"]
    assert api["Service"]["ExecStart"] == ["/usr/lib/helios/bin/helios-api --config-file /etc/helios/helios.conf "
                                           "--config-dir /etc/helios/helios.conf.d"]
    # graceful_shutdown_timeout = 20 in the shipped config: systemd waits longer
    assert int(api["Service"]["TimeoutStopSec"][0]) > 20
    assert worker["Service"]["Type"] == ["exec"]
    assert worker["Service"]["ExecStart"] == ["/usr/lib/helios/bin/helios-worker"]
    for unit in (api, worker):
        assert unit["Service"]["User"] == ["helios"] and unit["Service"]["Group"] == ["helios"]
        assert unit["Service"]["Restart"] == ["on-failure"]
        assert unit["Service"]["StateDirectory"] == ["helios"]
        assert unit["Service"]["LogsDirectory"] == ["helios"]
        assert unit["Service"]["RuntimeDirectory"] == ["helios"]
        assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert not (project / "systemd" / "helios-manage.service").exists()
    sysusers = (project / "systemd" / "helios.sysusers").read_text().splitlines()
    assert "g helios -" in sysusers
    assert any(line.startswith("u helios -:helios ") and "/var/lib/helios" in line for line in sysusers)
    tmpfiles = (project / "systemd" / "helios.tmpfiles").read_text()
    assert "d /var/lib/helios 0750 helios helios -" in tmpfiles


def test_globs_scriptlets_expand_on_a_host_without_systemd_macros(tmp_path: Path) -> None:
    project, _ = _generate("cfg-globs", tmp_path)
    parsed = rpmspec_parsed(project / "rpm" / "helios.spec")
    for name in ("post", "preun", "postun"):
        body = "\n".join(section(parsed, name))
        assert "systemctl" in body, name
        assert "%" not in body, f"unexpanded macro in %{name}: {body}"
    pre = "\n".join(section(parsed, "pre"))
    assert "useradd -r -g helios" in pre and "getent passwd helios" in pre
    assert "userdel" not in parsed


# --- pyproject.toml with pbr.build, system mode ----------------------------

def test_pyproject_system_mode(tmp_path: Path) -> None:
    project, plan = _generate("pyproject-pbr", tmp_path)
    spec_path = project / "rpm" / "selene.spec"
    assert plan.install_mode == "system" and plan.venv_dir is None
    requires = rpmspec_query(spec_path, "--requires")
    assert "python3dist(requests) >= 2.31" in requires
    assert "(python3dist(oslo-config) >= 9.0 with python3dist(oslo-config) < 11)" in requires
    assert "(python3dist(pastedeploy) >= 3.1 with python3dist(pastedeploy) < 4)" in requires
    assert not any("pywin32" in r for r in requires)  # its marker is false on Linux
    assert rpmspec_query(spec_path, "--qf", "%{ARCH} %{LICENSE} %{URL}\n") == [
        "noarch MIT https://example.org/selene"]
    spec = Specfile(spec_path, sourcedir=project / "systemd")
    with spec.sections() as sections:
        raw_files = [line.strip() for line in sections.files]
    assert "%{python3_sitelib}/selene/" in raw_files
    assert "%{_bindir}/selene-agent" in raw_files and "%{_bindir}/selene-status" in raw_files
    files = section(rpmspec_parsed(spec_path), "files")
    assert "/usr/share/selene/sql/001-init.sql" in files and "%dir /usr/share/selene" in files
    assert "%config(noreplace) %attr(0640, root, selene) /etc/selene/rootwrap.d/agent.filters" in files
    assert not any("logrotate" in line for line in files)  # logrotate = false
    unit = read_unit(project / "systemd" / "selene-agent.service")
    assert unit["Service"]["ExecStart"] == ["/usr/bin/selene-agent --config-file /etc/selene/selene.conf "
                                            "--config-dir /etc/selene/selene.conf.d"]
    assert unit["Service"]["LimitNOFILE"] == ["4096"]  # [tool.phoenix.rpm.unit_overrides]
    assert unit["Service"]["Environment"] == ["SELENE_MODE=agent"]
    assert int(unit["Service"]["TimeoutStopSec"][0]) > 45
    assert [s.name for s in plan.services] == ["selene-agent"]
    assert [t.name for t in plan.tools] == ["selene-status"]


# --- wsgi_scripts and explicit overrides ----------------------------------

def test_wsgi_project(tmp_path: Path) -> None:
    project, plan = _generate("wsgi", tmp_path)
    spec_path = project / "rpm" / "eos.spec"
    assert rpmspec_query(spec_path, "--qf", "%{NAME}-%{VERSION} %{LICENSE}\n") == ["eos-1.2.3 BSD-3-Clause"]
    files = section(rpmspec_parsed(spec_path), "files")
    assert "/opt/eos/" in files
    assert "%config(noreplace) %attr(0640, root, eosd) /etc/eos/policy.yaml" in files  # extra_files
    assert "%config(noreplace) %attr(0640, root, eosd) /etc/eos/eos-paste.ini" in files
    assert "%config(noreplace) /etc/logrotate.d/eos" in files  # eos.conf sets log_file
    wsgi = read_unit(project / "systemd" / "eos-wsgi.service")
    collector = read_unit(project / "systemd" / "eos-collector.service")
    # a wsgi_scripts application runs under uWSGI (its master sends READY=1),
    # never under the wsgiref fallback of pbr's script (docs/packaging.md)
    assert wsgi["Service"]["Type"] == ["notify"]
    assert wsgi["Service"]["ExecStart"] == ["/opt/eos/bin/uwsgi --ini /etc/eos/eos-wsgi-uwsgi.ini"]
    assert wsgi["Service"]["KillSignal"] == ["SIGQUIT"]
    assert wsgi["Service"]["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    ini = (project / "systemd" / "eos-wsgi-uwsgi.ini").read_text()
    assert "wsgi-file = /opt/eos/bin/eos-wsgi\n" in ini and "http-socket = 127.0.0.1:8790\n" in ini
    assert "%config(noreplace) %attr(0640, root, eosd) /etc/eos/eos-wsgi-uwsgi.ini" in files
    assert "pyuwsgi" in plan.requirements
    assert collector["Service"]["TimeoutStopSec"] == ["120"]
    assert wsgi["Service"]["User"] == ["eosd"] and collector["Service"]["Group"] == ["eosd"]
    assert {s.name: s.wsgi for s in plan.services} == {"eos-wsgi": True, "eos-collector": False}
    assert [t.bin_link for t in plan.tools] == ["/usr/bin/eos-manage"]
    logrotate = (project / "systemd" / "eos.logrotate").read_text()
    assert "/var/log/eos/*.log" in logrotate and "su eosd eosd" in logrotate


def test_project_template_override(tmp_path: Path) -> None:
    project = copy_fixture("wsgi", tmp_path)
    templates = project / "rpm" / "templates"
    templates.mkdir(parents=True)
    original = (REPO / "tools" / "phoenix-rpm" / "phoenix_rpm" / "templates" / "spec.j2").read_text()
    (templates / "spec.j2").write_text(original.replace("%description\n", "%description\nCustomised.\n\n", 1))
    generate.write(project)
    assert "Customised." in (project / "rpm" / "eos.spec").read_text()


# --- version from git, as pbr computes it ---------------------------------

def test_version_comes_from_git_tags_like_pbr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PBR_VERSION")
    project = copy_fixture("wsgi", tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], cwd=project, check=True)
    subprocess.run([*git, "tag", "-a", "3.1.4", "-m", "3.1.4"], cwd=project, check=True)
    assert generate.load_plan(project).version == "3.1.4"
    (project / "NEWS").write_text("more\n")
    subprocess.run([*git, "add", "NEWS"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "two"], cwd=project, check=True)
    ours = generate.load_plan(project).version
    pbrs = subprocess.run([os.fspath(REPO / ".venv" / "bin" / "python"), "-c",
                           "import pbr.packaging; print(pbr.packaging.get_version('eos'))"],
                          cwd=project, capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if k != "PBR_VERSION"}).stdout.strip()
    assert ours == pbrs and ours.startswith("3.1.5.dev")
    monkeypatch.setenv("PBR_VERSION", "9.9.9")
    assert generate.load_plan(project).version == "9.9.9"


def test_ini_units_are_valid_ini(tmp_path: Path) -> None:
    """Every generated unit also parses as an ini file (no stray text, one section per header)."""
    for name in ("cfg-globs", "wsgi", "pyproject-pbr"):
        project, _ = _generate(name, tmp_path / name)
        for unit in (project / "systemd").glob("*.service"):
            parser = configparser.ConfigParser(strict=False, interpolation=None)
            parser.read(unit)
            assert parser.sections() == ["Unit", "Service", "Install"], unit


@pytest.mark.parametrize("fixture", ["cfg-globs", "pyproject-pbr", "wsgi"])
def test_fixture_specs_lint_clean(fixture: str, tmp_path: Path) -> None:
    """rpmlint (from .venv) finds no error in any generated spec, bundled or system."""
    import re

    from pkgtools import run

    project, plan = _generate(fixture, tmp_path)
    proc = run(REPO / ".venv" / "bin" / "rpmlint", plan.spec_path, check=False)
    assert re.search(r"\b0 errors\b", proc.stdout), proc.stdout
    # and only the expected warnings: local Source URLs, no %check, no BuildRoot tag
    warnings = {m.group(1) for m in re.finditer(r" W: (\S+)", proc.stdout)}
    assert warnings <= {"invalid-url", "no-%check-section", "no-buildroot-tag"}, proc.stdout


def test_pyproject_with_pbr_hooks_in_setup_cfg(tmp_path: Path) -> None:
    """pbr.build runs pbr's setup.cfg hooks: [files] data_files and [entry_points] there still count."""
    project = copy_fixture("pyproject-pbr", tmp_path)
    toml = project / "pyproject.toml"
    text = toml.read_text()
    start = text.index("[project.scripts]")
    end = text.index("[tool.setuptools]")
    text = text[:start] + text[end:]
    text = text[:text.index("[tool.setuptools.data-files]")] + text[text.index("[tool.phoenix.rpm]"):]
    toml.write_text(text)
    (project / "setup.cfg").write_text(
        "[files]\ndata_files =\n    etc/selene = etc/selene/selene.conf\n\n"
        "[entry_points]\nconsole_scripts =\n    selene-agent = selene.agent:main\n")
    plan = generate.load_plan(project)
    assert plan.config_file.name == "pyproject.toml"
    assert [s.name for s in plan.services] == ["selene-agent"]
    assert plan.config_files == ["/etc/selene/selene.conf"]
    assert plan.install_mode == "system"  # [tool.phoenix.rpm] from pyproject.toml
