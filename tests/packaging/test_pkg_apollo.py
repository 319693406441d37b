"""This repository's own generated files: rpm/apollo.spec and systemd/apollo-*."""
from __future__ import annotations

import os
import re
import subprocess

from pkgtools import PYTHON, REPO, build_rpm, rpmspec_parsed, run, section

from phoenix_rpm import generate


def test_apollo_spec_parses_on_this_host() -> None:
    parsed = rpmspec_parsed(REPO / "rpm" / "apollo.spec")
    files = section(parsed, "files")
    assert "%config(noreplace) %attr(0640, root, apollo) /etc/apollo/apollo.conf" in files
    assert "%config(noreplace) %attr(0640, root, apollo) /etc/apollo/api-paste.ini" in files
    assert "/usr/bin/apollo-manage" in files
    assert "/usr/lib/systemd/system/apollo-api.service" in files
    assert "/usr/lib/systemd/system/apollo-periodic.service" in files
    assert "%license LICENSE" in files
    assert re.search(r"^AutoReqProv:\s+no$", parsed, re.M)


def test_apollo_spec_rpmlint_has_no_errors() -> None:
    """Plain ``rpmlint rpm/apollo.spec``, as a reviewer would type it.

    The project's filters live in rpm/rpmlintrc, which rpmlint does not
    auto-load (a rpm/apollo.rpmlintrc would be, and its filters for the built
    packages would then count as unused errors).
    """
    proc = run(REPO / ".venv" / "bin" / "rpmlint", REPO / "rpm" / "apollo.spec", check=False)
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\b0 errors\b", summary), proc.stdout
    assert proc.returncode == 0, proc.stdout


def test_committed_files_do_not_drift() -> None:
    """tools/build-rpm --check on the repository itself (the shim, as CI runs it)."""
    proc = build_rpm("--check", shim=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plan_for_the_build_stage() -> None:
    """The contract the build and verify stages rely on (docs/packaging.md)."""
    plan = generate.load_plan(REPO)
    assert plan.name == "apollo" and plan.install_mode == "bundled"
    assert plan.venv_dir == "/usr/lib/apollo"
    assert (plan.user, plan.group) == ("apollo", "apollo")
    assert [s.unit for s in plan.services] == ["apollo-api.service", "apollo-periodic.service"]
    assert [t.name for t in plan.tools] == ["apollo-manage"]
    assert plan.config_files == ["/etc/apollo/apollo.conf", "/etc/apollo/api-paste.ini"]
    assert plan.paste_files == ["/etc/apollo/api-paste.ini"]
    assert plan.graceful_shutdown_timeout == 30 and plan.timeout_stop_sec > 30
    assert plan.state_dirs == ["/var/lib/apollo", "/var/log/apollo"]
    assert any(r.startswith("eventlet") for r in plan.requirements)
    assert plan.spec_path == REPO / "rpm" / "apollo.spec"
    numbers = [s.number for s in plan.sources]
    assert numbers[:2] == [0, 1] and all(n >= 10 for n in numbers[2:])
    for source in plan.sources[2:]:
        assert source.path is not None and (REPO / source.path).is_file(), source
        assert source.filename == os.path.basename(source.path), source
    assert plan.sources[0].filename == f"apollo-{plan.version}.tar.gz"


def test_version_is_the_one_pbr_gives_the_sdist() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PBR_VERSION", "OSLO_PACKAGE_VERSION")}
    pbrs = subprocess.run([str(PYTHON), "-c", "import pbr.packaging; print(pbr.packaging.get_version('apollo'))"],
                          cwd=REPO, capture_output=True, text=True, env=env, check=True).stdout.strip()
    saved = os.environ.pop("PBR_VERSION", None)
    try:
        assert generate.load_plan(REPO).version == pbrs
    finally:
        if saved is not None:
            os.environ["PBR_VERSION"] = saved


def test_distribution_macros_win_over_the_fallbacks() -> None:
    """Where the distribution defines the systemd/python macros (Fedora/EL), the spec uses them."""
    spec = REPO / "rpm" / "apollo.spec"
    distro = ["--define", "_unitdir /lib/systemd/system",
              "--define", "systemd_post() echo DISTRO-POST %{?*}",
              "--define", "systemd_preun() echo DISTRO-PREUN %{?*}",
              "--define", "sysusers_create_compat() echo DISTRO-SYSUSERS %1",
              "--define", "python3_version 3.12",
              "--define", "fedora 40"]
    parsed = run("rpmspec", "-P", *distro, spec).stdout
    assert "echo DISTRO-POST apollo-api.service apollo-periodic.service" in section(parsed, "post")
    assert "echo DISTRO-PREUN apollo-api.service apollo-periodic.service" in section(parsed, "preun")
    assert any(line.startswith("echo DISTRO-SYSUSERS ") and line.endswith("apollo.sysusers")
               for line in section(parsed, "pre"))
    assert not any("useradd" in line for line in section(parsed, "pre"))
    assert "/lib/systemd/system/apollo-api.service" in section(parsed, "files")
    assert re.search(r"^Requires:\s+python\(abi\) = 3\.12$", parsed, re.M)
    assert run("rpmspec", "-q", "--buildrequires", *distro, spec).stdout.split() == [
        "python3-devel", "systemd-rpm-macros"]
    # and on this host (Debian's rpm): no BuildRequires an empty rpm database could not satisfy
    assert run("rpmspec", "-q", "--buildrequires", spec).stdout.split() == []
