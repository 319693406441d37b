"""A new user's path, as the README's "Package your own project in five minutes" gives it.

Outside this repository: a fresh virtualenv, ``pip install`` of the toolkit
from this checkout (tools/phoenix-rpm, a distribution of its own), then, in a
copy of a small pbr project of the user's (tests/data/myservice: no phoenix,
an http.server API and a worker), the installed ``build-rpm``: generate,
commit, ``--verify``. Every command of that README section runs here, in its
order; the verification must pass.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLKIT = REPO / "tools" / "phoenix-rpm"
FIXTURE = REPO / "tests" / "data" / "myservice"
GIT_ID = {"GIT_AUTHOR_NAME": "New User", "GIT_AUTHOR_EMAIL": "new.user@example.org",
          "GIT_COMMITTER_NAME": "New User", "GIT_COMMITTER_EMAIL": "new.user@example.org"}


def user_env(venv: Path) -> dict[str, str]:
    """A user's shell: nothing of this checkout's environment (its .venv, PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PBR_VERSION", "PHOENIX_VERBOSE", "SOURCE_DATE_EPOCH")}
    env["PATH"] = f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return {**env, **GIT_ID}


def sh(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(cmd)} exited {proc.returncode}:\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """python3 -m venv + pip install of tools/phoenix-rpm, outside the repository."""
    home = tmp_path_factory.mktemp("newuser")
    venv = home / "phoenix-rpm"
    assert REPO not in venv.parents
    env = user_env(venv)
    build_dir = TOOLKIT / "build"
    leftover = build_dir.exists()
    sh([str(REPO / "tools" / "build-rpm"), "--help"], REPO, env)  # the host packages, once
    sh(["python3", "-m", "venv", str(venv)], home, env)
    try:
        sh([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "./tools/phoenix-rpm"],
           REPO, env)
    finally:
        if not leftover:  # pip builds in the source tree; leave the checkout as it was
            shutil.rmtree(build_dir, ignore_errors=True)
    return venv


def test_the_wheel_carries_the_package_data(installed: Path) -> None:
    code = "import phoenix_rpm, os; print(os.path.dirname(phoenix_rpm.__file__))"
    where = sh([str(installed / "bin" / "python"), "-c", code],
               installed, user_env(installed)).stdout.strip()
    package = Path(where)
    assert installed in package.parents, f"the installed toolkit, not this checkout's: {package}"
    for rel in ("templates/spec.j2", "templates/spec/macros.j2", "templates/spec/install-bundled.j2",
                "templates/service.j2", "templates/venv_layer.py", "infra/conftest.py",
                "infra/test_listeners.py", "data/rpmlintrc", "lib-env.sh"):
        assert (package / rel).is_file(), f"{rel} missing from the installed toolkit"


def test_build_rpm_verify_on_a_project_of_ones_own(installed: Path, tmp_path: Path) -> None:
    env = user_env(installed)
    project = tmp_path / "src" / "myservice"
    shutil.copytree(FIXTURE, project)
    # The README's commands, in order.
    sh(["git", "init", "-q", "-b", "main"], project, env)
    (project / ".gitignore").write_text("/dist/\n")
    sh(["git", "add", "-A"], project, env)
    sh(["git", "commit", "-q", "-m", "myservice"], project, env)
    generated = sh(["build-rpm", "--stage", "generate"], project, env)
    assert generated.stderr.splitlines()[0] == f"==> project {project} (setup.cfg)"
    assert "hint: no git tag, so pbr's version is a placeholder; tag a release: git tag -s 0.1.0" in generated.stderr
    sh(["git", "add", "rpm", "systemd"], project, env)
    sh(["git", "commit", "-q", "-m", "Packaging: rpm/ and systemd/ from build-rpm"], project, env)
    sh(["git", "tag", "-a", "0.1.0", "-m", "0.1.0"], project, env)
    verified = sh(["build-rpm", "--verify"], project, env)
    err = verified.stderr
    assert "verify myservice-0.1.0-1: PASSED" in err, err[-6000:]
    assert "dirty tree" not in err and "hint: no git tag" not in err, err
    assert (project / "dist" / "myservice-0.1.0-1.x86_64.rpm").is_file()
    assert re.search(r"checks: \d+ passed, 0 failed, 0 skipped", err), err[-4000:]
    assert "  NOT CHECKED myservice-worker.service: myservice-worker is not an HTTP service" in err
