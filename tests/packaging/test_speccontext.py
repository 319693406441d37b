"""The values the spec templates lay out, decided in Python (speccontext.py), read as data.

The golden files prove the rendered text; these tests name the decisions
themselves, one fact per assertion, for both install modes
(docs/packaging.md "The spec templates").
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from pkgtools import copy_fixture

from phoenix_rpm import generate, speccontext
from phoenix_rpm.model import InstallMode
from phoenix_rpm.plan import SpecPlan


@pytest.fixture(scope="module", autouse=True)
def _pinned_version() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PBR_VERSION", "1.2.3")
        yield


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> SpecPlan:
    """A bundled project with services, a uWSGI application and generated config."""
    return generate.load_plan(copy_fixture("uwsgi-app", tmp_path_factory.mktemp("iris")))


@pytest.fixture(scope="module")
def iris_system(iris: SpecPlan, tmp_path_factory: pytest.TempPathFactory) -> SpecPlan:
    project = copy_fixture("uwsgi-app", tmp_path_factory.mktemp("iris-system"))
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text() + "\n[phoenix:rpm]\ninstall_mode = system\n")
    plan = generate.load_plan(project)
    assert plan.install_mode is InstallMode.SYSTEM, "the override made a system-mode plan"
    return plan


def _globals(ctx: speccontext.SpecContext) -> dict[str, str]:
    return {g.name: g.value for g in (*ctx.reproducible, *ctx.payload, *ctx.venv)}


def test_payload_is_zstd_with_a_fixed_thread_count(iris: SpecPlan) -> None:
    found = _globals(speccontext.spec_context(iris))
    assert found["_source_payload"] == "w3.zstdio", "sources: zstd level 3"
    # T2, never T0 (which follows the CPU count): the same bytes on any machine
    assert found["_binary_payload"] == "w3T2.zstdio", "binary payload: zstd level 3, 2 threads"
    assert found["_buildhost"] == "reproducible", "no build host name in the package"


def test_bundled_mode_defines_the_venv_and_turns_off_the_distributions_post_processing(iris: SpecPlan) -> None:
    found = _globals(speccontext.spec_context(iris))
    assert found["venv_dir"] == "%{_exec_prefix}/lib/iris", "venv_dir through %{_exec_prefix}"
    assert found["__brp_python_bytecompile"] == "%{nil}", "the venv is byte-compiled with its final paths"
    assert found["__brp_mangle_shebangs"] == "%{nil}", "the venv's shebangs are left alone"


def test_system_mode_has_no_venv_macros(iris_system: SpecPlan) -> None:
    assert speccontext.spec_context(iris_system).venv == (), "system mode: no venv"


def test_pip_runs_offline_without_the_hosts_configuration(iris: SpecPlan) -> None:
    ctx = speccontext.spec_context(iris)
    assert "PIP_INDEX_URL" in ctx.pip_unset and "PIP_FIND_LINKS" in ctx.pip_unset, "index settings dropped"
    assert dict(ctx.pip_export) == {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1",
                                    "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}


def test_the_build_fails_on_any_file_naming_the_build_paths(iris: SpecPlan) -> None:
    spec = generate.render_plan(iris)[f"rpm/{iris.name}.spec"]
    assert speccontext.FORBIDDEN_IN_PAYLOAD == ("%{buildroot}", "%{_builddir}")
    assert "if grep -rl -F -e '%{buildroot}' -e '%{_builddir}' %{buildroot}; then\n" in spec, \
        "the %install check greps for each forbidden path, unescaped"


def test_sources_zero_and_one_by_macro_the_rest_by_name(iris: SpecPlan) -> None:
    lines = speccontext.source_lines(iris)
    assert (lines[0].label, lines[0].value) == ("Source0:        ", "%{name}-%{version}.tar.gz")
    assert (lines[1].label, lines[1].value) == ("Source1:        ", "%{name}-%{version}-wheels.tar.gz")
    assert [t.value for t in lines[2:]] == [s.filename for s in iris.sources[2:]], "Source10+ by file name"
    assert all(t.label == f"Source{s.number}:".ljust(15) + " " for t, s in zip(lines, iris.sources))


def test_requires_by_install_mode(iris: SpecPlan, iris_system: SpecPlan) -> None:
    bundled = {(t.name, t.value) for t in speccontext.requires(iris)}
    assert ("AutoReqProv", "no") in bundled, "the venv's packages are private"
    assert ("Requires", "python(abi) = %{python3_version}") in bundled, "the venv holds to its interpreter"
    system = [(t.name, t.value) for t in speccontext.requires(iris_system)]
    assert system[0] == ("BuildArch", "noarch"), "system mode is noarch"
    assert [v for n, v in system if n == "Requires"][1:] == list(iris_system.rpm_requires), \
        "system mode requires the requirements as python3dist()"


def test_distro_build_requires_by_install_mode(iris: SpecPlan, iris_system: SpecPlan) -> None:
    bundled = [t.value for t in speccontext.distro_requires(iris)]
    system = [t.value for t in speccontext.distro_requires(iris_system)]
    assert "python3dist(pip)" not in bundled, "bundled mode builds with the wheels' own pip"
    assert "python3dist(pip)" in system and "python3dist(pbr)" in system, "system mode builds with the distro's"
    assert "systemd-rpm-macros" in bundled, "a package with services needs the systemd macros on Fedora/EL"


def test_config_generators_run_with_the_installed_interpreter(iris: SpecPlan, iris_system: SpecPlan) -> None:
    bundled = speccontext.generator_runs(iris)
    system = speccontext.generator_runs(iris_system)
    assert bundled, "the fixture generates config"
    assert all(r.command.startswith("%{buildroot}%{venv_dir}/bin/python ") for r in bundled), "the venv's python"
    assert all(r.command.startswith("PYTHONPATH=%{buildroot}%{python3_sitelib} %{python3} ") for r in system), \
        "system python3 with the build root's site-packages"


def test_generated_config_is_readable_by_the_service_group_only(iris: SpecPlan) -> None:
    entries = {f.path: f for f in speccontext.attr_files(iris)}
    for g in iris.generated_config:
        entry = entries[g.dest]
        assert (entry.mode, entry.owner, entry.group, entry.config) == ("0640", "root", iris.group, True), g.dest
    for s in iris.uwsgi_apps:
        assert entries[str(s.uwsgi_ini)].mode == "0640", s.uwsgi_ini


def test_a_project_template_unpacking_sources_as_tuples_still_renders(tmp_path: Path) -> None:
    project = copy_fixture("uwsgi-app", tmp_path)
    (project / "rpm" / "templates").mkdir(parents=True)
    (project / "rpm" / "templates" / "spec.j2").write_text(
        "{% for number, filename, path in plan.sources %}{{ number }} {{ filename }}\n{% endfor %}")
    plan = generate.load_plan(project)
    spec = generate.render_plan(plan)[f"rpm/{plan.name}.spec"]
    assert spec.splitlines()[0] == f"0 {plan.name}-{plan.version}.tar.gz", "Source unpacks like the old tuple"
