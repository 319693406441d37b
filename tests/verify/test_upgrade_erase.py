"""Upgrade and erase in one box: what an admin's edits and data go through (issue 5, part 4).

The scenario, run once (module fixture) in a freshly booted box:

1. ``rpm -ivh`` apollo 1.0.0, ``systemctl enable --now`` its units;
2. the admin edits /etc/apollo/apollo.conf (port 8781 -> 8782, no restart)
   and creates an item through the API;
3. ``rpm -Uvh`` apollo 1.0.1, whose packaged apollo.conf differs;
4. ``rpm -e apollo``.

Each test then checks one promise against what was observed; the names say
which promise. The edited port only answers if the upgrade restarted the
service with the admin's file: the strongest proof of both at once.
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import Any, Iterator

import pytest
from variants import CONF_COMMENT, V1, V2, Variant

from phoenix_rpm import verify
from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

CONF = "/etc/apollo/apollo.conf"
UNITS = ("apollo-api.service", "apollo-periodic.service")
ITEM_NAME = "upgrade-probe"


@dataclasses.dataclass
class Observed:
    """Facts gathered along the scenario (strings as the box printed them)."""

    v1_ready: bool = False
    item_id: str = ""
    conf_before: str = ""
    pid_before: int = 0
    periodic_pid_before: int = 0
    upgrade_output: str = ""
    version_after: str = ""
    conf_after: str = ""
    rpmnew: str | None = None
    pid_after: int = 0
    periodic_pid_after: int = 0
    edited_port_status: str = ""
    old_port_listening: bool = True
    item_after: dict[str, Any] = dataclasses.field(default_factory=dict)
    suite_v2: verify.SuiteResult | None = None
    erase_output: str = ""
    rpm_q_after_erase: str = ""
    active_after_erase: dict[str, str] = dataclasses.field(default_factory=dict)
    enabled_after_erase: dict[str, str] = dataclasses.field(default_factory=dict)
    user_processes_after_erase: str = ""
    conf_exists_after_erase: bool = True
    rpmsave: str | None = None
    state_dir_files: list[str] = dataclasses.field(default_factory=list)
    item_in_state_dir: bool = False
    user_after_erase: str = ""


def sh(box: Any, script: str, *, check: bool = True) -> str:
    return verify.box_shell(box, script, check=check).strip()


def read_optional(box: Any, path: str) -> str | None:
    out = box.exec(["cat", path], check=False)
    return out.stdout if out.returncode == 0 else None


def main_pid(box: Any, unit: str) -> int:
    return int(sh(box, f"systemctl show -p MainPID --value {unit}") or 0)


def http(box: Any, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    argv = ["curl", "-sS", "-o", "/dev/stdout", "-w", "\n%{http_code}", "-X", method, url]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data", json.dumps(body)]
    proc = box.exec(argv, check=False, timeout=30)
    text, _, code = proc.stdout.rpartition("\n")
    return (int(code) if code.strip().isdigit() else 0), text


def wait_status(box: Any, url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    code = 0
    while time.monotonic() < deadline:
        code, _ = http(box, "GET", url)
        if code == 200:
            break
        time.sleep(0.3)
    return str(code)


@pytest.fixture(scope="module")
def observed(built_v1: Variant, apollo_v2: Variant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    from phoenix_rpm.box import booted, ensure_root
    from phoenix_rpm.generate import load_plan

    rpm1, rpm2 = read_rpm(built_v1.rpm()), read_rpm(apollo_v2.rpm())
    plan2 = build_verify_plan(load_plan(apollo_v2.project), rpm2)
    work = tmp_path_factory.mktemp("upgrade")
    obs = Observed()
    with booted(ensure_root()) as box:
        # 1. install and start v1
        verify.install_rpm(box, rpm1.path)
        verify.enable_now(box, list(UNITS))
        obs.v1_ready = verify.wait_ready(box, build_verify_plan(load_plan(built_v1.project), rpm1))
        # 2. the admin's edit (no restart) and some data
        sh(box, f"sed -i -E 's/^port *=.*/port = 8780,8782/' {CONF}")
        obs.conf_before = sh(box, f"cat {CONF}")
        code, body = http(box, "POST", "http://127.0.0.1:8780/v1/items",
                          {"item": {"name": ITEM_NAME, "value": {"kept": True}}})
        assert code == 201, f"POST /v1/items on apollo {V1} returned {code}: {body}"
        obs.item_id = json.loads(body)["item"]["id"]
        obs.pid_before = main_pid(box, UNITS[0])
        obs.periodic_pid_before = main_pid(box, UNITS[1])
        # 3. upgrade
        obs.upgrade_output = verify.install_rpm(box, rpm2.path, upgrade=True).stdout
        obs.version_after = sh(box, "rpm -q --qf '%{VERSION}-%{RELEASE}' apollo")
        obs.conf_after = sh(box, f"cat {CONF}")
        obs.rpmnew = read_optional(box, CONF + ".rpmnew")
        obs.edited_port_status = wait_status(box, "http://127.0.0.1:8782/healthcheck")
        obs.pid_after = main_pid(box, UNITS[0])
        obs.periodic_pid_after = main_pid(box, UNITS[1])
        obs.old_port_listening = ":8781 " in sh(box, "ss -Htln", check=False) + " "
        code, body = http(box, "GET", f"http://127.0.0.1:8782/v1/items/{obs.item_id}")
        obs.item_after = json.loads(body).get("item", {}) if code == 200 else {"status": code, "body": body}
        # The whole suite against the upgraded box and the admin's config.
        obs.suite_v2 = verify.run_suite(box, plan2.write(work / "verify-plan-v2.json"), work / "junit-v2.xml")
        # 4. erase
        obs.erase_output = verify.box_shell(box, "rpm -e apollo 2>&1")
        obs.rpm_q_after_erase = sh(box, "rpm -q apollo", check=False)
        for unit in UNITS:
            props = dict(line.split("=", 1) for line in
                         sh(box, f"systemctl show -p ActiveState,Result {unit}", check=False).splitlines() if "=" in line)
            # e.g. inactive/success, or failed/timeout for a unit killed after TimeoutStopSec
            obs.active_after_erase[unit] = f"{props.get('ActiveState')}/{props.get('Result')}"
            obs.enabled_after_erase[unit] = sh(box, f"systemctl is-enabled {unit} 2>&1", check=False)
        obs.user_processes_after_erase = sh(box, "pgrep -u apollo -a || true")
        obs.conf_exists_after_erase = box.exec(["test", "-e", CONF], check=False).returncode == 0
        obs.rpmsave = read_optional(box, CONF + ".rpmsave")
        obs.state_dir_files = sh(box, "ls -A /var/lib/apollo 2>/dev/null || true").split()
        obs.item_in_state_dir = bool(sh(box, f"grep -rl {ITEM_NAME} /var/lib/apollo || true"))
        obs.user_after_erase = sh(box, "getent passwd apollo || true")
    yield obs


# --- after rpm -Uvh ------------------------------------------------------------


def test_v1_was_up_before_the_upgrade(observed: Observed) -> None:
    assert observed.v1_ready
    assert "port = 8780,8782" in observed.conf_before
    assert observed.pid_before > 0 and observed.periodic_pid_before > 0


def test_upgrade_installs_v2(observed: Observed) -> None:
    assert observed.version_after == f"{V2}-1", observed.upgrade_output


def test_upgrade_keeps_the_admins_edit(observed: Observed) -> None:
    assert "port = 8780,8782" in observed.conf_after
    assert CONF_COMMENT.strip() not in observed.conf_after


def test_upgrade_writes_the_new_packaged_config_as_rpmnew(observed: Observed) -> None:
    assert observed.rpmnew is not None, f"no {CONF}.rpmnew after the upgrade:\n{observed.upgrade_output}"
    assert CONF_COMMENT.strip() in observed.rpmnew
    assert "port = 8780,8781" in observed.rpmnew


def test_upgrade_restarts_the_services(observed: Observed) -> None:
    assert observed.pid_after > 0, "apollo-api has no main process after the upgrade"
    assert observed.pid_after != observed.pid_before, "apollo-api was not restarted by rpm -Uvh"
    assert observed.periodic_pid_after not in (0, observed.periodic_pid_before), "apollo-periodic was not restarted"


def test_restarted_service_answers_on_the_edited_port(observed: Observed) -> None:
    assert observed.edited_port_status == "200"
    assert not observed.old_port_listening, "port 8781 still listens: the edit was not applied"


def test_upgrade_keeps_the_data(observed: Observed) -> None:
    assert observed.item_after.get("id") == observed.item_id, observed.item_after
    assert observed.item_after.get("name") == ITEM_NAME
    assert observed.item_after.get("value") == {"kept": True}


def test_upgraded_box_passes_the_whole_suite(observed: Observed) -> None:
    suite = observed.suite_v2
    assert suite is not None and suite.ok, "\n".join(f"{n}: {m}" for n, m in (suite.failed if suite else []))
    assert suite.passed == suite.tests > 20


# --- after rpm -e --------------------------------------------------------------


def test_erase_removes_the_package(observed: Observed) -> None:
    assert "not installed" in observed.rpm_q_after_erase, observed.erase_output


def test_erase_stops_and_disables_the_services(observed: Observed) -> None:
    for unit in UNITS:
        state = observed.active_after_erase[unit]
        assert state == "inactive/success", (
            f"{unit} after rpm -e is {state} (ActiveState/Result), expected a clean stop (inactive/success); "
            "failed/timeout means it ignored SIGTERM until systemd killed it after TimeoutStopSec")
        assert observed.enabled_after_erase[unit] != "enabled", (unit, observed.enabled_after_erase)
    assert observed.user_processes_after_erase == "", f"processes of apollo left: {observed.user_processes_after_erase}"


def test_erase_saves_the_edited_config_as_rpmsave(observed: Observed) -> None:
    assert not observed.conf_exists_after_erase
    assert observed.rpmsave is not None, f"no {CONF}.rpmsave after rpm -e:\n{observed.erase_output}"
    assert "port = 8780,8782" in observed.rpmsave


def test_erase_keeps_the_data_directory(observed: Observed) -> None:
    assert observed.state_dir_files, "/var/lib/apollo is gone or empty after rpm -e"
    assert observed.item_in_state_dir, f"the item is not in /var/lib/apollo any more: {observed.state_dir_files}"


def test_erase_keeps_the_service_user(observed: Observed) -> None:
    assert re.match(r"apollo:x:\d+:\d+:", observed.user_after_erase), observed.user_after_erase
