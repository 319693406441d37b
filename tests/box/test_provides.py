"""The base-system provides generator: dpkg status + file tree -> spec text (fakes, fast)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from phoenix_rpm.box import provides

# Fakes, no box: the quick tier (conftest.py).
pytestmark = pytest.mark.unit

STATUS = """\
Package: python3
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language (default version)
 Python, the high-level, interactive object oriented language,
 Version: 9.9.9 (a continuation line, not a field)

Package: libpython3.11-stdlib
Status: install ok installed
Architecture: amd64
Version: 3.11.2-6+deb12u5

Package: passwd
Status: install ok installed
Architecture: amd64
Version: 1:4.13+dfsg1-1+b1

Package: systemd
Status: install ok installed
Architecture: amd64
Version: 252.39-1~deb12u1

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libargon2-1
Status: install ok installed
Architecture: amd64
Version: 0~20171227-0.3+deb12u1
"""


def test_parse_keeps_only_installed_packages_and_ignores_continuation_lines() -> None:
    pkgs = {p.name: p.version for p in provides.parse_dpkg_status(STATUS)}
    assert pkgs == {
        "python3": "3.11.2-1+b1",
        "libpython3.11-stdlib": "3.11.2-6+deb12u5",
        "passwd": "1:4.13+dfsg1-1+b1",
        "systemd": "252.39-1~deb12u1",
        "libargon2-1": "0~20171227-0.3+deb12u1",
    }


@pytest.mark.parametrize(("debian", "rpm"), [
    ("3.11.2-1+b1", "3.11.2"),
    ("1:5.0-5", "5.0"),
    ("1:4.13+dfsg1-1+b1", "4.13+dfsg1"),
    ("0~20171227-0.3+deb12u1", "0~20171227"),
    ("2.36", "2.36"),                       # native package: no revision
    ("1.2-rc1-3", "1.2.rc1"),               # a hyphen inside upstream becomes a dot
    ("2:1.0_beta:2-1", "1.0.beta.2"),       # ':' and '_' are not allowed in rpm versions
])
def test_rpm_version_drops_epoch_and_revision(debian: str, rpm: str) -> None:
    assert provides.rpm_version(debian) == rpm


def test_rhel_names_only_for_what_is_installed() -> None:
    lines = provides.provides_for(provides.parse_dpkg_status(STATUS), ["/bin/sh"])
    assert "python3 = 3.11.2" in lines
    assert "python(abi) = 3.11" in lines
    assert "python3-libs = 3.11.2" in lines
    assert "shadow-utils = 4.13+dfsg1" in lines
    assert "systemd = 252.39" in lines
    assert "/bin/sh" in lines
    # not installed in this fake: no claim about them
    assert not any(line.startswith(("python3-devel", "rpm ", "bash ", "python3-pip")) for line in lines)
    assert not any(line.startswith("removed-thing") for line in lines)
    assert lines == sorted(set(lines))


def test_file_provides_follow_symlinks_inside_the_root_not_on_the_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/bin/python3.11").write_text("")
    os.symlink("python3.11", root / "usr/bin/python3")            # relative link, target present
    os.symlink("usr/bin", root / "bin")                           # merged /usr
    (root / "usr/bin/dash").write_text("")
    os.symlink("/usr/bin/dash", root / "usr/bin/sh")              # absolute: must resolve inside root
    os.symlink("/etc/passwd", root / "usr/sbin/nologin")          # exists on the host, not in root
    present = provides.present_in(root, ["/usr/bin/python3", "/bin/sh", "/usr/bin/sh",
                                         "/usr/sbin/nologin", "/usr/bin/bash"])
    assert present == ["/usr/bin/python3", "/bin/sh", "/usr/bin/sh"]


def test_rendered_spec_is_valid_for_rpm_and_lists_the_provides(tmp_path: Path) -> None:
    lines = provides.provides_for(provides.parse_dpkg_status(STATUS), ["/bin/sh", "/usr/bin/python3"])
    spec = tmp_path / "base.spec"
    spec.write_text(provides.render_spec(lines))
    out = subprocess.run(["rpmspec", "-q", "--provides", spec], capture_output=True, text=True, check=True)
    got = set(out.stdout.split("\n"))
    assert {"python3 = 3.11.2", "python(abi) = 3.11", "/bin/sh", "/usr/bin/python3",
            "phoenix-box-base = 1-1"} <= got


def test_python_dists_are_provided_the_fedora_way(tmp_path: Path) -> None:
    site = tmp_path / "usr/lib/python3/dist-packages"
    for entry in ("pip-23.0.1.dist-info", "setuptools-66.1.1.egg-info", "PyYAML-6.0-py3.11.egg-info",
                  "zope.interface-5.5.2.dist-info", "pip", "README"):
        (site / entry).mkdir(parents=True)
    dists = provides.python_dists_in(tmp_path)
    assert dists == [("PyYAML", "6.0"), ("pip", "23.0.1"), ("setuptools", "66.1.1"), ("zope.interface", "5.5.2")]
    lines = provides.provides_for(provides.parse_dpkg_status(STATUS), [], python_dists=dists,
                                  extra=["libc.so.6()(64bit)", " "])
    assert "python3dist(pyyaml) = 6.0" in lines
    assert "python3.11dist(zope-interface) = 5.5.2" in lines
    assert "libc.so.6()(64bit)" in lines and "" not in lines
    assert "rtld(GNU_HASH)" not in lines        # no libc6 in this fake status
