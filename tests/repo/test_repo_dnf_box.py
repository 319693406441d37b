"""Through dnf in a booted box: install, upgrade, downgrade, remove, tamper, closure, bundled (issue 14).

The box is the dnf variant of the verification box; the repository is
served over HTTP from the host side of its veth pair; the .repo file says
gpgcheck=1 and repo_gpgcheck=1. apollo is built from copies of this tree
(as tests/verify does) at 1.0.0 and 1.0.1, whose packaged apollo.conf
differs, and signed with a throw-away key.

The upgrade scenario runs once (module fixture) and mirrors
tests/verify/test_upgrade_erase.py with dnf in place of rpm:

1. ``dnf install apollo`` (1.0.0) from the repository, ``systemctl enable --now``;
2. the admin edits apollo.conf (port 8781 -> 8782) and creates an item;
3. 1.0.1 is published into the same, live repository; ``dnf --refresh upgrade``;
4. ``dnf downgrade apollo`` back to 1.0.0;
5. ``dnf remove apollo``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verify"))
from repotools import make_rpm  # noqa: E402
from test_upgrade_erase import http, main_pid, read_optional, sh, wait_status  # noqa: E402
from variants import CONF_COMMENT, V1, V2, Variant, sync_copy  # noqa: E402

from phoenix_rpm import bundled, dnfverify, repo, verify  # noqa: E402
from phoenix_rpm.verify_plan import build_verify_plan, read_rpm  # noqa: E402

pytestmark = pytest.mark.box

WORK = Path(os.environ.get("PHOENIX_REPO_TEST_DIR", "/var/tmp/phoenix-repo-tests"))
CONF = "/etc/apollo/apollo.conf"
UNITS = ("apollo-api.service", "apollo-periodic.service")
ITEM_NAME = "dnf-upgrade-probe"


@pytest.fixture(scope="module")
def v1(gpg_key) -> Variant:
    """apollo 1.0.0, built, linted and signed (tools/build-rpm --sign)."""
    variant = Variant("v1", sync_copy(WORK / "v1" / "apollo"), V1)
    variant.build_rpm("--sign", gpg_key[1])
    return variant


@pytest.fixture(scope="module")
def v2(gpg_key) -> Variant:
    """apollo 1.0.1 whose packaged apollo.conf differs from 1.0.0's (so rpm makes .rpmnew)."""
    def edit(tree: Path) -> None:
        conf = tree / "etc" / "apollo" / "apollo.conf"
        conf.write_text(conf.read_text() + "\n" + CONF_COMMENT)

    variant = Variant("v2", sync_copy(WORK / "v2" / "apollo", edit), V2)
    variant.build_rpm("--sign", gpg_key[1])
    return variant


def packages(variant: Variant) -> list[Path]:
    return sorted(variant.dist.glob(f"apollo-{variant.version}-*.rpm"))


# --- (a) the CLI: publish to a fresh repository, dnf install, the suite ---------------


def test_verify_through_dnf_with_signature_checks(v1: Variant, gpg_key, tmp_path: Path) -> None:
    target = tmp_path / "fleet"
    proc = v1.build_rpm("--sign", gpg_key[1], "--verify", "--repo", str(target))
    err = proc.stderr
    assert "dnf install apollo from fleet (gpgcheck=1 repo_gpgcheck=1) done" in err, err[-3000:]
    assert f"verify apollo-{V1}-1: PASSED" in err
    assert "repoclosure of fleet against the box's base system: 1 packages, 0 with unresolved requires" \
        in err, err[-3000:]
    tests, passed, skipped, failed = verify.parse_junit(v1.dist / "verify-junit.xml")
    assert failed == [] and passed == tests > 20
    text = (target / "fleet.repo").read_text().splitlines()
    assert "gpgcheck=1" in text and "repo_gpgcheck=1" in text
    assert (target / "RPM-GPG-KEY-fleet").is_file()
    assert (target / "x86_64" / "repodata" / "repomd.xml.asc").is_file()
    assert (target / "source" / "Packages" / "a" / f"apollo-{V1}-1.src.rpm").is_file()


# --- (b) upgrade, downgrade, remove through dnf ------------------------------------------------


