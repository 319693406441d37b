"""Shared fixtures of the build-stage tests.

A full build takes tens of seconds, so one build of each kind is made per
session and shared; the tests then look at its packages the way a user would
(rpm -qp, rpm2cpio, rpmlint).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hello_project import hello_inputs, make_hello_repo

from phoenix_rpm import build


@pytest.fixture(scope="session")
def hello_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_hello_repo(tmp_path_factory.mktemp("hello-repo"))


@pytest.fixture(scope="session")
def hello_host_build(hello_repo: Path) -> build.BuildResult:
    """hello built once with the host's rpmbuild (--box host), into hello/dist."""
    return build.build(hello_repo, box="host", inputs=hello_inputs(hello_repo), reuse=False)
