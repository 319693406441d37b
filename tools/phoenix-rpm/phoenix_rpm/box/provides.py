"""Make the box's Debian base system known to rpm: the `phoenix-box-base` package.

Why: Debian's rpm database starts empty, so ``rpm -ivh`` of a package that
says ``Requires: python3`` fails although python3 is installed. Instead of
``--nodeps`` (which hides real dependency bugs), the box carries one generated
package whose ``Provides:`` list what the tree really has:

* every installed dpkg package by its Debian name, at its upstream version;
* the RHEL-family names that specs use (``python3``, ``python(abi)``,
  ``systemd``, ``shadow-utils``...), each only when the Debian package that
  supplies it is installed;
* file provides for the interpreters and tools that shebangs and scriptlets
  name (``/bin/sh``, ``/usr/bin/python3``, ``/usr/sbin/useradd``...), each only
  when the path exists in the tree.

Parsing (dpkg status -> data) and rendering (data -> spec text) are pure
functions so they are unit-tested with fakes; ``install_into`` builds the
package with the box's own rpmbuild and installs it in the box's rpmdb.
"""
from __future__ import annotations

import dataclasses
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from phoenix_rpm import runner
from phoenix_rpm.box.nspawn import run_in

PACKAGE_NAME = "phoenix-box-base"
PACKAGE_VERSION = "1"

# RHEL-family name -> the Debian package whose presence and version stand for it.
RHEL_NAMES: dict[str, str] = {
    "python3": "python3",
    "python3-pip": "python3-pip",
    "python3-setuptools": "python3-setuptools",
    "python3-wheel": "python3-wheel",
    "python3-devel": "python3-dev",
    "systemd": "systemd",
    "systemd-libs": "libsystemd0",
    "shadow-utils": "passwd",
    "coreutils": "coreutils",
    "bash": "bash",
    "glibc": "libc6",
    "glibc-common": "libc-bin",
    "glibc-devel": "libc6-dev",
    "util-linux": "util-linux",
    "findutils": "findutils",
    "sed": "sed",
    "grep": "grep",
    "gawk": "gawk",
    "gzip": "gzip",
    "tar": "tar",
    "xz": "xz-utils",
    "cpio": "cpio",
    "diffutils": "diffutils",
    "procps-ng": "procps",
    "iproute": "iproute2",
    "openssh-server": "openssh-server",
    "openssh-clients": "openssh-client",
    "curl": "curl",
    "ca-certificates": "ca-certificates",
    "dbus": "dbus",
    "file": "file",
    "gcc": "gcc",
    "make": "make",
    "rpm": "rpm",
    "rpm-build": "rpm",
}

# python3.X's libraries: Fedora's python3-libs, python(abi) = 3.X.
PYTHON_STDLIB = re.compile(r"^libpython(3\.\d+)-stdlib$")

# Paths that shebangs, %pre/%post scriptlets and unit files name.
FILE_PROVIDES: tuple[str, ...] = (
    "/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash",
    "/usr/bin/python3", "/usr/bin/env", "/bin/env",
    "/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/sbin/userdel", "/usr/sbin/groupdel",
    "/usr/sbin/usermod", "/usr/bin/getent", "/usr/bin/id",
    "/usr/bin/systemctl", "/bin/systemctl", "/usr/bin/systemd-sysusers", "/usr/bin/systemd-tmpfiles",
    "/usr/sbin/nologin", "/sbin/nologin", "/usr/sbin/ldconfig", "/sbin/ldconfig",
    "/usr/bin/chown", "/usr/bin/chmod", "/usr/bin/mkdir", "/usr/bin/rm", "/usr/bin/install",
    "/usr/bin/awk", "/usr/bin/sed", "/usr/bin/grep", "/usr/bin/which",
    "/usr/bin/perl", "/usr/bin/curl",
)


