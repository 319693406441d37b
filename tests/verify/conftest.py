"""Session fixtures of the verify tests: each project variant built at most once.

The variants themselves (copies of this tree at stable paths, their builds)
are in variants.py, importable by the test modules.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

try:
    from variants import CONF_COMMENT, V1, V2, WORK, Variant, sync_copy
except ModuleNotFoundError:  # loaded by file path from another folder (tests/ops/conftest.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from variants import CONF_COMMENT, V1, V2, WORK, Variant, sync_copy

__all__ = ["CONF_COMMENT", "V1", "V2", "WORK", "Variant", "sync_copy"]


@pytest.fixture(scope="session")
def apollo_v1() -> Iterator[Variant]:
    """apollo as it is in this tree, at version 1.0.0 (built by the e2e test's CLI run)."""
    yield Variant("v1", sync_copy(WORK / "v1" / "apollo"), V1)


@pytest.fixture(scope="session")
def verified_v1(apollo_v1: Variant) -> subprocess.CompletedProcess[str]:
    """``tools/build-rpm --verify`` on the v1 copy: generate, build, lint, verify."""
    return apollo_v1.build_rpm("--verify", check=False)


@pytest.fixture(scope="session")
def apollo_v2() -> Variant:
    """apollo 1.0.1 whose packaged apollo.conf differs from 1.0.0's (so rpm makes .rpmnew)."""
    def edit(tree: Path) -> None:
        conf = tree / "etc" / "apollo" / "apollo.conf"
        conf.write_text(conf.read_text() + "\n" + CONF_COMMENT)

    variant = Variant("v2", sync_copy(WORK / "v2" / "apollo", edit), V2)
    variant.build_only()
    return variant


@pytest.fixture(scope="session")
def built_v1(apollo_v1: Variant) -> Variant:
    """The v1 RPM without the verify run (the upgrade test installs it itself)."""
    apollo_v1.build_only()
    return apollo_v1