@dataclasses.dataclass
class Observed:
    install_output: str = ""
    v1_ready: bool = False
    item_id: str = ""
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
    downgrade_output: str = ""
    version_after_downgrade: str = ""
    conf_after_downgrade: str = ""
    status_after_downgrade: str = ""
    pid_after_downgrade: int = 0
    item_after_downgrade: dict[str, Any] = dataclasses.field(default_factory=dict)
    remove_output: str = ""
    rpm_q_after_remove: str = ""
    active_after_remove: dict[str, str] = dataclasses.field(default_factory=dict)
    enabled_after_remove: dict[str, str] = dataclasses.field(default_factory=dict)
    user_processes_after_remove: str = ""
    rpmsave: str | None = None
    item_in_state_dir: bool = False
    user_after_remove: str = ""
    whatprovides_webob: str = ""
    box_sbom: dict[str, Any] = dataclasses.field(default_factory=dict)
    pip_list: list[dict[str, str]] = dataclasses.field(default_factory=list)
    provides: list[str] = dataclasses.field(default_factory=list)
    closure_with_needy: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def item(box: Any, port: int, item_id: str) -> dict[str, Any]:
    code, body = http(box, "GET", f"http://127.0.0.1:{port}/v1/items/{item_id}")
    return json.loads(body).get("item", {}) if code == 200 else {"status": code, "body": body}


