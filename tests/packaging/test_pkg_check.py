"""``tools/build-rpm --check``: exit 1 with a diff on drift, 0 when clean, never writes."""
from __future__ import annotations

from pathlib import Path

import pytest
from pkgtools import EPOCH, build_rpm, copy_fixture

from phoenix_rpm import generate

ENV = {"PBR_VERSION": "1.2.3", "SOURCE_DATE_EPOCH": EPOCH}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    project = copy_fixture("cfg-globs", tmp_path)
    generate.write(project)
    return project


def _snapshot(project: Path) -> dict[str, str]:
    return {str(p.relative_to(project)): p.read_text() for p in sorted(project.glob("[rs]*/*")) if p.is_file()}


def test_clean_tree_passes(project: Path) -> None:
    proc = build_rpm("--check", project, env=ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == ""


def test_changed_setup_cfg_is_drift_with_a_diff(project: Path) -> None:
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("summary = Helios fixture", "summary = Helios renamed"))
    before = _snapshot(project)
    proc = build_rpm("--check", project, env=ENV)
    assert proc.returncode == 1
    assert "--- a/rpm/helios.spec" in proc.stdout and "+++ b/rpm/helios.spec" in proc.stdout
    assert "+Summary:        Helios renamed" in proc.stdout
    assert "-Summary:        Helios fixture" in proc.stdout
    assert "+Description=Helios renamed" in proc.stdout  # the units' Description follows the summary
    assert "tools/build-rpm --stage generate" in proc.stderr
    assert _snapshot(project) == before, "--check must not write"


def test_hand_edited_unit_is_drift(project: Path) -> None:
    unit = project / "systemd" / "helios-api.service"
    unit.write_text(unit.read_text().replace("ProtectSystem=strict", "ProtectSystem=full"))
    proc = build_rpm("--check", project, env=ENV)
    assert proc.returncode == 1
    assert "-ProtectSystem=full" in proc.stdout and "+ProtectSystem=strict" in proc.stdout


def test_missing_and_stale_files_are_drift(project: Path) -> None:
    (project / "systemd" / "helios.tmpfiles").unlink()
    stale = project / "systemd" / "helios-old.service"
    stale.write_text((project / "systemd" / "helios-api.service").read_text())
    assert generate.check(project) == 1
    proc = build_rpm("--check", project, env=ENV)
    assert "+++ b/systemd/helios.tmpfiles" in proc.stdout
    assert "--- a/systemd/helios-old.service" in proc.stdout
    # generate repairs both: the stale unit (it carries our mark) is removed
    generate.write(project)
    assert not stale.exists() and (project / "systemd" / "helios.tmpfiles").exists()
    assert generate.check(project) == 0


def test_a_new_version_is_not_drift(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version and changelog date follow git on every commit: the committed spec may lag them."""
    monkeypatch.setenv("PBR_VERSION", "1.2.4")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(EPOCH) + 86400 * 3))
    assert generate.check(project) == 0
    generate.write(project)
    assert "Version:        1.2.4" in (project / "rpm" / "helios.spec").read_text()


def test_write_is_atomic_and_idempotent(project: Path) -> None:
    spec = project / "rpm" / "helios.spec"
    inode = spec.stat().st_ino
    generate.write(project)
    assert spec.stat().st_ino == inode  # unchanged content: not rewritten
    assert not list(project.glob("*/.*.spec.*")) and not list(project.glob("systemd/.*"))


def test_renamed_project_leaves_no_old_spec(project: Path) -> None:
    cfg = project / "setup.cfg"
    cfg.write_text(cfg.read_text().replace("name = helios", "name = helios2"))
    handwritten = project / "rpm" / "notes.spec"
    handwritten.write_text("Name: notes\n")  # not ours: no mark
    assert generate.check(project) == 1
    generate.write(project)
    assert not (project / "rpm" / "helios.spec").exists()
    assert (project / "rpm" / "helios2.spec").is_file() and handwritten.is_file()
    assert generate.check(project) == 0
