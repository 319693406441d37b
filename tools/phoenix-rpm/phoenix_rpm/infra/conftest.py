"""The testinfra suite's view of the package under test.

This suite runs *inside the verify stage* (``tools/build-rpm --verify``),
against a freshly booted box reached through ssh
(``pytest phoenix_rpm/infra --hosts=ssh://<alias> --ssh-config=<file>``). It knows
nothing about apollo: everything it checks comes from the package's own
metadata, written by the verify stage into a JSON file (``--verify-plan`` or
``$PHOENIX_VERIFY_PLAN``), so it works for any project the toolkit packages.

The WSGI ports are *not* in that file: they are read from the installed config
inside the box, because what must answer is what the admin configured.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from infra_helpers import Meta


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--verify-plan",
        default=os.environ.get("PHOENIX_VERIFY_PLAN"),
        help="JSON metadata of the package under test (written by the verify "
        "stage, dist/verify-plan.json); default: $PHOENIX_VERIFY_PLAN",
    )


def _load_meta(config: pytest.Config) -> Meta:
    path = config.getoption("verify_plan")
    if not path:
        raise pytest.UsageError(
            "phoenix_rpm/infra needs the package metadata: pass --verify-plan=dist/verify-plan.json "
            "(tools/build-rpm --verify writes it and runs this suite for you)"
        )
    try:
        return Meta.read(Path(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise pytest.UsageError(f"{path}: cannot read the verify metadata ({exc})") from None


def pytest_configure(config: pytest.Config) -> None:
    # This conftest is only loaded when phoenix_rpm/infra is collected on purpose
    # (tests/conftest.py leaves it out of the host run): then the metadata is
    # required, and its absence is a usage error, never a silent skip.
    config._phoenix_meta = _load_meta(config)  # type: ignore[attr-defined]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The schema check exists only for a package whose profile needs a SQL server."""
    meta: Meta | None = getattr(config, "_phoenix_meta", None)
    if collection_path.name == "test_database.py" and meta is not None and not meta.database:
        return True
    return None


@pytest.fixture(scope="session")
def meta(request: pytest.FixtureRequest) -> Meta:
    return request.config._phoenix_meta  # type: ignore[attr-defined]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize by the package's own lists, so a failure's id names the unit/file."""
    meta: Meta | None = getattr(metafunc.config, "_phoenix_meta", None)
    if meta is None:
        return
    for name, values, ids in (("unit", meta.units, None), ("config_file", meta.config_files, None),
                              ("http", meta.http, [h.unit for h in meta.http])):
        if name not in metafunc.fixturenames:
            continue
        if values:
            metafunc.parametrize(name, values, ids=ids)
        else:
            # An empty list would skip with pytest's "got empty parameter set";
            # the plan says why the check does not apply and what would make it.
            reason = meta.not_checked.get(name, f"nothing to check: the package has no {name}")
            metafunc.parametrize(name, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=["none"])
