"""The hello fixture project of the build-stage tests, and its build inputs.

A module of its own, not conftest.py: several test folders have a conftest,
so ``from conftest import`` picks whichever one was imported last.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from phoenix_rpm import build
from phoenix_rpm.model import InstallMode
from phoenix_rpm.plan import Source

DATA = Path(__file__).parent / "data"
# The fixture project's commit time: every reproducible stamp derives from it.
HELLO_COMMIT_EPOCH = 1767225600  # 2026-01-01 00:00:00 UTC


def git_commit_all(repo: Path, epoch: int, message: str = "import") -> None:
    env = {"GIT_AUTHOR_DATE": f"@{epoch} +0000", "GIT_COMMITTER_DATE": f"@{epoch} +0000",
           "GIT_AUTHOR_NAME": "Phoenix tests", "GIT_AUTHOR_EMAIL": "tests@example.org",
           "GIT_COMMITTER_NAME": "Phoenix tests", "GIT_COMMITTER_EMAIL": "tests@example.org",
           "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, check=True, env=env)


def make_hello_repo(where: Path) -> Path:
    """A git checkout of the hello fixture project, committed at HELLO_COMMIT_EPOCH."""
    repo = where / "hello"
    shutil.copytree(DATA / "hello", repo)
    git_commit_all(repo, HELLO_COMMIT_EPOCH)
    return repo


def hello_inputs(repo: Path) -> build.BuildInputs:
    """What generate.load_plan would say about hello (its spec is hand-written)."""
    return build.BuildInputs(
        name="hello",
        version="1.0.0",
        spec=repo / "rpm" / "hello.spec",
        install_mode=InstallMode.BUNDLED,
        requirements=("pbr>=6.0", "six>=1.16"),
        sources=(Source(0, "hello-1.0.0.tar.gz"), Source(1, "hello-1.0.0-wheels.tar.gz"),
                 Source(10, "hello-api.service", "systemd/hello-api.service")),
    )


