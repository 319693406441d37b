"""The package itself: installed at the built version, config files as promised."""
from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from infra_helpers import Meta, sh

if TYPE_CHECKING:
    from testinfra.host import Host


def test_package_installed_at_built_version(host: Host, meta: Meta) -> None:
    q = sh(host, f"rpm -q --qf '%{{VERSION}}-%{{RELEASE}}\\n' {shlex.quote(meta.package)}")
    assert q.rc == 0, f"package {meta.package} is not installed (rpm -q: {q.stdout.strip()} {q.stderr.strip()})"
    installed = q.stdout.split()
    want = f"{meta.version}-{meta.release}"
    assert installed == [want], (
        f"package {meta.package}: installed version-release {', '.join(installed)}, expected {want}"
    )


def test_config_file_exists(host: Host, meta: Meta, config_file: str) -> None:
    f = host.file(config_file)
    assert f.exists, f"config file {config_file} is missing"
    assert f.is_file, f"config file {config_file} is not a regular file"


def test_config_file_mode_0640(host: Host, meta: Meta, config_file: str) -> None:
    f = host.file(config_file)
    assert f.exists, f"config file {config_file} is missing"
    mode, _ = meta.config_modes.get(config_file, ["0640", meta.group])
    if mode != "0640":  # another program's file (/etc/apache2/...): as the plan installs it
        assert f.mode == int(mode, 8), (
            f"config file {config_file} has mode {f.mode:04o}, expected {mode} (as the package installs it "
            "for the program whose folder it is in)")
        return
    assert f.mode == 0o640, (
        f"config file {config_file} has mode {f.mode:04o}, expected 0640 "
        "(readable by the service group, not world-readable: it may hold secrets)"
    )


def test_config_file_group_is_service_group(host: Host, meta: Meta, config_file: str) -> None:
    f = host.file(config_file)
    assert f.exists, f"config file {config_file} is missing"
    _, group = meta.config_modes.get(config_file, ["0640", meta.group])
    assert f.group == group, (
        f"config file {config_file} has group {f.group}, expected {group} "
        + (f"(the service runs as {meta.user} and must read it)" if group == meta.group
           else "(as the package installs it for the program whose folder it is in)")
    )
    assert f.user == "root", f"config file {config_file} is owned by {f.user}, expected root"


def test_config_file_listed_by_rpm_qc(host: Host, meta: Meta, config_file: str) -> None:
    out = sh(host, f"rpm -qc {shlex.quote(meta.package)}").stdout.split()
    assert config_file in out, (
        f"config file {config_file} is not marked %config in package {meta.package} "
        f"(rpm -qc lists: {', '.join(out) or 'nothing'}): an upgrade would overwrite admin edits"
    )
