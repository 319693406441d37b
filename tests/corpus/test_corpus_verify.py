"""Real OpenStack services running for real: the corpus under ``tools/build-rpm --verify`` (issue 13).

Each project with a verify profile (``corpus.Entry.profile``: the lines a
user writes into setup.cfg, at most about ten) is built and verified in a
booted box on real MariaDB/RabbitMQ: every daemon healthy (active,
unrestarted, no worker crash-loop, no traceback), every API answering its
checks, the database schema present. CI verifies the ``verify_ci`` subset,
``PHOENIX_CORPUS=all`` every profiled project (docs/corpus.md gives the
times). Checkouts live at stable paths under ``$PHOENIX_VERIFY_TEST_DIR``,
so an unchanged project is not rebuilt from one run to the next.
"""
from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from corpus import CORPUS, PLACEMENT_PROFILE, VERIFY_DIR, Entry, build_rpm, profile_lines, verify, verify_checkout

ALL = os.environ.get("PHOENIX_CORPUS") == "all"
VERIFIED = [e for e in CORPUS if e.profile and (e.verify_ci or ALL)]


def _cases(junit: str) -> dict[str, str]:
    """test name -> "passed" | "failed" | "skipped", from the verify junit XML."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = re.sub(r"-?ssh://[^\]]*", "", case.get("name", "")).replace("[]", "")
        out[name] = ("failed" if case.find("failure") is not None or case.find("error") is not None
                     else "skipped" if case.find("skipped") is not None else "passed")
    return out


@pytest.mark.parametrize("entry", VERIFIED, ids=[f"{e.dist}-{e.version}" for e in VERIFIED])
def test_verify_passes_with_a_short_profile(entry: Entry) -> None:
    assert profile_lines(entry.profile) <= 12, entry.profile  # "about ten" (docs/corpus.md: 7-11)
    result = verify(entry)
    err = result["stderr"]
    assert result["returncode"] == 0, err[-6000:]
    assert f"verify {entry.dist}-{entry.version}-1: PASSED" in err, err[-3000:]
    assert re.search(r"checks: \d+ passed, 0 failed, \d+ skipped", err), err[-3000:]
    cases = _cases(str(result["project"] / "dist" / "verify-junit.xml"))
    skipped = {name for name, state in cases.items() if state == "skipped"}
    http = bool(entry.apps) or any(d.endswith("-api") for d in entry.daemons)
    # Only a package with no HTTP service (zaqar-server: neither -api nor
    # wsgi_scripts) skips the HTTP checks, with its reason in the report.
    assert skipped <= ({"test_wsgi_ports_listening[none]", "test_wsgi_answers_checks[none]"} if not http else set()), \
        skipped
    assert all(f"SKIPPED test_http::{name}: package {entry.dist.removeprefix('openstack-')}" in err
               or f"SKIPPED test_http::{name}: package {entry.dist}" in err for name in skipped), err[-3000:]
    assert {state for name, state in cases.items() if name not in skipped} == {"passed"}, cases
    if "needs = mariadb" in entry.profile or "needs = postgresql" in entry.profile:
        assert cases.get("test_database_schema_present") == "passed", sorted(cases)
    chosen = re.search(r"^services = (.*)$", entry.profile, re.M)  # [phoenix:rpm] services narrows them
    for daemon in (*entry.daemons, *entry.apps):
        if chosen and daemon not in chosen.group(1).split():
            assert not any(f"[{daemon}.service]" in c for c in cases), (daemon, sorted(cases))
            continue
        unit = f"{daemon}.service"
        for check in ("test_unit_is_running", "test_unit_stays_up_with_stable_workers",
                      "test_unit_journal_has_no_traceback", "test_unit_journal_has_no_error_log"):
            assert cases.get(f"{check}[{unit}]") == "passed", (check, unit, sorted(cases))
    for app in entry.apps:
        assert cases.get(f"test_wsgi_answers_checks[{app}.service]") == "passed", sorted(cases)
    assert "memory (RSS after the suite): " in err, err[-2000:]


def test_placement_without_its_driver_is_refused_before_a_box_boots() -> None:
    """The profile needs MariaDB but the package carries no MySQL driver: exit 2, the key named."""
    entry = next(e for e in CORPUS if e.dist == "openstack-placement")
    profile = PLACEMENT_PROFILE.replace("[phoenix:rpm]\nrequirements = PyMySQL\n", "")
    assert "PyMySQL" not in profile
    result = verify(entry, profile, "nodriver")
    err = result["stderr"]
    assert result["returncode"] == 2, err[-4000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"build-rpm: error: {result['project'] / 'setup.cfg'}: [phoenix:verify] needs = "
                           "mariadb: the package carries no mariadb client library"), last
    assert "[phoenix:rpm] requirements = PyMySQL" in last
    assert "boot a fresh box" not in err and "Traceback" not in err


def test_placement_with_mariadb_left_out_fails_naming_the_unit_and_traceback() -> None:
    """The same RPM verified with a profile that forgets the database: exit 1, unit and traceback named.

    The package is the one the passing test built (built here if missing);
    only the profile differs, so ``--stage verify`` on a copy of the
    checkout with the edited setup.cfg (the RPM hard-linked) is enough.
    """
    entry = next(e for e in CORPUS if e.dist == "openstack-placement")
    project = verify_checkout(entry, entry.profile)
    rpms = sorted((project / "dist").glob("*.x86_64.rpm"))
    if not rpms:
        built = build_rpm(project, timeout=2400)
        assert built.returncode == 0, built.stderr[-4000:]
        rpms = sorted((project / "dist").glob("*.x86_64.rpm"))
    work = VERIFY_DIR / "openstack-placement-nodb"
    shutil.rmtree(work, ignore_errors=True)
    copy = work / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("dist"), symlinks=True)
    (copy / "dist").mkdir()
    for rpm in rpms:
        os.link(rpm, copy / "dist" / rpm.name)
    cfg = copy / "setup.cfg"
    text = cfg.read_text()
    head = text[:text.index("[phoenix:verify]")]
    cfg.write_text(head + "[phoenix:verify]\nchecks =\n    placement-api: GET / -> 200\n")
    proc = build_rpm(copy, "--stage", "verify", timeout=900)
    err = proc.stderr
    assert proc.returncode == 1, err[-4000:]
    assert "verify openstack-placement-16.0.0-1: FAILED" in err
    assert "FAILED test_services::test_unit_journal_has_no_traceback[placement-api.service]" in err, err[-4000:]
    assert "FAILED test_http::test_wsgi_ports_listening[placement-api.service]" in err
    # the traceback's head and its exception line, in the console report
    assert "Traceback (most recent call last):" in err
    assert "RequiredOptError: value required for option connection in group [placement_database]" in err
    assert "journalctl -u placement-api.service" in err
