"""Golden files: the exact spec and units generated for each fixture project.

Every file ``tools/build-rpm --stage generate`` writes for tests/data/<fixture>
(version pinned with PBR_VERSION, dates with SOURCE_DATE_EPOCH) is committed
under tests/golden/<fixture>/ and compared byte for byte, so a change to the
generated output shows up in review as a diff of those files.

After an intended change, refresh them and review the diff:

    tools/run-tests tests/packaging/test_golden.py --update-golden
    git diff tests/golden
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from pkgtools import EPOCH, FIXTURES, copy_fixture

from phoenix_rpm import generate

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


@pytest.fixture(autouse=True)
def _pinned_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


@pytest.mark.parametrize("fixture", FIXTURE_NAMES)
def test_generated_files_match_the_golden_files(fixture: str, tmp_path: Path, request: pytest.FixtureRequest):
    rendered = generate.render(copy_fixture(fixture, tmp_path))
    golden_dir = GOLDEN / fixture
    if request.config.getoption("--update-golden"):
        if golden_dir.exists():
            for old in sorted(golden_dir.rglob("*"), reverse=True):
                old.unlink() if old.is_file() else old.rmdir()
        for rel, text in rendered.items():
            (golden_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden_dir / rel).write_text(text)
    committed = {p.relative_to(golden_dir).as_posix(): p.read_text()
                 for p in sorted(golden_dir.rglob("*")) if p.is_file()} if golden_dir.is_dir() else {}
    assert sorted(rendered) == sorted(committed), (
        f"{fixture}: generated files {sorted(rendered)} but golden files {sorted(committed)}; "
        "after an intended change: tools/run-tests tests/packaging/test_golden.py --update-golden")
    for rel in sorted(rendered):
        diff = "".join(difflib.unified_diff(committed[rel].splitlines(True), rendered[rel].splitlines(True),
                                            f"tests/golden/{fixture}/{rel}", f"generated {rel}"))
        assert not diff, (f"{fixture}: {rel} differs from its golden file (refresh with tools/run-tests "
                          f"tests/packaging/test_golden.py --update-golden if intended):\n{diff}")


def test_every_fixture_has_golden_files():
    assert FIXTURE_NAMES, f"no fixture projects in {FIXTURES}"
    missing = [name for name in FIXTURE_NAMES if not (GOLDEN / name).is_dir()]
    assert missing == [], (f"no golden files for {missing}: run tools/run-tests tests/packaging/test_golden.py "
                           "--update-golden and commit tests/golden")
