"""docs/ci.md: the GitHub Actions and GitLab CI recipes parse, and run only documented commands (issue 14).

What can be checked on this machine: the YAML is valid, each job runs
``tools/build-rpm`` with options the README documents and that build-rpm's
own parser accepts, verifies through a repository, and uploads the junit
report and the repository. A run on GitHub's or GitLab's machines cannot be
(no traffic leaves this machine).
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from phoenix_rpm import cli

ROOT = Path(__file__).resolve().parents[2]
CI_DOC = ROOT / "docs" / "ci.md"
README = ROOT / "README.md"
TOOLS = ("tools/build-rpm", "tools/run-tests")


def yaml_blocks() -> list[dict[str, Any]]:
    text = CI_DOC.read_text()
    blocks = re.findall(r"^```yaml\n(.*?)^```", text, re.S | re.M)
    return [yaml.safe_load(block) for block in blocks]


def github() -> dict[str, Any]:
    return next(b for b in yaml_blocks() if "jobs" in b)


def gitlab() -> dict[str, Any]:
    return next(b for b in yaml_blocks() if "jobs" not in b and "stages" in b)


def shell_lines(job: str | list[str]) -> list[str]:
    """Each command line of a run: block or script list (continuations joined)."""
    items = [job] if isinstance(job, str) else list(job)
    out: list[str] = []
    for item in items:
        out += [line.strip() for line in item.replace("\\\n", " ").splitlines() if line.strip()]
    return out


def github_commands() -> list[str]:
    steps = github()["jobs"]["rpm"]["steps"]
    return [line for step in steps if "run" in step for line in shell_lines(step["run"])]


def gitlab_commands() -> list[str]:
    job = gitlab()["rpm"]
    return shell_lines(job.get("before_script", [])) + shell_lines(job["script"])


def toolkit_calls(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(tool, arguments) of every tools/build-rpm or tools/run-tests call, wherever the clone is."""
    calls = []
    for line in lines:
        words = shlex.split(line)
        for i, word in enumerate(words):
            tool = next((t for t in TOOLS if word.endswith(t)), None)
            if tool:
                calls.append((tool, words[i + 1:]))
    return calls


def documented_options() -> set[str]:
    """Every --option on a README line that shows a tools/build-rpm command."""
    found: set[str] = set()
    for line in README.read_text().splitlines():
        if "tools/build-rpm" in line:
            found.update(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
    return found


def test_both_recipes_parse() -> None:
    blocks = yaml_blocks()
    assert len(blocks) == 2
    assert github()["jobs"]["rpm"]["steps"]
    assert gitlab()["rpm"]["script"]


@pytest.mark.parametrize("commands", [github_commands, gitlab_commands], ids=["github", "gitlab"])
def test_jobs_verify_through_a_signed_repository(commands) -> None:
    calls = toolkit_calls(commands())
    builds = [args for tool, args in calls if tool == "tools/build-rpm"]
    assert builds, commands()
    for args in builds:
        parsed = cli.build_parser().parse_args(args)     # build-rpm's own parser accepts them
        assert parsed.verify and parsed.repo and parsed.sign
        assert parsed.project_dir, "a CI job names the project it packages"


@pytest.mark.parametrize("commands", [github_commands, gitlab_commands], ids=["github", "gitlab"])
def test_jobs_use_only_documented_options(commands) -> None:
    documented = documented_options()
    for tool, args in toolkit_calls(commands()):
        used = {a.split("=", 1)[0] for a in args if a.startswith("--")}
        assert used <= documented, f"{tool}: {sorted(used - documented)} not documented in README.md"


def test_github_job_caches_and_uploads() -> None:
    steps = github()["jobs"]["rpm"]["steps"]
    cache = next(s for s in steps if str(s.get("uses", "")).startswith("actions/cache@"))
    assert cache["with"]["path"] == "/var/cache/phoenix"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    paths = upload["with"]["path"].split()
    assert "repo/" in paths and any(p.endswith("dist/verify-junit.xml") for p in paths)
    junit = next(s for s in steps if "junit" in str(s.get("uses", "")))
    assert junit["with"]["report_paths"].endswith("dist/verify-junit.xml")
    assert "--privileged" in github()["jobs"]["rpm"]["container"]["options"]


def test_gitlab_job_caches_and_uploads() -> None:
    job = gitlab()["rpm"]
    assert ".phoenix-cache/" in job["cache"]["paths"]
    assert any("/var/cache/phoenix" in line for line in job["before_script"])
    assert job["artifacts"]["reports"]["junit"] == "dist/verify-junit.xml"
    assert "repo/" in job["artifacts"]["paths"]
