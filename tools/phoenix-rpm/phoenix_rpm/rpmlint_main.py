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
import shutil
import sys
from pathlib import Path

_which = shutil.which


def _which_but_rpm2archive(cmd: str, *args: object, **kwargs: object) -> str | None:
    return None if cmd == "rpm2archive" else _which(cmd, *args, **kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    # Run as a script, this folder is sys.path[0]: its modules must not shadow rpmlint's imports.
    if sys.path and sys.path[0] and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]
    shutil.which = _which_but_rpm2archive  # type: ignore[assignment]
    from rpmlint.cli import lint

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
