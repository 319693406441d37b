"""Fixtures of the repository tests (tools/build-rpm --repo)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from repotools import new_gnupghome  # noqa: E402


@pytest.fixture(scope="module")
def gpg_key() -> Iterator[tuple[Path, str]]:
    """(GNUPGHOME, user id) of a throw-away signing key, for one test module."""
    yield from new_gnupghome()
