"""The corpus tier: real OpenStack sdists packaged end to end (marker ``corpus``)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "corpus: real OpenStack service sdists from PyPI, built in the box "
                            "(CI builds the representative subset; PHOENIX_CORPUS=all builds every one)")
