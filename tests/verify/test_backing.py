"""Real services on real backing servers: tools/build-rpm --verify on tests/data/hermes.

hermes is a small pbr service (no phoenix): an API (wsgiref, threaded) and a
worker daemon (a main process forking workers), both on MariaDB (PyMySQL)
and RabbitMQ (kombu), with ``hermes-manage db sync`` as its setup command.
Its profile ([phoenix:verify] in its setup.cfg) is what a user writes.

One build, three boxes (docs/verify.md, "Tests"):

* the profile as written: exit 0; real MariaDB and RabbitMQ in the box,
  the schema made by db sync answers through the API;
* the same RPM, ``rabbitmq`` left out of ``needs``: exit 1, both units and
  the traceback (no transport_url) named;
* the same RPM, broken by its config (the API's listener cannot bind, the
  worker's handler does not exist): the API whose port never opens and the
  worker crash-loop with the main process up are each named with their
  traceback; run with --keep-box, whose printed ssh command reaches the box
  and whose printed removal removes it.

Cost: one build (about 30 s with warm wheel caches) and three verify runs
(25-60 s each, the broken one waits the 30 s ready bound); the box root with
MariaDB and RabbitMQ is made once per package list (about 25 s to several
minutes, then cached).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from variants import BUILD_RPM, COMMIT_DATE, ROOT, WORK

FIXTURE = ROOT / "tests" / "data" / "hermes"
VERSION = "1.0.0"


def _copy(name: str, edit_cfg: str = "", dist_from: Path | None = None) -> Path:
    """The fixture at a stable path (unchanged files keep their bytes: no rebuild), committed."""
    dest = WORK / "hermes" / name
    if dest.exists():
        for entry in dest.iterdir():
            if entry.name not in (".git", "dist"):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(FIXTURE, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("dist", "__pycache__"))
    if edit_cfg:
        cfg = dest / "setup.cfg"
        text = cfg.read_text()
        for line in edit_cfg.splitlines():
            old, sep, new = line.partition(" => ")
            if sep:
                assert old in text, f"fixture setup.cfg lacks {old!r}"
                text = text.replace(old, new)
            else:
                text += line + "\n"
        cfg.write_text(text)
    if dist_from is not None:
        shutil.rmtree(dest / "dist", ignore_errors=True)
        shutil.copytree(dist_from, dest / "dist")
    git = ["git", "-c", "user.name=phoenix tests", "-c", "user.email=tests@example.org", "-c", "init.defaultBranch=main"]
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
    if not (dest / ".git").is_dir():
        subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    (dest / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (dest / ".git" / "info" / "exclude").write_text("/dist/\n")
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    if subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=dest).returncode != 0 or \
            subprocess.run(["git", "rev-parse", "HEAD"], cwd=dest, capture_output=True).returncode != 0:
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "fixture"], cwd=dest, env=env, check=True)
    return dest


def _build_rpm(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILD_RPM), *args, str(project)], text=True, capture_output=True, timeout=1800,
                          env={**os.environ, "PBR_VERSION": VERSION})


def _junit_failures(project: Path) -> dict[str, str]:
    """{"module::test[unit]": whole message} of the failed checks (the stage's own reader)."""
    from phoenix_rpm.verify import parse_junit

    return dict(parse_junit(project / "dist" / "verify-junit.xml")[3])


@pytest.fixture(scope="module")
def hermes_verified() -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = _copy("good")
    return project, _build_rpm(project, "--verify")


def test_hermes_passes_verify_on_real_mariadb_and_rabbitmq(hermes_verified) -> None:
    project, proc = hermes_verified
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stderr[-6000:]}"
    err = proc.stderr
    assert f"verify hermes-{VERSION}-1: PASSED" in err
    assert "backing servers: start mariadb.service rabbitmq-server.service" in err
    assert "setup as hermes: hermes-manage db sync done" in err
    assert "backing servers: mariadb, rabbitmq (settings in /etc/hermes/hermes.conf.d/50-phoenix-verify.conf)" in err
    plan = json.loads((project / "dist" / "verify-plan.json").read_text())
    assert plan["needs"] == ["mariadb", "rabbitmq"]
    # The API's checks ran against the port its process really listens on:
    # GET /v1/notes reads the table db sync made in MariaDB, /v1/status
    # declares the queue on RabbitMQ.
    http = {h["unit"]: h for h in plan["http"]}
    assert [p["path"] for p in http["hermes-api.service"]["probes"]] == ["/", "/v1/notes", "/v1/status"]
    junit = (project / "dist" / "verify-junit.xml").read_text()
    for check in ("test_wsgi_answers_checks[hermes-api.service", "test_wsgi_ports_listening[hermes-api.service",
                  "test_unit_stays_up_with_stable_workers[hermes-worker.service",
                  "test_unit_stays_up_with_stable_workers[hermes-api.service",
                  "test_unit_journal_has_no_traceback[hermes-worker.service"):
        assert check in junit, f"{check} did not run"
    assert _junit_failures(project) == {}


