"""Issue 4's "done when", on apollo itself: ``tools/build-rpm`` in a fresh checkout.

One build of a clone of this repository's HEAD, through the command-line
entry point (generate -> build in a fresh nspawn box, offline -> lint),
shared by every test here.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pkgcheck import grep_payload, rpm_q, unpack

from phoenix_rpm import cli, generate

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def apollo_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A clone of HEAD built with the CLI; returns (checkout, its stderr)."""
    checkout = tmp_path_factory.mktemp("apollo") / "apollo"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(checkout)], check=True)
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main([str(checkout)])
    assert status == 0, err.getvalue()
    return checkout, err.getvalue()


@pytest.fixture(scope="module")
def version(apollo_checkout: tuple[Path, str]) -> str:
    return generate.load_plan(apollo_checkout[0]).version


def test_dist_holds_the_rpm_and_the_srpm(apollo_checkout: tuple[Path, str], version: str) -> None:
    dist = apollo_checkout[0] / "dist"
    assert sorted(p.name for p in dist.glob("*.rpm")) == [
        f"apollo-{version}-1.src.rpm", f"apollo-{version}-1.x86_64.rpm"]


def test_one_line_per_stage_with_duration_and_paths(apollo_checkout: tuple[Path, str], version: str) -> None:
    err = apollo_checkout[1]
    assert re.search(r"^==> generate done in \d+\.\d s", err, re.M)
    assert re.search(rf"^==> build done in \d+\.\d s: .*dist/apollo-{re.escape(version)}-1\.x86_64\.rpm, "
                     rf".*dist/apollo-{re.escape(version)}-1\.src\.rpm$", err, re.M)
    assert re.search(r"^==> lint done in \d+\.\d s: 0 errors, \d+ warnings", err, re.M)


def test_config_files_scripts_and_units(apollo_checkout: tuple[Path, str], version: str) -> None:
    rpm = apollo_checkout[0] / "dist" / f"apollo-{version}-1.x86_64.rpm"
    configs = rpm_q(rpm, "-c").split()
    assert "/etc/apollo/apollo.conf" in configs
    assert "/etc/apollo/api-paste.ini" in configs
    scripts = rpm_q(rpm, "--scripts")
    assert "systemctl" in scripts
    assert "%" not in scripts, scripts
    files = rpm_q(rpm, "-l").split()
    units = [f for f in files if f.startswith("/usr/lib/systemd/system/")]
    assert "/usr/lib/systemd/system/apollo-api.service" in units
    assert len(units) >= 2  # the API and at least one worker service


def test_payload_has_no_buildroot_path(apollo_checkout: tuple[Path, str], version: str, tmp_path: Path) -> None:
    rpm = apollo_checkout[0] / "dist" / f"apollo-{version}-1.x86_64.rpm"
    payload = unpack(rpm, tmp_path / "payload")
    assert any(payload.rglob("apollo-api"))
    # The box builds with _topdir /build: the buildroot is /build/BUILDROOT/<nvra>,
    # the unpacked sdist /build/BUILD/<name>-<version>. (The bare word BUILDROOT
    # does occur: the toolkit ships inside apollo and its code names it.)
    assert grep_payload(payload, f"/BUILDROOT/apollo-{version}") == []
    assert grep_payload(payload, f"/build/BUILD/apollo-{version}") == []


def test_built_offline_in_the_box_from_the_srpm(apollo_checkout: tuple[Path, str], version: str) -> None:
    rpm = apollo_checkout[0] / "dist" / f"apollo-{version}-1.x86_64.rpm"
    assert rpm_q(rpm, "--qf", "%{SOURCERPM} %{BUILDHOST}") == f"apollo-{version}-1.src.rpm reproducible"
    srpm_files = rpm_q(apollo_checkout[0] / "dist" / f"apollo-{version}-1.src.rpm", "-l").split()
    assert f"apollo-{version}.tar.gz" in srpm_files
    assert f"apollo-{version}-wheels.tar.gz" in srpm_files


def test_second_run_with_no_change_is_quick(apollo_checkout: tuple[Path, str]) -> None:
    import contextlib
    import io
    import time

    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err):
        assert cli.main([str(apollo_checkout[0])]) == 0
    took = time.monotonic() - started
    assert "inputs unchanged since the last build" in err.getvalue()
    assert took < 2.0, err.getvalue()


def test_a_second_build_of_the_commit_is_byte_identical(apollo_checkout: tuple[Path, str], version: str,
                                                        tmp_path: Path) -> None:
    from pkgcheck import sha256

    from phoenix_rpm import build

    first = apollo_checkout[0] / "dist"
    again = build.build(apollo_checkout[0], box="nspawn", dist_dir=tmp_path / "dist2", reuse=False)
    assert not again.skipped
    for pkg in again.packages:
        assert sha256(pkg) == sha256(first / pkg.name), pkg.name


def test_rpm_carries_the_framework_and_apollo_but_no_toolkit(apollo_checkout: tuple[Path, str], version: str) -> None:
    """Issue 10: the packaging toolkit is a distribution of its own, not part of apollo's payload."""
    rpm = apollo_checkout[0] / "dist" / f"apollo-{version}-1.x86_64.rpm"
    files = rpm_q(rpm, "-l").split()
    toolkit = [f for f in files if "phoenix_rpm" in f or "/phoenix/packaging" in f or f.endswith("/build-rpm")]
    assert toolkit == [], f"toolkit files in the apollo RPM: {toolkit[:10]}"
    assert any("/site-packages/phoenix/server/" in f for f in files), "the framework is in the RPM"
    assert any("/site-packages/apollo/cmd/" in f for f in files), "apollo is in the RPM"
