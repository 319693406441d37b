"""Fixtures for the box tests: the real cached root (made once, ~90 s on a fresh machine)."""
from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_rpm.box import ensure_root


@pytest.fixture(scope="session")
def box_root() -> Path:
    return ensure_root()