def test_rabbitmq_left_out_of_needs_fails_naming_units_and_traceback(hermes_verified) -> None:
    good, _ = hermes_verified
    assert (good / "dist").is_dir(), "the good build made no dist/"
    project = _copy("no-rabbitmq", "needs = mariadb rabbitmq => needs = mariadb", dist_from=good / "dist")
    proc = _build_rpm(project, "--stage", "verify")
    assert proc.returncode == 1, f"exit {proc.returncode}:\n{proc.stderr[-4000:]}"
    err = proc.stderr
    assert "rabbitmq-server.service" not in err.split("verify hermes")[0]  # no broker started
    assert f"verify hermes-{VERSION}-1: FAILED" in err
    # The API exits and is restarted every RestartSec: whether it is "running"
    # at the instant of that check is chance; its restarts (NRestarts) are not.
    assert "test_services::test_unit_stays_up_with_stable_workers[hermes-api.service]" in err
    assert "test_services::test_unit_stays_up_with_stable_workers[hermes-worker.service]" in err
    # The report shows the traceback down to its exception, not a cut line.
    assert "RuntimeError: no [DEFAULT] transport_url configured: hermes needs RabbitMQ" in err
    assert "journalctl -u hermes-api.service" in err and "--keep-box" in err


def test_broken_service_named_with_traceback_and_kept_box(hermes_verified) -> None:
    good, _ = hermes_verified
    project = _copy("broken", "config =\n    api.bind_host = 192.0.2.10\n    worker.handler = hermes.handlers:missing",
                    dist_from=good / "dist")
    proc = _build_rpm(project, "--stage", "verify", "--keep-box")
    err = proc.stderr
    m = re.search(r"log in with  (ssh -F (\S+) (phx-\w+))", err)
    try:
        assert proc.returncode == 1, f"exit {proc.returncode}:\n{err[-4000:]}"
        failures = _junit_failures(project)
        # An API whose port never opens, its process up: named, with the bind error.
        listening = failures["test_http::test_wsgi_ports_listening[hermes-api.service]"]
        assert "unit hermes-api.service: listens on no TCP port" in listening
        assert "OSError: [Errno 99] Cannot assign requested address" in listening
        assert "test_services::test_unit_is_running[hermes-api.service]" not in failures  # it *is* running
        # Workers crash-looping while the main process stays: named, with the cause.
        loop = failures["test_services::test_unit_stays_up_with_stable_workers[hermes-worker.service]"]
        assert "unit hermes-worker.service: worker crash-loop:" in loop
        assert "AttributeError: module 'hermes.handlers' has no attribute 'missing'" in loop
        assert "test_services::test_unit_is_running[hermes-worker.service]" not in failures
        # the console report: unit, first traceback lines, how to read the whole journal
        assert "OSError: [Errno 99] Cannot assign requested address" in err
        assert "AttributeError: module 'hermes.handlers' has no attribute 'missing'" in err
        assert m, f"no login line in the report:\n{err[-3000:]}"
        assert "read the whole journal:  journalctl -u hermes-worker.service" in err
        # The kept box answers the printed command, and holds the drop-in.
        ssh = shlex.split(m.group(1))
        journal = subprocess.run([*ssh, "journalctl", "-u", "hermes-worker.service", "--no-pager"],
                                 capture_output=True, text=True, timeout=60)
        assert journal.returncode == 0 and "respawning" in journal.stdout, journal.stderr
        dropin = subprocess.run([*ssh, "stat -c '%a %U %G' /etc/hermes/hermes.conf.d/50-phoenix-verify.conf; "
                                 "cat /etc/hermes/hermes.conf.d/50-phoenix-verify.conf"],
                                capture_output=True, text=True, timeout=60).stdout
        assert dropin.startswith("640 root hermes"), dropin
        assert "connection = mysql+pymysql://hermes:" in dropin and "transport_url = rabbit://hermes:" in dropin
        assert "bind_host = 192.0.2.10" in dropin and "handler = hermes.handlers:missing" in dropin
        assert "remove the box:  build-rpm box rm --kept " + m.group(3) in err
    finally:
        if m:
            gone = subprocess.run([str(BUILD_RPM), "box", "rm", "--kept", m.group(3)],
                                  capture_output=True, text=True, timeout=120)
            assert gone.returncode == 0, gone.stderr
            assert not Path(f"/run/phoenix/boxes/{m.group(3)}.json").exists()