@dataclasses.dataclass(frozen=True)
class DpkgPackage:
    """One installed package from /var/lib/dpkg/status."""

    name: str
    version: str          # the Debian version, e.g. "1:5.0-5" or "3.11.2-1+b1"
    architecture: str = ""

    @property
    def upstream(self) -> str:
        """The upstream part of the version, as rpm accepts it."""
        return rpm_version(self.version)


def parse_dpkg_status(text: str) -> list[DpkgPackage]:
    """The *installed* packages of a dpkg status file (stanzas separated by blank lines)."""
    found: list[DpkgPackage] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if not line or line[0] in " \t":
                continue  # continuation lines (descriptions, conffiles)
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "package" not in fields or "version" not in fields:
            continue
        if fields.get("status", "").split()[-1:] != ["installed"]:
            continue
        found.append(DpkgPackage(fields["package"], fields["version"], fields.get("architecture", "")))
    return sorted(found, key=lambda p: p.name)


def rpm_version(debian_version: str) -> str:
    """Debian "[epoch:]upstream[-revision]" -> an rpm version string.

    The epoch and the Debian revision go (specs compare upstream versions);
    characters rpm does not allow in a version become dots.
    """
    version = debian_version.split(":", 1)[1] if ":" in debian_version.split("-")[0] else debian_version
    if "-" in version:
        version = version.rsplit("-", 1)[0]
    version = re.sub(r"[^A-Za-z0-9.+~^]", ".", version)
    version = re.sub(r"\.{2,}", ".", version).strip(".")
    return version or "0"


def rpm_name_ok(name: str) -> bool:
    """Debian package names are a subset of what rpm accepts; be safe anyway."""
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name) is not None


def provides_for(
    packages: Sequence[DpkgPackage],
    present_files: Iterable[str],
    *,
    python_dists: Iterable[tuple[str, str]] = (),
    extra: Iterable[str] = (),
) -> list[str]:
    """The Provides: lines (without the tag) for what the box has, sorted, unique.

    ``python_dists`` are (name, version) of installed Python distributions,
    provided as Fedora's generator names them (``python3dist(name)``);
    ``extra`` are lines taken as they are (rpm's own ELF soname provides).
    """
    by_name = {p.name: p for p in packages}
    lines: set[str] = set(line.strip() for line in extra if line.strip())
    for pkg in packages:
        if rpm_name_ok(pkg.name):
            lines.add(f"{pkg.name} = {pkg.upstream}")
    for rhel, debian in RHEL_NAMES.items():
        if debian in by_name and rhel not in by_name:
            lines.add(f"{rhel} = {by_name[debian].upstream}")
    for pkg in packages:
        match = PYTHON_STDLIB.match(pkg.name)
        if match and "python3" in by_name:
            lines.add(f"python3-libs = {pkg.upstream}")
            lines.add(f"python(abi) = {match.group(1)}")
            lines.add(f"python{match.group(1)} = {pkg.upstream}")
    for path in present_files:
        lines.add(path)
    python_minor = next((m.group(1) for p in packages if (m := PYTHON_STDLIB.match(p.name))), None)
    for dist, version in python_dists:
        name = re.sub(r"[-_.]+", "-", dist).lower()
        ver = re.sub(r"[^A-Za-z0-9.+~^]", ".", version)
        lines.add(f"python3dist({name}) = {ver}")
        if python_minor:
            lines.add(f"python{python_minor}dist({name}) = {ver}")
    if "libc6" in by_name:
        lines.add("rtld(GNU_HASH)")   # what rpm's ELF generator requires of the dynamic loader
    return sorted(lines)


def python_dists_in(root: Path) -> list[tuple[str, str]]:
    """(name, version) of the Python distributions Debian installed (*.dist-info, *.egg-info)."""
    found: set[tuple[str, str]] = set()
    for site in [root / "usr/lib/python3/dist-packages", *sorted(root.glob("usr/lib/python3.*/site-packages"))]:
        if not site.is_dir():
            continue
        for entry in site.iterdir():
            stem = entry.name
            for suffix in (".dist-info", ".egg-info"):
                if stem.endswith(suffix):
                    stem = re.sub(r"-py\d+(\.\d+)*$", "", stem[: -len(suffix)])
                    if "-" in stem:
                        name, version = stem.rsplit("-", 1)
                        found.add((name, version))
    return sorted(found)


