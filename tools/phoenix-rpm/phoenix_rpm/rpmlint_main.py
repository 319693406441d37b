"""rpmlint's command line, with rpm2archive hidden from it (run as a script by lint.py).

rpmlint unpacks each binary package before checking it, with
``rpm2archive - | tar -xz`` when it finds rpm2archive: rpm2archive gzips the
whole payload only for tar to gunzip it again (2 s of CPU for apollo's 60 MB).
Its other way, ``rpm2cpio | cpio -id`` (kept for hosts without rpm2archive),
unpacks the same files with the same modes, and rpmlint reports the same
(compared on apollo's RPM: identical output, 7.1 s -> 3.3 s with a tmpfs).

``--standby`` (lint.Prelint): import rpmlint and its checks first, then read
the arguments, one JSON list on stdin, and run as if given them; an empty
stdin ends it. The build starts it before the RPM exists, so the imports
(half a second) are out of the way when the RPM is there.
"""
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

_which = shutil.which


def _which_but_rpm2archive(cmd: str, *args: object, **kwargs: object) -> str | None:
    return None if cmd == "rpm2archive" else _which(cmd, *args, **kwargs)  # type: ignore[call-overload]


def _parse_spec_in_box() -> None:
    """rpmlint's two spec parses (``rpm -q --specfile``, ``parseSpec``) run in a box, not here.

    Parsing expands the spec's macros, and a project's own spec text may hold
    ``%(cmd)``: see specbox.py. Same findings as rpmlint's own methods
    (rpmlint 2.x SpecCheck ``_check_specfile_error`` and ``_check_invalid_url``),
    from ``rpm -q --specfile`` and ``rpmspec -P`` run in a throw-away box.
    """
    from urllib.parse import urlparse

    from rpmlint.checks import SpecCheck as spec_check

    from phoenix_rpm import specbox

    cache: dict[str, tuple[str, str]] = {}

    def parsed(spec_file: str) -> tuple[str, str]:
        """(rpm -q --specfile's stderr, rpmspec -P's stdout) of one spec, one box run for both."""
        if spec_file not in cache:
            spec = Path(spec_file).resolve()
            script = ('rpm -q --qf= -D "_sourcedir /spec" --specfile "/spec/$1" 2>&1 >/dev/null; '
                      'echo "@@PHOENIX-SPLIT@@"; rpmspec -P -D "_sourcedir /spec" "/spec/$1" 2>/dev/null; true')
            proc = specbox.run_rpm(["sh", "-c", script, "sh", spec.name], ro_binds=[(spec.parent, "/spec")],
                                   env={"LC_ALL": "C.UTF-8", "LANGUAGE": "en_US"}, check=False)
            errors, _, text = proc.stdout.partition("@@PHOENIX-SPLIT@@\n")
            cache[spec_file] = (errors.replace("/spec/", str(spec.parent) + "/"), text)
        return cache[spec_file]

    def _check_specfile_error(self: Any, pkg: Any) -> None:  # rpmlint's signature
        for line in parsed(str(self._spec_file))[0].splitlines():
            line = line.strip()
            if not line:
                continue
            if "warning:" not in line:
                self.output.add_info("E", pkg, "specfile-error", line)
            else:
                self.output.add_info("W", pkg, "specfile-warning", line)

    def _check_invalid_url(self: Any, pkg: Any, rpm: Any) -> None:  # rpmlint's signature
        for m in re.finditer(r"^Source(\d*)\s*:\s*(\S+)", parsed(str(self._spec_file))[1], re.M | re.I):
            url = m.group(2)
            scheme, netloc = urlparse(url)[0:2]
            if scheme and netloc:
                continue
            if spec_check.tarball_regex.search(url):
                self.output.add_info("W", pkg, "invalid-url", f"Source{m.group(1) or 0}:", url)

    spec_check.SpecCheck._check_specfile_error = _check_specfile_error  # noqa: SLF001
    spec_check.SpecCheck._check_invalid_url = _check_invalid_url  # noqa: SLF001


if __name__ == "__main__":
    # Run as a script, this folder is sys.path[0]: its modules must not shadow rpmlint's imports.
    if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    shutil.which = _which_but_rpm2archive  # type: ignore[assignment]
    from rpmlint.cli import lint

    if os.environ.get("PHOENIX_SPEC_PARSE", "box") != "host":
        _parse_spec_in_box()

    if sys.argv[1:] == ["--standby"]:
        import importlib
        import json
        import pkgutil

        import rpmlint.checks

        for module in pkgutil.iter_modules(rpmlint.checks.__path__):
            try:
                importlib.import_module(f"rpmlint.checks.{module.name}")
            except Exception:  # noqa: BLE001 - rpmlint reports its own import errors when it runs
                pass
        line = sys.stdin.readline()
        if not line.strip():
            sys.exit(0)
        sys.argv = [sys.argv[0], *json.loads(line)]

    sys.exit(lint())
