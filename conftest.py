"""Test tiers: every test gets exactly one of the markers unit, process, box, vm, corpus.

The tiers (registered in pyproject.toml, described in README "Tests"):

* ``unit``: no box, no VM, no network beyond loopback; the whole tier runs in
  about a minute (``tools/run-tests --quick``). Real local processes and
  servers are fine when they are quick.
* ``process``: the framework's real processes on loopback (tests/process:
  start apollo, signal it, restart it under load); a minute or two.
* ``box``: builds RPMs or boots a systemd-nspawn box (tests/box, tests/build,
  tests/verify, the booted ops scenarios).
* ``vm``: boots a Vagrant VM (tests/vagrant).
* ``corpus``: builds real third-party sdists (tests/corpus).

A test's own marker wins; without one its folder decides (DEFAULT_TIERS),
else it is ``unit``. So a quick test in a box folder says
``pytestmark = pytest.mark.unit`` (or ``@pytest.mark.unit``) and a slow one
elsewhere says ``box``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
TIERS = ("unit", "process", "box", "vm", "corpus")
# Folder (relative to the repository) -> tier of the tests in it without a marker.
DEFAULT_TIERS = {
    "tests/process": "process",
    "tests/box": "box",
    "tests/build": "box",
    "tests/verify": "box",
    "tests/ops": "box",
    "tests/newuser": "box",       # pip-installs the toolkit, then a full --verify
    "tests/vagrant": "vm",
    "tests/corpus": "corpus",
}


def default_tier(path: Path) -> str:
    try:
        rel = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return "unit"
    for folder, tier in DEFAULT_TIERS.items():
        if rel == folder or rel.startswith(folder + "/"):
            return tier
    return "unit"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden from what generate renders now (tests/packaging/test_golden.py)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        own = [m.name for m in item.iter_markers() if m.name in TIERS]
        if len(set(own)) > 1:
            raise pytest.UsageError(f"{item.nodeid}: more than one tier marker ({', '.join(sorted(set(own)))}); "
                                    "give it one of " + ", ".join(TIERS))
        if not own:
            item.add_marker(getattr(pytest.mark, default_tier(Path(str(item.path)))))