def present_in(root: Path, paths: Iterable[str]) -> list[str]:
    """The paths that exist inside root, following symlinks *within* root."""
    return [p for p in paths if _resolve_in(root, p) is not None]


def _resolve_in(root: Path, path: str, hops: int = 40) -> Path | None:
    """Resolve path as the box would see it (absolute links re-rooted at root)."""
    parts = [p for p in path.split("/") if p]
    current = root
    while parts:
        part = parts.pop(0)
        if part == "..":
            current = current.parent if current != root else root
            continue
        candidate = current / part
        if candidate.is_symlink():
            hops -= 1
            if hops < 0:
                return None
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = root
            parts = [p for p in target.split("/") if p] + parts
            continue
        if not candidate.exists():
            return None
        current = candidate
    return current


def render_spec(provides: Sequence[str], *, suite: str = "bookworm") -> str:
    """The spec of the provides-only package (no files, noarch)."""
    provides_text = "\n".join(f"Provides: {line}" for line in provides)
    return f"""\
Name: {PACKAGE_NAME}
Version: {PACKAGE_VERSION}
Release: 1
Summary: The Debian {suite} base system of a phoenix box, made known to rpm
License: Apache-2.0
BuildArch: noarch
AutoReqProv: no
{provides_text}

%description
Generated by phoenix_rpm.box.provides. It owns no files: it only tells
rpm which packages, RHEL-family names and paths the box's Debian base system
already has, so that rpm -ivh resolves Requires without --nodeps.

%files
"""


def spec_for_root(root: Path, *, extra: Iterable[str] = ()) -> str:
    """Read root's dpkg status and file tree; return the spec text."""
    status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    packages = parse_dpkg_status(status)
    return render_spec(provides_for(packages, present_in(root, FILE_PROVIDES),
                                    python_dists=python_dists_in(root), extra=extra))


# rpm's own generator (the one rpmbuild runs on a package's files) applied to
# the box's shared libraries: "libc.so.6()(64bit)", "libssl.so.3(OPENSSL_3.0.0)(64bit)"...
# so that arch packages with automatic ELF requires install too.
SONAME_SCRIPT = (
    "find /usr/lib/*-linux-gnu /usr/lib64 -maxdepth 1 -name '*.so*' -type f 2>/dev/null"
    " | /usr/lib/rpm/rpmdeps --provides"
)


def soname_provides(root: Path) -> list[str]:
    if not (root / "usr/lib/rpm/rpmdeps").exists():
        return []
    out = run_in(root, ["sh", "-c", SONAME_SCRIPT], capture=True).stdout
    return [line for line in out.splitlines() if re.fullmatch(r"[^\s]+\([^\s]*\)(\(64bit\))?", line)]


def install_into(root: Path) -> None:
    """Build phoenix-box-base with the box's own rpmbuild and install it into its rpmdb.

    Runs inside the tree (run_in, no network), so the rpm that later installs
    the user's package is the one that recorded these provides.
    """
    spec = spec_for_root(root, extra=soname_provides(root))
    work = Path(tempfile.mkdtemp(prefix="phx-provides-", dir=root / "var/tmp"))
    try:
        (work / f"{PACKAGE_NAME}.spec").write_text(spec)
        inside = "/" + str(work.relative_to(root))
        run_in(root, ["rpmbuild", "-bb", "--define", f"_topdir {inside}",
                      f"{inside}/{PACKAGE_NAME}.spec"], env={"HOME": "/root"})
        rpms = sorted((work / "RPMS").rglob("*.rpm"))
        rpm_inside = "/" + str(rpms[0].relative_to(root))
        run_in(root, ["rpm", "-Uvh", "--replacepkgs", rpm_inside], env={"HOME": "/root"})
    finally:
        runner.run(["rm", "-rf", "--one-file-system", work])
