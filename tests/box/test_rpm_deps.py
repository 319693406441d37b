"""rpm -ivh in the box resolves Requires against the Debian base system, without --nodeps."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from phoenix_rpm.box import run_in, throwaway


def _build_rpm(tmp_path: Path, name: str, requires: str) -> Path:
    """A tiny noarch package built with the host's real rpmbuild."""
    top = tmp_path / name
    (top / "SPECS").mkdir(parents=True)
    spec = top / "SPECS" / f"{name}.spec"
    spec.write_text(f"""\
Name: {name}
Version: 1.0
Release: 1
Summary: test package for the box's rpm provides
License: MIT
BuildArch: noarch
Requires: {requires}

%description
Installs one file; only its Requires matter.

%install
mkdir -p %{{buildroot}}/usr/share/{name}
echo ok > %{{buildroot}}/usr/share/{name}/marker

%post
/bin/sh -c 'python3 -c "print(1)"' >/dev/null

%files
/usr/share/{name}/marker
""")
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", spec],
                   check=True, capture_output=True, text=True)
    (rpm,) = (top / "RPMS" / "noarch").glob("*.rpm")
    return rpm


@pytest.fixture
def tree(box_root: Path):
    with throwaway(box_root) as tree:
        yield tree


def _install(tree: Path, rpm: Path) -> subprocess.CompletedProcess[str]:
    dest = tree / "var/tmp" / rpm.name
    dest.write_bytes(rpm.read_bytes())
    return run_in(tree, ["rpm", "-ivh", f"/var/tmp/{rpm.name}"], check=False, capture=True)


def test_requires_on_base_system_resolve(tree: Path, tmp_path: Path) -> None:
    rpm = _build_rpm(tmp_path, "phx-needs-base",
                     "python3 >= 3.9, python(abi) = 3.11, /bin/sh, /usr/bin/python3, systemd, shadow-utils, /usr/sbin/useradd")
    proc = _install(tree, rpm)
    assert proc.returncode == 0, proc.stderr
    assert run_in(tree, ["rpm", "-q", "phx-needs-base"], capture=True).stdout.startswith("phx-needs-base-1.0-1")
    assert (tree / "usr/share/phx-needs-base/marker").read_text() == "ok\n"


def test_missing_requirement_fails_with_failed_dependencies(tree: Path, tmp_path: Path) -> None:
    rpm = _build_rpm(tmp_path, "phx-needs-missing", "python3, phx-no-such-package >= 2")
    proc = _install(tree, rpm)
    assert proc.returncode != 0
    assert "Failed dependencies" in proc.stderr
    assert "phx-no-such-package >= 2 is needed by phx-needs-missing" in proc.stderr


def test_rpm_database_does_not_depend_on_home(tree: Path) -> None:
    """Debian's rpm keeps its db in $HOME/.rpmdb; the box pins /var/lib/rpm."""
    out = run_in(tree, ["rpm", "-q", "phoenix-box-base"], env={"HOME": "/nonexistent"}, capture=True)
    assert out.stdout.startswith("phoenix-box-base-1-1")


def test_an_arch_package_with_automatic_elf_requires_installs(tree: Path, tmp_path: Path) -> None:
    """rpmbuild adds Requires: libc.so.6(GLIBC_...)(64bit), rtld(GNU_HASH) to a C program."""
    top = tmp_path / "elf"
    (top / "SPECS").mkdir(parents=True)
    (top / "SOURCES").mkdir()
    (top / "SOURCES/hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi from rpm");return 0;}\n')
    spec = top / "SPECS/phx-elf.spec"
    spec.write_text("""\
Name: phx-elf
Version: 1.0
Release: 1
Summary: a C program with rpm's automatic ELF requires
License: MIT
Source0: hello.c
%global debug_package %{nil}

%description
Test package.

%build
gcc -O2 -o hello %{SOURCE0}

%install
install -D -m 0755 hello %{buildroot}/usr/bin/phx-hello

%files
/usr/bin/phx-hello
""")
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", spec], check=True, capture_output=True)
    (rpm,) = (top / "RPMS").rglob("*.rpm")
    requires = subprocess.run(["rpm", "-qp", "--requires", rpm], capture_output=True, text=True).stdout
    assert "libc.so.6(GLIBC_" in requires and "rtld(GNU_HASH)" in requires
    proc = _install(tree, rpm)
    assert proc.returncode == 0, proc.stderr
    assert run_in(tree, ["phx-hello"], capture=True).stdout == "hi from rpm\n"
