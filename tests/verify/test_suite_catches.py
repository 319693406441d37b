"""Every check of phoenix_rpm/infra can fail, and says what is wrong when it does.

A good apollo 1.0.0 is installed and started in one box, then the box is
tampered with the way admins and bad packages break systems (no rebuild
needed, so this is cheap): a login shell for the service user, a config file
with the wrong group, a disabled unit, a unit with its hardening dropped and a
traceback in its journal, a port in the config that nothing listens on, a
file that should be %config but is not, a version that differs from the
build. The suite must fail exactly those checks, each naming its problem,
and pass all the others.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from variants import Variant

from phoenix_rpm import verify
from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

EXTRA = "/etc/apollo/not-packaged.conf"
DROPIN = """[Service]
ExecStartPre=/usr/bin/python3 -c "print('Traceback (most recent call last):'); print('ValueError: planted by the test')"
ProtectSystem=no
ProtectHome=no
PrivateDevices=no
PrivateTmp=no
ProtectKernelTunables=no
ProtectKernelModules=no
ProtectControlGroups=no
RestrictNamespaces=no
MemoryDenyWriteExecute=no
NoNewPrivileges=no
"""


@pytest.fixture(scope="module")
def tampered(built_v1: Variant, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from phoenix_rpm.box import booted, ensure_root
    from phoenix_rpm.generate import load_plan

    rpm = read_rpm(built_v1.rpm())
    plan = build_verify_plan(load_plan(built_v1.project), rpm)
    work = tmp_path_factory.mktemp("tampered")
    with booted(ensure_root()) as box:
        verify.install_rpm(box, rpm.path)
        verify.enable_now(box, plan.units)
        assert verify.wait_ready(box, plan), "apollo 1.0.0 did not start untampered"
        verify.box_shell(box, f"""
            usermod -s /bin/bash apollo
            chgrp root /etc/apollo/api-paste.ini
            systemctl disable apollo-api.service
            install -m 0640 -o root -g apollo /dev/null {EXTRA}
            sed -i -E 's/^port *=.*/port = 8780,8781,8799/' /etc/apollo/apollo.conf
            mkdir -p /etc/systemd/system/apollo-periodic.service.d
            cat > /etc/systemd/system/apollo-periodic.service.d/zz-test.conf <<'EOF'
{DROPIN}EOF
            systemctl daemon-reload
            systemctl restart apollo-periodic.service
        """)
        wrong = dataclasses.replace(plan, version="9.9.9", config_files=[*plan.config_files, EXTRA])
        suite = verify.run_suite(box, wrong.write(work / "plan.json"), work / "junit.xml")
    assert suite.tests > 20, suite.output[-3000:]
    return dict(suite.failed)


EXPECTED = {
    "test_package::test_package_installed_at_built_version":
        "package apollo: installed version-release 1.0.0-1, expected 9.9.9-1",
    "test_user::test_service_user_has_nologin_shell":
        "service user apollo has login shell /bin/bash, expected a nologin shell",
    "test_package::test_config_file_group_is_service_group[/etc/apollo/api-paste.ini]":
        "config file /etc/apollo/api-paste.ini has group root, expected apollo",
    "test_package::test_config_file_listed_by_rpm_qc[/etc/apollo/not-packaged.conf]":
        "config file /etc/apollo/not-packaged.conf is not marked %config in package apollo",
    "test_services::test_unit_is_enabled[apollo-api.service]":
        "unit apollo-api.service is not enabled (systemctl is-enabled: disabled)",
    "test_services::test_unit_security_exposure[apollo-periodic.service]":
        "unit apollo-periodic.service: systemd-analyze security exposure",
    "test_services::test_unit_journal_has_no_traceback[apollo-periodic.service]":
        "unit apollo-periodic.service: 1 traceback(s) in its journal; the first:\nTraceback (most recent call last):",
    "test_http::test_wsgi_ports_listening[apollo-api.service]":
        "unit apollo-api.service: port(s) 8799 from /etc/apollo/apollo.conf [DEFAULT] port not listening",
    "test_http::test_wsgi_answers_checks[apollo-api.service]":
        "unit apollo-api.service: GET /healthcheck did not return 200: http://127.0.0.1:8799/healthcheck -> port not listening",
}


@pytest.mark.parametrize("check", sorted(EXPECTED))
def test_tampering_fails_the_check_and_names_the_problem(tampered: dict[str, str], check: str) -> None:
    assert check in tampered, f"{check} passed on a tampered box; failed: {sorted(tampered)}"
    assert tampered[check].startswith(EXPECTED[check]), tampered[check][:500]


def test_nothing_else_fails(tampered: dict[str, str]) -> None:
    assert set(tampered) == set(EXPECTED), sorted(set(tampered) ^ set(EXPECTED))


def test_exposure_failure_gives_the_level_and_the_costliest_settings(tampered: dict[str, str]) -> None:
    first = tampered["test_services::test_unit_security_exposure[apollo-periodic.service]"].splitlines()[0]
    m = re.search(r"exposure ([0-9.]+) \S+ > 2\.0; costliest missing settings: (\S+=\S* \([0-9.]+\)(, )?)+$", first)
    assert m, first
    assert float(m.group(1)) > 2.0