@pytest.fixture(scope="module")
def observed(v1: Variant, v2: Variant, gpg_key, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    from phoenix_rpm.box import booted
    from phoenix_rpm.generate import load_plan

    uid = gpg_key[1]
    work = tmp_path_factory.mktemp("dnf-upgrade")
    target = work / "fleet"
    published = repo.publish(target, packages(v1), sign=uid)
    plan1 = build_verify_plan(load_plan(v1.project), read_rpm(v1.rpm()))
    plan2 = build_verify_plan(load_plan(v2.project), read_rpm(v2.rpm()))
    obs = Observed()
    with booted(dnfverify.dnf_root()) as box, dnfverify.serving(box, target, work / "http.log") as url:
        dnfverify.configure(box, published, url)
        # 1. install and start 1.0.0
        obs.install_output = dnfverify.dnf_install(box, "apollo").stdout
        verify.enable_now(box, list(UNITS))
        obs.v1_ready = verify.wait_ready(box, plan1)
        # what is bundled, asked the way a security team asks
        obs.whatprovides_webob = dnfverify.dnf(box, "repoquery", "--whatprovides",
                                               "bundled(python3dist(webob))").stdout
        sbom_path = sh(box, "rpm -ql apollo | grep '/apollo.cdx.json$'")
        obs.box_sbom = json.loads(sh(box, f"cat {sbom_path}"))
        obs.pip_list = json.loads(sh(box, "cd / && /usr/lib/apollo/bin/python -m pip list --format json "
                                          "--disable-pip-version-check"))
        obs.provides = sh(box, "rpm -q --provides apollo").splitlines()
        # 2. the admin's edit (no restart) and some data
        sh(box, f"sed -i -E 's/^port *=.*/port = 8780,8782/' {CONF}")
        code, body = http(box, "POST", "http://127.0.0.1:8780/v1/items",
                          {"item": {"name": ITEM_NAME, "value": {"kept": True}}})
        assert code == 201, f"POST /v1/items on apollo {V1} returned {code}: {body}"
        obs.item_id = json.loads(body)["item"]["id"]
        obs.pid_before = main_pid(box, UNITS[0])
        obs.periodic_pid_before = main_pid(box, UNITS[1])
        # 3. publish 1.0.1 into the live repository, upgrade through dnf
        repo.publish(target, packages(v2), sign=uid)
        obs.upgrade_output = dnfverify.dnf_install(box, "--refresh", "apollo", action="upgrade").stdout
        obs.version_after = sh(box, "rpm -q --qf '%{VERSION}-%{RELEASE}' apollo")
        obs.conf_after = sh(box, f"cat {CONF}")
        obs.rpmnew = read_optional(box, CONF + ".rpmnew")
        obs.edited_port_status = wait_status(box, "http://127.0.0.1:8782/healthcheck")
        obs.pid_after = main_pid(box, UNITS[0])
        obs.periodic_pid_after = main_pid(box, UNITS[1])
        obs.old_port_listening = ":8781 " in sh(box, "ss -Htln", check=False) + " "
        obs.item_after = item(box, 8782, obs.item_id)
        obs.suite_v2 = verify.run_suite(box, plan2.write(work / "verify-plan-v2.json"), work / "junit-v2.xml")
        # 4. back to 1.0.0
        obs.downgrade_output = dnfverify.dnf_install(box, "apollo", action="downgrade").stdout
        obs.version_after_downgrade = sh(box, "rpm -q --qf '%{VERSION}-%{RELEASE}' apollo")
        obs.conf_after_downgrade = sh(box, f"cat {CONF}")
        obs.status_after_downgrade = wait_status(box, "http://127.0.0.1:8782/healthcheck")
        obs.pid_after_downgrade = main_pid(box, UNITS[0])
        obs.item_after_downgrade = item(box, 8782, obs.item_id)
        # 5. remove
        obs.remove_output = dnfverify.dnf_install(box, "apollo", action="remove").stdout
        obs.rpm_q_after_remove = sh(box, "rpm -q apollo", check=False)
        for unit in UNITS:
            shown = sh(box, f"systemctl show -p ActiveState,Result {unit}", check=False)
            props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
            obs.active_after_remove[unit] = f"{props.get('ActiveState')}/{props.get('Result')}"
            obs.enabled_after_remove[unit] = sh(box, f"systemctl is-enabled {unit} 2>&1", check=False)
        obs.user_processes_after_remove = sh(box, "pgrep -u apollo -a || true")
        obs.rpmsave = read_optional(box, CONF + ".rpmsave")
        obs.item_in_state_dir = bool(sh(box, f"grep -rl {ITEM_NAME} /var/lib/apollo || true"))
        obs.user_after_remove = sh(box, "getent passwd apollo || true")
        # (d) negative repoclosure: a package nothing can satisfy, published signed
        needy = make_rpm(work / "needy", "needy", "1.0", requires="phoenix-no-such-capability")
        from phoenix_rpm import sign

        sign.sign([needy], uid, epoch=0)
        repo.publish(target, [needy], sign=uid)
        dnfverify.dnf(box, "--refresh", "makecache")
        obs.closure_with_needy = dnfverify.repoclosure(box, published.repo_id)
    yield obs


def test_dnf_installs_v1_and_it_comes_up(observed: Observed) -> None:
    assert f"apollo-{V1}-1" in observed.install_output.replace(" ", "") or \
        f"apollo-{V1}-1.x86_64" in observed.install_output, observed.install_output[-2000:]
    assert observed.v1_ready


def test_dnf_upgrade_installs_v2_and_keeps_the_admins_edit(observed: Observed) -> None:
    assert observed.version_after == f"{V2}-1", observed.upgrade_output
    assert "port = 8780,8782" in observed.conf_after
    assert observed.rpmnew is not None and CONF_COMMENT.strip() in observed.rpmnew


def test_dnf_upgrade_restarts_the_services_on_the_edited_port(observed: Observed) -> None:
    assert observed.pid_after not in (0, observed.pid_before)
    assert observed.periodic_pid_after not in (0, observed.periodic_pid_before)
    assert observed.edited_port_status == "200"
    assert not observed.old_port_listening


def test_dnf_upgrade_keeps_the_data(observed: Observed) -> None:
    assert observed.item_after.get("id") == observed.item_id, observed.item_after
    assert observed.item_after.get("value") == {"kept": True}


def test_upgraded_box_passes_the_whole_suite(observed: Observed) -> None:
    suite = observed.suite_v2
    assert suite is not None and suite.ok, "\n".join(f"{n}: {m}" for n, m in (suite.failed if suite else []))
    assert suite.passed == suite.tests > 20


def test_dnf_downgrade_goes_back_to_v1_and_keeps_config_and_data(observed: Observed) -> None:
    assert observed.version_after_downgrade == f"{V1}-1", observed.downgrade_output
    assert "port = 8780,8782" in observed.conf_after_downgrade
    assert observed.status_after_downgrade == "200"
    assert observed.item_after_downgrade.get("id") == observed.item_id, observed.item_after_downgrade


def test_dnf_remove_behaves_like_rpm_e(observed: Observed) -> None:
    assert "not installed" in observed.rpm_q_after_remove, observed.remove_output
    for unit in UNITS:
        assert observed.active_after_remove[unit] == "inactive/success", observed.active_after_remove
        assert observed.enabled_after_remove[unit] != "enabled", observed.enabled_after_remove
    assert observed.user_processes_after_remove == ""
    assert observed.rpmsave is not None and "port = 8780,8782" in observed.rpmsave
    assert observed.item_in_state_dir, "the data in /var/lib/apollo is gone after dnf remove"
    assert re.match(r"apollo:x:\d+:\d+:", observed.user_after_remove), observed.user_after_remove


# --- (d) repoclosure ---------------------------------------------------------------------------


def test_repoclosure_names_an_unresolvable_require(observed: Observed) -> None:
    closure = observed.closure_with_needy
    assert closure.get("needy-1.0-1.noarch") == ["phoenix-no-such-capability"], closure
    assert all(not missing for pkg, missing in closure.items() if pkg.startswith("apollo-")), closure


# --- what is bundled ------------------------------------------------------------------------------


def test_repoquery_whatprovides_bundled_webob_lists_apollo(observed: Observed) -> None:
    assert re.search(rf"^apollo-0:{re.escape(V1)}-1\.x86_64$", observed.whatprovides_webob, re.M) or \
        re.search(rf"^apollo-0:{re.escape(V2)}-1\.x86_64$", observed.whatprovides_webob, re.M), \
        observed.whatprovides_webob


def _norm(name: str) -> str:
    return bundled.normalise(name)


def test_sbom_lists_exactly_what_pip_list_shows(observed: Observed) -> None:
    sbom = observed.box_sbom
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    in_sbom = {(_norm(c["name"]), c["version"]) for c in sbom["components"]}
    in_venv = {(_norm(d["name"]), d["version"]) for d in observed.pip_list}
    assert in_sbom == in_venv
    assert ("webob", next(v for n, v in in_venv if n == "webob")) in in_sbom
    assert all(c["purl"] == f"pkg:pypi/{_norm(c['name'])}@{c['version']}" for c in sbom["components"])


def test_bundled_provides_match_the_venv(observed: Observed) -> None:
    provided = {m.group(1): m.group(2) for line in observed.provides
                if (m := re.match(r"bundled\(python3dist\(([^)]+)\)\) = (\S+)$", line))}
    venv = {_norm(d["name"]): bundled.rpm_version(d["version"]) for d in observed.pip_list
            if _norm(d["name"]) != "apollo"}
    assert provided == venv


def test_sbom_is_published_beside_the_repository(observed: Observed, v1: Variant) -> None:
    beside = json.loads(repo.sbom_of(v1.rpm(), "apollo") or b"{}")
    assert beside == observed.box_sbom


# --- (c) tampering -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_repo(v1: Variant, gpg_key, tmp_path_factory: pytest.TempPathFactory) -> repo.PublishResult:
    return repo.publish(tmp_path_factory.mktemp("clean") / "fleet", packages(v1), sign=gpg_key[1])


def tampered_copy(clean: repo.PublishResult, where: Path) -> repo.PublishResult:
    shutil.copytree(clean.repo_dir, where)
    return dataclasses.replace(clean, repo_dir=where, repo_file=where / clean.repo_file.name,
                               key_file=where / clean.key_file.name if clean.key_file else None)


def run_through_dnf(v1: Variant, published: repo.PublishResult, work: Path) -> verify.VerifyReport:
    from phoenix_rpm.generate import load_plan

    rpm = read_rpm(v1.rpm())
    plan = build_verify_plan(load_plan(v1.project), rpm)
    return dnfverify.verify_through_dnf(rpm, plan, plan.write(work / "plan.json"), work / "junit.xml",
                                        published)


def test_tampered_metadata_fails_with_a_signature_error(v1: Variant, clean_repo, tmp_path: Path) -> None:
    bad = tampered_copy(clean_repo, tmp_path / "fleet")
    repomd = bad.trees["binary"].name
    path = bad.repo_dir / repomd / "repodata" / "repomd.xml"
    path.write_text(path.read_text().replace("</repomd>", "<!-- tampered --></repomd>"))
    report = run_through_dnf(v1, bad, tmp_path)
    assert not report.ok
    assert any("repomd.xml GPG signature verification error" in p for p in report.problems), report.problems


def test_tampered_package_fails_with_a_checksum_error(v1: Variant, clean_repo, tmp_path: Path) -> None:
    bad = tampered_copy(clean_repo, tmp_path / "fleet")
    pkg = next((bad.repo_dir / clean_repo.trees["binary"].name / "Packages").rglob("apollo-*.rpm"))
    data = bytearray(pkg.read_bytes())
    data[len(data) // 2] ^= 0xFF          # one byte of the payload, size unchanged
    pkg.write_bytes(bytes(data))
    report = run_through_dnf(v1, bad, tmp_path)
    assert not report.ok
    assert any(f"apollo-{V1}-1.x86_64.rpm: Downloading successful, but checksum doesn't match" in p
               for p in report.problems), report.problems
