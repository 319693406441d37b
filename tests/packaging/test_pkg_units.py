"""Generated units through systemd's own tools: security score <= 2.0 and verify accepts them."""
from __future__ import annotations

from pathlib import Path

import pytest

from phoenix.packaging import generate
from pkgtools import EPOCH, REPO, copy_fixture, exposure, read_unit, verify_units

MAX_EXPOSURE = 2.0


def _units(project: Path) -> list[Path]:
    return sorted((project / "systemd").glob("*.service"))


@pytest.mark.parametrize("fixture", ["cfg-globs", "pyproject-pbr", "wsgi"])
def test_fixture_units_score_and_verify(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    project = copy_fixture(fixture, tmp_path)
    generate.write(project)
    units = _units(project)
    assert units
    for unit in units:
        score = exposure(unit)
        assert score <= MAX_EXPOSURE, f"{unit.name}: exposure {score}"
    proc = verify_units(units, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # not even a warning (unknown key, bad value)


def test_repository_units_score_and_verify(tmp_path: Path) -> None:
    """The committed apollo units (what the RPM ships)."""
    units = _units(REPO)
    assert {u.name for u in units} >= {"apollo-api.service", "apollo-periodic.service"}
    for unit in units:
        assert exposure(unit) <= MAX_EXPOSURE, unit.name
        service = read_unit(unit)["Service"]
        assert service["Type"] == ["notify"]  # apollo's entry points run phoenix
        assert service["User"] == ["apollo"]
        assert service["ExecStart"][0].endswith("--config-file /etc/apollo/apollo.conf")
        # apollo.conf ships graceful_shutdown_timeout = 30: systemd must wait longer
        assert int(service["TimeoutStopSec"][0]) > 30
    proc = verify_units(units, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # not even a warning (unknown key, bad value)


def test_verify_rejects_a_broken_unit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The verify helper can fail: a bad value warns, a relative ExecStart is fatal."""
    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    project = copy_fixture("wsgi", tmp_path)
    generate.write(project)
    unit = project / "systemd" / "eos-wsgi.service"
    text = unit.read_text()
    unit.write_text(text.replace("Type=exec", "Type=sometimes"))
    assert "Failed to parse service type" in verify_units([unit], tmp_path).stderr
    unit.write_text(text.replace("ExecStart=/opt/eos/bin/", "ExecStart=bin/"))
    assert verify_units([unit], tmp_path).returncode != 0


def test_unhardened_unit_scores_worse(tmp_path: Path) -> None:
    """The scorer discriminates: the same unit without its hardening is above the bar."""
    text = "\n".join(line for line in (REPO / "systemd" / "apollo-api.service").read_text().splitlines()
                     if not line.startswith(("Protect", "Private", "Restrict", "SystemCall", "Capability",
                                             "NoNewPrivileges", "MemoryDeny", "LockPersonality")))
    unit = tmp_path / "plain.service"
    unit.write_text(text + "\n")
    assert exposure(unit) > MAX_EXPOSURE
