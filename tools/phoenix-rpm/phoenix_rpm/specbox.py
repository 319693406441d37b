"""rpm reads a project's spec only inside a throw-away box, never on the host.

Parsing a spec *runs* it: rpm expands every macro while it reads, and
``%(cmd)`` runs a shell, ``%{lua:...}`` runs Lua, ``%include`` reads any
file. The generated spec escapes every project value (escape.py), but a
project may also bring its own spec text (a hand-edited ``rpm/<name>.spec``,
templates in ``rpm/templates/``). So the two places that parse a spec
besides the real build, ``rpmbuild -bs`` (build stage) and rpmlint's spec
checks (lint stage), run rpm in a throw-away copy of the build box with no
network, the spec's folder bound read-only: a macro that runs a command
runs it there, and the copy is thrown away. See docs/packaging.md, "Hostile
input and the trust boundary".

``--box host`` (``PHOENIX_SPEC_PARSE=host``) is the explicit choice to run
everything on the host: there the RPM build itself runs the project's
``%install`` on the host anyway.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Sequence

#: "box" (default) or "host": where rpm parses a project's spec
ENV = "PHOENIX_SPEC_PARSE"


def in_box() -> bool:
    return os.environ.get(ENV, "box") != "host"


def run_rpm(argv: Sequence[str], *, binds: Sequence[tuple[Path, str]] = (),
            ro_binds: Sequence[tuple[Path, str]] = (), env: dict[str, str] | None = None,
            check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run one rpm/rpmbuild/rpmspec command in a throw-away box (no network), output captured."""
    from phoenix_rpm.box import ensure_root, run_in, throwaway

    root = ensure_root()
    with throwaway(root) as box:
        return run_in(box, list(argv), binds=binds, ro_binds=ro_binds, env=env or {}, network=False,
                      check=check, capture=True, timeout=timeout)


def parse_spec(spec: Path) -> tuple[str, str, int]:
    """``rpmspec -P`` of a spec, in a box: (parsed text, rpm's stderr, exit status).

    The spec's folder is bound read-only at /spec and is its ``_sourcedir``,
    as on the host.
    """
    spec = Path(spec).resolve()
    proc = run_rpm(["rpmspec", "-P", "--define", "_sourcedir /spec", f"/spec/{spec.name}"],
                   ro_binds=[(spec.parent, "/spec")], env={"LC_ALL": "C.UTF-8"}, check=False)
    return proc.stdout, proc.stderr, proc.returncode
