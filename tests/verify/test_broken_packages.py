"""Deliberately broken packages: the verify stage must fail and name each defect.

One variant of apollo carries three classic packaging bugs at once (one build,
one box, so the negative cases stay cheap):

* apollo-api's unit has a wrong ``ExecStart`` (a program that does not exist);
* apollo.conf is installed with mode 0644 (world-readable, may hold secrets);
* apollo-periodic's unit lost ``User=``/``Group=`` and its seccomp filter
  (it runs as root, as many hand-written units do).

The defects are made in the *generated* files after ``--stage generate`` and
before ``--stage build``, exactly where a hand edit or a template bug would
put them. The checks that have nothing to do with them must still pass: the
suite is precise, not merely noisy.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from variants import V1, WORK, Variant, sync_copy

from phoenix_rpm.verify import parse_junit

MISSING_PROGRAM = "/usr/lib/apollo/bin/apollo-api-does-not-exist"


def break_package(project: Path) -> None:
    api = project / "systemd" / "apollo-api.service"
    text, n = re.subn(r"^ExecStart=\S+", f"ExecStart={MISSING_PROGRAM}", api.read_text(), count=1, flags=re.M)
    assert n == 1, f"{api}: no ExecStart= line to break"
    api.write_text(text)

    periodic = project / "systemd" / "apollo-periodic.service"
    # Like a hand-written unit: no User=, and none of the seccomp filter that
    # would kill a root process at its first privileged call (SIGSYS).
    text, n = re.subn(r"^(User|Group|SystemCallFilter)=.*\n", "", periodic.read_text(), flags=re.M)
    assert n >= 3, f"{periodic}: expected User=, Group= and SystemCallFilter= lines to remove"
    periodic.write_text(text)

    spec = project / "rpm" / "apollo.spec"
    lines = spec.read_text().splitlines(keepends=True)
    hits = [i for i, ln in enumerate(lines) if "%config" in ln and "apollo.conf" in ln and "0640" in ln]
    assert len(hits) == 1, f"{spec}: expected one %config ... 0640 ... apollo.conf line, found {len(hits)}"
    lines[hits[0]] = lines[hits[0]].replace("0640", "0644")
    spec.write_text("".join(lines))


@pytest.fixture(scope="module")
def broken() -> tuple[Variant, subprocess.CompletedProcess[str]]:
    variant = Variant("broken", sync_copy(WORK / "broken" / "apollo"), V1)
    variant.build_only(after_generate=break_package)
    proc = variant.build_rpm("--stage", "verify", check=False)
    return variant, proc


def _failed(variant: Variant) -> dict[str, str]:
    _, _, _, failed = parse_junit(variant.dist / "verify-junit.xml")
    return dict(failed)


def _payload_file(rpm: Path, path: str) -> str:
    cpio = subprocess.run(f"rpm2cpio {rpm} | cpio -i --quiet --to-stdout .{path}", shell=True,
                          capture_output=True, text=True, check=True)
    return cpio.stdout


def test_the_defects_are_in_the_built_rpm(broken) -> None:
    """Guards the negative cases: a build that undid the defects would make them vacuous."""
    variant, _ = broken
    rpm = variant.rpm()
    modes = subprocess.run(["rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEMODES:perms}\n]", rpm],
                           capture_output=True, text=True, check=True).stdout
    assert "/etc/apollo/apollo.conf -rw-r--r--" in modes
    assert f"ExecStart={MISSING_PROGRAM}" in _payload_file(rpm, "/usr/lib/systemd/system/apollo-api.service")
    assert "User=" not in _payload_file(rpm, "/usr/lib/systemd/system/apollo-periodic.service")


def test_broken_package_fails_verification_with_exit_1(broken) -> None:
    variant, proc = broken
    assert proc.returncode == 1, proc.stderr[-4000:]
    assert f"verification of apollo-{V1}-1 failed" in proc.stderr
    assert "verify apollo-1.0.0-1: FAILED" in proc.stderr


def test_wrong_execstart_is_named(broken) -> None:
    variant, proc = broken
    line = next((ln for ln in proc.stderr.splitlines()
                 if "test_unit_is_running[apollo-api.service]:" in ln), "")
    assert line, proc.stderr[-4000:]
    assert "unit apollo-api.service is not running" in line
    assert f"ExecStart program {MISSING_PROGRAM} does not exist" in line
    # And the port check says nothing answers, naming the config option.
    assert "test_http::test_wsgi_ports_listening[apollo-api.service]" in _failed(variant)


def test_world_readable_config_is_named(broken) -> None:
    variant, proc = broken
    assert ("test_package::test_config_file_mode_0640[/etc/apollo/apollo.conf]: "
            "config file /etc/apollo/apollo.conf has mode 0644, expected 0640") in proc.stderr
    # The other config file was not broken and its check passed.
    assert "test_package::test_config_file_mode_0640[/etc/apollo/api-paste.ini]" not in _failed(variant)


def test_service_running_as_root_is_named(broken) -> None:
    variant, proc = broken
    message = _failed(variant).get("test_services::test_unit_processes_run_as_service_user[apollo-periodic.service]", "")
    assert re.match(r"unit apollo-periodic\.service: main process \d+ runs as root, expected apollo", message), message
    assert "test_unit_processes_run_as_service_user[apollo-periodic.service]: unit apollo-periodic.service" in proc.stderr


def test_only_the_defects_fail(broken) -> None:
    variant, _ = broken
    failed = set(_failed(variant))
    expected = {
        "test_services::test_unit_is_running[apollo-api.service]",
        "test_services::test_unit_processes_run_as_service_user[apollo-api.service]",
        # a unit that never runs never stays up for the settle time either
        "test_services::test_unit_stays_up_with_stable_workers[apollo-api.service]",
        "test_http::test_wsgi_ports_listening[apollo-api.service]",
        "test_http::test_wsgi_answers_checks[apollo-api.service]",
        "test_package::test_config_file_mode_0640[/etc/apollo/apollo.conf]",
        "test_services::test_unit_processes_run_as_service_user[apollo-periodic.service]",
    }
    assert expected <= failed, sorted(expected - failed)
    # Running as root also raises the unit's exposure; nothing else may fail.
    allowed = expected | {"test_services::test_unit_security_exposure[apollo-periodic.service]",
                          "test_services::test_unit_is_enabled[apollo-api.service]"}
    assert failed <= allowed, sorted(failed - allowed)
