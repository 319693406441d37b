"""A package the framework's conventions do not describe: every skip explained, a 500 caught.

``myservice`` (tests/data/myservice) is what a new user writes without
phoenix: an http.server API and a worker loop. The verify suite cannot know
its health path, so the HTTP checks are skipped: the console summary must say
so and why, never only "2 skipped". ``--ops`` cannot drive it: said before
the build, the verify result still reported, exit 2. And a service answering
500 to every request must fail verification, declared endpoint or not.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from variants import BUILD_RPM, COMMIT_DATE, WORK

from phoenix_rpm import verify
from phoenix_rpm.verify_plan import build_verify_plan, read_rpm

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "myservice"


def myservice_copy(dest: Path) -> Path:
    """The fixture as a git repository with a fixed commit date (an unchanged copy is not rebuilt)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(FIXTURE, dest)
    env = {**os.environ, "GIT_AUTHOR_DATE": COMMIT_DATE, "GIT_COMMITTER_DATE": COMMIT_DATE}
    git = ["git", "-c", "user.name=phoenix tests", "-c", "user.email=tests@example.org", "-c", "init.defaultBranch=main"]
    (dest / ".gitignore").write_text("/dist/\n")
    # What a user does first: generate rpm/ and systemd/, review, commit.
    subprocess.run([str(BUILD_RPM), "--stage", "generate", str(dest)], check=True, capture_output=True,
                   env={**os.environ, "PBR_VERSION": "1.0.0"})
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "myservice"], cwd=dest, check=True, env=env)
    subprocess.run([*git, "tag", "-a", "1.0.0", "-m", "1.0.0"], cwd=dest, check=True, env=env)
    return dest


@pytest.fixture(scope="module")
def verified_with_ops() -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = myservice_copy(WORK / "myservice" / "myservice")
    proc = subprocess.run([str(BUILD_RPM), "--verify", "--ops", str(project)], text=True,
                          capture_output=True, timeout=1800)
    return project, proc


def test_ops_it_cannot_drive_is_said_before_the_build(verified_with_ops) -> None:
    _, proc = verified_with_ops
    err = proc.stderr
    said = err.find("==> --ops: the ops scenarios drive a phoenix HTTP service and myservice has none")
    assert said != -1, err[-4000:]
    assert said < err.find("==> build ..."), "said before anything is built"


def test_verify_result_is_still_reported_and_exit_is_2(verified_with_ops) -> None:
    _, proc = verified_with_ops
    assert "verify myservice-1.0.0-1: PASSED" in proc.stderr, proc.stderr[-6000:]
    assert "NOTE ops scenarios not run:" in proc.stderr
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.rstrip().splitlines()[-1].startswith("build-rpm: error: --ops: ")


def test_every_skip_and_every_unchecked_service_is_in_the_summary(verified_with_ops) -> None:
    _, proc = verified_with_ops
    checks = re.search(r"checks: (\d+) passed, 0 failed, (\d+) skipped", proc.stderr)
    assert checks, proc.stderr[-4000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("  SKIPPED ")]
    assert int(checks.group(2)) == len(lines), proc.stderr[-4000:]
    assert ("  NOT CHECKED myservice-worker.service: myservice-worker is not an HTTP service"
            in proc.stderr), proc.stderr[-4000:]


def test_skipped_checks_say_why_in_a_real_suite_run(tmp_path: Path) -> None:
    """The real suite (phoenix_rpm/infra) on a plan with nothing to parametrize: each skip carries
    the plan's reason, never pytest's "got empty parameter set", and the report prints each one."""
    from phoenix_rpm.verify_plan import VerifyPlan, _not_checked

    plan = VerifyPlan(package="tool", version="1.0", release="1", user="tool", group="tool",
                      config_files=[], units=[], state_dirs=[], http=[],
                      not_checked=_not_checked("tool", [], [], [], {}))
    junit = tmp_path / "junit.xml"
    subprocess.run([sys.executable, "-m", "pytest", str(verify.SUITE_DIR), "--hosts=local://",
                    f"--verify-plan={plan.write(tmp_path / 'plan.json')}", f"--junitxml={junit}", "-k", "none",
                    "-p", "no:cacheprovider", "-q"], cwd=verify.SUITE_DIR, capture_output=True, timeout=300)
    skips = dict(verify.skipped_checks(junit))
    assert skips, "the parametrized checks are skipped"
    for name, reason in skips.items():
        assert "empty parameter set" not in reason and reason.startswith("package tool "), (name, reason)
    assert skips["test_services::test_unit_is_running[none-local]"].startswith("package tool ships no service unit")
    assert "add one to [files] data_files" in skips["test_package::test_config_file_exists[none-local]"]
    suite = verify.SuiteResult(returncode=0, junit=junit, tests=len(skips), skipped=len(skips),
                               skips=verify.skipped_checks(junit))
    text = verify.format_report(verify.VerifyReport(plan=plan, timings=verify.Timings(), suite=suite))
    assert text.count("\n  SKIPPED ") == len(skips), text


def test_a_500_on_every_request_fails(verified_with_ops, tmp_path: Path) -> None:
    """The same RPM, its config switched to fail every request: the suite must fail, naming the port."""
    from phoenix_rpm.box import booted, ensure_root
    from phoenix_rpm.generate import load_plan

    project, _ = verified_with_ops
    rpm = read_rpm(next(p for p in (project / "dist").glob("myservice-1.0.0-1.*.rpm")
                        if not p.name.endswith(".src.rpm")))
    plan = build_verify_plan(load_plan(project), rpm)
    with booted(ensure_root()) as box:
        verify.install_rpm(box, rpm.path)
        verify.enable_now(box, plan.units)
        assert verify.wait_ready(box, plan)
        good = verify.run_suite(box, plan.write(tmp_path / "plan.json"), tmp_path / "good.xml")
        assert good.ok, good.failed
        verify.box_shell(box, "sed -i 's/^fail_every_request = false/fail_every_request = true/' "
                              "/etc/myservice/myservice.conf && systemctl restart myservice-api.service")
        bad = verify.run_suite(box, tmp_path / "plan.json", tmp_path / "bad.xml")
    failed = dict(bad.failed)
    assert sorted(failed) == ["test_http::test_wsgi_answers_checks[myservice-api.service]",
                              "test_listeners::test_listening_ports_answer_without_server_error"], bad.failed
    assert "unit myservice-api.service: http://127.0.0.1:8080/ -> 500" in failed[
        "test_listeners::test_listening_ports_answer_without_server_error"]
