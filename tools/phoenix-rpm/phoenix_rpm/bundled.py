"""What a bundled-mode package carries: ``Provides: bundled(python3dist(NAME)) = VERSION``.

A fleet's security team asks which hosts carry a given library at which
version (``dnf repoquery --whatprovides 'bundled(python3dist(urllib3))'``).
Fedora's bundling guideline answers that with one ``bundled()`` Provides per
bundled library. The list comes from the wheels actually packed into Source1
(every one of them is installed into the venv, docs/repo.md), not from
requirements.txt, whose ranges say nothing of the version that got in.

The spec template holds a marker line; the build replaces it with the lines
once the wheels tarball exists (the committed spec cannot know them: they
change whenever a requirement releases). The SBOM of the installed venv is
made inside the build (templates/venv_layer.py ``sbom``).
"""
from __future__ import annotations

import re
import tarfile
from pathlib import Path
from typing import Iterable

MARKER = "#phoenix:bundled-provides"


def normalise(name: str) -> str:
    """PEP 503 name, as Fedora's python3dist() uses it: lower case, runs of -_. become -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def rpm_version(version: str) -> str:
    """A PEP 440 version in rpm's order, as Fedora's pythondistdeps writes it:
    1.0rc1 -> 1.0~rc1, 1.0.dev3 -> 1.0~~dev3, 1.0.post2 -> 1.0^post2, 1.0+local -> 1.0+local."""
    from packaging.version import InvalidVersion, Version

    try:
        v = Version(version)
    except InvalidVersion:
        return re.sub(r"[^A-Za-z0-9._+~^]", ".", version)
    out = ".".join(str(n) for n in v.release)
    if v.epoch:
        out = f"{v.epoch}:{out}"
    if v.pre:
        out += f"~{v.pre[0]}{v.pre[1]}"
    if v.post is not None:
        out += f"^post{v.post}"
    if v.dev is not None:
        out += f"~~dev{v.dev}"
    if v.local:
        out += f"+{v.local}"
    return out


def wheel_name_version(filename: str) -> tuple[str, str] | None:
    """(name, version) from a wheel file name ``{name}-{version}(-{build})?-{py}-{abi}-{plat}.whl``."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    return parts[0], parts[1]


def wheels_in(tarball: Path) -> list[tuple[str, str]]:
    """(normalised name, version) of every wheel in a wheels tarball (Source1), sorted."""
    found = set()
    with tarfile.open(tarball, "r:*") as tar:
        for member in tar.getmembers():
            nv = wheel_name_version(Path(member.name).name) if member.isfile() else None
            if nv:
                found.add((normalise(nv[0]), nv[1]))
    return sorted(found)


def provides_lines(dists: Iterable[tuple[str, str]], project: str) -> list[str]:
    """The Provides lines, the project itself left out (it is the package, not bundled)."""
    me = normalise(project)
    return [f"Provides:       bundled(python3dist({name})) = {rpm_version(version)}"
            for name, version in sorted(dists) if name != me]


def fill(spec_text: str, tarball: Path, project: str) -> str:
    """The spec with its marker line replaced by the Provides of the tarball's wheels.

    A spec without the marker (hand-written, or from an older template) is
    returned as it is.
    """
    if MARKER not in spec_text:
        return spec_text
    lines = provides_lines(wheels_in(tarball), project)
    return spec_text.replace(MARKER + "\n", "".join(line + "\n" for line in lines), 1)
