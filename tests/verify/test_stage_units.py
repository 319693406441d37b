"""The verify stage's plain-data parts, on the host: no box needed.

junit parsing and the report are what a user reads when a verification
fails, so they are tested on real pytest output (a real junit XML written by a
real pytest run), not on hand-written XML.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phoenix_rpm import verify
from phoenix_rpm.errors import UserError
from phoenix_rpm.verify_plan import HttpCheck, VerifyPlan

# No box (a tiny RPM built on the host): the quick tier (conftest.py).
pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _plan() -> VerifyPlan:
    return VerifyPlan(
        package="demo", version="1.2.3", release="1", user="demo", group="demo",
        config_files=["/etc/demo/demo.conf"], units=["demo-api.service"],
        state_dirs=["/var/lib/demo"], http=[HttpCheck(unit="demo-api.service", config_file="/etc/demo/demo.conf")],
    )


def test_verify_plan_round_trips_through_json(tmp_path: Path) -> None:
    plan = _plan()
    path = plan.write(tmp_path / "verify-plan.json")
    assert VerifyPlan.read(path) == plan
    data = json.loads(path.read_text())
    assert data["http"][0]["port_option"] == "port"
    assert plan.version_release == "1.2.3-1"


def test_parse_junit_of_a_real_pytest_run(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_ok(): pass\n"
        "def test_mode(): assert 0o644 == 0o640, 'config file /etc/demo/demo.conf has mode 0644, expected 0640'\n"
        "@pytest.mark.parametrize('unit', ['demo-api.service'])\n"
        "def test_running(unit): pytest.fail(f'unit {unit} is not running', pytrace=False)\n"
    )
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path),
                    f"--junitxml={junit}"], cwd=tmp_path, capture_output=True, check=False)
    tests, passed, skipped, failed = verify.parse_junit(junit)
    assert (tests, passed, skipped) == (3, 1, 0)
    names = [n for n, _ in failed]
    assert names == ["test_sample::test_mode", "test_sample::test_running[demo-api.service]"]
    assert failed[0][1].startswith("config file /etc/demo/demo.conf has mode 0644, expected 0640")
    assert failed[1][1].startswith("unit demo-api.service is not running")


def test_junit_names_drop_the_throwaway_host_id(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.infra.test_user" name="test_service_user_exists[ssh://phx-1a2b3c]"/>'
        '<testcase classname="tests.infra.test_services" name="test_unit_is_running[apollo-api.service-ssh://phx-1a2b3c]">'
        '<failure message="Failed: unit apollo-api.service is not running">trace</failure></testcase>'
        '</testsuite></testsuites>'
    )
    tests, passed, skipped, failed = verify.parse_junit(junit)
    assert (tests, passed, skipped) == (2, 1, 0)
    assert failed == [("test_services::test_unit_is_running[apollo-api.service]", "unit apollo-api.service is not running")]


def test_failure_summary_names_every_failed_check() -> None:
    suite = verify.SuiteResult(returncode=1, junit=Path("dist/verify-junit.xml"), tests=5, passed=3,
                               failed=[("test_config_file_mode_0640[/etc/demo/demo.conf]", "config file /etc/demo/demo.conf has mode 0644, expected 0640\nmore"),
                                       ("test_unit_is_running[demo-api.service]", "unit demo-api.service is not running")])
    report = verify.VerifyReport(plan=_plan(), timings=verify.Timings(boot=1, install=2, ready=3, testinfra=3, teardown=1), suite=suite)
    assert not report.ok
    text = verify.failure_summary(report)
    assert "demo-1.2.3-1" in text
    assert "test_config_file_mode_0640[/etc/demo/demo.conf]: config file /etc/demo/demo.conf has mode 0644" in text
    assert "test_unit_is_running[demo-api.service]: unit demo-api.service is not running" in text
    shown = verify.format_report(report)
    assert "FAILED" in shown and "total 10.0 s" in shown and "3 passed, 2 failed" in shown


def test_newest_rpms_takes_the_last_build_and_skips_the_srpm(tmp_path: Path) -> None:
    old = tmp_path / "demo-1.0-1.x86_64.rpm"
    new = tmp_path / "demo-1.1-1.x86_64.rpm"
    src = tmp_path / "demo-1.1-1.src.rpm"
    for p in (old, new, src):
        p.write_bytes(b"")
    past = time.time() - 3600
    os.utime(old, (past, past))
    assert verify.newest_rpms(tmp_path) == [new]


def test_newest_rpms_without_a_build_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no binary RPM to verify"):
        verify.newest_rpms(tmp_path)


def test_verify_refuses_other_boxes(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--box host"):
        verify.verify(tmp_path, None, box="host")


def test_infra_suite_is_not_collected_by_the_host_run() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                          cwd=ROOT, capture_output=True, text=True)
    assert "phoenix_rpm/infra/" not in proc.stdout
    assert "tests/verify/test_stage_units.py" in proc.stdout


def test_infra_suite_without_metadata_is_a_usage_error_not_a_skip() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(verify.SUITE_DIR)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "--verify-plan" in proc.stderr


# --- the plan the suite reads: from the packaging plan and a real RPM header ---

TINY_SPEC = """\
Name: demo
Version: 2.0
Release: 3
Summary: tiny
License: MIT
BuildArch: noarch
%description
tiny
%install
mkdir -p %{buildroot}/usr/lib/systemd/system %{buildroot}/etc/demo
echo '[Service]' > %{buildroot}/usr/lib/systemd/system/demo-api.service
echo '[Service]' > %{buildroot}/usr/lib/systemd/system/demo-extra.service
echo '[Service]' > %{buildroot}/usr/lib/systemd/system/demo-worker@.service
echo '[DEFAULT]' > %{buildroot}/etc/demo/demo.conf
%files
/usr/lib/systemd/system/demo-api.service
/usr/lib/systemd/system/demo-extra.service
/usr/lib/systemd/system/demo-worker@.service
%config(noreplace) /etc/demo/demo.conf
"""


@pytest.fixture(scope="module")
def tiny_rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("rpmbuild")
    spec = top / "demo.spec"
    spec.write_text(TINY_SPEC)
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                   check=True, capture_output=True)
    return next((top / "RPMS" / "noarch").glob("demo-2.0-3.noarch.rpm"))


def test_read_rpm_of_a_real_package(tiny_rpm: Path) -> None:
    from phoenix_rpm.verify_plan import read_rpm

    info = read_rpm(tiny_rpm)
    assert (info.name, info.version, info.release, info.arch) == ("demo", "2.0", "3", "noarch")
    assert info.nvr == "demo-2.0-3"
    assert info.config_files == ("/etc/demo/demo.conf",)
    # Template units are not started by enable --now: nothing to instantiate them with.
    assert info.units == ("demo-api.service", "demo-extra.service")


def test_verify_plan_from_the_packaging_plan_and_the_rpm(tiny_rpm: Path) -> None:
    from planmaker import service, spec_plan

    from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

    plan = spec_plan("demo", user="demo", group="demo", config_files=["/etc/demo/demo.conf"],
                     services=[service("demo-api", wsgi=True, phoenix=True),
                               service("demo-gone", wsgi=False, phoenix=True)])
    vp = build_verify_plan(plan, read_rpm(tiny_rpm))
    assert (vp.package, vp.version, vp.release) == ("demo", "2.0", "3")
    # Every unit the RPM ships is started, and the planned one it lacks is reported.
    assert vp.units == ["demo-api.service", "demo-extra.service", "demo-gone.service"]
    assert vp.missing_units == ["demo-gone.service"]
    assert [(h.unit, h.config_file, h.port_option) for h in vp.http] == [("demo-api.service", "/etc/demo/demo.conf", "port")]


def test_verify_plan_refuses_an_rpm_of_another_project(tiny_rpm: Path) -> None:
    from planmaker import spec_plan

    from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

    with pytest.raises(UserError, match="the RPM is package 'demo' but the project plans 'apollo'"):
        build_verify_plan(spec_plan("apollo"), read_rpm(tiny_rpm))


def test_verify_plan_of_apollo_names_its_units_files_and_http_service() -> None:
    from phoenix_rpm.generate import load_plan
    from phoenix_rpm.verify_plan import RpmInfo, build_verify_plan

    plan = load_plan(ROOT)
    rpm = RpmInfo(path=Path("apollo.rpm"), name="apollo", version="1", release="1", arch="x86_64",
                  files=("/usr/lib/systemd/system/apollo-api.service",
                         "/usr/lib/systemd/system/apollo-periodic.service"), config_files=())
    vp = build_verify_plan(plan, rpm)
    assert vp.user == "apollo" and vp.group == "apollo"
    assert vp.units == ["apollo-api.service", "apollo-periodic.service"] and vp.missing_units == []
    assert set(vp.config_files) == {"/etc/apollo/apollo.conf", "/etc/apollo/api-paste.ini"}
    assert [h.unit for h in vp.http] == ["apollo-api.service"]
    assert "/var/lib/apollo" in vp.state_dirs
