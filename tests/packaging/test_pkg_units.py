"""Generated units through systemd's own tools: security score <= 2.0 and verify accepts them."""
from __future__ import annotations

from pathlib import Path

import pytest
from pkgtools import EPOCH, REPO, copy_fixture, exposure, read_unit, verify_units

from phoenix_rpm import generate

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
        assert "--config-file /etc/apollo/apollo.conf --config-dir /etc/apollo/apollo.conf.d" in service["ExecStart"][0]
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
    unit.write_text(text.replace("Type=notify", "Type=sometimes"))
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


@pytest.mark.parametrize("fixture", ["cfg-globs", "wsgi"])
def test_sysusers_and_tmpfiles_apply_in_a_scratch_root(fixture: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """systemd-sysusers creates the account and systemd-tmpfiles the owned folders, in a temp root."""
    from pkgtools import run

    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    project = copy_fixture(fixture, tmp_path)
    generate.write(project)
    plan = generate.load_plan(project)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / name).touch()
    run("systemd-sysusers", f"--root={root}", project / "systemd" / f"{plan.name}.sysusers")
    passwd = {line.split(":")[0]: line.split(":") for line in (root / "etc" / "passwd").read_text().splitlines()}
    group = {line.split(":")[0]: line.split(":") for line in (root / "etc" / "group").read_text().splitlines()}
    assert plan.user in passwd and plan.group in group
    entry = passwd[plan.user]
    assert entry[3] == group[plan.group][2]  # primary group
    assert entry[5] == plan.state_dir and entry[6] == "/usr/sbin/nologin"
    assert int(entry[2]) < 1000  # a system account
    run("systemd-tmpfiles", f"--root={root}", "--create", project / "systemd" / f"{plan.name}.tmpfiles")
    for folder in plan.owned_dirs:
        st = (root / folder.lstrip("/")).stat()
        assert oct(st.st_mode & 0o777) == "0o750"
        assert st.st_uid == int(entry[2]) and st.st_gid == int(group[plan.group][2])


def test_logrotate_file_is_accepted_by_logrotate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """logrotate -d parses the generated file (the service account is swapped for root: it
    does not exist on this host, and logrotate checks it)."""
    from pkgtools import run

    monkeypatch.setenv("PBR_VERSION", "1.2.3")
    project = copy_fixture("wsgi", tmp_path)
    generate.write(project)
    text = (project / "systemd" / "eos.logrotate").read_text()
    assert "    su eosd eosd\n" in text
    conf = tmp_path / "eos.logrotate"
    conf.write_text(text.replace("su eosd eosd", "su root root"))
    proc = run("logrotate", "-d", "-s", tmp_path / "state", conf, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "error:" not in out, out
    assert "Handling 1 logs" in out and "/var/log/eos/*.log" in out
