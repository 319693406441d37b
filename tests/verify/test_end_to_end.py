"""``tools/build-rpm --verify`` on a fresh copy of the project: the issue's "done when".

The real CLI, a real build, a real booted box, the real testinfra suite over
ssh. The assertions are what a release engineer looks at: exit status, the
printed report, and the junit XML (every check passed, every unit and config
file of the package checked by name).
"""
from __future__ import annotations

import subprocess

from variants import Variant

from phoenix_rpm.verify import parse_junit
from phoenix_rpm.verify_plan import VerifyPlan


def test_verify_exits_0_and_reports_the_phases(apollo_v1: Variant, verified_v1: subprocess.CompletedProcess[str]) -> None:
    out = verified_v1.stderr
    assert verified_v1.returncode == 0, f"tools/build-rpm --verify exited {verified_v1.returncode}:\n{out[-6000:]}"
    assert f"verify apollo-{apollo_v1.version}-1: PASSED" in out
    assert "phases: boot" in out and "service ready" in out and "testinfra" in out
    assert f"rpm -ivh apollo-{apollo_v1.version}-1" in out


def test_every_check_passed_in_the_junit_xml(apollo_v1: Variant, verified_v1: subprocess.CompletedProcess[str]) -> None:
    junit = apollo_v1.dist / "verify-junit.xml"
    assert junit.is_file(), f"no {junit}: {verified_v1.stderr[-3000:]}"
    tests, passed, skipped, failed = parse_junit(junit)
    assert failed == [], "\n".join(f"{n}: {m}" for n, m in failed)
    assert skipped == 0
    assert passed == tests > 20


def test_the_suite_checked_what_the_package_ships(apollo_v1: Variant, verified_v1: subprocess.CompletedProcess[str]) -> None:
    plan = VerifyPlan.read(apollo_v1.dist / "verify-plan.json")
    assert plan.package == "apollo" and plan.version == apollo_v1.version
    assert {"apollo-api.service", "apollo-periodic.service"} <= set(plan.units)
    assert {"/etc/apollo/apollo.conf", "/etc/apollo/api-paste.ini"} <= set(plan.config_files)
    assert [h.unit for h in plan.http] == ["apollo-api.service"]
    names = {name for name in _names(apollo_v1)}
    for unit in plan.units:
        for check in ("test_unit_is_enabled", "test_unit_is_running", "test_unit_processes_run_as_service_user",
                      "test_unit_security_exposure", "test_unit_journal_has_no_traceback"):
            assert f"test_services::{check}[{unit}]" in names
    for conf in plan.config_files:
        for check in ("test_config_file_mode_0640", "test_config_file_group_is_service_group",
                      "test_config_file_listed_by_rpm_qc"):
            assert f"test_package::{check}[{conf}]" in names
    assert "test_http::test_wsgi_answers_checks[apollo-api.service]" in names
    assert "test_http::test_wsgi_ports_listening[apollo-api.service]" in names


def _names(variant: Variant) -> list[str]:
    import xml.etree.ElementTree as ET

    from phoenix_rpm import verify

    out = []
    for case in ET.parse(variant.dist / "verify-junit.xml").getroot().iter("testcase"):
        module = (case.get("classname") or "").rsplit(".", 1)[-1]
        out.append(verify._HOST_ID.sub(lambda m: "]" if m.group(1) == "-" else "", f"{module}::{case.get('name')}"))
    return out
